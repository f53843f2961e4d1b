//! A design that uses every feature of the design language the guide does not:
//! path parameters, headers with wire names, cookies, arrays, defaults, every
//! format, patterns, enums, nested types, designed errors, a service path prefix,
//! client streaming with a final collection result, a bidirectional method whose
//! result has views, a bidirectional method that follows a room keyed by a
//! path parameter (publishing into it, with presence), an error of an object type, integer bounds past 2^53, and types
//! named like the generated code's own items (`State`, `Client`, `Command`,
//! `Arg`, `CliError`), which generated code names by path.

use nagare_design::*;

pub fn design() -> Api {
    let tag = type_("Tag", |t| {
        t.description("A label on a reading.");
        t.attribute("key", STRING, "").pattern("^[a-z]+$");
        t.attribute("value", STRING, "").max_length(16);
        t.required(["key"]);
    });
    let reading = result_type("application/vnd.features.reading", |r| {
        r.type_name("Reading");
        r.description("One sensor reading.");
        r.attribute("sensor_id", STRING, "Sensor identifier")
            .format(Format::Uuid);
        r.attribute("value", FLOAT64, "Measured value")
            .minimum(-100)
            .maximum(100);
        r.attribute("unit", STRING, "Unit").enum_(["C", "F"]);
        r.attribute("taken_at", STRING, "When it was taken")
            .format(Format::DateTime);
        r.attribute("tags", array_of(tag.clone()), "Labels");
        r.attribute("raw", BYTES, "Raw sample");
        r.required(["sensor_id", "value", "taken_at"]);
        r.view("compact", |v| {
            v.attribute("sensor_id").attribute("value");
        });
    });
    let rejection = type_("Rejection", |t| {
        t.description("Why a message was turned down.");
        t.attribute(
            "reason",
            STRING,
            "What was wrong, in as many words as it takes",
        );
        t.attribute("code", INT, "A number for it");
        t.required(["reason", "code"]);
    });
    // Named like the server's, client's and command line's own items.
    let arg = type_("Arg", |t| {
        t.attribute("name", STRING, "The argument's name");
    });
    let command = type_("Command", |t| {
        t.attribute("line", STRING, "The command line");
        t.attribute("args", array_of(&arg), "Its arguments");
    });
    let client = type_("Client", |t| {
        t.attribute("id", STRING, "Which client");
    });
    let cli_error = type_("CliError", |t| {
        t.attribute("message", STRING, "What went wrong");
    });
    let state = type_("State", |t| {
        t.description("What a sensor's installation was last told.");
        t.attribute("client", &client, "Who told it");
        t.attribute("last", &command, "What it was told");
        t.attribute("error", &cli_error, "What failed, if anything");
    });
    api("features", |a| {
        a.server("local", "http://localhost:8080");
        a.jwt_security("jwt", |s| {
            s.scope("sensors:read", "Read readings");
        });
        a.api_key_security("key", |s| {
            s.description("A key per installation.");
        });
        a.service("sensors", |s| {
            s.description("Sensors in rooms.");
            s.path("/v1");
            s.error("not_found", STRING, "The room does not exist");
            s.error("rejected", &rejection, "The message was turned down");
            s.http(|h| {
                h.error_response("not_found", 404);
            });
            s.method("record", |m| {
                m.description(
                    "Records readings of one room and returns them all when the client is done.",
                );
                m.payload(|p| {
                    p.attribute("room", STRING, "").min_length(2);
                    p.attribute("token", STRING, "Credential");
                    p.attribute("session", STRING, "");
                    p.attribute("batch", INT, "").default(10).minimum(1);
                    p.attribute("labels", array_of(STRING), "");
                    p.attribute("strict", BOOLEAN, "");
                    p.required(["room", "token"]);
                });
                m.streaming_payload_type(&reading);
                m.result_type(collection_of(&reading));
                m.error("read_only", ERROR_RESULT, "The room is read-only");
                m.http(|h| {
                    h.get("/rooms/{room}/record")
                        .header("token:X-Token")
                        .cookie("session:sid")
                        .param("batch")
                        .param("labels:label")
                        .param("strict");
                    // Every reading is kept until the client is done: a
                    // client stream is at most 100 readings and 64 KiB.
                    h.ws(|w| {
                        w.max_received_messages(100).max_received_bytes(64 * 1024);
                    });
                });
            });
            s.method("latest", |m| {
                m.description("The latest reading of a sensor, for browsers: the token comes in the query string.");
                m.security("jwt", ["sensors:read"]);
                m.payload(|p| {
                    p.token("token", STRING, "JWT, in the query string");
                    p.attribute("sensor_id", STRING, "").format(Format::Uuid);
                    p.attribute("scale", FLOAT64, "").default(1.0);
                    p.required(["token", "sensor_id"]);
                });
                m.result_type(&reading);
                m.result_view("compact");
                m.http(|h| {
                    h.get("/sensors/{sensor_id}/latest").param("token");
                });
            });
            s.method("calibrate", |m| {
                m.description("Calibrates a sensor; the key travels in a header and the settings in the body.");
                m.security("key", [] as [&str; 0]);
                m.payload(|p| {
                    p.api_key("key", "key", STRING, "Installation key");
                    p.attribute("sensor_id", STRING, "").format(Format::Uuid);
                    p.attribute("offset", FLOAT64, "").minimum(-10).maximum(10);
                    p.attribute("note", STRING, "");
                    // 2^53: the first integer an f64 cannot tell from its successor.
                    p.attribute("serial", INT64, "Serial number").maximum(9_007_199_254_740_992_i64);
                    p.required(["key", "sensor_id", "offset"]);
                });
                m.error("forbidden", STRING, "The key is not accepted");
                m.http(|h| {
                    h.post("/sensors/{sensor_id}/calibrate")
                        .header("key:X-Api-Key")
                        .response(204)
                        .error_response("forbidden", 403);
                });
            });
            s.method("annotate", |m| {
                m.description("Keeps a note about the sensors: the payload is the whole JSON body.");
                m.payload(|p| {
                    p.attribute("note", STRING, "What to keep").max_length(140);
                    p.required(["note"]);
                });
                m.result_type(INT);
                m.http(|h| {
                    h.post("/notes");
                });
            });
            s.method("version", |m| {
                m.description("The service's version: no payload at all.");
                m.result_type(STRING);
                m.http(|h| {
                    h.get("/version");
                });
            });
            s.method("inspect", |m| {
                m.description("What a sensor's installation was last told.");
                m.payload(|p| {
                    p.attribute("sensor_id", STRING, "").format(Format::Uuid);
                    p.attribute("detail", STRING, "How much to tell")
                        .enum_(["brief", "full"])
                        .default("brief");
                    p.attribute("level", INT, "Log level of what is told")
                        .enum_([1, 2, 3]);
                    p.required(["sensor_id"]);
                });
                m.result_type(&state);
                m.http(|h| {
                    h.get("/sensors/{sensor_id}/state")
                        .param("detail")
                        .param("level");
                });
            });
            s.method("talk", |m| {
                m.description("A room's conversation: each line sent is published to the room, and the room's lines stream back, resuming after a drop.");
                m.publishes("talk");
                m.payload(|p| {
                    p.attribute("room", STRING, "").min_length(2);
                    p.attribute("nick", STRING, "Who talks, as the room's presence shows them");
                    p.required(["room"]);
                });
                m.streaming_payload(|p| {
                    p.attribute("text", STRING, "What was said").min_length(1);
                    p.required(["text"]);
                });
                m.streaming_result(|r| {
                    r.attribute("room", STRING, "Where it was said");
                    r.attribute("text", STRING, "What was said");
                    r.required(["room", "text"]);
                });
                m.room(|r| {
                    r.key(["room"]).history(256).presence(["nick"]);
                });
                m.http(|h| {
                    h.get("/rooms/{room}/talk").param("nick");
                });
            });
            s.method("watch", |m| {
                m.description(
                    "Streams readings back as they are sent, in the view the client picks.",
                );
                m.payload(|p| {
                    p.attribute("view", STRING, "");
                    p.attribute("host", STRING, "").format(Format::Hostname);
                });
                m.streaming_payload_type(&reading);
                m.streaming_result_type(&reading);
                m.http(|h| {
                    h.get("/watch").param("view").header("host:X-Host");
                    h.ws(|w| {
                        w.idle_timeout(std::time::Duration::from_millis(300))
                            .origins(["https://*.example.com"]);
                    });
                });
            });
        });
    })
}
