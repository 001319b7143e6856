//! Sign-in through the identity provider (`SIGN_IN_MODE=oidc`): `/auth/login` sends the
//! browser to the provider, `/auth/callback` takes it back and signs in, and
//! `/auth/backchannel-logout` is where the provider ends sessions of someone who signed out
//! elsewhere. The protocol is `app::server::oidc`'s; these handlers carry it over HTTP. A sign-in
//! that fails goes to the sign-in page with what happened and the Trace ID, never an error
//! page. May import `app::server` (`oidc`, `auth`, the session store) and `app::wire`.

use app::server::auth;
use app::server::oidc::{Callback, Failure};
use app::server::session_store::DbSessionStore;
use app::server::state::AppState;
use app::server::TraceId;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Debug, Deserialize)]
pub(super) struct Login {
    next: Option<String>,
}

/// Starts a sign-in at the provider, coming back to `next` (a path on this site).
pub(super) async fn login(
    State(state): State<AppState>,
    Extension(trace): Extension<TraceId>,
    session: Session,
    Query(login): Query<Login>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let next = auth::safe_next(login.next.as_deref());
    match oidc.begin(&session, &next).await {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(failure) => failed(&trace, failure),
    }
}

/// The provider's redirect back: signs in and goes on to the page the sign-in began from.
pub(super) async fn callback(
    State(state): State<AppState>,
    Extension(trace): Extension<TraceId>,
    session: Session,
    Query(callback): Query<Callback>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match oidc.finish(&session, callback).await {
        Ok((who, next)) => {
            tracing::info!(email = %who.email, admin_of = ?who.admin_of, "signed in through the identity provider");
            match auth::sign_in(&session, &state.db, who).await {
                Ok(()) => Redirect::to(&next).into_response(),
                Err(e) => super::pages::error_page(&state, &e),
            }
        }
        Err(failure) => failed(&trace, failure),
    }
}

/// To the sign-in page, which says what happened and offers to try again; the details go to
/// the log under the Trace ID the page shows.
fn failed(trace: &TraceId, failure: Failure) -> Response {
    tracing::warn!(
        trace_id = %trace,
        failure = failure.kind.as_str(),
        detail = %failure.detail,
        "sign-in through the identity provider failed"
    );
    let mut to = format!(
        "/sign-in?error={}&trace={}",
        failure.kind.as_str(),
        app::url::percent_encode(&trace.0)
    );
    if let Some(next) = failure.next.filter(|n| n != "/") {
        to.push_str("&next=");
        to.push_str(&app::url::percent_encode(&next));
    }
    Redirect::to(&to).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct Backchannel {
    logout_token: String,
}

/// OpenID Connect Back-Channel Logout: the provider posts a signed logout token when someone
/// signs out elsewhere; their sessions here end. 200 when the token is good (whether or not a
/// session was found), 400 otherwise, as the specification asks.
pub(super) async fn backchannel_logout(
    State(state): State<AppState>,
    Form(form): Form<Backchannel>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (subject, sid) = match oidc.logout_token(&form.logout_token).await {
        Ok(who) => who,
        Err(e) => {
            tracing::warn!(error = %e, "refused a back-channel logout token");
            return (StatusCode::BAD_REQUEST, "invalid logout token").into_response();
        }
    };
    let store = DbSessionStore::new(state.db.clone());
    match store.end_provider_sessions(&subject, sid.as_deref()).await {
        Ok(ended) => {
            tracing::info!(%subject, ?sid, ended, "back-channel logout");
            (
                [(axum::http::header::CACHE_CONTROL, "no-store")],
                StatusCode::OK,
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout could not end the sessions");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
