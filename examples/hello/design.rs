use nagare_design::*;

pub fn design() -> Api {
    api("hello", |a| {
        a.service("greeter", |s| {
            s.method("greet", |m| {
                m.description("Answers every name sent with a greeting.");
                m.streaming_payload_type(STRING);
                m.streaming_result_type(STRING);
                m.http(|h| {
                    h.get("/greet");
                });
            });
            s.method("count", |m| {
                m.description("Counts from 1 to `to`, ten numbers a second.");
                m.payload(|p| {
                    p.attribute("to", INT, "Last number").default(10).minimum(1);
                });
                m.streaming_result_type(INT);
                m.http(|h| {
                    h.get("/count").param("to");
                });
            });
        });
    })
}
