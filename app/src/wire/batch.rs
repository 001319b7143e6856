//! Batch upload on the wire: the rows the page sends to `precheck_batch` and `submit_batch`,
//! and what each answers.

use serde::{Deserialize, Serialize};

use crate::domain::{FieldError, RawAccount};

/// One row of the uploaded list, as far as the pre-check needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrecheckRow {
    /// The browser's id for the row (stable across edits); echoed in the answer.
    pub row_id: String,
    pub email: String,
    pub username: String,
}

/// A clash of one row with what already exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowIssue {
    pub row_id: String,
    /// `"email"` or `"username"`.
    pub field: String,
    pub message: String,
}

/// One row to invite: the browser's id for it (stable across edits and resubmits) and the
/// Create account fields as read from the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRow {
    pub row_id: String,
    pub raw: RawAccount,
}

/// The answer to one `submit_batch` call: an outcome for every distinct row id sent, in the
/// order sent, and the Trace ID of the call (to quote to support next to a failed row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    pub trace_id: String,
    pub rows: Vec<RowOutcome>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowOutcome {
    pub row_id: String,
    pub result: RowResult,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowResult {
    /// The account was created and its activation email queued (now, or by an earlier call
    /// with the same batch key and row id: then this is that same invitation).
    Invited {
        invitation_id: String,
        email: String,
    },
    /// Nothing was stored for this row; each entry names a `RawAccount` field.
    Rejected { fields: Vec<FieldError> },
}
