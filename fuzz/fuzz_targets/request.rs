//! A request to the sensors router, written as `METHOD target`, header lines
//! `name: value` and a body after a blank line: decoded or refused, never a 500.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nagare_features::fuzz::{request, Answer};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().splitn(2, ' ');
    let (method, target) = (first.next().unwrap_or_default(), first.next().unwrap_or("/"));
    let mut headers = Vec::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(": ") {
            headers.push((n.to_owned(), v.as_bytes().to_vec()));
        }
    }
    let body = lines.collect::<Vec<_>>().join("\r\n").into_bytes();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    if let Answer::Fault(body) = rt.block_on(request(method, target, &headers, body)) {
        panic!("500: {body}");
    }
});
