//! What the fuzz targets and property tests drive: a service that accepts
//! every credential and answers every call at once, so that what is exercised
//! is the generated decoding of requests and messages, and decoders that take
//! untrusted bytes and must return, never panic.

use crate::sensors;

/// A sensors service with no behaviour of its own.
#[derive(Clone, Debug, Default)]
pub struct NullSensors;

impl sensors::Service for NullSensors {
    async fn annotate(&self, payload: sensors::AnnotatePayload) -> Result<i64, sensors::Error> {
        Ok(payload.note.chars().count() as i64)
    }

    async fn version(&self) -> Result<String, sensors::Error> {
        Ok("1.0".to_owned())
    }

    async fn jwt_auth(
        &self,
        _token: &str,
        _scheme: &nagare::security::JwtScheme,
    ) -> Result<(), sensors::Error> {
        Ok(())
    }

    async fn api_key_auth(
        &self,
        _key: &str,
        _scheme: &nagare::security::ApiKeyScheme,
    ) -> Result<(), sensors::Error> {
        Ok(())
    }

    async fn record(
        &self,
        _payload: sensors::RecordPayload,
        _stream: sensors::RecordServerStream,
    ) -> Result<(), sensors::Error> {
        Ok(())
    }

    async fn latest(
        &self,
        payload: sensors::LatestPayload,
    ) -> Result<sensors::Reading, sensors::Error> {
        Ok(sensors::Reading {
            sensor_id: payload.sensor_id,
            value: payload.scale,
            unit: None,
            taken_at: "2026-11-30T00:00:00Z".into(),
            tags: None,
            raw: None,
        })
    }

    async fn calibrate(&self, _payload: sensors::CalibratePayload) -> Result<(), sensors::Error> {
        Ok(())
    }

    async fn inspect(
        &self,
        _payload: sensors::InspectPayload,
    ) -> Result<sensors::State, sensors::Error> {
        Ok(sensors::State {
            client: None,
            last: None,
            error: None,
        })
    }

    async fn talk(
        &self,
        _payload: sensors::TalkPayload,
        _stream: sensors::TalkServerStream,
    ) -> Result<(), sensors::Error> {
        Ok(())
    }

    async fn watch(
        &self,
        _payload: sensors::WatchPayload,
        _stream: sensors::WatchServerStream,
    ) -> Result<(), sensors::Error> {
        Ok(())
    }
}

/// Serves one request built from untrusted parts on the sensors router, in
/// process; the status. A request is decoded, checked and answered; one that
/// decodes as an upgrade stops at the hand-over, which needs a real socket
/// (that answer is the one 500 allowed, and it is told apart).
pub async fn request(
    method: &str,
    target: &str,
    headers: &[(String, Vec<u8>)],
    body: Vec<u8>,
) -> Answer {
    use nagare::axum::body::Body;
    use nagare::axum::http::{HeaderName, HeaderValue, Method, Request};
    use tower_service::Service as _;
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Answer::NotHttp;
    };
    let mut request = Request::builder().method(method).uri(target);
    for (name, value) in headers {
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) else {
            return Answer::NotHttp;
        };
        request = request.header(n, v);
    }
    let Ok(request) = request.body(Body::from(body)) else {
        return Answer::NotHttp;
    };
    let mut router = sensors::server::router(NullSensors, nagare::ServerOptions::new());
    let Ok(response) = router.call(request).await;
    let status = response.status().as_u16();
    if status != 500 {
        return Answer::Status(status);
    }
    let body = nagare::axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap_or_default();
    if String::from_utf8_lossy(&body).contains("the connection cannot be upgraded") {
        Answer::Upgrade
    } else {
        Answer::Fault(String::from_utf8_lossy(&body).into_owned())
    }
}

/// How the router answered a fuzzed request.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The parts do not make an HTTP request at all.
    NotHttp,
    /// An answer with this status (never 500).
    Status(u16),
    /// The request was a valid upgrade, stopped at the hand-over.
    Upgrade,
    /// A 500: a bug.
    Fault(String),
}

/// Decodes one message of every type a peer can send the sensors service,
/// with and without views; only checks that decoding returns.
pub fn messages(bytes: &[u8]) {
    use nagare::Message;
    let _ = sensors::Reading::decode(bytes, None);
    for view in ["default", "compact", "nope"] {
        let _ = sensors::Reading::decode(bytes, Some(view));
    }
    let _ = sensors::TalkStreamingPayload::decode(bytes, None);
    let _ = sensors::State::decode(bytes, None);
    let _ = <Vec<sensors::Reading>>::decode(bytes, None);
}

/// Reads a close frame as a client does: the stream error, then the
/// service's designed error when it carries one.
pub fn close(code: u16, reason: &str) -> sensors::Error {
    let frame = nagare::ws::CloseFrame::new(code, reason.to_owned());
    sensors::Error::from(nagare::StreamError::from_close(&frame))
}
