//! Generated code for `design.rs`, compiled and exercised by this crate's tests.

nagare::include_api!("features");

pub mod fuzz;
