//! The Redis broker against a real Redis (Debian's `redis-server`, started by
//! each test on a free loopback port): two brokers are two nodes.

#![cfg(feature = "redis")]

use std::time::Duration;

use nagare::broker::{
    Broker, BrokerError, BrokerHealth, FeedItem, Member, PresenceChange, PresenceEvent,
    RedisBroker, RedisConfig, RoomConfig, RoomId,
};
use nagare::ws::TextBytes;
use nagare::ResumePoint;
use nagare_testkit::bounded;
use nagare_testkit::redis::RedisServer;

async fn node(redis: &RedisServer) -> RedisBroker {
    node_with(redis, |_| {}).await
}

/// A node whose settings `change` adjusts.
async fn node_with(redis: &RedisServer, change: impl FnOnce(&mut RedisConfig)) -> RedisBroker {
    let mut config = RedisConfig::new(redis.url());
    config.command_timeout = Duration::from_millis(500);
    change(&mut config);
    RedisBroker::connect(config)
        .await
        .expect("connect to Redis")
}

fn room(name: &str, history: usize) -> RoomId {
    RoomId::new(name, RoomConfig::new(history))
}

fn frame(i: u64) -> TextBytes {
    TextBytes::from(format!("{i}\n"))
}

/// The next message's number and text; fails on anything else.
async fn message(feed: &mut nagare::broker::Feed) -> (u64, String) {
    match feed.next().await {
        Ok(FeedItem::Message { seq, frame }) => (seq, frame.as_str().trim_end().to_owned()),
        other => panic!("a message expected, got {other:?}"),
    }
}

#[tokio::test]
async fn messages_published_on_one_node_reach_a_follower_on_another_once_and_in_order() {
    bounded(async {
        let redis = RedisServer::start().await;
        let (a, b) = (node(&redis).await, node(&redis).await);
        let r = room("orders", 1024);
        let mut feed = a.follow(&r, None).await.expect("follow");
        let publishing = tokio::spawn(async move {
            for i in 1..=10_000u64 {
                let p = b.publish(&r, frame(i)).await.expect("publish");
                assert_eq!(p.seq, i);
            }
        });
        for i in 1..=10_000u64 {
            assert_eq!(message(&mut feed).await, (i, i.to_string()));
        }
        publishing.await.expect("publisher");
        // One subscription for the node, however many local followers.
        let second = a.follow(&room("orders", 1024), None).await.expect("follow");
        assert_eq!(a.followed_rooms(), 1);
        let subscribers = || redis.command(&["PUBSUB", "NUMSUB", "nagare:{orders}:live"]);
        assert!(
            subscribers().await.ends_with(":1\r\n"),
            "{}",
            subscribers().await
        );
        // The last follower gone, the node unsubscribes.
        drop((feed, second));
        assert_eq!(a.followed_rooms(), 0);
        let mut left = false;
        for _ in 0..200 {
            if subscribers().await.ends_with(":0\r\n") {
                left = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(left, "still subscribed: {}", subscribers().await);
    })
    .await;
}

#[tokio::test]
async fn a_follower_resumes_on_another_node_from_its_point() {
    bounded(async {
        let redis = RedisServer::start().await;
        let (a, b) = (node(&redis).await, node(&redis).await);
        let r = room("resume", 100);
        let mut on_a = a.follow(&r, None).await.expect("follow");
        for i in 1..=5 {
            a.publish(&r, frame(i)).await.expect("publish");
        }
        for i in 1..=3 {
            assert_eq!(message(&mut on_a).await.0, i);
        }
        let point = ResumePoint {
            epoch: on_a.position().epoch,
            seq: 3,
        };
        drop(on_a);
        // Node b has never followed the room: it reads the history first.
        let mut on_b = b.follow(&r, Some(&point)).await.expect("resume on b");
        assert_eq!(message(&mut on_b).await.0, 4);
        assert_eq!(message(&mut on_b).await.0, 5);
        a.publish(&r, frame(6)).await.expect("publish");
        assert_eq!(message(&mut on_b).await, (6, "6".to_owned()));
        // A point past what the room has is refused; one of another epoch
        // starts at the oldest message kept.
        let ahead = ResumePoint {
            seq: 99,
            ..point.clone()
        };
        assert!(matches!(
            b.follow(&r, Some(&ahead)).await,
            Err(nagare::broker::FollowError::Ahead {
                offered: 99,
                last: 6
            })
        ));
        let foreign = ResumePoint {
            epoch: "gone".into(),
            seq: 2,
        };
        let mut restarted = b.follow(&r, Some(&foreign)).await.expect("restart");
        assert_eq!(restarted.restarted_from(), Some(&foreign));
        assert_eq!(restarted.position().seq, 0);
        assert_eq!(message(&mut restarted).await.0, 1);
        // History is read from Redis, oldest first.
        let history = a.history(&r, 2).await.expect("history");
        assert_eq!(history.last, 6);
        let seqs: Vec<u64> = history.messages.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [5, 6]);
    })
    .await;
}

#[tokio::test]
async fn a_rooms_history_in_redis_keeps_no_more_bytes_than_its_budget() {
    bounded(async {
        let redis = RedisServer::start().await;
        let (a, b) = (node(&redis).await, node(&redis).await);
        let mut config = RoomConfig::new(1000);
        config.history_bytes = 10_000;
        let r = RoomId::new("big", config);
        // Node a follows, keeping up: its cache of the room has the same
        // budget, and the follower gets every message however few are kept.
        let mut feed = a.follow(&r, None).await.expect("follow");
        let big = |i: u64| TextBytes::from(format!("{i:0>999}\n"));
        for i in 1..=25 {
            b.publish(&r, big(i)).await.expect("publish");
            assert_eq!(message(&mut feed).await.0, i);
        }
        // 1,000 bytes each: the last ten fit 10,000 bytes.
        let kept = redis.command(&["XLEN", "nagare:{big}:history"]).await;
        assert_eq!(kept, ":10\r\n");
        let bytes = redis.command(&["HGET", "nagare:{big}:meta", "bytes"]).await;
        assert_eq!(bytes, "$5\r\n10000\r\n");
        let history = a.history(&r, 1000).await.expect("history");
        let seqs: Vec<u64> = history.messages.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (16..=25).collect::<Vec<_>>());
        // A small message makes room for itself only.
        b.publish(&r, TextBytes::from("x\n"))
            .await
            .expect("publish");
        assert_eq!(message(&mut feed).await.0, 26);
        let kept = redis.command(&["XLEN", "nagare:{big}:history"]).await;
        assert_eq!(kept, ":10\r\n");
        // One over the budget is kept alone.
        b.publish(&r, TextBytes::from(format!("{}\n", "y".repeat(20_000))))
            .await
            .expect("publish");
        let kept = redis.command(&["XLEN", "nagare:{big}:history"]).await;
        assert_eq!(kept, ":1\r\n");
        let bytes = redis.command(&["HGET", "nagare:{big}:meta", "bytes"]).await;
        assert_eq!(bytes, "$5\r\n20001\r\n");
        assert_eq!(message(&mut feed).await.0, 27);
    })
    .await;
}

#[tokio::test]
async fn a_follower_too_far_behind_is_told_so() {
    bounded(async {
        let redis = RedisServer::start().await;
        let a = node(&redis).await;
        let r = room("small", 4);
        let first = a.publish(&r, frame(1)).await.expect("publish");
        for i in 2..=10 {
            a.publish(&r, frame(i)).await.expect("publish");
        }
        let point = ResumePoint {
            epoch: first.epoch.to_string(),
            seq: 1,
        };
        // A fresh node reads what Redis keeps: 7 to 10.
        let b = node(&redis).await;
        assert!(matches!(
            b.follow(&r, Some(&point)).await,
            Err(nagare::broker::FollowError::Behind {
                wanted: 2,
                oldest: 7
            })
        ));
    })
    .await;
}

#[tokio::test]
async fn a_redis_restart_keeps_the_epoch_and_loses_nothing() {
    bounded(async {
        let mut redis = RedisServer::start().await;
        let (a, b) = (node(&redis).await, node(&redis).await);
        let r = room("durable", 1024);
        let mut feed = a.follow(&r, None).await.expect("follow");
        for i in 1..=50 {
            b.publish(&r, frame(i)).await.expect("publish");
        }
        for i in 1..=50 {
            assert_eq!(message(&mut feed).await.0, i);
        }
        let epoch = feed.position().epoch;
        redis.restart().await;
        // The publisher's connection comes back; the follower's node reads
        // what it missed while it reconnected.
        let mut published = 50;
        while published < 100 {
            match b.publish(&r, frame(published + 1)).await {
                Ok(p) => {
                    assert_eq!(p.seq, published + 1);
                    assert_eq!(&*p.epoch, epoch);
                    published += 1;
                }
                Err(BrokerError::Unavailable { .. }) => tokio::task::yield_now().await,
                Err(e) => panic!("{e}"),
            }
        }
        for i in 51..=100 {
            assert_eq!(message(&mut feed).await.0, i);
        }
        assert_eq!(feed.position().epoch, epoch);
    })
    .await;
}

#[tokio::test]
async fn lost_redis_data_restarts_the_room_and_followers_go_on() {
    bounded(async {
        let redis = RedisServer::start().await;
        let (a, b) = (node(&redis).await, node(&redis).await);
        let r = room("volatile", 1024);
        let mut feed = a.follow(&r, None).await.expect("follow");
        b.publish(&r, frame(1)).await.expect("publish");
        assert_eq!(message(&mut feed).await.0, 1);
        let old = feed.position().epoch;
        redis.flush_all().await;
        let p = b.publish(&r, frame(100)).await.expect("publish");
        assert_eq!(p.seq, 1);
        assert_ne!(&*p.epoch, old);
        match feed.next().await {
            Ok(FeedItem::Restarted { epoch, after }) => {
                assert_eq!(epoch, p.epoch);
                assert_eq!(after, 0);
            }
            other => panic!("a restart expected, got {other:?}"),
        }
        assert_eq!(message(&mut feed).await, (1, "100".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn while_redis_is_down_publishes_wait_then_fail_at_their_deadline() {
    bounded(async {
        let mut redis = RedisServer::start().await;
        let a = node(&redis).await;
        let b = node_with(&redis, |c| c.publish_timeout = Duration::from_millis(500)).await;
        let r = room("outage", 1024);
        let mut feed = a.follow(&r, None).await.expect("follow");
        b.publish(&r, frame(1)).await.expect("publish");
        assert_eq!(message(&mut feed).await.0, 1);
        redis.stop().await;
        let started = std::time::Instant::now();
        match b.publish(&r, frame(2)).await {
            Err(e @ BrokerError::Unavailable { .. }) => {
                assert!(e.to_string().contains("try again later"), "{e}");
            }
            other => panic!("unavailable expected, got {other:?}"),
        }
        // It waited for Redis until its deadline, then failed: not a hang.
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(450) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        assert!(matches!(b.health(), BrokerHealth::Down(_)));
        assert_eq!(b.pending_publishes(), 0);
        redis.start_again().await;
        // The failed publish is not in the room: the next one takes its place.
        let mut next = b.publish(&r, frame(3)).await;
        while let Err(BrokerError::Unavailable { .. }) = next {
            next = b.publish(&r, frame(3)).await;
        }
        assert_eq!(next.expect("published").seq, 2);
        assert_eq!(message(&mut feed).await, (2, "3".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn a_publisher_that_leaves_during_an_outage_loses_nothing() {
    bounded(async {
        let mut redis = RedisServer::start().await;
        let (a, b) = (node(&redis).await, node(&redis).await);
        let r = room("left", 1024);
        let mut feed = a.follow(&r, None).await.expect("follow");
        b.publish(&r, frame(1)).await.expect("publish");
        assert_eq!(message(&mut feed).await.0, 1);
        redis.stop().await;
        // Five publishes, and their caller gone at once (its connection
        // closed): the broker keeps them.
        for i in 2..=6 {
            drop(b.publish(&r, frame(i)));
        }
        assert_eq!(b.pending_publishes(), 5);
        redis.start_again().await;
        // Every one arrives, once, in order.
        for i in 2..=6 {
            assert_eq!(message(&mut feed).await, (i, i.to_string()));
        }
        b.publish(&r, frame(7)).await.expect("publish");
        assert_eq!(message(&mut feed).await, (7, "7".to_owned()));
        assert_eq!(b.pending_publishes(), 0);
    })
    .await;
}

#[tokio::test]
async fn publishes_waiting_for_redis_are_bounded() {
    bounded(async {
        let mut redis = RedisServer::start().await;
        let b = node_with(&redis, |c| c.max_pending_publishes = 3).await;
        let r = room("bounded", 16);
        redis.stop().await;
        let waiting: Vec<_> = (1..=3).map(|i| b.publish(&r, frame(i))).collect();
        match b.publish(&r, frame(4)).await {
            Err(e @ BrokerError::Unavailable { .. }) => {
                assert!(e.to_string().contains("3 publishes"), "{e}")
            }
            other => panic!("refused at once expected, got {other:?}"),
        }
        redis.start_again().await;
        for (i, w) in waiting.into_iter().enumerate() {
            assert_eq!(w.await.expect("published").seq, i as u64 + 1);
        }
    })
    .await;
}

#[tokio::test]
async fn health_follows_redis() {
    bounded(async {
        let mut redis = RedisServer::start().await;
        let a = node(&redis).await;
        assert_eq!(a.health(), BrokerHealth::Up);
        redis.stop().await;
        // Found by the lost connection (or the next command), not at once:
        // asked as a probe would.
        while a.health() == BrokerHealth::Up {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        redis.start_again().await;
        while a.health() != BrokerHealth::Up {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn presence_is_shared_by_nodes_and_dead_nodes_members_expire() {
    bounded(async {
        let redis = RedisServer::start().await;
        let (a, b) = (node(&redis).await, node(&redis).await);
        let mut config = RoomConfig::new(8);
        config.presence_ttl = Duration::from_secs(1);
        let r = RoomId::new("lobby", config);
        let mut events = b.presence(&r).await.expect("presence");
        let ann = a
            .join(&r, Member::new(Some("{\"user\":\"ann\"}".into())))
            .await
            .expect("join");
        let bob = b.join(&r, Member::new(None)).await.expect("join");
        let mut joined = Vec::new();
        while joined.len() < 2 {
            match events.next().await {
                Some(PresenceChange::Event(PresenceEvent::Join(m))) => joined.push(m.id),
                other => panic!("a join expected, got {other:?}"),
            }
        }
        joined.sort();
        let mut both = vec![ann.member().id.clone(), bob.member().id.clone()];
        both.sort();
        assert_eq!(joined, both);
        assert_eq!(a.members(&r).await.expect("members").len(), 2);

        // A graceful leave shows at once.
        let bob_id = bob.member().id.clone();
        let left = std::time::Instant::now();
        drop(bob);
        match events.next().await {
            Some(PresenceChange::Event(PresenceEvent::Leave(m))) => assert_eq!(m.id, bob_id),
            other => panic!("a leave expected, got {other:?}"),
        }
        assert!(left.elapsed() < Duration::from_secs(1));

        // Node a dies without a word: its member expires after the TTL.
        let ann_id = ann.member().id.clone();
        std::mem::forget(ann);
        drop(a);
        match events.next().await {
            Some(PresenceChange::Event(PresenceEvent::Leave(m))) => assert_eq!(m.id, ann_id),
            other => panic!("a leave expected, got {other:?}"),
        }
        assert!(b.members(&r).await.expect("members").is_empty());
    })
    .await;
}
