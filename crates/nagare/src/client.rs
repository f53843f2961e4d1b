//! Dialing streaming endpoints: building the upgrade request from a payload and
//! turning a refused upgrade into a typed error.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::conn::{self, Conn, ConnConfig, Side};
use crate::error::{GoaError, ValidationError};
use crate::retry::{ConnState, RetryPolicy, StateSender};
use crate::stream::ViewName;
use crate::ws::{self, ConnectError};

/// [`ClientError::Refused`] from an HTTP error response.
pub fn refused_response(status: StatusCode, designed: Option<String>, body: &[u8]) -> ClientError {
    let error = serde_json::from_slice::<GoaError>(body).ok().map(Box::new);
    let mut text = String::from_utf8_lossy(&body[..body.len().min(1024)]).into_owned();
    text.truncate(text.trim_end().len());
    ClientError::Refused {
        status,
        error,
        designed,
        body: text,
    }
}

/// Errors of a client call before any message is exchanged.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL or a header value is not valid.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The payload fails the design's validations; nothing was sent.
    #[error("invalid payload: {0}")]
    InvalidPayload(ValidationError),
    /// The server could not be reached.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server answered with an HTTP error instead of upgrading. `error` is
    /// Goa's error body when the server sent one.
    #[error("server refused the request with HTTP {status}: {}", error.as_ref().map(|e| e.to_string()).unwrap_or_else(|| body.clone()))]
    Refused {
        status: StatusCode,
        error: Option<Box<GoaError>>,
        /// The `Goa-Error` header: the designed error's name, if any.
        designed: Option<String>,
        /// The raw body (at most 1 KiB kept).
        body: String,
    },
    /// The WebSocket handshake failed.
    #[error("WebSocket handshake failed: {0}")]
    Handshake(String),
    /// The retry policy's cancellation token was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl ClientError {
    /// What the caller can do about this error: retry (temporary), back off
    /// (resource exhausted) or give up (fatal).
    pub fn kind(&self) -> crate::close::ErrorKind {
        use crate::close::ErrorKind;
        match self {
            ClientError::Unreachable(_) | ClientError::Handshake(_) => ErrorKind::Temporary,
            ClientError::Refused { status, .. } => ErrorKind::of_status(status.as_u16()),
            ClientError::InvalidPayload(_)
            | ClientError::InvalidRequest(_)
            | ClientError::Cancelled => ErrorKind::Fatal,
        }
    }
}

/// The request of one call: path, query, headers, cookies and (for unary methods) a
/// JSON body, all taken from the payload. [`Request::dial`] opens a stream with it;
/// [`Request::send`] makes a plain HTTP call.
#[derive(Clone, Debug)]
pub struct Request {
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    cookies: Vec<(String, String)>,
    /// Subprotocols offered, in preference order.
    protocols: Vec<String>,
    body: Option<serde_json::Value>,
}

/// The former name of [`Request`].
pub type UpgradeRequest = Request;

/// The HTTP client generated clients use for unary calls (reqwest's, which pools
/// connections; clone it freely).
pub type HttpClient = reqwest::Client;

/// The HTTP client for unary calls with `config`'s TLS settings (with the `tls`
/// feature: the given roots, else the system's).
pub fn http_client(config: &ConnConfig) -> HttpClient {
    #[cfg(feature = "tls")]
    {
        let tls = match &config.tls {
            Some(c) => Some(c.as_ref().clone()),
            None => crate::tls::default_client_config()
                .ok()
                .map(|c| c.as_ref().clone()),
        };
        if let Some(tls) = tls {
            if let Ok(client) = reqwest::Client::builder()
                .use_preconfigured_tls(tls)
                .build()
            {
                return client;
            }
        }
    }
    let _ = config;
    reqwest::Client::new()
}

/// The answer to a unary call.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Response {
    /// The designed error name the server put in `Goa-Error`, if any.
    pub fn designed_error(&self) -> Option<&str> {
        self.headers.get("goa-error").and_then(|v| v.to_str().ok())
    }
}

impl Request {
    /// A request for `path` (path parameters already substituted with
    /// [`path_segment`]).
    pub fn new(path: String) -> Self {
        Request {
            path,
            query: Vec::new(),
            headers: HeaderMap::new(),
            cookies: Vec::new(),
            protocols: Vec::new(),
            body: None,
        }
    }

    /// Sends user name and password with basic authentication.
    pub fn basic_auth(&mut self, user: &str, password: &str) -> Result<&mut Self, ClientError> {
        self.header(
            "Authorization",
            crate::security::basic_header(user, password),
        )
    }

    /// Sets one attribute of the JSON body object.
    pub fn body_field<T: serde::Serialize>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<&mut Self, ClientError> {
        let value =
            serde_json::to_value(value).map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
        match self
            .body
            .get_or_insert_with(|| serde_json::Value::Object(Default::default()))
        {
            serde_json::Value::Object(map) => {
                map.insert(name.to_owned(), value);
            }
            other => *other = value,
        }
        Ok(self)
    }

    /// Sets the whole JSON body.
    pub fn body_value<T: serde::Serialize>(&mut self, value: &T) -> Result<&mut Self, ClientError> {
        self.body = Some(
            serde_json::to_value(value).map_err(|e| ClientError::InvalidRequest(e.to_string()))?,
        );
        Ok(self)
    }

    fn cookie_header(&mut self) -> Result<(), ClientError> {
        if !self.cookies.is_empty() {
            let line = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            self.header("Cookie", line)?;
        }
        Ok(())
    }

    /// Makes a unary call with `method` on the server at `base`.
    pub async fn send(
        mut self,
        http: &reqwest::Client,
        method: axum::http::Method,
        base: &str,
    ) -> Result<Response, ClientError> {
        let url = self.http_url(base)?;
        self.cookie_header()?;
        let mut request = http.request(method, url).headers(self.headers);
        if let Some(body) = &self.body {
            let bytes =
                serde_json::to_vec(body).map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
            request = request
                .header(axum::http::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// The `http://` URL of a unary call.
    fn http_url(&self, base: &str) -> Result<String, ClientError> {
        let ws = self.url(base)?;
        Ok(if let Some(rest) = ws.strip_prefix("ws://") {
            format!("http://{rest}")
        } else if let Some(rest) = ws.strip_prefix("wss://") {
            format!("https://{rest}")
        } else {
            ws
        })
    }

    /// Adds a query parameter.
    pub fn query(&mut self, key: &str, value: impl ToString) -> &mut Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }

    /// Adds a header line.
    pub fn header(&mut self, name: &str, value: impl ToString) -> Result<&mut Self, ClientError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ClientError::InvalidRequest(format!("header {name:?}: {e}")))?;
        let value = HeaderValue::from_str(&value.to_string())
            .map_err(|e| ClientError::InvalidRequest(format!("header {name}: {e}")))?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// Offers a subprotocol (after those already offered).
    pub fn offer_protocol(&mut self, protocol: impl Into<String>) -> &mut Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Adds a cookie.
    pub fn cookie(&mut self, name: &str, value: impl ToString) -> &mut Self {
        self.cookies.push((name.to_owned(), value.to_string()));
        self
    }

    /// The `ws://` URL for a base `http://` (or `ws://`) URL.
    pub fn url(&self, base: &str) -> Result<String, ClientError> {
        let base = base.trim_end_matches('/');
        let base = if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if base.starts_with("ws://") || base.starts_with("wss://") {
            base.to_owned()
        } else {
            return Err(ClientError::InvalidRequest(format!(
                "base URL {base:?} must start with http://, https://, ws:// or wss://"
            )));
        };
        let mut url = format!("{base}{}", self.path);
        if !self.query.is_empty() {
            // Sorted by key, as Go's url.Values.Encode does.
            let mut pairs = self.query.clone();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            let q = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            url.push('?');
            url.push_str(&q);
        }
        Ok(url)
    }

    /// Dials the endpoint and starts the connection driver on the runtime. The
    /// driver stops by itself once every handle made from the [`Conn`] is dropped.
    /// Returns the connection and the 101 response's headers.
    pub async fn dial(
        mut self,
        base: &str,
        config: &ConnConfig,
    ) -> Result<(Conn, HeaderMap), ClientError> {
        let url = self.url(base)?;
        self.cookie_header()?;
        let mut headers = self.headers;
        if !self.protocols.is_empty() {
            let offer = HeaderValue::from_str(&self.protocols.join(", "))
                .map_err(|e| ClientError::InvalidRequest(format!("subprotocols: {e}")))?;
            headers.insert(axum::http::header::SEC_WEBSOCKET_PROTOCOL, offer);
        }
        let (socket, headers) =
            tokio::time::timeout(config.connect_timeout, ws::connect(&url, headers, config))
                .await
                .map_err(|_| {
                    ClientError::Unreachable(format!(
                        "{url}: no answer within {:?}",
                        config.connect_timeout
                    ))
                })?
                .map_err(refused)?;
        let (conn, driver) = conn::open(socket, config, Side::Client, Default::default());
        tokio::spawn(driver);
        Ok((conn, headers))
    }
}

/// How a generated client opens connections: the server, the connection
/// settings, and what happens when connecting fails or a resumable stream drops.
///
/// Without policies a call makes one attempt and a dropped stream stays dropped,
/// as in Goa. [`Dialer::set_retry`] retries connecting (for every method, unary
/// ones included: a non-idempotent call may then run twice if the server acted
/// before failing); [`Dialer::set_reconnect`] keeps resumable streams alive.
#[derive(Clone, Debug)]
pub struct Dialer {
    base_url: String,
    config: ConnConfig,
    retry: Option<RetryPolicy>,
    reconnect: Option<RetryPolicy>,
    states: Option<StateSender>,
}

/// Where a client stream's view comes from.
#[derive(Clone, Debug)]
pub enum ViewSource {
    /// The result type has no views.
    None,
    /// The design pins the view.
    Fixed(ViewName),
    /// The server says, in the `Goa-View` header of its 101 response.
    Response,
}

impl ViewSource {
    /// The view for a connection whose 101 response carried `headers`.
    pub fn view(&self, headers: &HeaderMap) -> Option<ViewName> {
        match self {
            ViewSource::None => None,
            ViewSource::Fixed(v) => Some(v.clone()),
            ViewSource::Response => Some(response_view(headers)),
        }
    }
}

impl Dialer {
    /// Dials the server at `base_url` (`http://host:port`) with the default
    /// settings and no retries.
    pub fn new(base_url: impl Into<String>) -> Self {
        Dialer {
            base_url: base_url.into(),
            config: ConnConfig::default(),
            retry: None,
            reconnect: None,
            states: None,
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The settings of each connection.
    pub fn config(&self) -> &ConnConfig {
        &self.config
    }

    /// Replaces the settings of each connection.
    pub fn set_config(&mut self, config: ConnConfig) {
        self.config = config;
    }

    /// Retries connecting with `policy` (`None`: one attempt).
    pub fn set_retry(&mut self, policy: Option<RetryPolicy>) {
        self.retry = policy;
    }

    /// Reconnects and resumes resumable streams after a drop, with `policy` for
    /// each outage (`None`: a dropped stream fails).
    pub fn set_reconnect(&mut self, policy: Option<RetryPolicy>) {
        self.reconnect = policy;
    }

    /// Reports connection states of every call on `states`.
    pub fn set_states(&mut self, states: Option<StateSender>) {
        self.states = states;
    }

    /// Opens a stream connection with the retry policy.
    pub async fn dial(&self, request: &Request) -> Result<(Conn, HeaderMap), ClientError> {
        let opened = crate::retry::retry(self.retry.as_ref(), self.states.as_ref(), || {
            request.clone().dial(&self.base_url, &self.config)
        })
        .await?;
        self.report_connected();
        Ok(opened)
    }

    /// Makes a unary call with the retry policy: `success` is the designed
    /// status; any other is an error ([`ClientError::Refused`]).
    pub async fn call(
        &self,
        http: &HttpClient,
        method: axum::http::Method,
        request: &Request,
        success: u16,
    ) -> Result<Response, ClientError> {
        let response = crate::retry::retry(self.retry.as_ref(), self.states.as_ref(), || async {
            let response = request
                .clone()
                .send(http, method.clone(), &self.base_url)
                .await?;
            if response.status.as_u16() == success {
                Ok(response)
            } else {
                Err(refused_response(
                    response.status,
                    response.designed_error().map(str::to_owned),
                    &response.body,
                ))
            }
        })
        .await?;
        self.report_connected();
        Ok(response)
    }

    /// Opens a resumable server stream (see [`crate::resumable`]).
    pub async fn resumable<R: crate::Message>(
        &self,
        request: Request,
        view: ViewSource,
    ) -> Result<crate::resumable::ResumableStream<R>, ClientError> {
        crate::resumable::ResumableStream::open(self.clone(), request, view).await
    }

    /// Opens a bidirectional stream whose server half resumes (see
    /// [`crate::resumable`]).
    pub async fn resumable_bidi<P: crate::Message, R: crate::Message>(
        &self,
        request: Request,
        view: ViewSource,
    ) -> Result<crate::resumable::ResumableBidiStream<P, R>, ClientError> {
        crate::resumable::ResumableBidiStream::open(self.clone(), request, view).await
    }

    pub(crate) fn reconnect_policy(&self) -> Option<&RetryPolicy> {
        self.reconnect.as_ref()
    }

    pub(crate) fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }

    pub(crate) fn states(&self) -> Option<&StateSender> {
        self.states.as_ref()
    }

    fn report_connected(&self) {
        if let Some(tx) = &self.states {
            tx.send_replace(ConnState::Connected {
                resumed_after: None,
            });
        }
    }
}

/// Percent-encodes a path parameter value: RFC 3986 unreserved characters pass
/// through, every other byte is `%XX`.
pub fn path_segment(value: impl ToString) -> String {
    let value = value.to_string();
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The view named by the `Goa-View` header of a 101 response; `default` when the
/// header is absent or empty, as Goa's clients assume.
pub fn response_view(headers: &HeaderMap) -> ViewName {
    headers
        .get("goa-view")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("default")
        .into()
}

/// The designed error an HTTP error response carries: the `Goa-Error` header when
/// the method declares that name, else the only error the method maps to the status.
pub fn designed_error_name<'a>(
    status: StatusCode,
    header: Option<&str>,
    statuses: &[(&'a str, u16)],
) -> Option<&'a str> {
    if let Some(h) = header {
        if let Some((name, _)) = statuses.iter().find(|(n, _)| *n == h) {
            return Some(name);
        }
    }
    let mut on_status = statuses.iter().filter(|(_, s)| *s == status.as_u16());
    match (on_status.next(), on_status.next()) {
        (Some((name, _)), None) => Some(name),
        _ => None,
    }
}

fn refused(e: ConnectError) -> ClientError {
    match e {
        ConnectError::InvalidUrl { url, reason } => {
            ClientError::InvalidRequest(format!("{url}: {reason}"))
        }
        ConnectError::Connect { addr, source } => {
            ClientError::Unreachable(format!("{addr}: {source}"))
        }
        ConnectError::Refused(res) => {
            let status = res.status();
            let designed = res
                .headers()
                .get("goa-error")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            refused_response(status, designed, res.body())
        }
        ConnectError::Handshake(h) => ClientError::Handshake(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_uses_ws_scheme_and_sorted_form_encoded_query() {
        let mut r = UpgradeRequest::new(format!("/rooms/{}/x", path_segment("a b")));
        r.query("z", "1").query("view", "a b");
        assert_eq!(
            r.url("http://127.0.0.1:8080/").ok().as_deref(),
            Some("ws://127.0.0.1:8080/rooms/a%20b/x?view=a+b&z=1")
        );
        assert!(r.url("ftp://x").is_err());
    }
}
