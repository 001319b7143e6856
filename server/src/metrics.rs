//! Operators' metrics in Prometheus' text format, served on `METRICS_ADDR` (off by default),
//! apart from the site: what a request costs, per route and status; server-function errors
//! by kind; the outbox and the provisioning queue (depth, and the age of the oldest due
//! item); email sends and failures and provisioning outcomes (counted where they happen, in
//! `app::server::relay` and `app::server::provisioning`).
//!
//! The code records through the `metrics` facade, which does nothing until a recorder is
//! installed: [`install`] installs the Prometheus one, once per process. The queue gauges are
//! read from the database when Prometheus scrapes, so they are as fresh as the scrape and no
//! task polls the database when nobody asks.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::Context;
use app::server::clock::now_millis;
use app::server::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Request latency buckets, in seconds: from a cached page to a 500-row chunk on a busy day.
const LATENCY_BUCKETS: &[f64] = &[
    0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the Prometheus recorder (the first call in a process; later ones get the same
/// handle, so tests may start several servers).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("http_request_duration_seconds".into()),
            LATENCY_BUCKETS,
        )
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The middleware that counts and times every request, labelled with its route's pattern
/// (`/invitations/{token}`, never the token itself), method and status. A server function is
/// labelled with its own path; anything no route matched is `unmatched`, so a scanner's paths
/// cannot make new series.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let route = match req.extensions().get::<MatchedPath>() {
        Some(m) if m.as_str() == "/api/{*fn_name}" => None,
        Some(m) => Some(m.as_str().to_string()),
        None => Some("unmatched".to_string()),
    };
    let path = req.uri().path().to_string();
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    // A server function's path is a label only when the function exists (it answered with
    // something other than "not found").
    let route = route.unwrap_or_else(|| {
        if is_server_fn(&path) {
            path
        } else {
            "/api/unknown".to_string()
        }
    });
    let status = res.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    res
}

/// Whether `path` is a registered server function's.
fn is_server_fn(path: &str) -> bool {
    static PATHS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    PATHS
        .get_or_init(|| {
            leptos::server_fn::axum::server_fn_paths()
                .map(|(p, _)| p)
                .collect()
        })
        .contains(path)
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state((handle, state));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving metrics")
}

/// Binds `METRICS_ADDR`.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr} (METRICS_ADDR)"))
}

async fn scrape(State((handle, state)): State<(PrometheusHandle, AppState)>) -> Response {
    let now = now_millis();
    match app::server::outbox::depth(&state.db, now).await {
        Ok(d) => {
            metrics::gauge!("outbox_pending").set(d.pending as f64);
            metrics::gauge!("outbox_due").set(d.due as f64);
            metrics::gauge!("outbox_oldest_due_seconds").set(d.oldest_due_ms as f64 / 1000.0);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not read the outbox's depth"),
    }
    match state.provisioning.depth(now).await {
        Ok((pending, oldest_due_ms)) => {
            metrics::gauge!("provisioning_pending").set(pending as f64);
            metrics::gauge!("provisioning_oldest_due_seconds").set(oldest_due_ms as f64 / 1000.0);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not read the provisioning queue"),
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
