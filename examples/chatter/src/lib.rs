//! Goa's chatter example: the design in `design.rs`, the generated code below, the
//! service in [`service`] and its JWT handling in [`auth`].

nagare::include_api!("chatter");

pub mod auth;
pub mod service;
pub mod web;
