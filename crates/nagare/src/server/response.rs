//! The HTTP side of generated unary methods: reading a request's JSON body, and
//! answering with a result, a designed error or a fault.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use serde::Serialize;

use crate::error::{chain, GoaError, ValidationError};
use crate::message::Message;

/// The response for a designed error: the status the method maps it to, a
/// `Goa-Error: <name>` header and the error value's JSON (a bare JSON string for
/// string errors). An error with no mapped status gets Goa's default: 400 and the
/// six-key error body.
///
/// `json` is the value's JSON, `message` what a peer reads of it.
pub(crate) fn designed_error(
    name: &str,
    json: Vec<u8>,
    message: String,
    statuses: &[(&str, u16)],
) -> Response {
    let status = statuses
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, s)| StatusCode::from_u16(*s).ok());
    let Some(status) = status else {
        return GoaError::new(name, message).into_response();
    };
    let mut body = json;
    body.push(b'\n');
    let mut res = (status, body).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(name) {
        headers.insert("goa-error", v);
    }
    res
}

/// The response for a failure inside the service: logged here with its whole
/// chain of causes, answered as a 500 fault that reveals nothing.
pub(crate) fn internal_error(error: &(dyn std::error::Error + 'static)) -> Response {
    tracing::error!(error = %chain(error), "service method failed");
    GoaError::fault("internal error").into_response()
}

/// The answer when a service the server depends on (a room's broker) cannot
/// be reached: 503 with Goa's temporary error, so clients retry later.
pub(crate) fn unavailable(error: &(dyn std::error::Error + 'static)) -> Response {
    tracing::warn!(error = %chain(error), "service method failed: a dependency is unavailable");
    let mut res = GoaError {
        temporary: true,
        ..GoaError::new(
            "unavailable",
            "service temporarily unavailable: try again later",
        )
    }
    .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

/// The answer to a payload that fails decoding or validation: 400 with Goa's
/// error body naming what failed.
pub fn invalid_payload(error: ValidationError) -> Response {
    GoaError::from(error).into_response()
}

/// The view a stream's results are rendered with: the one the client asked for
/// (checked against `views` before the upgrade), else the first, `default`.
pub fn chosen_view(requested: Option<&str>, views: &'static [&'static str]) -> &'static str {
    requested
        .and_then(|v| views.iter().copied().find(|known| *known == v))
        .or_else(|| views.first().copied())
        .unwrap_or("default")
}

/// A unary result: its JSON (rendered with `view`) and a newline.
pub fn result_response<T: Message>(status: u16, value: &T, view: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut body = Vec::with_capacity(128);
    if let Err(e) = value.encode(view, &mut body) {
        return internal_error(&e);
    }
    body.push(b'\n');
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// An empty success response (no result in the design).
pub fn empty_response(status: u16) -> Response {
    StatusCode::from_u16(status)
        .unwrap_or(StatusCode::NO_CONTENT)
        .into_response()
}

/// Largest request body a unary method reads; larger bodies get 413.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// Reads a unary request's JSON body as an object of attributes; an empty body is
/// an empty object.
pub async fn read_body(
    body: axum::body::Body,
) -> Result<serde_json::Map<String, serde_json::Value>, Response> {
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        GoaError::new(
            "request_too_large",
            format!("request body exceeds {MAX_BODY} bytes"),
        )
        .into_response_with(StatusCode::PAYLOAD_TOO_LARGE)
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        GoaError::new(
            "decode_payload",
            format!("failed to decode request body: {e}"),
        )
        .into_response()
    })
}

impl GoaError {
    /// The response with an explicit status (for handshake errors, whose status
    /// is not one of Goa's flags).
    pub fn into_response_with(self, status: StatusCode) -> Response {
        json_response(status, &self)
    }
}

impl IntoResponse for GoaError {
    fn into_response(self) -> Response {
        let status = self.status();
        json_response(status, &self)
    }
}

/// A JSON body followed by a newline, as Go's `json.Encoder` writes it.
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    bytes.push(b'\n');
    let mut res = (status, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
