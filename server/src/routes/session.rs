//! Sign-out. May import `app::server::auth`, `crate::headers` and `pages` (the error page).

use app::server::auth;
use app::server::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::pages::error_page;
use crate::headers;

/// Signs out, and has the browser forget what it keeps for the site (the unsubmitted batch
/// list): the next person on this browser starts clean.
pub(super) async fn sign_out(State(state): State<AppState>, session: Session) -> Response {
    match auth::sign_out(&session, &state.db).await {
        Ok(()) => (
            [(headers::CLEAR_SITE_DATA, headers::CLEAR_AT_SIGN_OUT)],
            Redirect::to("/sign-in"),
        )
            .into_response(),
        Err(e) => error_page(&state, &e),
    }
}
