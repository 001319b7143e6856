//! Sign-out: here, then at the identity provider when signed in through one. May import
//! `app::server::auth`, `crate::headers` and `pages` (the error page).

use app::server::auth;
use app::server::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::pages::error_page;
use crate::headers;

/// Signs out, and has the browser forget what it keeps for the site (the unsubmitted batch
/// list): the next person on this browser starts clean. Signed in through the identity
/// provider, the browser goes on to end the provider's session too (RP-initiated logout), which
/// comes back to `/signed-out`; a provider without it, or one that does not answer, leaves the
/// session here ended all the same.
pub(super) async fn sign_out(State(state): State<AppState>, session: Session) -> Response {
    let provider = match auth::sign_out(&session, &state.db).await {
        Ok(provider) => provider,
        Err(e) => return error_page(&state, &e),
    };
    let to = match (&state.oidc, provider) {
        (Some(oidc), Some(provider)) => match oidc.end_session_url(&provider).await {
            Some(url) => url.to_string(),
            None => app::server::oidc::SIGNED_OUT_PATH.to_string(),
        },
        (Some(_), None) => app::server::oidc::SIGNED_OUT_PATH.to_string(),
        (None, _) => "/sign-in".to_string(),
    };
    (
        [(headers::CLEAR_SITE_DATA, headers::CLEAR_AT_SIGN_OUT)],
        Redirect::to(&to),
    )
        .into_response()
}
