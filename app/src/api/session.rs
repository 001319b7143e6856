use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppError;

/// What every page needs to know about the visitor and the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub user: Option<SignedInUser>,
    pub support_email: String,
    /// Whether the development sign-in page is switched on.
    pub dev_sign_in: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub email: String,
    pub is_public_officer: bool,
}

#[server(prefix = "/api", endpoint = "get_session")]
pub async fn get_session() -> Result<SessionView, AppError> {
    use crate::server::{auth, state::app_state};
    let state = app_state()?;
    let session = auth::session().await?;
    let user = match auth::current_user(&session).await? {
        Some(u) => Some(SignedInUser {
            is_public_officer: u.email()?.is_public_officer(),
            email: u.email,
        }),
        None => None,
    };
    Ok(SessionView {
        user,
        support_email: state.settings.support_email.clone(),
        dev_sign_in: state.settings.dev_sign_in(),
    })
}

/// Development sign-in: signs in whoever types an address. Off unless `SIGN_IN_MODE=dev`.
#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(email: String, next: Option<String>) -> Result<(), AppError> {
    use crate::domain::Email;
    use crate::server::{auth, state::app_state};
    let state = app_state()?;
    if !state.settings.dev_sign_in() {
        return Err(AppError::Forbidden {
            message: "Development sign-in is switched off here. Sign in through TechPass.".into(),
        });
    }
    let email = Email::parse(&email).map_err(|m| AppError::validation("email", m))?;
    let session = auth::session().await?;
    auth::sign_in(&session, &state.db, &email).await?;
    leptos_axum::redirect(&auth::safe_next(next.as_deref()));
    Ok(())
}
