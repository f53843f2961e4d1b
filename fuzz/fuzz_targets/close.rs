//! A close frame (two bytes of code, then the reason) read as a client does,
//! down to the service's designed error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() >= 2 {
        let code = u16::from_be_bytes([data[0], data[1]]);
        let reason = String::from_utf8_lossy(&data[2..]);
        let _ = nagare_features::fuzz::close(code, &reason);
    }
});
