use leptos::prelude::*;

use crate::error::AppError;
use crate::wire::SessionView;

#[server(prefix = "/api", endpoint = "get_session")]
pub async fn get_session() -> Result<SessionView, AppError> {
    use crate::server::{auth, state::app_state};
    use crate::wire::SignedInUser;
    let state = app_state()?;
    let session = auth::session().await?;
    let user = match auth::current_user(&session).await? {
        Some(u) => {
            let refusal = u.officer()?.err().map(str::to_string);
            Some(SignedInUser {
                may_invite: refusal.is_none(),
                refusal,
                email: u.email,
            })
        }
        None => None,
    };
    Ok(SessionView {
        user,
        support_email: state.settings.support_email.clone(),
        sign_in: state.settings.sign_in_method(),
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
    let who = auth::SignIn {
        email,
        email_verified: true,
        admin_of: None,
        provider: None,
    };
    auth::sign_in(&session, &state.db, who).await?;
    leptos_axum::redirect(&auth::safe_next(next.as_deref()));
    Ok(())
}
