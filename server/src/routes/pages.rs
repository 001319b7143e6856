//! Pages: the Leptos app rendered on the server (signed-out visitors sent to sign in first),
//! static files from the site root, the app's own "Page not found", and the plain HTML error
//! page for the rare error outside the app's pages, which the other handlers of `routes` use.
//! May import `app` (the shell, `auth`, `AppError`), `crate::headers` (the nonce) and
//! `server_fns` (the render's context).

use app::server::state::AppState;
use app::server::{auth, TraceId};
use app::shell;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use tower::ServiceExt;
use tower_http::services::ServeDir;
use tower_sessions::Session;

use super::server_fns::request_context;
use crate::headers;

/// Every page but the sign-in page needs someone signed in; others go to sign in first and
/// come back to where they were heading.
pub(super) async fn page(
    State(state): State<AppState>,
    Extension(trace): Extension<TraceId>,
    session: Session,
    req: Request<Body>,
) -> Response {
    // The development mailbox exists only under the development sign-in.
    if req.uri().path() == "/dev/mailbox" && !state.settings.dev_sign_in() {
        return StatusCode::NOT_FOUND.into_response();
    }
    if !is_public_page(req.uri().path()) {
        if let Ok(None) = auth::current_user(&session).await {
            let next = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            return to_sign_in(&state, next);
        }
    }
    render(state, trace, req).await
}

/// Sends the browser to sign in, and back to `next` after: straight to the identity provider
/// when there is one, else to the sign-in page.
pub(super) fn to_sign_in(state: &AppState, next: &str) -> Response {
    let start = match state.oidc {
        Some(_) => app::server::oidc::LOGIN_PATH,
        None => "/sign-in",
    };
    let to = format!("{start}?next={}", app::url::percent_encode(next));
    Redirect::to(&to).into_response()
}

/// Pages anyone may open: signing in and out, an invitee's link, and the development mailbox
/// (which answers only under the development sign-in).
fn is_public_page(path: &str) -> bool {
    path == "/sign-in"
        || path == app::server::oidc::SIGNED_OUT_PATH
        || path == "/dev/mailbox"
        || path.starts_with("/invitations/")
}

/// Renders a page, to its end even when the browser stops waiting for it.
///
/// Leptos keeps a page's reactive state as long as the response: a browser that leaves
/// half-way (the officer clicks elsewhere first) drops it while the page's render tasks
/// still read it, and each of those reads panics. So the page renders in a task of its own
/// and its body goes to the browser through a channel: a browser that leaves only closes the
/// channel, and the render finishes and cleans up as usual.
async fn render(state: AppState, trace: TraceId, req: Request<Body>) -> Response {
    use futures::StreamExt;
    use tracing::Instrument;

    let options = state.leptos_options.clone();
    let (for_error, trace_id) = (state.clone(), trace.0.clone());
    let context = headers::with_nonce(request_context(state, trace), &req);
    let handler =
        leptos_axum::render_app_to_stream_with_context(context, move || shell(options.clone()));
    let page = tokio::spawn(
        async move {
            let (parts, body) = handler(req).await.into_response().into_parts();
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, axum::Error>>(16);
            tokio::spawn(
                async move {
                    let mut chunks = body.into_data_stream();
                    let mut browser = Some(tx);
                    let deadline = tokio::time::Instant::now() + RENDER_DEADLINE;
                    loop {
                        let chunk = match tokio::time::timeout_at(deadline, chunks.next()).await {
                            Ok(Some(chunk)) => chunk,
                            Ok(None) => break,
                            Err(_) => {
                                tracing::error!(
                                    "the page did not finish rendering in {} s; its answer \
                                     was cut short",
                                    RENDER_DEADLINE.as_secs()
                                );
                                break;
                            }
                        };
                        if let Some(to) = &browser {
                            if to.send(chunk).await.is_err() {
                                browser = None;
                            }
                        }
                    }
                }
                .in_current_span(),
            );
            let body = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (chunk, rx))
            });
            Response::from_parts(parts, Body::from_stream(body))
        }
        .in_current_span(),
    );
    match tokio::time::timeout(RENDER_DEADLINE, page).await {
        Ok(Ok(res)) => res,
        Ok(Err(e)) => {
            tracing::error!(trace_id = %trace_id, error = %e, "the page could not be rendered");
            error_page(&for_error, &app::error::AppError::Internal { trace_id })
        }
        Err(_) => {
            tracing::error!(trace_id = %trace_id, "the page did not start rendering in time");
            error_page(&for_error, &app::error::AppError::Internal { trace_id })
        }
    }
}

/// The longest a page may take to render: a render that never ends (a resource whose answer
/// never comes) becomes a logged error with a Trace ID, not a browser waiting for ever.
const RENDER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Static files from the site root; anything else renders the app's "Page not found".
pub(super) async fn fallback(
    State(state): State<AppState>,
    Extension(trace): Extension<TraceId>,
    req: Request<Body>,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let mut file_req = Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone());
        for (k, v) in req.headers() {
            file_req = file_req.header(k, v);
        }
        if let Ok(file_req) = file_req.body(Body::empty()) {
            // scripts/build.sh writes brotli and gzip copies next to the wasm, JS and CSS
            // bundles; brotli goes to browsers that accept it (all current ones, over HTTPS).
            let dir = ServeDir::new(&*state.leptos_options.site_root)
                .precompressed_br()
                .precompressed_gzip();
            let Ok(res) = dir.oneshot(file_req).await;
            if res.status() != StatusCode::NOT_FOUND {
                return res.map(Body::new).into_response();
            }
        }
    }
    render(state, trace, req).await
}

/// A plain page for the rare error outside the app's own pages (sign-out, downloads).
pub(super) fn error_page(state: &AppState, err: &app::error::AppError) -> Response {
    let trace = err.trace_id().unwrap_or_default().to_string();
    let support = &state.settings.support_email;
    let mailto = app::components::support_mailto(support, &trace);
    let html = format!(
        "<!DOCTYPE html><html lang=\"en-SG\"><head><meta charset=\"utf-8\"><title>Something went wrong – TechBiz Invite</title></head>\
         <body><main><h1>Something went wrong</h1><p>Try again in a few minutes. If it keeps happening, \
         <a href=\"{mailto}\">email {support}</a> and quote the Trace ID.</p><p>Trace ID: <code>{trace}</code></p>\
         <p><a href=\"/\">Go to the Overview</a></p></main></body></html>"
    );
    (StatusCode::INTERNAL_SERVER_ERROR, Html(html)).into_response()
}
