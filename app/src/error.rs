//! The one error type that crosses the wire between the server and the browser.
//!
//! Every variant is something a user can act on, except `Internal`, which carries only the
//! Trace ID: the detail stays in the server log under that ID.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::domain::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// One or more fields were rejected; each entry names the field and says how to fix it.
    #[error("{} field(s) need attention", fields.len())]
    Validation { fields: Vec<FieldError> },
    /// The request clashes with something that already exists (e.g. a pending invitation).
    #[error("{message}")]
    Conflict { message: String },
    /// No one is signed in, or the session ended.
    #[error("Your session has ended. Sign in again to continue.")]
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{what} was not found")]
    NotFound { what: String },
    /// Anything else. The user sees "Something went wrong" and this Trace ID.
    #[error("Something went wrong (Trace ID {trace_id})")]
    Internal { trace_id: String },
    /// The request never got a usable answer (network down, server restarting, bad payload).
    #[error("The server could not be reached: {message}")]
    Transport { message: String },
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            fields: vec![FieldError::new(field, message)],
        }
    }

    /// The message for a given field, if this is a validation error that names it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation { fields } => fields
                .iter()
                .find(|f| f.field == field)
                .map(|f| f.message.clone()),
            _ => None,
        }
    }

    pub fn trace_id(&self) -> Option<&str> {
        match self {
            AppError::Internal { trace_id } => Some(trace_id),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport {
            message: value.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_message_finds_the_named_field_only() {
        let err = AppError::validation("email", "Enter an email address");
        assert_eq!(
            err.field_message("email").as_deref(),
            Some("Enter an email address")
        );
        assert_eq!(err.field_message("reason"), None);
    }

    #[test]
    fn internal_error_round_trips_with_its_trace_id() {
        let err = AppError::Internal {
            trace_id: "abc123".into(),
        };
        let json = serde_json::to_string(&err).expect("serialise");
        let back: AppError = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back.trace_id(), Some("abc123"));
        assert!(!json.contains("sql"), "no internals on the wire: {json}");
    }
}
