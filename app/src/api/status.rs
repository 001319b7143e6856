//! Invite user status: the invitations of the officer's agency, a page at a time, sorted,
//! searched and filtered on the server.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::lifecycle;
use crate::wire::{ActionOutcome, StatusPage, StatusQuery};

/// The officer's agency's invitations matching `query`.
#[server(prefix = "/api", endpoint = "list_invitations", input = Json)]
pub async fn list_invitations(query: StatusQuery) -> Result<StatusPage, AppError> {
    use crate::server::{auth, clock::now_millis, state::app_state, status, OrInternal};
    let state = app_state()?;
    let officer = auth::officer().await?;
    status::list(&state.db, &state.counts, &officer, &query, now_millis())
        .await
        .or_internal()
}

/// A short text that changes whenever an invitation of the officer's agency changes (a new
/// one, a sign-up, a delivery, a SEED report): the status page asks for it every few seconds
/// and reloads its list only when it has changed.
#[server(prefix = "/api", endpoint = "status_version")]
pub async fn status_version() -> Result<String, AppError> {
    use crate::server::{auth, state::app_state, status, OrInternal};
    let state = app_state()?;
    let officer = auth::officer().await?;
    status::version(&state.db, &officer).await.or_internal()
}

/// Sends each chosen invitation a new link (the old link stops working).
#[server(prefix = "/api", endpoint = "resend_invitations", input = Json)]
pub async fn resend_invitations(ids: Vec<String>) -> Result<ActionOutcome, AppError> {
    act(lifecycle::Action::Resend, ids).await
}

/// Withdraws each chosen invitation: its link then says so.
#[server(prefix = "/api", endpoint = "revoke_invitations", input = Json)]
pub async fn revoke_invitations(ids: Vec<String>) -> Result<ActionOutcome, AppError> {
    act(lifecycle::Action::Revoke, ids).await
}

/// Asks for each chosen person to be onboarded to SEED: for people with a TechPass account
/// whose SEED licence is Not requested. Each gets an email on how (public officers: Onboard to
/// SEED; vendors: a TechPass service request) and their SEED licence becomes Pending.
#[server(prefix = "/api", endpoint = "request_seed", input = Json)]
pub async fn request_seed(ids: Vec<String>) -> Result<ActionOutcome, AppError> {
    act(lifecycle::Action::RequestSeed, ids).await
}

/// Puts each chosen row whose provisioning failed back in the provisioning queue (after the
/// cause was fixed in the directory), and tries it at once.
#[server(prefix = "/api", endpoint = "retry_provisioning", input = Json)]
pub async fn retry_provisioning(ids: Vec<String>) -> Result<ActionOutcome, AppError> {
    let outcome = act(lifecycle::Action::RetryProvisioning, ids.clone()).await?;
    if !outcome.done.is_empty() {
        let state = crate::server::state::app_state()?;
        state.provisioning.provision_now(&ids).await;
    }
    Ok(outcome)
}

/// The officer's action on the chosen invitations of their agency.
#[cfg(feature = "ssr")]
async fn act(action: lifecycle::Action, ids: Vec<String>) -> Result<ActionOutcome, AppError> {
    use crate::server::{auth, clock::now_millis, state::app_state, OrInternal};
    let state = app_state()?;
    let officer = auth::officer().await?;
    lifecycle::act(
        &state.db,
        &state.settings,
        &officer,
        action,
        &ids,
        now_millis(),
    )
    .await
    .or_internal()
}
