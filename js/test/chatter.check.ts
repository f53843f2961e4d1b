// Type-checks chatter's generated browser client under `tsc --strict`: what a
// page may write compiles, and each `@ts-expect-error` line is a mistake the
// declarations must refuse (tsc fails if one of them compiles).
import {
  ChatterClient,
  NagareError,
  RetryPolicy,
  type ChatterEchoerErrors,
  type ConnectionState,
  type Event,
} from "./chatter.js";

export async function usage(): Promise<void> {
  const client = new ChatterClient("http://localhost:8080");
  const token: string = await client.login({ user: "goa", password: "rocks" });
  // @ts-expect-error the password is required
  await client.login({ user: "goa" });

  const echo = client.echoer({ token });
  await echo.send("hello");
  // @ts-expect-error echoer streams strings
  await echo.send(42);
  await echo.end();
  for await (const message of echo) {
    const text: string = message;
    void text;
  }

  const events = client.subscribe({ token, name: "ann" }, { retry: new RetryPolicy({ maxMs: 5_000 }) });
  const stop = events.onState((s: ConnectionState) => {
    if (s.state === "reconnecting") {
      const wait: number = s.delayMs;
      void wait;
    }
    if (s.state === "open" && s.restarted) {
      const after: number | undefined = s.resumedAfter;
      void after;
    }
  });
  stop();
  for await (const e of events) {
    const event: Event = e;
    const action: "added" = event.action;
    void action;
  }
  // @ts-expect-error subscribe takes no messages from the client
  await events.send("x");
  // @ts-expect-error resumability is the design's, not an option
  client.subscribe({ token }, { resumable: false });

  const summaries = await client.summary({ token }).result();
  const first: string | undefined = summaries[0]?.message;
  void first;

  for await (const h of client.history({ token, view: "tiny" })) {
    const message: string = h.message;
    void message;
    // @ts-expect-error length is not in every view
    const length: number = h.length;
    void length;
  }

  const who = await client.who({ token });
  const id: string | undefined = who[0]?.id;
  void id;
  // @ts-expect-error the token is required
  await client.who({});

  try {
    await client.echoer({ token: "nope" }).opened();
  } catch (e) {
    if (e instanceof NagareError) {
      const error = e as NagareError<ChatterEchoerErrors>;
      if (error.kind === "designed" && error.error === "unauthorized") {
        const status: number | undefined = error.status;
        void status;
      }
      const temporary: boolean = error.temporary;
      void temporary;
    }
  }
}
