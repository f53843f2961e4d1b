//! Entry points for fuzzing the decoders a peer can reach, which are otherwise
//! private: each takes untrusted bytes and must return, never panic. Used by
//! the property tests and the `fuzz/` targets; not an API.

/// A frame of the `nagare.v1` extension, as a client parses it.
pub fn nagare_v1_frame(bytes: &[u8]) -> bool {
    crate::resume::parse(bytes).is_ok()
}

/// A resume offer, as a server reads it from `Sec-WebSocket-Protocol`.
pub fn resume_offer(protocol: &str) -> Option<crate::ResumePoint> {
    crate::ResumePoint::from_offer(protocol)
}

/// A server's answer to an upgrade, as nagare's client reads it: the head
/// parsed and, for a 101, checked against the key the client sent.
#[cfg(feature = "client")]
pub fn upgrade_response(bytes: &[u8]) -> Result<bool, String> {
    crate::ws::client_handshake::check_response(bytes)
}

/// The subprotocols a client offers, as the server splits them.
pub fn offered_protocols(header: &[u8]) -> usize {
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_bytes(header) {
        headers.insert(http::header::SEC_WEBSOCKET_PROTOCOL, v);
    }
    crate::ws::offered_protocols(&headers).len()
}
