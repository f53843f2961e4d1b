//! The keys and channels of a room in Redis.

use std::time::Duration;

/// The keys and channels of one room.
#[derive(Clone, Debug)]
pub(super) struct RoomKeys {
    pub(super) meta: String,
    pub(super) history: String,
    pub(super) live: String,
    pub(super) members: String,
    pub(super) expiry: String,
    pub(super) presence: String,
}

impl RoomKeys {
    pub(super) fn new(prefix: &str, room: &str) -> Self {
        // The room's name is the hash tag, so `{` and `}` (which would end or
        // start it) and `%` are escaped.
        let mut tag = String::with_capacity(room.len());
        for c in room.chars() {
            match c {
                '{' => tag.push_str("%7B"),
                '}' => tag.push_str("%7D"),
                '%' => tag.push_str("%25"),
                c => tag.push(c),
            }
        }
        let key = |what: &str| format!("{prefix}:{{{tag}}}:{what}");
        RoomKeys {
            meta: key("meta"),
            history: key("history"),
            live: key("live"),
            members: key("members"),
            expiry: key("expiry"),
            presence: key("presence"),
        }
    }
}

/// A TTL as Redis takes it: whole milliseconds, at least one.
pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_rooms_hash_tag_and_escape_braces() {
        let keys = RoomKeys::new("app", "chat.subscribe/a{b}");
        assert_eq!(keys.meta, "app:{chat.subscribe/a%7Bb%7D}:meta");
        assert_eq!(keys.live, "app:{chat.subscribe/a%7Bb%7D}:live");
        assert_ne!(
            RoomKeys::new("app", "a%7B").meta,
            RoomKeys::new("app", "a{").meta
        );
    }
}
