//! A design that uses every feature of the design language the guide does not:
//! path parameters, headers with wire names, cookies, arrays, defaults, every
//! format, patterns, enums, nested types, designed errors, a service path prefix,
//! client streaming with a final collection result, and a bidirectional method
//! whose result has views.

use nagare_design::*;

pub fn design() -> Api {
    let tag = type_("Tag", |t| {
        t.description("A label on a reading.");
        t.attribute("key", STRING).pattern("^[a-z]+$");
        t.attribute("value", STRING).max_length(16);
        t.required(["key"]);
    });
    let reading = result_type("application/vnd.features.reading", |r| {
        r.type_name("Reading");
        r.description("One sensor reading.");
        r.field(1, "sensor_id", STRING, "Sensor identifier")
            .format(Format::Uuid);
        r.field(2, "value", FLOAT64, "Measured value")
            .minimum(-100)
            .maximum(100);
        r.field(3, "unit", STRING, "Unit").enum_(["C", "F"]);
        r.field(4, "taken_at", STRING, "When it was taken")
            .format(Format::DateTime);
        r.field(5, "tags", array_of(tag.clone()), "Labels");
        r.field(6, "raw", BYTES, "Raw sample");
        r.required(["sensor_id", "value", "taken_at"]);
        r.view("compact", |v| {
            v.attribute("sensor_id").attribute("value");
        });
    });
    api("features", |a| {
        a.service("sensors", |s| {
            s.description("Sensors in rooms.");
            s.path("/v1");
            s.error("not_found", STRING, "The room does not exist");
            s.http(|h| {
                h.error_response("not_found", 404);
            });
            s.method("record", |m| {
                m.description(
                    "Records readings of one room and returns them all when the client is done.",
                );
                m.payload(|p: &mut Object| {
                    p.attribute("room", STRING).min_length(2);
                    p.attribute("token", STRING).description("Credential");
                    p.attribute("session", STRING);
                    p.attribute("batch", INT).default(10).minimum(1);
                    p.attribute("labels", array_of(STRING));
                    p.attribute("strict", BOOLEAN);
                    p.required(["room", "token"]);
                });
                m.streaming_payload(&reading);
                m.result(collection_of(&reading));
                m.error("read_only", ERROR_RESULT, "The room is read-only");
                m.http(|h| {
                    h.get("/rooms/{room}/record")
                        .header("token:X-Token")
                        .cookie("session:sid")
                        .param("batch")
                        .param("labels:label")
                        .param("strict");
                });
            });
            s.method("watch", |m| {
                m.description(
                    "Streams readings back as they are sent, in the view the client picks.",
                );
                m.payload(|p: &mut Object| {
                    p.attribute("view", STRING);
                    p.attribute("host", STRING).format(Format::Hostname);
                });
                m.streaming_payload(&reading);
                m.streaming_result(&reading);
                m.http(|h| {
                    h.get("/watch").param("view").header("host:X-Host");
                });
            });
        });
    })
}
