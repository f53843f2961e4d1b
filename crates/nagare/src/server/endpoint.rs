//! The name of an endpoint: which method of which service a connection runs.

use std::fmt;

/// A method of a service, as the design names them. Generated code has one
/// constant per streaming method (`chat::endpoints::ECHO`), so settings keyed
/// by endpoint ([`ServerOptions::set_endpoint`](crate::server::ServerOptions::set_endpoint))
/// name one that exists: a typo does not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EndpointName {
    /// The service's name in the design.
    pub service: &'static str,
    /// The method's name in the design.
    pub method: &'static str,
}

impl EndpointName {
    /// The endpoint of `method` in `service`.
    pub const fn new(service: &'static str, method: &'static str) -> Self {
        EndpointName { service, method }
    }
}

impl fmt::Display for EndpointName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.method)
    }
}
