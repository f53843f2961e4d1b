// Type-checks the guide's generated browser client under `tsc --strict`;
// each `@ts-expect-error` line is a mistake the declarations must refuse.
import { ChatClient, MonitorClient, type Event, type MetricUpdate, type MetricUpdateSummary } from "./guide.js";

export async function usage(): Promise<void> {
  const chat = new ChatClient("http://localhost:8080");
  const echo = chat.echo();
  await echo.send({ message: "hi" });
  // @ts-expect-error echo streams objects with a message
  await echo.send("hi");
  for await (const r of echo) {
    const text: string = r.message;
    void text;
  }
  for await (const e of chat.subscribe()) {
    const event: Event = e;
    const action: "listener" | "echo" = event.action;
    void action;
  }
  const listener = chat.listener();
  await listener.send({ message: "x" });
  // @ts-expect-error listener receives nothing
  const nothing: string = (await listener.next()).value;
  void nothing;

  const monitor = new MonitorClient("http://localhost:8080");
  for await (const u of monitor.analytics({ view: "summary", rounds: 2 })) {
    const update: MetricUpdate | MetricUpdateSummary = u;
    const value: number = update.value;
    void value;
    // @ts-expect-error change is not in the summary view
    const change: number = u.change;
    void change;
  }
  // @ts-expect-error interval_ms is a number
  monitor.analytics({ interval_ms: "fast" });
}
