//! Trace IDs: one per request, in every log line of that request, in the `x-trace-id`
//! response header, and in any internal error the user sees.

use std::fmt::Display;

use leptos::prelude::use_context;

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceId(pub String);

impl TraceId {
    pub fn new() -> TraceId {
        TraceId(uuid::Uuid::new_v4().simple().to_string())
    }
}

impl Default for TraceId {
    fn default() -> Self {
        TraceId::new()
    }
}

impl Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

tokio::task_local! {
    /// The Trace ID of the request this task is serving (set by the server's middleware).
    pub static CURRENT_TRACE: TraceId;
}

/// The current request's Trace ID: from the reactive context (server functions, rendering)
/// or the request's task; a fresh one if neither is there, so the log and the user still match.
pub fn current_trace_id() -> TraceId {
    use_context::<TraceId>()
        .or_else(|| CURRENT_TRACE.try_with(|t| t.clone()).ok())
        .unwrap_or_default()
}

/// Logs the detail of an unexpected failure and returns the opaque error the user sees.
pub fn internal_error(detail: impl Display) -> AppError {
    let trace_id = current_trace_id();
    tracing::error!(trace_id = %trace_id, error = %detail, "internal error");
    AppError::Internal {
        trace_id: trace_id.0,
    }
}

/// `result.or_internal()?`: any error that the user cannot act on becomes `AppError::Internal`.
pub trait OrInternal<T> {
    fn or_internal(self) -> Result<T, AppError>;
}

impl<T, E: Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self) -> Result<T, AppError> {
        self.map_err(internal_error)
    }
}
