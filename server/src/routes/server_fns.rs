//! The server functions under `/api/`: each call handled by `leptos_axum` with the request's
//! `AppState` and Trace ID in context, and its body held to a limit before a byte is read.
//! May import `app::server` (state, Trace ID); nothing else of this crate.

use app::server::state::AppState;
use app::server::TraceId;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::Extension;
use leptos::prelude::*;
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
use leptos_axum::handle_server_fns_with_context;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;

/// The request body limit of the two batch upload server functions, set on purpose: the
/// browser sends a whole list (up to 100,000 rows of row id, email address and username,
/// about 100 bytes each as JSON: some 10 MB) to `precheck_batch` in one call, and chunks of
/// 500 rows (up to about 3 KB each with a 500-character reason) to `submit_batch`. Every
/// other route keeps axum's default of 2 MB.
pub const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Every other server function's body limit (axum's default), enforced before the handler
/// reads a byte, so an oversized call is answered 413 Payload Too Large.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Any server function, by GET or POST, held to [`BODY_LIMIT`].
pub(super) fn any() -> MethodRouter<AppState> {
    post(handler)
        .get(handler)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
}

/// A batch upload server function, held to [`BATCH_BODY_LIMIT`] (axum's own default limit,
/// which the extractors apply, raised to match).
pub(super) fn batch() -> MethodRouter<AppState> {
    post(handler).layer(
        ServiceBuilder::new()
            .layer(RequestBodyLimitLayer::new(BATCH_BODY_LIMIT))
            .layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
    )
}

/// What a server function or a page render finds in its context: the state and the
/// request's Trace ID.
pub(super) fn request_context(
    state: AppState,
    trace: TraceId,
) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(state.clone());
        provide_context(trace.clone());
    }
}

async fn handler(
    State(state): State<AppState>,
    Extension(trace): Extension<TraceId>,
    req: Request<Body>,
) -> Response {
    let res = handle_server_fns_with_context(request_context(state, trace), req)
        .await
        .into_response();
    answer_error(res).await
}

/// The status each kind of [`AppError`] is answered with. Leptos answers every server
/// function's error 500; the page reads any 4xx or 5xx the same way (it decodes the error from
/// the body), but a load balancer, a log or a metric would count a mistyped address as a
/// server failure. Only `Internal` is the server's fault.
fn status_of(kind: &str) -> StatusCode {
    match kind {
        "Validation" => StatusCode::UNPROCESSABLE_ENTITY,
        "Conflict" => StatusCode::CONFLICT,
        "Unauthenticated" => StatusCode::UNAUTHORIZED,
        "Forbidden" => StatusCode::FORBIDDEN,
        "NotFound" => StatusCode::NOT_FOUND,
        // A request the server could not decode (its arguments, its encoding).
        "Transport" => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A server function's error answer, given the status of its kind and counted by kind
/// (`server_fn_errors_total{function, kind}`). Other answers pass untouched.
async fn answer_error(res: Response) -> Response {
    let Some(function) = res
        .headers()
        .get(SERVER_FN_ERROR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return res;
    };
    let (mut parts, body) = res.into_parts();
    // An error is a few hundred bytes; a batch's per-row results are not errors.
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (parts, Body::empty()).into_response();
    };
    // `AppError` as JSON: {"Validation": {...}} or "Unauthenticated".
    let kind = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(map)) => map.keys().next().cloned(),
        Ok(serde_json::Value::String(kind)) => Some(kind),
        _ => None,
    }
    .unwrap_or_else(|| "Undecodable".to_string());
    parts.status = status_of(&kind);
    metrics::counter!("server_fn_errors_total", "function" => function, "kind" => kind)
        .increment(1);
    Response::from_parts(parts, Body::from(bytes))
}
