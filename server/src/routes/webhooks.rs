//! Webhooks from outside systems: SEED's licence reports, signed with the shared secret (see
//! `app::server::seed`). May import `app::server` (`seed`, the clock, `internal_error`).

use app::server::seed;
use app::server::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// Verifies, parses and applies one report; a refused one is logged and answered with why.
pub(super) async fn seed(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let secret = state
        .settings
        .seed_webhook_secret
        .as_deref()
        .unwrap_or_default();
    let signature = headers
        .get(seed::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now = app::server::clock::now_millis();
    let signed_at = match seed::verify(secret.as_bytes(), signature, &body, now.div_euclid(1000)) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "SEED report refused");
            let status = match e {
                seed::SeedError::NoSecret => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            return (status, e.to_string()).into_response();
        }
    };
    let reports = match seed::parse(&body) {
        Ok(reports) => reports,
        Err(e) => return (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    };
    match seed::apply(&state.db, &reports, now, signed_at).await {
        Ok(changed) => {
            tracing::info!(reports = reports.len(), changed, "SEED report applied");
            axum::Json(serde_json::json!({ "reports": reports.len(), "changed": changed }))
                .into_response()
        }
        Err(e) => {
            let e = app::server::internal_error(e);
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
    }
}
