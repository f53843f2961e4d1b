//! The guide example: the design in `design.rs`, the generated code below, and the
//! service implementation in [`service`].

include!(concat!(env!("OUT_DIR"), "/guide.rs"));

pub mod service;
