//! What generated rooms and clients call: the key a payload names a room
//! by, the information a member gives about itself, and path parameters
//! percent-encoded.

use std::fmt::Display;

use serde::Serialize;

/// A room's key from its key attributes: each percent-encoded as a path
/// segment, joined with `/` (so `a/b` and `a`, `b` stay apart); `""` for a
/// room without a key.
pub fn room_key(parts: &[&dyn Display]) -> String {
    parts.iter().map(path_segment).collect::<Vec<_>>().join("/")
}

/// A member's information as a JSON object of payload attributes, absent ones
/// left out; `None` when every attribute is absent.
pub fn member_info(build: impl FnOnce(&mut MemberInfo)) -> Option<String> {
    let mut info = MemberInfo::default();
    build(&mut info);
    (!info.fields.is_empty()).then(|| serde_json::Value::Object(info.fields).to_string())
}

/// The attributes a member is described by.
#[derive(Debug, Default)]
pub struct MemberInfo {
    fields: serde_json::Map<String, serde_json::Value>,
}

impl MemberInfo {
    /// Adds an attribute, unless its value is absent (`None`) or cannot be
    /// represented in JSON.
    pub fn field(&mut self, name: &str, value: &impl Serialize) {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::Null) | Err(_) => {}
            Ok(v) => {
                self.fields.insert(name.to_owned(), v);
            }
        }
    }
}

/// Percent-encodes a path parameter value (generated clients put it in a
/// URL, rooms in a key): RFC 3986 unreserved characters pass through, every
/// other byte is `%XX`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_parts_apart() {
        assert_eq!(room_key(&[]), "");
        assert_eq!(room_key(&[&"a/b"]), "a%2Fb");
        assert_eq!(room_key(&[&"a", &7]), "a/7");
    }

    #[test]
    fn member_info_leaves_out_absent_attributes() {
        assert_eq!(member_info(|i| i.field("user", &None::<String>)), None);
        assert_eq!(
            member_info(|i| {
                i.field("user", &"alice");
                i.field("age", &Some(7));
            }),
            Some("{\"age\":7,\"user\":\"alice\"}".to_owned())
        );
    }
}
