//! A server's answer to an upgrade, as nagare's client reads it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = nagare::fuzzing::upgrade_response(data);
});
