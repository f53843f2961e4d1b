//! Reading the scripts' replies and the channels' messages. Anything else in
//! Redis's keys (another program's data, another version's) is a protocol
//! error, never a panic.

use redis::Value;

use crate::broker::presence::Member;
use crate::broker::BrokerError;
use crate::ws::TextBytes;

/// What the read scripts return: a room's epoch, last number and messages.
#[derive(Debug)]
pub(super) struct Read {
    pub(super) epoch: String,
    pub(super) top: u64,
    pub(super) entries: Vec<(u64, TextBytes)>,
}

/// A message as a room's channel carries it.
#[derive(Debug)]
pub(super) struct Live {
    pub(super) seq: u64,
    pub(super) epoch: String,
    /// When Redis ran the publish, in ms since the Unix epoch.
    pub(super) published_ms: u64,
    pub(super) frame: TextBytes,
}

fn protocol(what: impl Into<String>) -> BrokerError {
    BrokerError::Protocol(what.into())
}

fn items(v: Value, what: &str) -> Result<Vec<Value>, BrokerError> {
    match v {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(protocol(format!(
            "{what}: an array expected, got {other:?}"
        ))),
    }
}

fn text(v: Value, what: &str) -> Result<String, BrokerError> {
    match v {
        Value::BulkString(b) => {
            String::from_utf8(b).map_err(|_| protocol(format!("{what}: not UTF-8")))
        }
        Value::SimpleString(s) => Ok(s),
        Value::VerbatimString { text, .. } => Ok(text),
        other => Err(protocol(format!(
            "{what}: a string expected, got {other:?}"
        ))),
    }
}

fn number(v: Value, what: &str) -> Result<u64, BrokerError> {
    match v {
        Value::Int(n) => u64::try_from(n).map_err(|_| protocol(format!("{what}: {n} < 0"))),
        other => text(other, what)?
            .parse()
            .map_err(|_| protocol(format!("{what}: not a number"))),
    }
}

/// `{epoch, seq}` of the publish script.
pub(super) fn published(v: Value) -> Result<(String, u64), BrokerError> {
    let mut it = items(v, "publish reply")?.into_iter();
    match (it.next(), it.next()) {
        (Some(epoch), Some(seq)) => Ok((text(epoch, "epoch")?, number(seq, "seq")?)),
        _ => Err(protocol("publish reply: {epoch, seq} expected")),
    }
}

/// `{epoch, top, entries}` of the read scripts.
pub(super) fn read(v: Value) -> Result<Read, BrokerError> {
    let mut it = items(v, "read reply")?.into_iter();
    let (Some(epoch), Some(top), Some(entries)) = (it.next(), it.next(), it.next()) else {
        return Err(protocol("read reply: {epoch, top, entries} expected"));
    };
    let entries = items(entries, "history entries")?
        .into_iter()
        .map(entry)
        .collect::<Result<_, _>>()?;
    Ok(Read {
        epoch: text(epoch, "epoch")?,
        top: number(top, "top")?,
        entries,
    })
}

/// One stream entry: `{"<seq>-0", {"d", frame}}`.
fn entry(v: Value) -> Result<(u64, TextBytes), BrokerError> {
    let mut it = items(v, "history entry")?.into_iter();
    let (Some(id), Some(fields)) = (it.next(), it.next()) else {
        return Err(protocol("history entry: {id, fields} expected"));
    };
    let id = text(id, "entry id")?;
    let seq = id
        .strip_suffix("-0")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| protocol(format!("entry id {id:?} is not <seq>-0")))?;
    let mut fields = items(fields, "entry fields")?.into_iter();
    let (Some(name), Some(frame)) = (fields.next(), fields.next()) else {
        return Err(protocol(format!("entry {seq}: field d expected")));
    };
    if text(name, "field")? != "d" {
        return Err(protocol(format!("entry {seq}: field d expected")));
    }
    Ok((seq, TextBytes::from(text(frame, "message")?)))
}

/// A room channel's message: `<seq> <epoch> <ms> <frame>`.
pub(super) fn live(payload: &[u8]) -> Result<Live, BrokerError> {
    let payload = std::str::from_utf8(payload).map_err(|_| protocol("live message: not UTF-8"))?;
    let mut parts = payload.splitn(4, ' ');
    let (Some(seq), Some(epoch), Some(ms), Some(frame)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(protocol(
            "live message: <seq> <epoch> <ms> <frame> expected",
        ));
    };
    Ok(Live {
        seq: seq
            .parse()
            .map_err(|_| protocol("live message: bad sequence number"))?,
        epoch: epoch.to_owned(),
        published_ms: ms.parse().unwrap_or(0),
        frame: TextBytes::from(frame.to_owned()),
    })
}

/// The members script's reply: each member's JSON.
pub(super) fn members(v: Value) -> Result<Vec<Member>, BrokerError> {
    items(v, "members reply")?
        .into_iter()
        .map(|m| {
            let json = text(m, "member")?;
            serde_json::from_str(&json).map_err(|e| protocol(format!("member {json:?}: {e}")))
        })
        .collect()
}

/// A presence channel's message: `join <member>` or `leave <member>`.
pub(super) fn presence(payload: &[u8]) -> Result<(bool, Member), BrokerError> {
    let payload =
        std::str::from_utf8(payload).map_err(|_| protocol("presence message: not UTF-8"))?;
    let (what, json) = payload
        .split_once(' ')
        .ok_or_else(|| protocol("presence message: <join|leave> <member> expected"))?;
    let member: Member =
        serde_json::from_str(json).map_err(|e| protocol(format!("presence member: {e}")))?;
    match what {
        "join" => Ok((true, member)),
        "leave" => Ok((false, member)),
        other => Err(protocol(format!(
            "presence message: unknown event {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn replies_parse_and_garbage_is_a_protocol_error() {
        let reply = Value::Array(vec![
            bulk("e1"),
            Value::Int(7),
            Value::Array(vec![Value::Array(vec![
                bulk("6-0"),
                Value::Array(vec![bulk("d"), bulk("\"hi\"\n")]),
            ])]),
        ]);
        let read = read(reply).expect("read");
        assert_eq!((read.epoch.as_str(), read.top), ("e1", 7));
        assert_eq!(read.entries.len(), 1);
        assert_eq!(read.entries[0].0, 6);
        assert_eq!(read.entries[0].1.as_str(), "\"hi\"\n");
        assert!(read_err(Value::Int(1)));
        assert!(read_err(Value::Array(vec![
            bulk("e1"),
            Value::Int(-1),
            Value::Nil
        ])));
        let bad_id = Value::Array(vec![
            bulk("e1"),
            Value::Int(7),
            Value::Array(vec![Value::Array(vec![bulk("6-1"), Value::Array(vec![])])]),
        ]);
        assert!(read_err(bad_id));
    }

    fn read_err(v: Value) -> bool {
        matches!(read(v), Err(BrokerError::Protocol(_)))
    }

    #[test]
    fn channel_messages_parse() {
        let live = live(b"12 e1 1700000000000 {\"a\":\"b c\"}\n").expect("live");
        assert_eq!((live.seq, live.epoch.as_str()), (12, "e1"));
        assert_eq!(live.published_ms, 1_700_000_000_000);
        assert_eq!(live.frame.as_str(), "{\"a\":\"b c\"}\n");
        assert!(super::live(b"x e1 1 {}").is_err());
        assert!(super::live(b"1 e1").is_err());
        let (joined, member) = presence(b"join {\"id\":\"m1\",\"info\":\"{}\"}").expect("join");
        assert!(joined);
        assert_eq!(member.id, "m1");
        assert!(presence(b"wave {\"id\":\"m1\"}").is_err());
    }
}
