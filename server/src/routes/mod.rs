//! The HTTP surface: [`router`] puts every route and the middleware in front of them together,
//! and each file below holds the handlers of one concern.
//!
//! - `server_fns.rs`: the server functions under `/api/`, with their request body limits.
//! - `pages.rs`: Leptos page rendering (signed-out visitors sent to sign in), static files,
//!   the app's "Page not found", and the plain HTML error page the other handlers fall back on.
//! - `session.rs`: sign-out.
//! - `oidc.rs`: sign-in through the identity provider, and its back-channel logout.
//! - `downloads.rs`: the batch upload templates and the Invite user status export.
//! - `webhooks.rs`: SEED's signed licence reports.
//! - `dev.rs`: routes that answer only under the development sign-in (the clock).
//! - `health.rs`: the liveness and readiness checks.
//!
//! Handlers take what they need from `app::server` (services, `AppState`), `app::api` (wire
//! types and paths) and the middleware modules of this crate (`headers`); they hold no rule of
//! their own and no SQL. Nothing here imports
//! `crate::startup`, which only calls [`router`].

mod dev;
mod downloads;
mod health;
mod oidc;
mod pages;
mod server_fns;
mod session;
mod webhooks;

use app::server::session_store::DbSessionStore;
use app::server::state::AppState;
use app::App;
use axum::routing::{get, post};
use axum::{middleware, Router};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::{time, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::limits::{RateLimitLayer, RateLimits};
use crate::{csrf, headers, metrics, telemetry};

pub use health::Readiness;
pub use server_fns::{BATCH_BODY_LIMIT, BODY_LIMIT};

pub const SESSION_COOKIE: &str = "techbiz_session";

/// The whole HTTP surface: pages, server functions, downloads, webhooks, sign-out, health and
/// static files, behind the CSRF check, sessions, rate limits, request tracing, the request
/// metrics and the security headers. `readiness` is what `/readyz` reports while draining.
pub fn router(state: AppState, rate_limits: &RateLimits, readiness: Readiness) -> Router {
    let routes = generate_route_list(App);
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(8)));
    let provider_origin = state
        .oidc
        .as_ref()
        .map(|o| o.settings().issuer.url().origin().ascii_serialization());
    let security = headers::SecurityHeaders::new(&state.settings, provider_origin);
    Router::new()
        .route("/api/{*fn_name}", server_fns::any())
        .route("/api/precheck_batch", server_fns::batch())
        .route("/api/submit_batch", server_fns::batch())
        .merge(downloads::routes())
        .route("/webhooks/seed", post(webhooks::seed))
        .route("/dev/clock", post(dev::clock))
        .route("/sign-out", post(session::sign_out))
        .route(app::server::oidc::LOGIN_PATH, get(oidc::login))
        .route(app::server::oidc::CALLBACK_PATH, get(oidc::callback))
        .route(
            app::server::oidc::BACKCHANNEL_PATH,
            post(oidc::backchannel_logout),
        )
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .leptos_routes_with_handler(routes, get(pages::page))
        .fallback(pages::fallback)
        .with_state(state)
        .layer(middleware::from_fn(csrf::refuse_cross_site))
        .layer(sessions)
        .layer(RateLimitLayer::new(rate_limits))
        .layer(axum::Extension(readiness))
        .layer(middleware::from_fn(telemetry::trace_requests))
        .layer(middleware::from_fn(metrics::track_requests))
        .layer(middleware::from_fn_with_state(
            security,
            headers::add_security_headers,
        ))
}
