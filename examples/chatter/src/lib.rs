//! Goa's chatter example: the design in `design.rs`, the generated code below, the
//! service in [`service`] and its JWT handling in [`auth`].

include!(concat!(env!("OUT_DIR"), "/chatter.rs"));

pub mod auth;
pub mod service;
pub mod web;
