use leptos::prelude::*;

use crate::error::AppError;
use crate::wire::{DevMail, InvitationView};

/// Called by the "Continue" button, never by opening the link: a mail scanner that fetches
/// the link cannot use it up.
#[server(prefix = "/api", endpoint = "open_invitation")]
pub async fn open_invitation(token: String) -> Result<InvitationView, AppError> {
    use crate::server::{signup, state::app_state};
    let state = app_state()?;
    let inv = signup::open(&state.db, &token).await?;
    Ok(InvitationView {
        create_account: inv.activates(),
        email: inv.email,
    })
}

/// Email invitation: the invitee's details; their account is then active.
#[server(prefix = "/api", endpoint = "complete_sign_up")]
pub async fn complete_sign_up(
    token: String,
    first_name: String,
    last_name: String,
    contact_number: String,
    organisation: String,
    department: Option<String>,
) -> Result<String, AppError> {
    use crate::server::{signup, state::app_state};
    let state = app_state()?;
    let details = signup::RawSignUp {
        first_name,
        last_name,
        contact_number,
        organisation,
        department: department.unwrap_or_default(),
    };
    let email = signup::sign_up(&state.db, state.provisioning.directory(), &token, details).await?;
    Ok(email.to_string())
}

/// Create account: the person activates the account made for them.
#[server(prefix = "/api", endpoint = "activate_account")]
pub async fn activate_account(token: String) -> Result<String, AppError> {
    use crate::server::{signup, state::app_state};
    let state = app_state()?;
    Ok(signup::activate(&state.db, state.provisioning.directory(), &token).await?)
}

/// The development mailbox: mail "sent" while no SMTP server is configured, shown only with
/// the development sign-in switched on.
#[server(prefix = "/api", endpoint = "list_dev_mail")]
pub async fn list_dev_mail() -> Result<Vec<DevMail>, AppError> {
    use crate::server::{relay::DevMailbox, state::app_state, OrInternal};
    let state = app_state()?;
    if !state.settings.dev_sign_in() || state.settings.smtp_url.is_some() {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
        return Err(AppError::NotFound {
            what: "The development mailbox".into(),
        });
    }
    DevMailbox::latest(&state.db).await.or_internal()
}
