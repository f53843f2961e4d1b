//! Goa's "chatter" streaming example, restated in nagare's design language. Wire
//! names, paths, statuses and security are Goa's, so Goa's generated client works
//! against the server generated from this file.

use nagare_design::*;

/// The whole API.
pub fn design() -> Api {
    let summary = result_type("application/vnd.goa.summary", |r| {
        r.type_name("ChatSummary");
        r.description("A message sent to the server, with when it was sent.");
        r.attribute("message", STRING, "Message sent to the server");
        r.attribute("length", INT, "Length of the message sent");
        r.attribute("sent_at", STRING, "Time at which the message was sent")
            .format(Format::DateTime);
        r.required(["message", "sent_at"]);
        r.view("tiny", |v| {
            v.attribute("message");
        });
        r.view("default", |v| {
            v.attribute("message")
                .attribute("length")
                .attribute("sent_at");
        });
    });
    let event = type_("Event", |t| {
        t.description("A message added to the chat.");
        t.attribute("message", STRING, "Message sent to the server");
        t.attribute("action", STRING, "What happened")
            .enum_(["added"]);
        t.attribute("added_at", STRING, "Time at which the message was added")
            .format(Format::DateTime);
        t.required(["message", "action", "added_at"]);
    });
    let subscriber = type_("Subscriber", |t| {
        t.description("A client following the chat, as the room's presence shows it.");
        t.attribute("id", STRING, "Names the subscriber's connection");
        t.attribute("name", STRING, "The name the subscriber gave, if any")
            .max_length(64);
        t.required(["id"]);
    });
    // Every streaming method takes the JWT and may refuse it.
    let secured = |m: &mut Method, scope: &str| {
        m.security("jwt", [scope]);
        m.error("unauthorized", STRING, "The token is missing or invalid");
        m.error("invalid-scopes", STRING, "The token lacks a required scope");
    };
    let token = |p: &mut Object| {
        p.token("token", STRING, "JWT used for authentication");
        p.required(["token"]);
    };
    let errors = |h: &mut HttpEndpoint| {
        h.response(200)
            .error_response("unauthorized", 401)
            .error_response("invalid-scopes", 403);
        // Browsers send the token as a `nagare.bearer.<token>` subprotocol next to
        // `nagare`, which the server selects; Goa's clients offer none. A chat
        // message is at most 64 KiB: a larger one closes the stream with 1009.
        h.ws(|w| {
            w.subprotocols(["nagare"]).max_message_size(64 * 1024);
        });
    };

    api("chatter", |a| {
        a.title("Chatter service describing the streaming features");
        a.description("Goa's streaming example: a chat with login, echo, listening, summaries, subscriptions and history.");
        a.version("1.0");
        a.server("local", "http://localhost:8080")
            .description("`chatter` run with its defaults.");
        a.basic_auth_security("basic", |s| {
            s.description("Secures the login endpoint.");
        });
        a.jwt_security("jwt", |s| {
            s.description("Secures the streaming endpoints with a token obtained from login.");
            s.scope("stream:read", "Read-only access");
            s.scope("stream:write", "Read and write access");
        });
        a.service("chatter", |s| {
            s.description("The chatter service implements a simple client and server chat.");
            s.method("login", |m| {
                m.description("Creates a valid JWT token for auth to chat.");
                m.security("basic", [] as [&str; 0]);
                m.payload(|p| {
                    p.username("user", STRING, "Username used to perform signin");
                    p.password("password", STRING, "Password used to perform signin");
                    p.required(["user", "password"]);
                });
                m.result_type(STRING);
                m.error("unauthorized", STRING, "Credentials are invalid");
                m.http(|h| {
                    h.post("/login")
                        .response(200)
                        .error_response("unauthorized", 401)
                        // Guessing passwords: 5 failures at once, then 10 a
                        // minute, per address and per user name; past them 429.
                        .failures(|f| {
                            f.burst(5).per_minute(10).by(["user"]);
                        });
                });
            });
            s.method("echoer", |m| {
                m.publishes("subscribe");
                m.description("Echoes the message sent by the client.");
                secured(m, "stream:write");
                m.payload(token);
                m.streaming_payload_type(STRING);
                m.streaming_result_type(STRING);
                m.http(|h| {
                    h.get("/echoer");
                    errors(h);
                });
            });
            s.method("listener", |m| {
                m.publishes("subscribe");
                m.description("Listens to the messages sent by the client.");
                secured(m, "stream:write");
                m.payload(token);
                m.streaming_payload_type(STRING);
                m.http(|h| {
                    h.get("/listener");
                    errors(h);
                });
            });
            s.method("summary", |m| {
                m.publishes("subscribe");
                m.description("Summarizes the chat messages sent by the client.");
                secured(m, "stream:write");
                // The summary is kept until the client ends its stream: one
                // summary covers at most 1,000 messages and 1 MiB of text.
                m.error("too-long", STRING, "The stream went past what one summary covers");
                m.payload(token);
                m.streaming_payload_type(STRING);
                m.result_type(collection_of(&summary));
                m.result_view("default");
                m.http(|h| {
                    h.get("/summary");
                    errors(h);
                });
            });
            s.method("subscribe", |m| {
                m.description("Subscribe to events sent when new chat messages are added.");
                secured(m, "stream:write");
                m.payload(|p| {
                    p.token("token", STRING, "JWT used for authentication");
                    p.attribute("name", STRING, "Name shown to others while subscribed (see who)")
                        .max_length(64);
                    p.required(["token"]);
                });
                m.streaming_result_type(&event);
                // The chat is one room: its last 1000 messages are kept for
                // subscribers that come back and for history, and who is
                // subscribed is its presence.
                m.room(|r| {
                    r.history(1000).presence(["name"]);
                });
                m.http(|h| {
                    h.get("/subscribe").param("name");
                    errors(h);
                });
            });
            s.method("who", |m| {
                m.description("Lists the clients subscribed to the chat now, on every server sharing its room, by id, a page at a time.");
                m.security("jwt", ["stream:read"]);
                m.error("unauthorized", STRING, "The token is missing or invalid");
                m.error("invalid-scopes", STRING, "The token lacks a required scope");
                m.payload(|p| {
                    p.token("token", STRING, "JWT used for authentication");
                    p.attribute("after", STRING, "List the subscribers after this id (the last of the previous page)");
                    p.attribute("limit", INT, "Most subscribers listed")
                        .default(100)
                        .minimum(1)
                        .maximum(1000);
                    p.required(["token"]);
                });
                m.result_type(array_of(&subscriber));
                m.http(|h| {
                    h.get("/who")
                        .param("after")
                        .param("limit")
                        .response(200)
                        .error_response("unauthorized", 401)
                        .error_response("invalid-scopes", 403);
                });
            });
            s.method("history", |m| {
                m.description("Returns the last chat messages sent to the server, oldest first (as many as the chat's room keeps).");
                secured(m, "stream:read");
                m.payload(|p| {
                    p.token("token", STRING, "JWT used for authentication");
                    p.attribute("view", STRING, "View to use to render the result");
                    p.required(["token"]);
                });
                m.streaming_result_type(&summary);
                m.http(|h| {
                    h.get("/history").param("view");
                    errors(h);
                });
            });
        });
    })
}
