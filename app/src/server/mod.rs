//! Server-only code: services, database access and session handling. SQL lives here.

pub mod audit;
pub mod auth;
pub mod batch;
pub mod db;
pub mod directory;
pub mod invites;
pub mod outbox;
pub mod relay;
pub mod session_store;
pub mod settings;
pub mod signup;
pub mod state;
pub mod template;
pub mod trace;

pub use trace::{current_trace_id, internal_error, OrInternal, TraceId, CURRENT_TRACE};
