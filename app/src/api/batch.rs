//! Batch upload: the browser reads the file, checks every row with the shared rules, asks
//! `precheck_batch` once which rows clash with existing accounts and invitations, then sends
//! the rows to `submit_batch` in chunks of up to 500 under one batch key. Both take JSON (a
//! list of rows is no form) and both have a larger body limit than other server functions
//! (see `server/src/routes/server_fns.rs`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppError;
use crate::wire::batch::{BatchOutcome, BatchRow, PrecheckRow, RowIssue};

/// Which rows of a list would clash with an existing account, an open invitation or a taken
/// TechPass username. Rows whose email address does not parse are skipped (the browser has
/// already flagged them).
#[server(prefix = "/api", endpoint = "precheck_batch", input = Json)]
pub async fn precheck_batch(rows: Vec<PrecheckRow>) -> Result<Vec<RowIssue>, AppError> {
    use crate::server::{auth, batch, state::app_state};
    let state = app_state()?;
    let officer = auth::officer().await?;
    if let Err(message) = state.prechecks.spend(&officer.email().key(), rows.len()) {
        return Err(AppError::Conflict { message });
    }
    Ok(batch::precheck(&state.db, state.provisioning.directory(), &officer, &rows).await?)
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
    let inviter = auth::officer().await?;
    let rows = batch::submit(
        &state.db,
        &state.provisioning,
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
