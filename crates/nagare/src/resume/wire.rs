//! `nagare.v1`: the resume extension of Goa's WebSocket protocol, on the wire.
//!
//! A client that wants to resume a server stream offers the subprotocol
//! `nagare.v1` (and, when it reconnects, `nagare.resume.<epoch>.<seq>`: the
//! stream it was on and the last sequence number it processed). A server whose
//! endpoint is resumable selects `nagare.v1`; then, and only then, its messages
//! travel in envelopes:
//!
//! ```text
//! {"epoch":"5f0c9a1e2b3d4c6f","seq":41}      first frame: the stream, and where it stands
//! {"seq":42,"data":{"message":"hi",...}}     every message, numbered 1, 2, 3... per stream
//! ```
//!
//! Plain Goa peers never offer `nagare.v1`, so they never see an envelope. The
//! whole extension, with the close code 4010 (too far behind), is described in
//! `docs/protocol.md`.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::DecodeError;
use crate::message::Message;
use crate::ws::{Data, TextBytes};

/// The subprotocol that turns the extension on.
pub const PROTOCOL: &str = "nagare.v1";

/// Prefix of the subprotocol that carries a resume point.
pub const RESUME_PREFIX: &str = "nagare.resume.";

/// Where a client stands in a stream: the stream's epoch (which instance of the
/// stream's log the numbers belong to) and the last sequence number it processed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    /// Which instance of the stream's log the number belongs to.
    pub epoch: String,
    /// The last sequence number processed.
    pub seq: u64,
}

impl ResumePoint {
    /// The subprotocol a client offers to resume from this point.
    pub fn offer(&self) -> String {
        format!("{RESUME_PREFIX}{}.{}", self.epoch, self.seq)
    }

    /// The resume point in an offered subprotocol, if it is one and well formed.
    pub fn from_offer(protocol: &str) -> Option<ResumePoint> {
        let rest = protocol.strip_prefix(RESUME_PREFIX)?;
        let (epoch, seq) = rest.rsplit_once('.')?;
        if !is_epoch(epoch) {
            return None;
        }
        Some(ResumePoint {
            epoch: epoch.to_owned(),
            seq: seq.parse().ok()?,
        })
    }
}

/// Whether `s` can be an epoch: 1 to 64 letters, digits, `-` or `_` (it travels
/// inside a subprotocol token, where `.` separates it from the sequence number).
pub(crate) fn is_epoch(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A fresh epoch: 64 random bits in hex.
pub(crate) fn new_epoch() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// What a server learnt from the handshake of a connection that selected
/// `nagare.v1`, and where its numbering stands.
#[derive(Debug)]
pub(crate) struct Sequencer {
    /// The client's resume point, if it offered one.
    pub(crate) offered: Option<ResumePoint>,
    /// Whether the position frame has been sent.
    pub(crate) started: bool,
    /// The number of the next message.
    pub(crate) next: u64,
}

impl Sequencer {
    /// The sequencer of a connection, from the upgrade request's headers and the
    /// subprotocol selected; `None` (and no look at the offers) unless
    /// `nagare.v1` was selected.
    pub(crate) fn from_handshake(
        request: &http::HeaderMap,
        selected: Option<&str>,
    ) -> Option<Box<Self>> {
        if selected != Some(PROTOCOL) {
            return None;
        }
        Some(Box::new(Sequencer {
            offered: crate::ws::offered_protocols(request)
                .iter()
                .find_map(|p| ResumePoint::from_offer(p)),
            started: false,
            next: 1,
        }))
    }
}

/// The first frame of a `nagare.v1` connection: the next message carries
/// `seq + 1`.
pub(crate) fn position_frame(epoch: &str, seq: u64) -> Data {
    Data::Text(TextBytes::from(format!(
        "{{\"epoch\":\"{epoch}\",\"seq\":{seq}}}\n"
    )))
}

/// A message in its envelope.
pub(crate) fn data_frame<T: Message>(
    seq: u64,
    msg: &T,
    view: Option<&str>,
) -> Result<Data, serde_json::Error> {
    use std::io::Write;
    let mut buf = Vec::with_capacity(144);
    // Writing to a Vec cannot fail.
    let _ = write!(buf, "{{\"seq\":{seq},\"data\":");
    msg.encode(view, &mut buf)?;
    buf.extend_from_slice(b"}\n");
    crate::message::text_frame(buf)
}

/// A message already encoded as a plain frame (compact JSON and `\n`), put in
/// its envelope.
pub(crate) fn wrap_frame(seq: u64, plain: &TextBytes) -> Result<Data, serde_json::Error> {
    use std::io::Write;
    let json = plain.as_str().trim_end_matches('\n').as_bytes();
    let mut buf = Vec::with_capacity(json.len() + 32);
    // Writing to a Vec cannot fail.
    let _ = write!(buf, "{{\"seq\":{seq},\"data\":");
    buf.extend_from_slice(json);
    buf.extend_from_slice(b"}\n");
    crate::message::text_frame(buf)
}

/// The designed error a server ends a `nagare.v1` stream with, whole, sent
/// just before its close 4000 (whose reason holds only 123 bytes).
pub(crate) fn error_frame(name: &str, json: &[u8]) -> Result<Data, serde_json::Error> {
    let mut buf = Vec::with_capacity(json.len() + name.len() + 24);
    buf.extend_from_slice(b"{\"error\":");
    serde_json::to_writer(&mut buf, name)?;
    buf.extend_from_slice(b",\"data\":");
    buf.extend_from_slice(json);
    buf.extend_from_slice(b"}\n");
    crate::message::text_frame(buf)
}

/// A frame a `nagare.v1` client receives.
#[derive(Debug)]
pub(crate) enum Frame<'a> {
    /// Where the stream stands: the next message is `seq + 1`.
    Position { epoch: String, seq: u64 },
    /// A numbered message, still encoded.
    Message { seq: u64, data: &'a [u8] },
    /// The designed error the stream ends with, its value still encoded.
    Error { name: String, data: &'a str },
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    epoch: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// Parses an envelope.
pub(crate) fn parse(bytes: &[u8]) -> Result<Frame<'_>, DecodeError> {
    let env: Envelope<'_> = serde_json::from_slice(bytes)?;
    match (env.seq, env.data, env.epoch, env.error) {
        (Some(seq), Some(data), None, None) => Ok(Frame::Message {
            seq,
            data: data.get().as_bytes(),
        }),
        (Some(seq), None, Some(epoch), None) if is_epoch(&epoch) => {
            Ok(Frame::Position { epoch, seq })
        }
        (None, Some(data), None, Some(name)) => Ok(Frame::Error {
            name,
            data: data.get(),
        }),
        _ => Err(DecodeError::Invalid(crate::error::ValidationError {
            name: "invalid_envelope",
            message: "a nagare.v1 frame is a position (\"epoch\", \"seq\"), a message (\"seq\", \"data\") or an error (\"error\", \"data\")".into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_offers_round_trip_and_reject_malformed_ones() {
        let p = ResumePoint {
            epoch: "5f0c9a1e2b3d4c6f".into(),
            seq: 42,
        };
        assert_eq!(p.offer(), "nagare.resume.5f0c9a1e2b3d4c6f.42");
        assert_eq!(ResumePoint::from_offer(&p.offer()), Some(p));
        for bad in [
            "nagare.v1",
            "nagare.resume.",
            "nagare.resume.abc",
            "nagare.resume..4",
            "nagare.resume.a.b.4",
            "nagare.resume.abc.-1",
            "nagare.resume.abc.x",
        ] {
            assert_eq!(ResumePoint::from_offer(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_sequencer_exists_only_when_nagare_v1_is_selected() {
        let mut offered = http::HeaderMap::new();
        offered.insert(
            http::header::SEC_WEBSOCKET_PROTOCOL,
            http::HeaderValue::from_static("nagare.v1, nagare.resume.e1.7"),
        );
        assert!(Sequencer::from_handshake(&offered, None).is_none());
        let s = Sequencer::from_handshake(&offered, Some(PROTOCOL));
        assert_eq!(
            s.and_then(|s| s.offered),
            Some(ResumePoint {
                epoch: "e1".into(),
                seq: 7
            })
        );
    }

    #[test]
    fn frames_parse_back() {
        let Data::Text(pos) = position_frame("e1", 41) else {
            panic!("text expected")
        };
        assert_eq!(pos.as_str(), "{\"epoch\":\"e1\",\"seq\":41}\n");
        assert!(matches!(
            parse(pos.as_str().as_bytes()),
            Ok(Frame::Position { ref epoch, seq: 41 }) if epoch == "e1"
        ));
        let Ok(Data::Text(msg)) = data_frame(42, &"hi".to_owned(), None) else {
            panic!("text expected")
        };
        assert_eq!(msg.as_str(), "{\"seq\":42,\"data\":\"hi\"}\n");
        assert!(matches!(
            parse(msg.as_str().as_bytes()),
            Ok(Frame::Message { seq: 42, data }) if data == b"\"hi\""
        ));
        // A shared plain frame in its envelope is the same bytes.
        let Ok(Data::Text(plain)) = crate::message::to_frame(&"hi".to_owned(), None) else {
            panic!("text expected")
        };
        let Ok(Data::Text(wrapped)) = wrap_frame(42, &plain) else {
            panic!("text expected")
        };
        assert_eq!(wrapped.as_str(), msg.as_str());
        assert!(parse(b"{\"seq\":1}").is_err());
        let Ok(Data::Text(error)) = error_frame("rejected", b"{\"reason\":\"no\"}") else {
            panic!("text expected")
        };
        assert_eq!(
            error.as_str(),
            "{\"error\":\"rejected\",\"data\":{\"reason\":\"no\"}}\n"
        );
        assert!(matches!(
            parse(error.as_str().as_bytes()),
            Ok(Frame::Error { ref name, data }) if name == "rejected" && data == "{\"reason\":\"no\"}"
        ));
        // A message never carries an error name, nor an error a number.
        assert!(parse(b"{\"seq\":1,\"error\":\"x\",\"data\":1}").is_err());
        assert!(parse(b"{\"seq\":1,\"epoch\":\"a.b\"}").is_err());
        assert!(parse(b"[1]").is_err());
    }
}
