//! Generated code for `design.rs`, compiled and exercised by this crate's tests.

include!(concat!(env!("OUT_DIR"), "/features.rs"));

pub mod fuzz;
