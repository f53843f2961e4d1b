//! The name of an endpoint: which method of which service a connection runs.

use std::fmt;

/// A method of a service, as the design names them. Generated code has one
/// constant per streaming method (`chat::endpoints::ECHO`); a hand-written
/// endpoint gets its name from [`ServerOptions::endpoint`](crate::server::ServerOptions::endpoint).
/// Either way the server knows the endpoints it serves, and
/// [`ServerOptions::serve`](crate::server::ServerOptions::serve) refuses to
/// start with settings ([`set_endpoint`](crate::server::ServerOptions::set_endpoint))
/// for one it does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EndpointName {
    pub(crate) service: &'static str,
    pub(crate) method: &'static str,
}

impl EndpointName {
    /// Only generated constants and `ServerOptions::endpoint` make one.
    pub(crate) const fn new(service: &'static str, method: &'static str) -> Self {
        EndpointName { service, method }
    }

    /// The service's name in the design.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The method's name in the design.
    pub fn method(&self) -> &'static str {
        self.method
    }
}

impl fmt::Display for EndpointName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.method)
    }
}

/// Settings for an endpoint no router of the server serves: a name made for
/// another server, or a hand-written endpoint not yet declared.
#[derive(Clone, Debug, thiserror::Error)]
#[error("ServerOptions::set_endpoint has settings for {endpoint}, which this server does not serve (it serves {})", list(.served))]
pub struct UnservedEndpoint {
    /// The endpoint the settings name.
    pub endpoint: EndpointName,
    /// The endpoints the server's routers serve.
    pub served: Vec<EndpointName>,
}

fn list(served: &[EndpointName]) -> String {
    if served.is_empty() {
        return "none".to_owned();
    }
    served
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
