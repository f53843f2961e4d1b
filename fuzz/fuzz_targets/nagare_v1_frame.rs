//! A frame of the nagare.v1 extension, as a client parses it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nagare::fuzzing::nagare_v1_frame(data);
});
