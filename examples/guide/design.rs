//! The design of the guide example: the WebSocket examples of Goa's guide.
//!
//! This file is compiled into `build.rs` (which generates the code) and into the
//! snapshot test; it is the only place the API is described.

use nagare_design::*;

/// The whole API.
pub fn design() -> Api {
    let event = type_("Event", |t| {
        t.description("Something that happened in the chat: a message was received.");
        t.attribute("message", STRING, "Text of the message");
        t.attribute("action", STRING, "Which endpoint received it")
            .enum_(["listener", "echo"]);
        t.attribute("timestamp", STRING, "When the server received it")
            .format(Format::DateTime);
        t.required(["message", "action", "timestamp"]);
    });

    let metric = result_type("application/vnd.guide.metric", |r| {
        r.type_name("MetricUpdate");
        r.description("The current value of one server metric.");
        r.attribute("timestamp", STRING, "When the value was read")
            .format(Format::DateTime);
        r.attribute("metric", STRING, "Name of the metric");
        r.attribute("value", FLOAT64, "Current value");
        r.attribute("change", FLOAT64, "Change since the previous update");
        r.attribute("metadata", map_of(STRING, STRING), "Labels of the metric");
        r.required(["timestamp", "metric", "value", "change"]);
        r.view("summary", |v| {
            v.description("Name and value only.");
            v.attribute("metric").attribute("value");
        });
        r.view("detailed", |v| {
            v.description("Everything but the labels.");
            v.attribute("timestamp")
                .attribute("metric")
                .attribute("value")
                .attribute("change");
        });
        r.view("full", |v| {
            v.description("Every attribute.");
            v.attribute("timestamp")
                .attribute("metric")
                .attribute("value")
                .attribute("change")
                .attribute("metadata");
        });
    });

    api("guide", |a| {
        a.title("Goa guide WebSocket examples");
        a.description("The streaming examples of Goa's WebSocket guide, served by nagare.");
        a.version("1.0");
        a.server("local", "http://localhost:8080")
            .description("`guide` run with its defaults.");
        a.service("chat", |s| {
            s.description("A chat room: clients send messages and subscribe to what others send.");
            s.method("listener", |m| {
                m.description("Receives a stream of messages from the client; sends nothing back.");
                m.publishes("subscribe");
                m.streaming_payload(|p| {
                    p.attribute("message", STRING, "Message to log").min_length(1);
                    p.required(["message"]);
                });
                m.http(|h| {
                    h.get("/listen");
                });
            });
            s.method("subscribe", |m| {
                m.description("Streams an event for every message received by listener or echo, from any client.");
                m.streaming_result_type(&event);
                // One room for the whole chat; a subscriber that drops comes
                // back to the events it missed, if no more than 1024 came since.
                m.room(|r| {
                    r.history(1024);
                });
                m.http(|h| {
                    h.get("/subscribe");
                });
            });
            s.method("echo", |m| {
                m.description("Echoes every message back to its sender.");
                m.publishes("subscribe");
                m.streaming_payload(|p| {
                    p.attribute("message", STRING, "Message to echo").min_length(1);
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
        a.service("monitor", |s| {
            s.description("Server metrics, streamed.");
            s.method("analytics", |m| {
                m.description("Streams metric updates, rendered with the view the client picks.");
                m.payload(|p| {
                    p.attribute("view", STRING, "View used to render the updates: summary, detailed or full (default: every attribute)");
                    p.attribute("interval_ms", INT, "Milliseconds between two rounds of updates")
                        .default(1000)
                        .minimum(10)
                        .maximum(60000);
                    p.attribute("rounds", INT, "Rounds of updates to send before closing; absent means until the client leaves")
                        .minimum(1);
                });
                m.streaming_result_type(&metric);
                m.http(|h| {
                    h.get("/analytics").param("view").param("interval_ms").param("rounds");
                    // A metrics feed: a slow reader loses old updates rather than
                    // slowing the feed, and dead readers are found quickly.
                    h.ws(|w| {
                        w.slow_consumer(SlowConsumerPolicy::DropOldest)
                            .outbound_queue(256)
                            .compression(1, 256)
                            .ping_interval(std::time::Duration::from_secs(10))
                            .pong_timeout(std::time::Duration::from_secs(5));
                    });
                });
            });
        });
    })
}
