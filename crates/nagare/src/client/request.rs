//! The request of one call, built from a payload: path, query, headers, cookies
//! and a JSON body; dialed as a WebSocket upgrade or sent as a plain HTTP call.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::conn::{self, Conn, ConnConfig, Side};
use crate::error::{ClientError, GoaError};
use crate::ws::{self, ConnectError};

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

/// The HTTP client of unary calls (reqwest's, which pools connections).
pub(crate) type HttpClient = reqwest::Client;

/// The HTTP client for unary calls with `config`'s TLS settings (with the `tls`
/// feature: the given roots, else the system's).
#[cfg_attr(not(feature = "tls"), allow(unused_variables))]
pub(crate) fn http_client(config: &ConnConfig) -> HttpClient {
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
    reqwest::Client::new()
}

/// The answer to a unary call.
#[derive(Debug)]
pub struct Response {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, whole.
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
    /// `path_segment`, which generated clients call).
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
            crate::client::credentials::basic_header(user, password),
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
        method: http::Method,
        base: &str,
    ) -> Result<Response, ClientError> {
        let url = self.http_url(base)?;
        let body = self.prepare()?;
        let mut request = http.request(method, url).headers(self.headers);
        if let Some(bytes) = body {
            request = request.body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::unreachable_by(base, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::unreachable_by(base, e))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// Makes a unary call with `method` on `router`, in this process (feature
    /// `testing`): the request the network would carry, without a socket.
    #[cfg(feature = "testing")]
    pub(crate) async fn send_to(
        mut self,
        router: &axum::Router,
        method: http::Method,
    ) -> Result<Response, ClientError> {
        use tower::ServiceExt;
        let path = self.url("http://in-memory")?;
        let target = path.trim_start_matches("ws://in-memory").to_owned();
        let body = self.prepare()?;
        let mut request = http::Request::builder()
            .method(method)
            .uri(target)
            .body(axum::body::Body::from(body.unwrap_or_default()))
            .map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
        *request.headers_mut() = self.headers;
        let response = router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|e| ClientError::unreachable_by("the in-memory server", e))?;
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Puts the cookies in their header and the JSON body's type in its;
    /// the body's bytes, if the call has one.
    fn prepare(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        self.cookie_header()?;
        let Some(body) = &self.body else {
            return Ok(None);
        };
        let bytes =
            serde_json::to_vec(body).map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(Some(bytes))
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
        self,
        base: &str,
        config: &ConnConfig,
    ) -> Result<(Conn, HeaderMap), ClientError> {
        self.open(base, config, &Transport::Network).await
    }

    /// [`dial`](Self::dial) through `transport`.
    pub(crate) async fn open(
        mut self,
        base: &str,
        config: &ConnConfig,
        transport: &Transport,
    ) -> Result<(Conn, HeaderMap), ClientError> {
        let url = self.url(base)?;
        self.cookie_header()?;
        let mut headers = self.headers;
        if !self.protocols.is_empty() {
            let offer = HeaderValue::from_str(&self.protocols.join(", "))
                .map_err(|e| ClientError::InvalidRequest(format!("subprotocols: {e}")))?;
            headers.insert(http::header::SEC_WEBSOCKET_PROTOCOL, offer);
        }
        let connect = async {
            match transport {
                Transport::Network => {
                    ws::connect(&url, headers, config.ws, config.tls_roots()).await
                }
                #[cfg(feature = "testing")]
                Transport::Memory(router) => {
                    ws::memory::connect(router.clone(), &url, headers, config.ws).await
                }
            }
        };
        let (socket, headers) = tokio::time::timeout(config.connect_timeout, connect)
            .await
            .map_err(|_| {
                ClientError::unreachable(format!(
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

/// How a client reaches its server: the network, or (feature `testing`) a
/// router in this process.
#[derive(Clone, Debug, Default)]
pub(crate) enum Transport {
    /// TCP (and TLS for `https://` and `wss://`).
    #[default]
    Network,
    /// Calls served by this router, through in-memory pipes.
    #[cfg(feature = "testing")]
    Memory(axum::Router),
}

/// [`ClientError::Refused`] from an HTTP error response.
pub(crate) fn refused_response(
    status: StatusCode,
    designed: Option<String>,
    body: &[u8],
) -> ClientError {
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

fn refused(e: ConnectError) -> ClientError {
    match e {
        ConnectError::InvalidUrl { url, reason } => {
            ClientError::InvalidRequest(format!("{url}: {reason}"))
        }
        ConnectError::Connect { addr, source } => ClientError::unreachable_by(addr, source),
        ConnectError::Refused(res) => {
            let status = res.status();
            let designed = res
                .headers()
                .get("goa-error")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            refused_response(status, designed, res.body())
        }
        ConnectError::Handshake(reason) => ClientError::Handshake {
            reason,
            cause: None,
        },
        ConnectError::Tls(cause) => ClientError::Handshake {
            reason: "TLS".into(),
            cause: Some(cause.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_uses_ws_scheme_and_sorted_form_encoded_query() {
        let mut r = Request::new("/rooms/a%20b/x".to_owned());
        r.query("z", "1").query("view", "a b");
        assert_eq!(
            r.url("http://127.0.0.1:8080/").ok().as_deref(),
            Some("ws://127.0.0.1:8080/rooms/a%20b/x?view=a+b&z=1")
        );
        assert!(r.url("ftp://x").is_err());
    }
}
