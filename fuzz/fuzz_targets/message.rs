//! Every message type a peer can send the sensors service, with each view.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nagare_features::fuzz::messages(data));
