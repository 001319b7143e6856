// The server functions take the form's fields flat (one argument per input), so the forms
// also work before hydration; the Create account form has nine fields.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::wire::InviteSent;

/// Email invitation to a public officer. Flat form fields, so the form also works before
/// the page has hydrated.
#[server(prefix = "/api", endpoint = "send_invite")]
pub async fn send_invite(
    email: String,
    seed_required: Option<String>,
    reason: String,
) -> Result<InviteSent, AppError> {
    use crate::domain::{EmailInvite, RawEmailInvite};
    use crate::server::{auth, invites, state::app_state};
    let state = app_state()?;
    let inviter = auth::officer().await?;
    let raw = RawEmailInvite {
        email,
        seed_required: seed_required.unwrap_or_default(),
        reason,
    };
    let invite = EmailInvite::parse(&raw).map_err(|fields| AppError::Validation { fields })?;
    Ok(invites::send_invite(
        &state.db,
        &state.provisioning,
        &state.settings,
        &inviter,
        &invite,
    )
    .await?)
}

/// Creates a TechPass account on behalf of a public officer or a vendor.
#[server(prefix = "/api", endpoint = "create_account")]
pub async fn create_account(
    email: String,
    username: Option<String>,
    first_name: String,
    last_name: String,
    contact_number: String,
    organisation: String,
    department: Option<String>,
    seed_required: Option<String>,
    reason: String,
) -> Result<InviteSent, AppError> {
    use crate::domain::{NewAccount, RawAccount};
    use crate::server::{auth, invites, state::app_state};
    let state = app_state()?;
    let inviter = auth::officer().await?;
    let raw = RawAccount {
        email,
        username: username.unwrap_or_default(),
        first_name,
        last_name,
        contact_number,
        organisation,
        department: department.unwrap_or_default(),
        seed_required: seed_required.unwrap_or_default(),
        reason,
    };
    let account = NewAccount::parse(&raw).map_err(|fields| AppError::Validation { fields })?;
    Ok(invites::create_account(
        &state.db,
        &state.provisioning,
        &state.settings,
        &inviter,
        &account,
    )
    .await?)
}
