//! The short run of every fuzz target, as property tests: random and
//! structured inputs to each decoder a peer can reach (generated request
//! decoding, message decoding with views, the `nagare.v1` frames and resume
//! offers, the client's reading of an upgrade response, close frames and the
//! designed errors in them). Each must answer, never panic, and a request must
//! never get a 500. The committed corpus (`fuzz/corpus/<target>/`) is replayed
//! first, so what a long run found stays fixed. The long, coverage-guided run is
//! `fuzz/README.md`.

use std::path::PathBuf;

use nagare_features::fuzz::{self, Answer};
use proptest::prelude::*;

/// Cases per property: `PROPTEST_CASES` overrides it (a longer run).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(512),
        ..ProptestConfig::default()
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus of {target} ({dir:?}): {e}"))
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "the corpus of {target} is empty");
    inputs
}

/// JSON-like text: mostly valid shapes with hostile values.
fn json_like() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("1e999".to_owned()),
        Just("-0".to_owned()),
        Just("9007199254740993".to_owned()),
        any::<f64>().prop_map(|f| format!("{f}")),
        any::<i64>().prop_map(|i| i.to_string()),
        "\\PC{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        Just("\"\\ud800\"".to_owned()),
    ];
    let value = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("sensor_id".to_owned()),
                        Just("value".to_owned()),
                        Just("unit".to_owned()),
                        Just("taken_at".to_owned()),
                        Just("tags".to_owned()),
                        Just("raw".to_owned()),
                        Just("text".to_owned()),
                        Just("key".to_owned()),
                        "[a-z]{1,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| {
                let fields: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    });
    prop_oneof![
        value.prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Request targets of the sensors routes, with hostile segments and queries.
fn target() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("67e55044-10b1-426f-9247-bb680e5fe0c8".to_owned()),
        "[a-zA-Z0-9%._~-]{0,40}",
        Just("%ff%fe".to_owned()),
        Just("..".to_owned()),
    ];
    let query_value = prop_oneof![
        "[a-zA-Z0-9%+._~-]{0,20}",
        Just("1e999".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("true".to_owned()),
        Just("%00".to_owned()),
    ];
    let query = prop::collection::vec(
        (
            prop_oneof![
                Just("batch"),
                Just("label"),
                Just("strict"),
                Just("token"),
                Just("scale"),
                Just("view"),
                Just("nick"),
            ],
            query_value,
        ),
        0..5,
    )
    .prop_map(|q| {
        q.into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    (
        prop_oneof![
            Just("/v1/rooms/{}/record"),
            Just("/v1/rooms/{}/talk"),
            Just("/v1/sensors/{}/latest"),
            Just("/v1/sensors/{}/calibrate"),
            Just("/v1/sensors/{}/state"),
            Just("/v1/watch"),
        ],
        segment,
        query,
    )
        .prop_map(|(path, seg, q)| {
            let path = path.replace("{}", &seg);
            if q.is_empty() {
                path
            } else {
                format!("{path}?{q}")
            }
        })
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let value = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        Just(b"Bearer x.y.z".to_vec()),
        Just(b"sid=abc; other=1".to_vec()),
    ];
    let upgrade = Just(vec![
        ("upgrade".to_owned(), b"websocket".to_vec()),
        ("connection".to_owned(), b"Upgrade".to_vec()),
        (
            "sec-websocket-key".to_owned(),
            b"dGhlIHNhbXBsZSBub25jZQ==".to_vec(),
        ),
        ("sec-websocket-version".to_owned(), b"13".to_vec()),
    ]);
    let chosen = prop::collection::vec(
        (
            prop_oneof![
                Just("x-token"),
                Just("cookie"),
                Just("x-api-key"),
                Just("authorization"),
                Just("content-type"),
                Just("sec-websocket-protocol"),
                Just("origin"),
                Just("goa-view"),
            ]
            .prop_map(str::to_owned),
            value,
        ),
        0..5,
    );
    (prop::bool::ANY, upgrade, chosen).prop_map(|(up, mut base, chosen)| {
        if !up {
            base.clear();
        }
        base.extend(chosen);
        base
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn check(answer: Answer) -> Result<(), TestCaseError> {
    match answer {
        Answer::Fault(body) => Err(TestCaseError::fail(format!("500: {body}"))),
        _ => Ok(()),
    }
}

#[test]
fn the_corpus_replays_without_a_fault() {
    let rt = runtime();
    for input in corpus("request") {
        let text = String::from_utf8_lossy(&input).into_owned();
        let mut lines = text.split("\r\n");
        let mut first = lines.next().unwrap_or_default().splitn(2, ' ');
        let (method, target) = (
            first.next().unwrap_or_default(),
            first.next().unwrap_or("/"),
        );
        let mut headers = Vec::new();
        for line in lines.by_ref() {
            if line.is_empty() {
                break;
            }
            if let Some((n, v)) = line.split_once(": ") {
                headers.push((n.to_owned(), v.as_bytes().to_vec()));
            }
        }
        let body: Vec<u8> = lines.collect::<Vec<_>>().join("\r\n").into_bytes();
        let answer = rt.block_on(fuzz::request(method, target, &headers, body));
        assert!(!matches!(answer, Answer::Fault(_)), "{text}: {answer:?}");
    }
    for input in corpus("message") {
        fuzz::messages(&input);
    }
    for input in corpus("nagare_v1_frame") {
        nagare::fuzzing::nagare_v1_frame(&input);
    }
    for input in corpus("upgrade_response") {
        let _ = nagare::fuzzing::upgrade_response(&input);
    }
    for input in corpus("resume_offer") {
        let _ = nagare::fuzzing::resume_offer(&String::from_utf8_lossy(&input));
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn requests_are_decoded_or_refused_never_a_500(
        method in prop_oneof![
            Just("GET".to_owned()),
            Just("POST".to_owned()),
            Just("PUT".to_owned()),
            "[A-Z]{1,7}",
        ],
        target in target(),
        headers in headers(),
        body in json_like(),
    ) {
        let answer = runtime().block_on(fuzz::request(&method, &target, &headers, body));
        check(answer)?;
    }

    #[test]
    fn messages_decode_or_fail_with_views(bytes in json_like()) {
        fuzz::messages(&bytes);
    }

    #[test]
    fn nagare_v1_frames_parse_or_fail(bytes in json_like()) {
        nagare::fuzzing::nagare_v1_frame(&bytes);
    }

    #[test]
    fn resume_offers_parse_or_are_ignored(
        offer in prop_oneof![
            "\\PC{0,80}",
            "nagare\\.resume\\.[a-zA-Z0-9_.-]{0,70}",
        ],
        epoch in "[a-zA-Z0-9_-]{1,64}",
        seq in any::<u64>(),
    ) {
        let _ = nagare::fuzzing::resume_offer(&offer);
        let point = nagare::ResumePoint { epoch, seq };
        prop_assert_eq!(nagare::fuzzing::resume_offer(&point.offer()), Some(point));
    }

    #[test]
    fn upgrade_responses_are_read_or_refused(
        status in prop_oneof![Just(101u16), Just(200), Just(401), 100u16..600],
        headers in prop::collection::vec(("[A-Za-z-]{1,24}", "[ -~]{0,40}"), 0..8),
        junk in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut head = format!("HTTP/1.1 {status} X\r\n");
        for (n, v) in &headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let _ = nagare::fuzzing::upgrade_response(head.as_bytes());
        let _ = nagare::fuzzing::upgrade_response(&junk);
    }

    #[test]
    fn close_frames_become_errors(code in any::<u16>(), reason in "\\PC{0,130}") {
        let _ = fuzz::close(code, &reason);
        let _ = fuzz::close(4000, &format!("rejected: {reason}"));
        let _ = fuzz::close(4000, &format!("not_found: {reason}"));
    }

    #[test]
    fn offered_subprotocols_split(header in prop::collection::vec(any::<u8>(), 0..120)) {
        nagare::fuzzing::offered_protocols(&header);
    }
}
