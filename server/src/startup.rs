//! Builds the application: database, router, listener. Tests call `Application::build` with a
//! port-0 address and a fresh database.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use app::api::StatusQuery;
use app::server::budget::HourlyBudget;
use app::server::db::Db;
use app::server::directory::BuiltInDirectory;
use app::server::relay::{DevMailbox, Mailer, Relay, RelayOptions, SmtpMailer};
use app::server::session_store::DbSessionStore;
use app::server::state::AppState;
use app::server::{auth, export, seed, status, template, TraceId};
use app::{shell, App};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Extension, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_sessions::cookie::{time, SameSite};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::config::Config;
use crate::limits::{RateLimitLayer, RateLimits};
use crate::{csrf, headers, telemetry};

pub const SESSION_COOKIE: &str = "techbiz_session";

/// The request body limit of the two batch upload server functions, set on purpose: the
/// browser sends a whole list (up to 100,000 rows of row id, email address and username,
/// about 100 bytes each as JSON: some 10 MB) to `precheck_batch` in one call, and chunks of
/// 500 rows (up to about 3 KB each with a 500-character reason) to `submit_batch`. Every
/// other route keeps axum's default of 2 MB.
pub const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Every other server function's body limit (axum's default), enforced before the handler
/// reads a byte, so an oversized call is answered 413 Payload Too Large.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    relay: Option<(Relay, Duration)>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        if config.settings.dev_sign_in() {
            tracing::warn!(
                "SIGN_IN_MODE=dev: anyone who types an address is signed in as them. For \
                 development and tests on this machine only"
            );
        }
        let db = Db::connect(&config.database_url)
            .await
            .context("opening the database (DATABASE_URL)")?;
        let indexed = app::server::search::backfill(&db)
            .await
            .context("indexing the invitations for search")?;
        if indexed > 0 {
            tracing::info!(indexed, "indexed invitations for search");
        }
        let listener = TcpListener::bind(config.site_addr)
            .await
            .with_context(|| format!("listening on {} (LEPTOS_SITE_ADDR)", config.site_addr))?;
        let addr = listener.local_addr()?;
        let leptos_options = LeptosOptions::builder()
            .output_name(config.output_name.clone())
            .site_root(config.site_root.clone())
            .site_pkg_dir(config.site_pkg_dir.clone())
            .site_addr(addr)
            .build();
        let state = AppState {
            leptos_options,
            db,
            settings: Arc::new(config.settings.clone()),
            directory: Arc::new(BuiltInDirectory),
            counts: Default::default(),
            exports: Default::default(),
            prechecks: Arc::new(HourlyBudget::new(config.precheck_addresses_per_hour)),
        };
        let router = router(state.clone(), &config.rate_limits);
        let relay = if config.relay_enabled {
            let mailer: Arc<dyn Mailer> = match &config.settings.smtp_url {
                Some(url) => Arc::new(
                    SmtpMailer::new(
                        url,
                        &config.smtp_from,
                        Duration::from_millis(config.smtp_timeout_ms),
                    )
                    .map_err(anyhow::Error::msg)?,
                ),
                // Only under development sign-in: elsewhere the configuration requires SMTP_URL.
                None => Arc::new(DevMailbox::new(state.db.clone())),
            };
            let options = RelayOptions {
                retry_base: Duration::from_millis(config.relay_retry_base_ms),
                lease: Duration::from_millis(config.relay_lease_ms),
                ..RelayOptions::default()
            };
            Some((
                Relay::new(
                    state.db.clone(),
                    mailer,
                    options,
                    config.settings.link_secret.clone(),
                )
                .with_reminders(state.settings.clone()),
                Duration::from_millis(config.relay_interval_ms),
            ))
        } else {
            None
        };
        Ok(Application {
            listener,
            router,
            state,
            relay,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM, finishing the requests in flight.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let store = DbSessionStore::new(self.state.db.clone());
        let sweeper = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(600));
            loop {
                every.tick().await;
                if let Err(e) = store.delete_expired().await {
                    tracing::warn!(error = %e, "could not delete expired sessions");
                }
            }
        });
        let relay = self
            .relay
            .map(|(relay, every)| tokio::spawn(relay.run(every)));
        // With the peer address (ConnectInfo), which the rate limits key on.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving")?;
        sweeper.abort();
        if let Some(relay) = relay {
            relay.abort();
        }
        self.state.db.close().await;
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// The whole HTTP surface: pages, server functions, sign-out, health and static files.
pub fn router(state: AppState, rate_limits: &RateLimits) -> Router {
    let routes = generate_route_list(App);
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(8)));
    let security = headers::SecurityHeaders::new(&state.settings);
    Router::new()
        .route(
            "/api/{*fn_name}",
            post(server_fn_handler)
                .get(server_fn_handler)
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
        )
        .route(
            "/api/precheck_batch",
            post(server_fn_handler).layer(
                tower::ServiceBuilder::new()
                    .layer(RequestBodyLimitLayer::new(BATCH_BODY_LIMIT))
                    .layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
            ),
        )
        .route(
            "/api/submit_batch",
            post(server_fn_handler).layer(
                tower::ServiceBuilder::new()
                    .layer(RequestBodyLimitLayer::new(BATCH_BODY_LIMIT))
                    .layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
            ),
        )
        .route(
            &format!("/templates/{}", template::XLSX_FILE_NAME),
            get(xlsx_template),
        )
        .route(
            &format!("/templates/{}", template::CSV_FILE_NAME),
            get(csv_template),
        )
        .route(
            &format!("{}/export.csv", StatusQuery::PATH),
            get(export_csv),
        )
        .route(
            &format!("{}/export.xlsx", StatusQuery::PATH),
            get(export_xlsx),
        )
        .route("/webhooks/seed", post(seed_webhook))
        .route("/dev/clock", post(dev_clock))
        .route("/sign-out", post(sign_out))
        .route("/healthz", get(health))
        .leptos_routes_with_handler(routes, get(page_handler))
        .fallback(fallback)
        .with_state(state)
        .layer(middleware::from_fn(csrf::refuse_cross_site))
        .layer(sessions)
        .layer(RateLimitLayer::new(rate_limits))
        .layer(middleware::from_fn(telemetry::trace_requests))
        .layer(middleware::from_fn_with_state(
            security,
            headers::add_security_headers,
        ))
}

fn request_context(state: AppState, trace: TraceId) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(state.clone());
        provide_context(trace.clone());
    }
}

async fn server_fn_handler(
    State(state): State<AppState>,
    Extension(trace): Extension<TraceId>,
    req: Request<Body>,
) -> impl IntoResponse {
    handle_server_fns_with_context(request_context(state, trace), req).await
}

/// Every page but the sign-in page needs someone signed in; others go to sign in first and
/// come back to where they were heading.
async fn page_handler(
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
            let to = format!("/sign-in?next={}", app::url::percent_encode(next));
            return Redirect::to(&to).into_response();
        }
    }
    render(state, trace, req).await
}

/// Pages anyone may open: signing in, an invitee's link, and the development mailbox (which
/// answers only under the development sign-in).
fn is_public_page(path: &str) -> bool {
    path == "/sign-in" || path == "/dev/mailbox" || path.starts_with("/invitations/")
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
                    while let Some(chunk) = chunks.next().await {
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
    match page.await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(trace_id = %trace_id, error = %e, "the page could not be rendered");
            error_page(&for_error, &app::error::AppError::Internal { trace_id })
        }
    }
}

/// Static files from the site root; anything else renders the app's "Page not found".
async fn fallback(
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
            // scripts/build.sh writes a gzip copy next to the wasm, JS and CSS bundles.
            let dir = ServeDir::new(&*state.leptos_options.site_root).precompressed_gzip();
            let Ok(res) = dir.oneshot(file_req).await;
            if res.status() != StatusCode::NOT_FOUND {
                return res.map(Body::new).into_response();
            }
        }
    }
    render(state, trace, req).await
}

/// Signs out, and has the browser forget what it keeps for the site (the unsubmitted batch
/// list): the next person on this browser starts clean.
async fn sign_out(State(state): State<AppState>, session: Session) -> Response {
    match auth::sign_out(&session, &state.db).await {
        Ok(()) => (
            [(headers::CLEAR_SITE_DATA, headers::CLEAR_AT_SIGN_OUT)],
            Redirect::to("/sign-in"),
        )
            .into_response(),
        Err(e) => error_page(&state, &e),
    }
}

/// The batch upload templates: public (the user guide links them), built once, never stale.
async fn xlsx_template(State(state): State<AppState>) -> Response {
    match template::xlsx() {
        Ok(bytes) => download(template::XLSX_CONTENT_TYPE, template::XLSX_FILE_NAME, bytes),
        Err(e) => error_page(&state, &app::server::internal_error(e)),
    }
}

async fn csv_template() -> Response {
    download(
        template::CSV_CONTENT_TYPE,
        template::CSV_FILE_NAME,
        template::csv().as_bytes(),
    )
}

fn download(content_type: &'static str, file_name: &str, bytes: impl Into<Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-cache".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes.into(),
    )
        .into_response()
}

/// SEED's licence reports: signed with the shared secret (see `app::server::seed`).
async fn seed_webhook(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
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

/// Development sign-in only: moves the server's clock on (`advance_days`) or back to the real
/// time (`reset`), so a test can see invitations expire and reminders fall due.
async fn dev_clock(
    State(state): State<AppState>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    if !state.settings.dev_sign_in() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let value = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if value("reset").is_some() {
        app::server::clock::reset_clock();
    } else if let Some(days) = value("advance_days").and_then(|d| d.parse::<i64>().ok()) {
        app::server::clock::advance_clock(days * 86_400_000);
    } else {
        return (
            StatusCode::BAD_REQUEST,
            "send advance_days=<days> or reset=1",
        )
            .into_response();
    }
    let now = app::server::clock::now_millis();
    tracing::warn!(now, "development clock moved");
    app::format::sg_iso_date_time(now).into_response()
}

/// Invite user status as a file, with the page's search and filter.
#[derive(Clone, Copy)]
enum ExportFormat {
    Csv,
    Xlsx,
}

async fn export_csv(
    state: State<AppState>,
    session: Session,
    params: Query<Vec<(String, String)>>,
) -> Response {
    export_status(state, session, params, ExportFormat::Csv).await
}

async fn export_xlsx(
    state: State<AppState>,
    session: Session,
    params: Query<Vec<(String, String)>>,
) -> Response {
    export_status(state, session, params, ExportFormat::Xlsx).await
}

async fn export_status(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<Vec<(String, String)>>,
    format: ExportFormat,
) -> Response {
    let officer = match auth::require_officer(&session).await {
        Ok((_, officer)) => officer,
        Err(app::error::AppError::Unauthenticated) => {
            return Redirect::to(&format!(
                "/sign-in?next={}",
                app::url::percent_encode(StatusQuery::PATH)
            ))
            .into_response()
        }
        Err(app::error::AppError::Forbidden { message }) => {
            return (StatusCode::FORBIDDEN, message).into_response()
        }
        Err(e) => return error_page(&state, &e),
    };
    let Some(_ticket) = state.exports.start(&officer.key()) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "5")],
            export::EXPORT_BUSY,
        )
            .into_response();
    };
    let query = StatusQuery::from_params(|k| {
        params
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    });
    let now = app::server::clock::now_millis();
    let rows = match status::all(
        &state.db,
        &officer,
        &query,
        now,
        app::domain::limits::MAX_BATCH_ROWS as u32,
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => return error_page(&state, &app::server::internal_error(e)),
    };
    let date = &app::format::sg_iso_date_time(now)[..10];
    let made = match format {
        ExportFormat::Csv => export::to_csv(&rows)
            .map(|b| (export::CSV_CONTENT_TYPE, "csv", b))
            .map_err(|e| e.to_string()),
        ExportFormat::Xlsx => export::to_xlsx(&rows)
            .map(|b| (export::XLSX_CONTENT_TYPE, "xlsx", b))
            .map_err(|e| e.to_string()),
    };
    match made {
        Ok((content_type, ext, bytes)) => download(
            content_type,
            &format!("invite-user-status-{date}.{ext}"),
            bytes,
        ),
        Err(e) => error_page(&state, &app::server::internal_error(e)),
    }
}

async fn health(State(state): State<AppState>) -> Response {
    match sqlx::query("SELECT 1").execute(state.db.pool()).await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// A plain page for the rare error outside the app's own pages (sign-out).
fn error_page(state: &AppState, err: &app::error::AppError) -> Response {
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
