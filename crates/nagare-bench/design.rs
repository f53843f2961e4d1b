//! The typed echo of the server-bound benchmark: a design that does nothing
//! but decode, validate and encode, so what it costs beyond the raw driver
//! is the generated message path alone.

use nagare_design::*;

/// The whole API.
pub fn design() -> Api {
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
        });
    })
}
