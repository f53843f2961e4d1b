//! How a generated client opens connections and makes calls: the server, the
//! connection settings, and the policies for failures.

use http::HeaderMap;

use std::sync::OnceLock;

use crate::client::request::{
    http_client, refused_response, HttpClient, Request, Response, Transport,
};
use crate::client::retry::{retry, ConnectionState, RetryPolicy, StateSender};
use crate::conn::{Conn, ConnConfig};
use crate::error::ClientError;
use crate::stream::ViewName;

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
    /// The HTTP client of unary calls, made at the first one (it loads the
    /// system's roots for `https://`): a client of streams alone never pays for it.
    http: OnceLock<HttpClient>,
    /// The network, or a router in this process.
    transport: Transport,
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
            http: OnceLock::new(),
            transport: Transport::Network,
        }
    }

    /// A dialer whose calls `router` serves in this process, through
    /// in-memory pipes (feature `testing`): see [`crate::testing`].
    #[cfg(feature = "testing")]
    pub(crate) fn in_memory(router: axum::Router) -> Self {
        Dialer {
            transport: Transport::Memory(router),
            ..Dialer::new("http://in-memory")
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
        self.http = OnceLock::new();
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
        let opened = retry(self.retry.as_ref(), self.states.as_ref(), || {
            request
                .clone()
                .open(&self.base_url, &self.config, &self.transport)
        })
        .await?;
        self.report_connected();
        Ok(opened)
    }

    /// Makes a unary call with the retry policy: `success` is the designed
    /// status; any other is an error ([`ClientError::Refused`]).
    pub async fn call(
        &self,
        method: http::Method,
        request: &Request,
        success: u16,
    ) -> Result<Response, ClientError> {
        let response = retry(self.retry.as_ref(), self.states.as_ref(), || async {
            let response = match &self.transport {
                Transport::Network => {
                    let http = self.http.get_or_init(|| http_client(&self.config));
                    request
                        .clone()
                        .send(http, method.clone(), &self.base_url)
                        .await?
                }
                #[cfg(feature = "testing")]
                Transport::Memory(router) => {
                    request.clone().send_to(router, method.clone()).await?
                }
            };
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
            tx.send_replace(ConnectionState::Connected {
                resumed_after: None,
            });
        }
    }
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
