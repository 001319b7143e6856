//! The TechBiz Invite server: configuration, telemetry, the HTTP middleware (`csrf`,
//! `headers`, `limits`), the routes and the axum application (`startup`). It builds on the
//! `app` crate (its services, server functions and pages) and nothing builds on it but
//! `main.rs` and the tests.

pub mod config;
pub mod csrf;
pub mod headers;
pub mod limits;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod telemetry;
