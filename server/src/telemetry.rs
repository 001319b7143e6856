//! Logging and the per-request Trace ID.

use std::time::Instant;

use app::server::{TraceId, CURRENT_TRACE};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub const TRACE_HEADER: &str = "x-trace-id";

/// JSON lines in production, readable lines in development. `RUST_LOG` filters (default info).
pub fn init(format: LogFormat) {
    init_with_writer(format, std::io::stdout);
}

/// As `init`, writing somewhere else (tests read the log back).
pub fn init_with_writer<W>(format: LogFormat, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // `try_init`: a second call (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.with_target(false).try_init(),
    };
}

/// Gives every request a Trace ID: in its span (so in every log line it writes), in the
/// request's extensions (for handlers and server functions) and in the `x-trace-id` header.
pub async fn trace_requests(mut req: Request, next: Next) -> Response {
    let trace = TraceId::new();
    req.extensions_mut().insert(trace.clone());
    let span = tracing::info_span!(
        "request",
        trace_id = %trace,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let started = Instant::now();
    let mut res = CURRENT_TRACE
        .scope(trace.clone(), next.run(req).instrument(span.clone()))
        .await;
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&trace.0) {
        res.headers_mut().insert(TRACE_HEADER, v);
    }
    res
}
