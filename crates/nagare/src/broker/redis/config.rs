//! How a Redis broker reaches Redis.

use std::time::Duration;

/// How to reach Redis, and how long to wait for it.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` (the `redis` crate's URL
    /// syntax; `rediss://` is not enabled in this build).
    pub url: String,
    /// Prefix of every key and channel, to share a Redis between applications.
    pub prefix: String,
    /// How long a command may take before it fails as unavailable: a publish
    /// never waits longer than this.
    pub command_timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long a publish may wait for Redis (down, or slow) before it fails
    /// with "try again later" (1013 on a stream, 503 on a unary call). A
    /// publish waits in this node's queue, not in the connection that asked:
    /// it is done, or fails and is counted, even after its client left.
    pub publish_timeout: Duration,
    /// Publishes waiting for Redis at most; one more is refused at once as
    /// unavailable.
    pub max_pending_publishes: usize,
    /// Bytes of publishes waiting for Redis at most.
    pub max_pending_bytes: usize,
}

impl RedisConfig {
    /// Redis at `url`, keys prefixed with `nagare`, commands bounded by 2 s
    /// and connecting by 1 s; publishes wait for Redis up to 10 s, 10,000 of
    /// them and 64 MiB at most.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "nagare".to_owned(),
            command_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
            publish_timeout: Duration::from_secs(10),
            max_pending_publishes: 10_000,
            max_pending_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The URL without its password, for logs.
pub(super) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        // Not a URL: whatever is between `://` and `@` may be credentials.
        Err(_) => match url.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}"),
                None => format!("{scheme}://{rest}"),
            },
            None => "<not a URL>".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn logged_urls_hide_the_password() {
        assert_eq!(
            super::redacted("redis://u:secret@127.0.0.1:6379/0"),
            "redis://u:***@127.0.0.1:6379/0"
        );
        assert_eq!(super::redacted("redis://127.0.0.1/"), "redis://127.0.0.1/");
        // Not a URL (a bad port), and still nothing of the password shown.
        assert_eq!(
            super::redacted("redis://u:secret@127.0.0.1:port/0"),
            "redis://***@127.0.0.1:port/0"
        );
    }
}
