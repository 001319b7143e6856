//! Batch upload: the browser reads the file, checks every row with the shared rules, asks
//! `precheck_batch` once which rows clash with existing accounts and invitations, then sends
//! the rows to `submit_batch` in chunks of up to 500 under one batch key. Both take JSON (a
//! list of rows is no form) and both have a larger body limit than other server functions
//! (see `server/src/startup.rs`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::domain::{FieldError, RawAccount};
use crate::AppError;

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

/// Which rows of a list would clash with an existing account, an open invitation or a taken
/// TechPass username. Rows whose email address does not parse are skipped (the browser has
/// already flagged them).
#[server(prefix = "/api", endpoint = "precheck_batch", input = Json)]
pub async fn precheck_batch(rows: Vec<PrecheckRow>) -> Result<Vec<RowIssue>, AppError> {
    use crate::server::{auth, batch, state::app_state};
    let state = app_state()?;
    let (_, officer) = auth::require_officer(&auth::session().await?).await?;
    if let Err(message) = state.prechecks.spend(&officer.key(), rows.len()) {
        return Err(AppError::Conflict { message });
    }
    Ok(batch::precheck(&state.db, &officer, &rows).await?)
}

/// Creates the accounts of a chunk of an uploaded list. Idempotent per (batch key, row id):
/// sending a row again returns its invitation and writes nothing.
#[server(prefix = "/api", endpoint = "submit_batch", input = Json)]
pub async fn submit_batch(
    batch_key: String,
    file_name: String,
    rows: Vec<BatchRow>,
) -> Result<BatchOutcome, AppError> {
    use crate::server::{auth, batch, current_trace_id, state::app_state};
    let state = app_state()?;
    let (_, inviter) = auth::require_officer(&auth::session().await?).await?;
    let rows = batch::submit(
        &state.db,
        &*state.directory,
        &state.settings,
        &inviter,
        &batch_key,
        &file_name,
        &rows,
    )
    .await?;
    Ok(BatchOutcome {
        trace_id: current_trace_id().0,
        rows,
    })
}
