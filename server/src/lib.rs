//! The TechBiz Invite server: configuration, telemetry and the axum application.

pub mod config;
pub mod csrf;
pub mod headers;
pub mod limits;
pub mod routes;
pub mod startup;
pub mod telemetry;
