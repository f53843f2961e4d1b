//! A resume offer in Sec-WebSocket-Protocol, and the subprotocol list around it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = nagare::fuzzing::resume_offer(&String::from_utf8_lossy(data));
    nagare::fuzzing::offered_protocols(data);
});
