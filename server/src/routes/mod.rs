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
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_sessions::cookie::{time, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::limits::{RateLimitLayer, RateLimits};
use crate::{csrf, headers, metrics, telemetry};

pub use health::Readiness;
pub use server_fns::{BATCH_BODY_LIMIT, BODY_LIMIT};

pub const SESSION_COOKIE: &str = "techbiz_session";

/// The app's pages, listed once per process. Listing runs the whole app with resource loading
/// switched off for the whole process (leptos_router's `SuppressResourceLoad` is one global
/// flag, leptos-rs/leptos#4773): a page of another app in the same process whose data was
/// first asked for in that window waited for ever, and answered 500 at the render deadline.
/// An instance builds its router once, before it serves; a process that builds several (the
/// tests) lists them only the first time.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::Mutex<Option<Vec<AxumRouteListing>>> = std::sync::Mutex::new(None);
    let mut routes = ROUTES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    routes
        .get_or_insert_with(|| {
            LISTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            generate_route_list(App)
        })
        .clone()
}

/// How many times this process listed the app's pages (once, whatever builds a router).
static LISTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The whole HTTP surface: pages, server functions, downloads, webhooks, sign-out, health and
/// static files, behind the CSRF check, sessions, rate limits, request tracing, the request
/// metrics and the security headers. `readiness` is what `/readyz` reports while draining.
pub fn router(state: AppState, rate_limits: &RateLimits, readiness: Readiness) -> Router {
    let routes = route_list();
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    #[test]
    fn the_pages_are_listed_once_per_process() {
        let paths = |routes: Vec<super::AxumRouteListing>| -> Vec<String> {
            routes.iter().map(|r| r.path().to_string()).collect()
        };
        let first = paths(super::route_list());
        assert!(first.iter().any(|p| p == "/invite-users"), "{first:?}");
        assert_eq!(paths(super::route_list()), first);
        assert_eq!(super::LISTED.load(Ordering::Relaxed), 1);
    }
}
