//! The guide example: the design in `design.rs`, the generated code below, and the
//! service implementation in [`service`].

nagare::include_api!("guide");

pub mod service;
