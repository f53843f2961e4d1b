//! The typed services of the server-bound benchmark: an echo that does
//! nothing but decode, validate and encode, so what it costs beyond the raw
//! driver is the generated message path alone; and a room whose events are
//! just a message, so that its fan-out sends the same bytes as the bare
//! broadcast it is compared with.

use nagare_design::*;

/// The whole API.
pub fn design() -> Api {
    let note = type_("Note", |t| {
        t.description("A message of the room.");
        t.attribute("message", STRING, "Text of the message");
        t.required(["message"]);
    });
    api("typed", |a| {
        a.title("Typed echo for benchmarks");
        a.service("typed", |s| {
            s.method("echo", |m| {
                m.description("Echoes every message back, typed and validated.");
                m.streaming_payload(|p| {
                    p.attribute("message", STRING, "Message to echo")
                        .min_length(1);
                    p.required(["message"]);
                });
                m.streaming_result(|r| {
                    r.attribute("message", STRING, "Echoed message");
                    r.required(["message"]);
                });
                m.http(|h| {
                    h.get("/echo");
                });
            });
            s.method("publish", |m| {
                m.description("Publishes every message it receives to the room of subscribe.");
                m.publishes("subscribe");
                m.streaming_payload(|p| {
                    p.attribute("message", STRING, "Message to publish")
                        .min_length(1);
                    p.required(["message"]);
                });
                m.http(|h| {
                    h.get("/publish");
                });
            });
            s.method("subscribe", |m| {
                m.description("Streams every message published to the room.");
                m.streaming_result_type(&note);
                m.room(|r| {
                    r.history(1024);
                });
                m.http(|h| {
                    h.get("/subscribe");
                });
            });
        });
    })
}
