//! The nagare design language.
//!
//! A design describes a WebSocket service once; `nagare-codegen` turns it into
//! typed messages, a service trait, an axum server and a typed client. The
//! vocabulary is Goa's, in snake_case: [`api`], `service`, `method`, `payload`,
//! `result`, `streaming_payload`, `streaming_result`, [`type_`], [`result_type`],
//! `attribute`, `required`, the validations, `view`, `error` and `http`. Every
//! DSL call records where it was written ([`Source`]), so a broken rule is
//! reported at its line of `design.rs`.
//!
//! A design is a plain value ([`Api`]) built by a function the user writes, so the
//! same design feeds every generator. [`Api::validate`] checks it before anything is
//! generated and reports every problem with its location.
//!
//! ```
//! use nagare_design::*;
//!
//! fn design() -> Api {
//!     api("guide", |a| {
//!         a.service("chat", |s| {
//!             s.method("listener", |m| {
//!                 m.streaming_payload(|p| {
//!                     p.attribute("message", STRING, "Message to log");
//!                     p.required(["message"]);
//!                 });
//!                 m.http(|h| {
//!                     h.get("/listen");
//!                 });
//!             });
//!         });
//!     })
//! }
//! design().validate().unwrap();
//! ```

#![warn(missing_docs)]

mod dsl;
mod http;
mod security;
mod source;
mod types;
mod validate;

pub use dsl::{api, Api, ApiServer, ErrorDef, Method, Room, Service, StreamKind};
pub use http::{
    path_params, FailureLimit, HttpEndpoint, HttpService, Location, Mapping, Route,
    SlowConsumerPolicy, Verb, WsSettings,
};
pub use security::{SchemeKind, SecurityRequirement, SecurityScheme};
pub use source::{design_files, Source};
pub use types::{
    array_of, collection_of, map_of, result_type, type_, Attribute, Bound, Credential, Format,
    Object, Primitive, ResultTypeBuilder, ResultTypeInfo, Type, UserType, Validation, View, ANY,
    BOOLEAN, BYTES, ERROR_RESULT, FLOAT32, FLOAT64, INT, INT32, INT64, STRING, UINT, UINT32,
    UINT64,
};
pub use validate::{DesignError, DesignErrors};
