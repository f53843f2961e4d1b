//! Generated request decoding, client encoding, views, collections and designed
//! errors, over real sockets.

#[path = "../design.rs"]
mod design;

use nagare::{ClientError, StreamError};
use nagare_features::sensors::{self, client::Client, Reading, RecordPayload, Tag, WatchPayload};

/// The rooms' conversations (the `talk` rooms), in memory.
#[derive(Clone)]
struct Sensors {
    rooms: sensors::Rooms,
}

impl Default for Sensors {
    fn default() -> Self {
        Sensors {
            rooms: sensors::Rooms::new(nagare::MemoryBroker::new().shared()),
        }
    }
}

/// A designed error of an object type, far longer than the 123 bytes a close
/// reason holds.
fn rejection() -> sensors::Rejection {
    sensors::Rejection {
        reason: "é".repeat(250),
        code: 7,
    }
}

fn tag(key: &str, value: impl ToString) -> Tag {
    Tag {
        key: key.into(),
        value: Some(value.to_string()),
    }
}

impl sensors::Service for Sensors {
    async fn annotate(&self, payload: sensors::AnnotatePayload) -> Result<i64, sensors::Error> {
        Ok(payload.note.chars().count() as i64)
    }

    async fn version(&self) -> Result<String, sensors::Error> {
        Ok("1.0".to_owned())
    }

    async fn jwt_auth(
        &self,
        token: &str,
        scheme: &nagare::security::JwtScheme,
    ) -> Result<(), sensors::Error> {
        // A stand-in for real verification: the token lists its scopes.
        let scopes: Vec<&str> = token.split(',').collect();
        scheme
            .validate_scopes(&scopes)
            .map_err(|e| sensors::Error::internal(format!("refused: {e}")))
    }

    async fn api_key_auth(
        &self,
        key: &str,
        _scheme: &nagare::security::ApiKeyScheme,
    ) -> Result<(), sensors::Error> {
        if key == "k1" {
            Ok(())
        } else {
            Err(sensors::Error::Forbidden(format!("unknown key {key:?}")))
        }
    }

    async fn latest(&self, payload: sensors::LatestPayload) -> Result<Reading, sensors::Error> {
        Ok(Reading {
            sensor_id: payload.sensor_id,
            value: 20.0 * payload.scale,
            ..reading(0.0)
        })
    }

    async fn calibrate(&self, payload: sensors::CalibratePayload) -> Result<(), sensors::Error> {
        if payload.note.as_deref() == Some("fail") {
            return Err(sensors::Error::internal(
                "the calibration table is locked by pid 4242",
            ));
        }
        Ok(())
    }

    async fn record(
        &self,
        payload: RecordPayload,
        mut stream: sensors::RecordServerStream,
    ) -> Result<(), sensors::Error> {
        if payload.room == "nowhere" {
            return Err(sensors::Error::NotFound(format!(
                "no room {:?}",
                payload.room
            )));
        }
        let mut readings = Vec::new();
        while let Some(r) = stream.recv().await? {
            readings.push(r);
        }
        // Report what the server decoded from the upgrade request.
        if let Some(first) = readings.first_mut() {
            first.tags = Some(vec![
                tag("room", &payload.room),
                tag("token", &payload.token),
                tag("session", payload.session.as_deref().unwrap_or("-")),
                tag("batch", payload.batch),
                tag("labels", payload.labels.unwrap_or_default().join(",")),
                tag(
                    "strict",
                    payload.strict.map_or("-".into(), |s| s.to_string()),
                ),
            ]);
        }
        stream.send_and_close(&readings).await?;
        Ok(())
    }

    async fn inspect(
        &self,
        payload: sensors::InspectPayload,
    ) -> Result<sensors::State, sensors::Error> {
        // What was asked for comes back in the client's id: the test reads it.
        let level = payload.level.map_or("-".to_owned(), |l| l.to_string());
        Ok(sensors::State {
            client: Some(sensors::Client {
                id: Some(format!("c1 {} {level}", payload.detail)),
            }),
            last: Some(sensors::Command {
                line: Some("calibrate".into()),
                args: Some(vec![sensors::Arg {
                    name: Some("offset".into()),
                }]),
            }),
            error: None,
        })
    }

    async fn talk(
        &self,
        payload: sensors::TalkPayload,
        stream: sensors::TalkServerStream,
    ) -> Result<(), sensors::Error> {
        let room = self.rooms.talk(&payload.room);
        let (mut tx, mut rx) = stream.split();
        let hearing = async {
            while let Some(line) = rx.recv().await? {
                if line.text == "reject" {
                    return Err(sensors::Error::Rejected(rejection()));
                }
                let said = sensors::TalkResult {
                    room: payload.room.clone(),
                    text: line.text,
                };
                room.publish(&said).await?;
            }
            // The client is done talking; it keeps listening until it leaves.
            std::future::pending::<Result<(), sensors::Error>>().await
        };
        // Following starts first, so this client's own lines come back to it.
        tokio::select! {
            biased;
            r = self.rooms.follow_talk(&payload, &mut tx) => r?,
            r = hearing => r?,
        }
        Ok(())
    }

    async fn watch(
        &self,
        _payload: WatchPayload,
        stream: sensors::WatchServerStream,
    ) -> Result<(), sensors::Error> {
        let (mut tx, mut rx) = stream.split();
        while let Some(r) = rx.recv().await? {
            if r.unit == Some(sensors::ReadingUnit::F) {
                return Err(sensors::Error::Rejected(rejection()));
            }
            tx.send(&r).await?;
        }
        Ok(())
    }
}

async fn start() -> String {
    start_with(nagare::ServerOptions::new()).await
}

async fn start_with(options: nagare::ServerOptions) -> String {
    serve(Sensors::default(), options).await
}

async fn serve(service: Sensors, options: nagare::ServerOptions) -> String {
    let app = sensors::server::router(service, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { nagare::axum::serve(nagare::server::nodelay(listener), app).await });
    format!("http://{addr}")
}

use nagare_testkit::bounded;

fn reading(value: f64) -> Reading {
    Reading {
        sensor_id: "67e55044-10b1-426f-9247-bb680e5fe0c8".into(),
        value,
        unit: Some(sensors::ReadingUnit::C),
        taken_at: "2026-11-28T06:00:00Z".into(),
        tags: None,
        raw: Some(nagare::message::Bytes(vec![0, 1, 2, 255])),
    }
}

fn payload(room: &str) -> RecordPayload {
    RecordPayload {
        room: room.into(),
        token: "secret".into(),
        session: Some("s1".into()),
        batch: 10,
        labels: Some(vec!["a b".into(), "c".into()]),
        strict: Some(true),
    }
}

#[tokio::test]
async fn path_header_cookie_query_and_arrays_reach_the_server() {
    bounded(async {
        let base = start().await;
        let client = Client::new(&base);
        let mut stream = client.record(&payload("kitchen")).await.expect("dial");
        stream.send(&reading(1.5)).await.expect("send");
        stream.send(&reading(-2.0)).await.expect("send");
        let result = stream.close_and_recv().await.expect("result");
        assert_eq!(result.len(), 2);
        let tags: Vec<(String, String)> = result[0]
            .tags
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.value.unwrap_or_default()))
            .collect();
        let want = [
            ("room", "kitchen"),
            ("token", "secret"),
            ("session", "s1"),
            ("batch", "10"),
            ("labels", "a b,c"),
            ("strict", "true"),
        ];
        assert_eq!(
            tags,
            want.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
        assert_eq!(
            result[1].raw,
            Some(nagare::message::Bytes(vec![0, 1, 2, 255]))
        );
    })
    .await;
}

/// The upgrade request's HTTP error, decoded.
async fn refused(base: &str, target: &str, headers: &[(&str, &str)]) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.expect("read");
    let status = out[9..12].parse().expect("status");
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or_default())
}

/// Request target, headers, expected error name and message.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);

#[tokio::test]
async fn decoding_errors_are_goa_errors_before_the_upgrade() {
    bounded(async {
        let base = start().await;
        let cases: [Case; 5] = [
            ("/v1/rooms/kitchen/record", &[], "missing_field", "\"token\" is missing from header"),
            ("/v1/rooms/k/record", &[("X-Token", "t")], "invalid_length", "length of room must be greater or equal than 2 but got value \"k\" (len=1)"),
            ("/v1/rooms/kitchen/record?batch=many", &[("X-Token", "t")], "invalid_field_type", "invalid value \"many\" for \"batch\", must be a integer"),
            ("/v1/rooms/kitchen/record?strict=maybe", &[("X-Token", "t")], "invalid_field_type", "invalid value \"maybe\" for \"strict\", must be a boolean"),
            ("/v1/watch?view=bogus&", &[("X-Host", "-bad-")], "invalid_format", "host must be formatted as a hostname but got value \"-bad-\", invalid label \"-bad-\""),
        ];
        for (target, headers, name, message) in cases {
            let (status, body) = refused(&base, target, headers).await;
            assert_eq!(status, 400, "{target}");
            assert_eq!(body["name"], name, "{target}");
            assert_eq!(body["message"], message, "{target}");
        }
    })
    .await;
}

#[tokio::test]
async fn designed_error_mid_stream_closes_with_4000_and_its_name() {
    bounded(async {
        let base = start().await;
        let mut stream = Client::new(&base)
            .record(&payload("nowhere"))
            .await
            .expect("dial");
        let err = match stream.close_and_recv().await {
            Err(StreamError::Closed { code, reason }) => {
                assert_eq!(code, 4000);
                assert_eq!(reason, "not_found: no room \"nowhere\"");
                StreamError::Closed { code, reason }
            }
            other => panic!("expected close 4000, got {other:?}"),
        };
        // The client turns it back into the designed error.
        match sensors::Error::from(err) {
            sensors::Error::NotFound(message) => assert_eq!(message, "no room \"nowhere\""),
            other => panic!("expected the typed error, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_client_stream_past_its_designed_totals_is_closed_with_1008() {
    bounded(async {
        let base = start().await;
        let client = Client::new(&base);
        // 100 readings are a whole stream; the 101st is one too many.
        let mut stream = client.record(&payload("kitchen")).await.expect("dial");
        for i in 0..100 {
            stream.send(&reading(f64::from(i))).await.expect("send");
        }
        assert_eq!(stream.close_and_recv().await.expect("result").len(), 100);
        let mut stream = client.record(&payload("kitchen")).await.expect("dial");
        let mut closed = None;
        for i in 0..101 {
            if let Err(e) = stream.send(&reading(f64::from(i))).await {
                closed = Some(e);
                break;
            }
        }
        let err = match closed {
            Some(e) => e,
            None => stream.close_and_recv().await.expect_err("closed"),
        };
        match err {
            StreamError::Closed { code, reason } => {
                assert_eq!(code, 1008);
                assert_eq!(
                    reason,
                    "message limit of the connection exceeded (100 messages)"
                );
            }
            other => panic!("expected close 1008, got {other:?}"),
        }
        // The byte total counts too: 64 KiB in large readings.
        let mut stream = client.record(&payload("kitchen")).await.expect("dial");
        let mut big = reading(1.0);
        big.raw = Some(nagare::message::Bytes(vec![7; 15_000]));
        let mut closed = None;
        for _ in 0..4 {
            if let Err(e) = stream.send(&big).await {
                closed = Some(e);
                break;
            }
        }
        let err = match closed {
            Some(e) => e,
            None => stream.close_and_recv().await.expect_err("closed"),
        };
        assert!(
            matches!(&err, StreamError::Closed { code: 1008, reason } if reason.contains("65536 bytes")),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn client_refuses_an_invalid_payload_without_dialing() {
    let client = Client::new("http://127.0.0.1:9");
    let mut p = payload("kitchen");
    p.batch = 0;
    match client.record(&p).await {
        Err(sensors::Error::Client(ClientError::InvalidPayload(e))) => {
            assert_eq!(
                e.message,
                "batch must be greater or equal than 1 but got value 0"
            )
        }
        other => panic!("expected an invalid payload, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn bidirectional_viewed_result_uses_the_requested_view() {
    bounded(async {
        let base = start().await;
        let client = Client::new(&base);
        let mut stream = client
            .watch(&WatchPayload {
                view: Some("compact".into()),
                host: Some("sensors.example.com".into()),
            })
            .await
            .expect("dial");
        stream.send(&reading(3.0)).await.expect("send");
        let back = stream.recv().await.expect("recv").expect("a reading");
        // Only the compact view's attributes came back.
        assert_eq!(back.value, 3.0);
        assert_eq!(back.sensor_id, "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert_eq!(back.taken_at, "");
        assert_eq!(back.unit, None);
    })
    .await;
}

#[test]
fn validation_reports_every_failure_merged() {
    use nagare::Validate;
    let bad = Reading {
        sensor_id: "nope".into(),
        value: 101.0,
        unit: None,
        taken_at: "yesterday".into(),
        tags: Some(vec![Tag {
            key: "UPPER".into(),
            value: None,
        }]),
        raw: None,
    };
    let e = bad.validate().expect_err("invalid");
    assert_eq!(e.name, "invalid_format");
    for part in [
        "sensor_id must be formatted as a uuid",
        "value must be lesser or equal than 100 but got value 101",
        "taken_at must be formatted as a date-time",
        "key must match the regexp \"^[a-z]+$\" but got value \"UPPER\"",
    ] {
        assert!(
            e.message.contains(part),
            "missing {part:?} in {}",
            e.message
        );
    }
}

#[test]
fn design_enums_are_rust_enums_with_the_wire_unchanged() {
    use nagare::Message;
    use sensors::ReadingUnit;
    // Written as the design's value, read back from it.
    let celsius = Reading {
        unit: Some(ReadingUnit::C),
        ..reading(1.0)
    };
    let mut out = Vec::new();
    celsius.encode(None, &mut out).expect("encode");
    let text = String::from_utf8(out).expect("UTF-8");
    assert!(text.contains(r#""unit":"C""#), "{text}");
    assert_eq!(Reading::decode(text.as_bytes(), None).ok(), Some(celsius));
    // A value the design does not list is Goa's invalid_enum_value, as a
    // validation of the string was.
    let kelvin = text.replace(r#""unit":"C""#, r#""unit":"K""#);
    match Reading::decode(kelvin.as_bytes(), None) {
        Err(nagare::DecodeError::Invalid(e)) => {
            assert_eq!(e.name, "invalid_enum_value");
            assert_eq!(
                e.message,
                r#"value of unit must be one of "C", "F" but got value "K""#
            );
        }
        other => panic!("invalid_enum_value expected, got {other:?}"),
    }
    // The type's own conversions.
    assert_eq!(ReadingUnit::ALL, [ReadingUnit::C, ReadingUnit::F]);
    assert_eq!(ReadingUnit::F.to_string(), "F");
    assert_eq!("C".parse::<ReadingUnit>().ok(), Some(ReadingUnit::C));
    assert!("K".parse::<ReadingUnit>().is_err());
}

#[test]
fn generated_code_is_stable() {
    // Exactly what build.rs generates.
    let builder = nagare_codegen::Builder::new()
        .cli(true)
        .asyncapi(true)
        .openapi(true);
    let design = design::design();
    let code = builder.render(&design).expect("the design is valid");
    insta::assert_snapshot!("features", code);
    let asyncapi = builder.render_asyncapi(&design).expect("asyncapi");
    insta::assert_snapshot!("features.asyncapi", asyncapi);
    let openapi = builder.render_openapi(&design).expect("openapi");
    insta::assert_snapshot!("features.openapi", openapi);
}

const SENSOR: &str = "67e55044-10b1-426f-9247-bb680e5fe0c8";

#[tokio::test]
async fn unary_get_with_the_token_in_the_query_and_a_pinned_view() {
    bounded(async {
        let base = start().await;
        let client = Client::new(&base);
        let latest = client
            .latest(&sensors::LatestPayload {
                token: "sensors:read".into(),
                sensor_id: SENSOR.into(),
                scale: 2.0,
            })
            .await
            .expect("latest");
        // The compact view: sensor and value only; the rest at its zero value.
        assert_eq!((latest.sensor_id.as_str(), latest.value, latest.taken_at.as_str()), (SENSOR, 40.0, ""));
        // The raw request a browser would make, token in the URL.
        let addr = base.trim_start_matches("http://");
        let (status, body) = http(addr, &format!("GET /v1/sensors/{SENSOR}/latest?token=sensors:read HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).await;
        assert_eq!(status, 200);
        assert_eq!(body, format!("{{\"sensor_id\":\"{SENSOR}\",\"value\":20.0}}\n"));
        // A scope missing: the hook's internal error is a 500 that reveals nothing.
        let (status, body) = http(addr, &format!("GET /v1/sensors/{SENSOR}/latest?token=other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).await;
        assert_eq!(status, 500);
        assert!(body.contains("\"name\":\"fault\"") && body.contains("\"message\":\"internal error\""), "{body}");
    })
    .await;
}

#[tokio::test]
async fn unary_methods_with_a_body_only_payload_or_none_at_all() {
    // Their handlers read no request head: generated without a name left
    // unused (the crate builds with -D warnings).
    bounded(async {
        let base = start().await;
        let client = Client::new(&base);
        let note = sensors::AnnotatePayload {
            note: "héllo".into(),
        };
        assert_eq!(client.annotate(&note).await.expect("annotate"), 5);
        assert_eq!(client.version().await.expect("version"), "1.0");
    })
    .await;
}

#[tokio::test]
async fn unary_post_with_an_api_key_header_and_a_json_body() {
    bounded(async {
        let base = start().await;
        let client = Client::new(&base);
        let mut p = sensors::CalibratePayload {
            key: "k1".into(),
            sensor_id: SENSOR.into(),
            offset: 1.5,
            note: None,
            serial: None,
        };
        client.calibrate(&p).await.expect("calibrated");
        p.key = "k2".into();
        match client.calibrate(&p).await {
            Err(sensors::Error::Forbidden(m)) => assert_eq!(m, "unknown key \"k2\""),
            other => panic!("expected forbidden, got {other:?}"),
        }
        // Internals stay on the server.
        p.key = "k1".into();
        p.note = Some("fail".into());
        match client.calibrate(&p).await {
            Err(sensors::Error::Client(ClientError::Refused { status, error: Some(e), .. })) => {
                assert_eq!(status, 500);
                assert_eq!(e.message, "internal error");
            }
            other => panic!("expected a fault, got {other:?}"),
        }
        // Body errors are Goa errors: a missing required attribute, a wrong type.
        let addr = base.trim_start_matches("http://");
        let post = |body: &str| format!("POST /v1/sensors/{SENSOR}/calibrate HTTP/1.1\r\nHost: x\r\nX-Api-Key: k1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        let (status, body) = http(addr, &post("{}")).await;
        assert_eq!(status, 400);
        assert!(body.contains("\"message\":\"\\\"offset\\\" is missing from body\""), "{body}");
        let (status, body) = http(addr, &post("{\"offset\":\"high\"}")).await;
        assert_eq!(status, 400);
        assert!(body.contains("\"name\":\"invalid_field_type\""), "{body}");
        let (status, _) = http(addr, &post("{\"offset\":0.5}")).await;
        assert_eq!(status, 204);
    })
    .await;
}

/// One HTTP exchange over a raw socket: status and body.
async fn http(addr: &str, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.expect("read");
    let status = out[9..12].parse().expect("status");
    (
        status,
        out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned(),
    )
}

/// The status of an upgrade to `/v1/watch` from a browser page at `origin`.
async fn watch_status(base: &str, origin: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(format!("GET /v1/watch HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut line = [0u8; 12];
    tcp.read_exact(&mut line).await.expect("status line");
    String::from_utf8_lossy(&line[9..12])
        .parse()
        .expect("status")
}

#[tokio::test]
async fn the_design_ws_block_sets_the_endpoint_and_code_overrides_it() {
    bounded(async {
        let base = start().await;
        // Origins from the design.
        assert_eq!(watch_status(&base, "https://app.example.com").await, 101);
        assert_eq!(watch_status(&base, "https://evil.example").await, 403);
        // Idle timeout from the design: a watcher that sends nothing is closed.
        let mut idle = Client::new(&base)
            .watch(&WatchPayload {
                view: None,
                host: None,
            })
            .await
            .expect("dial");
        match idle.recv().await {
            Err(StreamError::Closed { code, reason }) => {
                assert_eq!((code, reason.as_str()), (1001, "idle timeout"))
            }
            other => panic!("expected the idle close, got {other:?}"),
        }
        // Code wins over the design for this endpoint.
        let mut options = nagare::ServerOptions::new();
        let open = nagare::ConnConfig {
            origins: nagare::OriginPolicy::Any,
            ..Default::default()
        };
        options.set_endpoint(sensors::endpoints::WATCH, open);
        let base = start_with(options).await;
        assert_eq!(watch_status(&base, "https://evil.example").await, 101);
    })
    .await;
}

fn line(text: &str) -> sensors::TalkStreamingPayload {
    sensors::TalkStreamingPayload { text: text.into() }
}

async fn heard<R: nagare::Message>(rx: &mut nagare::ResumableStream<R>) -> R {
    match rx.recv().await {
        Ok(Some(r)) => r,
        other => panic!("expected a line, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn a_resumable_bidirectional_stream_resumes_its_server_half() {
    use nagare::ConnectionState;
    use std::time::Duration;
    bounded(async {
        let base = start().await;
        let addr = base
            .trim_start_matches("http://")
            .parse()
            .expect("server address");
        let proxy = nagare_testkit::proxy::Proxy::start(addr).await;
        let lobby = sensors::TalkPayload {
            room: "lobby".into(),
            nick: None,
        };
        assert_eq!(lobby.room_key(), "lobby");
        let reconnect = nagare::RetryPolicy::default()
            .initial_delay(Duration::from_millis(1))
            .max_delay(Duration::from_millis(20))
            .forever();
        let talk = Client::new(proxy.url())
            .with_reconnect(reconnect)
            .talk(&lobby)
            .await
            .expect("talk");
        let mut states = talk.states();
        let (mut tx, mut rx) = talk.split();
        tx.send(&line("t1")).await.expect("send");
        assert_eq!(heard(&mut rx).await.text, "t1");
        let (mut other_tx, mut other_rx) = Client::new(&base)
            .talk(&lobby)
            .await
            .expect("other talker")
            .split();
        other_tx.send(&line("o1")).await.expect("send");
        assert_eq!(heard(&mut rx).await.text, "o1");
        assert_eq!(heard(&mut other_rx).await.text, "o1");

        // The first talker is cut off and kept away while the other talks on.
        proxy.refuse(true);
        proxy.cut();
        let receiving = tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..3 {
                got.push(heard(&mut rx).await.text);
            }
            (got, rx)
        });
        states
            .wait_for(
                |s| matches!(s, ConnectionState::Reconnecting { attempt, .. } if *attempt >= 3),
            )
            .await
            .expect("states");
        other_tx.send(&line("o2")).await.expect("send");
        other_tx.send(&line("o3")).await.expect("send");
        assert_eq!(heard(&mut other_rx).await.text, "o2");
        assert_eq!(heard(&mut other_rx).await.text, "o3");
        // A send while the stream reconnects waits for the new connection.
        let sending = tokio::spawn(async move { tx.send(&line("t2")).await.map(|()| tx) });
        proxy.refuse(false);
        let (got, rx) = receiving.await.expect("receiver");
        assert_eq!(got, ["o2", "o3", "t2"]);
        assert_eq!(rx.reconnects(), 1);
        sending.await.expect("sender").expect("t2 sent");
        assert_eq!(heard(&mut other_rx).await.text, "t2");
    })
    .await;
}

#[tokio::test]
async fn talkers_are_present_in_their_room_while_they_follow_it() {
    use nagare::broker::{PresenceChange, PresenceEvent};
    bounded(async {
        let service = Sensors::default();
        let base = serve(service.clone(), nagare::ServerOptions::new()).await;
        let room = service.rooms.talk("den");
        let mut presence = room.presence().await.expect("presence");
        let talker = |nick: Option<&str>| sensors::TalkPayload {
            room: "den".into(),
            nick: nick.map(str::to_owned),
        };
        let ann = Client::new(&base)
            .talk(&talker(Some("ann")))
            .await
            .expect("ann");
        let anon = Client::new(&base).talk(&talker(None)).await.expect("anon");
        let mut joined = Vec::new();
        for _ in 0..2 {
            match presence.next().await {
                Some(PresenceChange::Event(PresenceEvent::Join(m))) => joined.push(m),
                other => panic!("a join expected, got {other:?}"),
            }
        }
        let infos = |members: &[nagare::broker::Member]| {
            let mut infos: Vec<_> = members.iter().map(|m| m.info.clone()).collect();
            infos.sort();
            infos
        };
        let expected = vec![None, Some("{\"nick\":\"ann\"}".to_owned())];
        assert_eq!(infos(&joined), expected);
        assert_eq!(infos(&room.members().await.expect("members")), expected);
        // Another room's presence is its own.
        assert!(service
            .rooms
            .talk("hall")
            .members()
            .await
            .expect("members")
            .is_empty());

        drop(ann);
        match presence.next().await {
            Some(PresenceChange::Event(PresenceEvent::Leave(m))) => {
                assert_eq!(m.info.as_deref(), Some("{\"nick\":\"ann\"}"))
            }
            other => panic!("a leave expected, got {other:?}"),
        }
        assert_eq!(infos(&room.members().await.expect("members")), vec![None]);
        drop(anon);
    })
    .await;
}

#[tokio::test]
async fn a_long_designed_error_arrives_whole_over_nagare_v1_and_named_everywhere_else() {
    bounded(async {
        let base = start().await;
        let addr = base.trim_start_matches("http://").parse().expect("addr");

        // nagare.v1 (a resumable stream): the error frame carries it whole.
        let (mut tx, mut rx) = Client::new(&base)
            .talk(&sensors::TalkPayload {
                room: "hall".into(),
                nick: None,
            })
            .await
            .expect("talk")
            .split();
        tx.send(&line("reject")).await.expect("send");
        let err = rx.recv().await.expect_err("the stream fails");
        match sensors::Error::from(err) {
            sensors::Error::Rejected(r) => assert_eq!(r, rejection()),
            other => panic!("expected the whole rejection, got {other:?}"),
        }

        // A plain nagare client: the close reason holds 123 bytes; the error's
        // name arrives, and the client says the value was cut.
        let mut watch = Client::new(&base)
            .watch(&WatchPayload::default())
            .await
            .expect("watch");
        let fahrenheit = Reading {
            unit: Some(sensors::ReadingUnit::F),
            ..reading(1.0)
        };
        watch.send(&fahrenheit).await.expect("send");
        let err = watch.recv().await.expect_err("the stream fails");
        match sensors::Error::from(err) {
            sensors::Error::Stream(StreamError::Truncated { name, reason }) => {
                assert_eq!(name, "rejected");
                assert!(reason.len() <= 123 && reason.ends_with('…'), "{reason}");
                assert!(reason.starts_with("rejected: {\"reason\":\"éé"), "{reason}");
            }
            other => panic!("expected a cut designed error, got {other:?}"),
        }

        // A Goa peer: close 4000, the reason cut on a character boundary with the
        // name kept, and no frame it does not know.
        use nagare_testkit::wire;
        let request = wire::go_upgrade_request(addr, "/v1/watch", "");
        let (mut tcp, head) = wire::send_head(addr, &request).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let json = format!("{{\"sensor_id\":\"{SENSOR}\",\"value\":1,\"unit\":\"F\",\"taken_at\":\"2026-11-28T06:00:00Z\"}}");
        tokio::io::AsyncWriteExt::write_all(&mut tcp, &wire::frame(wire::TEXT, true, json.as_bytes()))
            .await
            .expect("send");
        let (_, opcode, payload) = wire::read_frame(&mut tcp).await;
        assert_eq!(opcode, wire::CLOSE);
        assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 4000);
        let reason = std::str::from_utf8(&payload[2..]).expect("a cut on a character boundary");
        assert!(reason.len() <= 123 && reason.starts_with("rejected: "), "{reason}");
    })
    .await;
}

#[tokio::test]
async fn design_types_named_like_generated_items_are_named_by_path() {
    bounded(async {
        let base = start().await;
        let state = Client::new(&base)
            .inspect(&sensors::InspectPayload {
                sensor_id: SENSOR.into(),
                ..Default::default()
            })
            .await
            .expect("inspect");
        assert_eq!(
            state.client.and_then(|c| c.id).as_deref(),
            Some("c1 brief -")
        );
        assert_eq!(state.last.and_then(|c| c.args).map(|a| a.len()), Some(1));
        // The command line, with its own Command and Arg, knows the method too.
        let help = nagare_features::cli::command()
            .render_long_help()
            .to_string();
        assert!(help.contains("sensors"), "{help}");
    })
    .await;
}

#[tokio::test]
async fn enum_parameters_travel_as_their_values_and_others_are_refused() {
    bounded(async {
        let base = start().await;
        let asked = Client::new(&base)
            .inspect(&sensors::InspectPayload {
                sensor_id: SENSOR.into(),
                detail: sensors::InspectPayloadDetail::Full,
                level: Some(sensors::InspectPayloadLevel::V3),
            })
            .await
            .expect("inspect");
        assert_eq!(asked.client.and_then(|c| c.id).as_deref(), Some("c1 full 3"));
        // On the wire they are the design's values: another is refused
        // before the method runs, with Goa's invalid_enum_value.
        let addr = base.trim_start_matches("http://");
        for (query, message) in [
            ("detail=all", r#"value of detail must be one of \"brief\", \"full\" but got value \"all\""#),
            ("level=4", "value of level must be one of 1, 2, 3 but got value 4"),
        ] {
            let (status, body) = http(
                addr,
                &format!("GET /v1/sensors/{SENSOR}/state?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            )
            .await;
            assert_eq!(status, 400, "{body}");
            assert!(body.contains(r#""name":"invalid_enum_value""#), "{body}");
            assert!(body.contains(message), "{body}");
        }
        // The command line lists the values.
        let inspect = nagare_features::cli::command()
            .find_subcommand_mut("sensors")
            .and_then(|s| s.find_subcommand_mut("inspect"))
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        assert!(inspect.contains("[possible values: brief, full]"), "{inspect}");
        assert!(inspect.contains("[possible values: 1, 2, 3]"), "{inspect}");
    })
    .await;
}

#[tokio::test]
async fn integer_bounds_are_exact_past_two_to_the_53() {
    bounded(async {
        let base = start().await;
        let addr = base.trim_start_matches("http://");
        let over = 9_007_199_254_740_993_i64;
        // The client checks first...
        let refused = Client::new(&base)
            .calibrate(&sensors::CalibratePayload {
                key: "k1".into(),
                sensor_id: SENSOR.into(),
                offset: 0.0,
                note: None,
                serial: Some(over),
            })
            .await
            .err();
        match refused {
            Some(sensors::Error::Client(ClientError::InvalidPayload(e))) => {
                assert_eq!(e.name, "invalid_range");
                assert_eq!(
                    e.message,
                    "serial must be lesser or equal than 9007199254740992 but got value 9007199254740993"
                );
            }
            other => panic!("expected the client to refuse, got {other:?}"),
        }
        // ...and so does the server, for a client that does not.
        let body = format!("{{\"offset\":0,\"serial\":{over}}}");
        let request = format!(
            "POST /v1/sensors/{SENSOR}/calibrate HTTP/1.1\r\nHost: {addr}\r\nX-Api-Key: k1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (status, response) = http(addr, &request).await;
        assert_eq!(status, 400, "{response}");
        assert!(response.contains("\"name\":\"invalid_range\""), "{response}");
        // 2^53 itself is fine.
        let request = request.replace(&over.to_string(), "9007199254740992");
        assert_eq!(http(addr, &request).await.0, 204);
    })
    .await;
}

#[test]
fn an_unknown_view_is_an_error_never_no_attributes() {
    use nagare::{DecodeError, Message};
    assert_eq!(Reading::view_attributes("bogus"), None);
    let e = reading(1.0).validate_view("bogus").err();
    assert_eq!(e.as_ref().map(|e| e.name), Some("invalid_view"));
    assert_eq!(
        e.map(|e| e.message),
        Some(
            "unknown view \"bogus\": the views of this result are \"default\", \"compact\""
                .to_owned()
        )
    );
    let json = br#"{"sensor_id":"67e55044-10b1-426f-9247-bb680e5fe0c8","value":1}"#;
    assert!(Reading::decode(json, Some("compact")).is_ok());
    match Reading::decode(json, Some("bogus")) {
        Err(DecodeError::Invalid(e)) => assert_eq!(e.name, "invalid_view"),
        other => panic!("expected invalid_view, got {other:?}"),
    }
}

#[tokio::test]
async fn errors_keep_their_causes_and_the_peer_sees_none_of_them() {
    use std::error::Error as _;
    bounded(async {
        // A port nobody listens on.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = closed.local_addr().expect("addr");
        drop(closed);
        let err = Client::new(format!("http://{addr}"))
            .watch(&WatchPayload::default())
            .await
            .expect_err("nobody listens");
        // The generated error shows the client's error, whose source is the
        // operating system's refusal.
        assert!(matches!(
            &err,
            sensors::Error::Client(ClientError::Unreachable { .. })
        ));
        let cause = err.source().map(|c| c.to_string()).unwrap_or_default();
        assert!(cause.to_lowercase().contains("refused"), "{cause}");

        // An internal error keeps what caused it for the server's log...
        let internal = sensors::Error::internal(ClientError::Unreachable {
            reason: "inventory".into(),
            cause: Some(nagare::Cause::new(std::io::Error::other("disk on fire"))),
        });
        assert_eq!(internal.to_string(), "cannot reach the server: inventory");
        assert_eq!(
            internal.source().map(|c| c.to_string()).as_deref(),
            Some("disk on fire")
        );
        // ...and the peer gets nothing of it: 1011 on a stream, 500 over HTTP.
        let frame = nagare::StreamFailure::close_frame(&internal);
        assert_eq!(
            (frame.code, frame.reason.as_str()),
            (1011, "internal error")
        );
        let base = start().await;
        let p = sensors::CalibratePayload {
            key: "k1".into(),
            sensor_id: SENSOR.into(),
            offset: 0.0,
            note: Some("fail".into()),
            serial: None,
        };
        match Client::new(&base).calibrate(&p).await {
            Err(sensors::Error::Client(ClientError::Refused { status, body, .. })) => {
                assert_eq!(status, 500);
                assert!(body.contains("\"message\":\"internal error\""), "{body}");
                assert!(!body.contains("4242"), "the cause leaked: {body}");
            }
            other => panic!("expected a 500, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_result_that_does_not_decode_is_fatal_not_retried() {
    use nagare::axum::{routing::get, Router};
    use std::sync::atomic::{AtomicUsize, Ordering};
    bounded(async {
        // A server whose reading breaks the design: 500 is past the maximum.
        let calls = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let app = Router::new().route(
            "/v1/sensors/{sensor_id}/latest",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async move { format!("{{\"sensor_id\":\"{SENSOR}\",\"value\":500}}\n") }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { nagare::axum::serve(listener, app).await });
        let retrying = nagare::RetryPolicy::default()
            .initial_delay(std::time::Duration::from_millis(1))
            .max_attempts(Some(5));
        let result = Client::new(format!("http://{addr}"))
            .with_retry(retrying)
            .latest(&sensors::LatestPayload {
                token: "sensors:read".into(),
                sensor_id: SENSOR.into(),
                scale: 1.0,
            })
            .await;
        match result {
            Err(sensors::Error::Client(e @ ClientError::InvalidResult(_))) => {
                assert_eq!(e.kind(), nagare::ErrorKind::Fatal);
                let cause = std::error::Error::source(&e).map(|c| c.to_string());
                assert!(cause.is_some_and(|c| c.contains("value must be lesser or equal than 100")));
            }
            other => panic!("expected an invalid result, got {other:?}"),
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a bad result is not retried");
    })
    .await;
}
