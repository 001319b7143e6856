//! Builds the application: configuration -> state (database, settings, caches) -> router
//! (`crate::routes`) -> listener, and serves it with the outbox relay, the provisioning
//! worker, the session sweeper and (with `METRICS_ADDR`) the metrics listener beside it
//! until a shutdown signal. Tests call `Application::build` with a port-0 address and a fresh
//! database. May import `app::server` (to build the state and the relay), `crate::routes` and
//! `crate::metrics`; the handlers live in `routes`, not here.
//!
//! Shutting down (SIGTERM or SIGINT; [`Application::run_until`] for tests), within
//! `SHUTDOWN_GRACE_SECS` from the signal:
//! 1. `/readyz` answers 503 at once, and the relay and the provisioning worker claim nothing
//!    more (what they are sending or creating finishes; the rest is left to the other
//!    instances, which find it due);
//! 2. for `SHUTDOWN_DELAY_MS` the listener still accepts, while the load balancer notices;
//! 3. the listener closes; requests in flight finish, idle keep-alive connections are
//!    closed;
//! 4. the workers' current work finishes;
//! 5. the database pool closes and the process exits 0. Whatever is still running when the
//!    grace ends is dropped (logged): a request's transaction rolls back, and a claimed
//!    message or account is taken again by another instance when its lease runs out.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use app::server::budget::HourlyBudget;
use app::server::db::Db;
use app::server::directory::{BuiltInDirectory, Directory, DirectoryError};
use app::server::oidc::{Discovery, Oidc, OidcSettings};
use app::server::provisioning::{Provisioning, ProvisioningOptions};
use app::server::relay::{DevMailbox, Mailer, Relay, RelayOptions, SmtpMailer};
use app::server::scim::{ScimDirectory, ScimSettings};
use app::server::session_store::DbSessionStore;
use app::server::state::AppState;
use axum::Router;
use leptos::prelude::*;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::metrics;
use crate::routes::{self, Readiness};

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    relay: Option<(Relay, Duration)>,
    provisioner: Option<(Provisioning, Duration)>,
    readiness: Readiness,
    metrics: Option<(TcpListener, PrometheusHandle)>,
    grace: Duration,
    delay: Duration,
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
        let oidc = match &config.oidc {
            Some(settings) => Some(Arc::new(start_oidc(settings).await?)),
            None => None,
        };
        let directory: Arc<dyn Directory> = match &config.scim {
            Some(settings) => Arc::new(start_scim(settings).await?),
            None => Arc::new(BuiltInDirectory::new(db.clone())),
        };
        // A claimed row is worked on within the request's deadline (inline) and then takes
        // at most three directory calls: its lease outlasts both, so no second hand takes
        // a row that is still being worked on.
        let inline_deadline = Duration::from_millis(config.provisioning_inline_ms);
        let call_timeout = config
            .scim
            .as_ref()
            .map_or(Duration::from_secs(10), |s| s.timeout);
        let lease = (inline_deadline + call_timeout * 3 + Duration::from_secs(10))
            .max(Duration::from_secs(60));
        let provisioning = Provisioning::new(
            db.clone(),
            directory,
            ProvisioningOptions {
                retry_base: Duration::from_millis(config.provisioning_retry_base_ms),
                refresh_every: Duration::from_millis(config.provisioning_refresh_ms),
                inline_deadline,
                lease,
                ..ProvisioningOptions::default()
            },
            app::server::invites::accept_link(&config.settings),
        );
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
            provisioning: provisioning.clone(),
            counts: Default::default(),
            exports: Default::default(),
            prechecks: Arc::new(HourlyBudget::new(config.precheck_addresses_per_hour)),
            oidc,
        };
        let readiness = Readiness::default();
        let router = routes::router(state.clone(), &config.rate_limits, readiness.clone());
        let metrics = match config.metrics_addr {
            Some(addr) => {
                let handle = metrics::install()?;
                Some((metrics::bind(addr).await?, handle))
            }
            None => None,
        };
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
        let provisioner = config.provisioning_enabled.then(|| {
            (
                provisioning,
                Duration::from_millis(config.provisioning_interval_ms),
            )
        });
        Ok(Application {
            listener,
            router,
            state,
            relay,
            provisioner,
            readiness,
            metrics,
            grace: config.shutdown_grace,
            delay: config.shutdown_delay,
        })
    }

    /// Where metrics are served (`METRICS_ADDR`), if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM, then shuts down as the module's documentation says.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves, then shuts down as the module's documentation says.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
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
        // One token for the whole shutdown: cancelled at the signal, it makes `/readyz` answer
        // 503, stops the workers claiming, ends the metrics listener and starts the grace.
        let draining = self.readiness.token();
        let mut workers = tokio::task::JoinSet::new();
        if let Some((relay, every)) = self.relay {
            workers.spawn(relay.run(every, draining.clone()));
        }
        if let Some((worker, every)) = self.provisioner {
            workers.spawn(worker.run(every, draining.clone()));
        }
        let metrics_server = self.metrics.map(|(listener, handle)| {
            let done = draining.clone();
            tokio::spawn(metrics::serve(
                listener,
                handle,
                self.state.clone(),
                async move { done.cancelled().await },
            ))
        });
        let (grace, delay, readiness) = (self.grace, self.delay, self.readiness.clone());
        let close_listener = async move {
            stop.await;
            tracing::info!(
                grace_secs = grace.as_secs(),
                delay_ms = delay.as_millis() as u64,
                "shutting down: not ready; the workers claim nothing more"
            );
            readiness.drain();
            tokio::time::sleep(delay).await;
            tracing::info!("shutting down: no new connections; finishing requests in flight");
        };
        // With the peer address (ConnectInfo), which the rate limits key on.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let serving = axum::serve(self.listener, service).with_graceful_shutdown(close_listener);
        // The requests in flight, then the workers' current work, within the grace.
        let finished = async {
            serving.await.context("serving")?;
            while workers.join_next().await.is_some() {}
            anyhow::Ok(())
        };
        let grace_over = async {
            draining.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            done = finished => done?,
            _ = grace_over => tracing::warn!(
                grace_secs = grace.as_secs(),
                "shutting down: what was still running when the grace ended is dropped (a \
                 request's transaction rolls back; a claimed message or account is taken by \
                 another instance when its lease runs out)"
            ),
        }
        sweeper.abort();
        workers.abort_all();
        if let Some(server) = metrics_server {
            server.abort();
        }
        self.state.db.close().await;
        tracing::info!("shut down");
        Ok(())
    }
}

/// The SCIM client, asked once for the server's configuration and a page of users: a wrong
/// `SCIM_BASE_URL` or `SCIM_TOKEN` stops start-up naming it. A server that does not answer yet
/// is not fatal: the provisioning queue waits for it.
async fn start_scim(settings: &ScimSettings) -> anyhow::Result<ScimDirectory> {
    let scim = ScimDirectory::new(settings.clone()).map_err(anyhow::Error::msg)?;
    match scim.check().await {
        Ok(()) => tracing::info!(base_url = %settings.base_url, "SCIM directory answers"),
        Err(DirectoryError::Unavailable { detail, .. }) if detail.contains("SCIM_TOKEN") => {
            anyhow::bail!("configuration: SCIM_TOKEN: {detail}")
        }
        Err(DirectoryError::Unavailable { detail, .. }) => {
            tracing::warn!(base_url = %settings.base_url, %detail, "the SCIM directory does not answer yet: accounts wait in the provisioning queue")
        }
        Err(e) => anyhow::bail!(
            "configuration: SCIM_BASE_URL ({}) is not a SCIM 2.0 server's base: {e}",
            settings.base_url
        ),
    }
    Ok(scim)
}

/// The identity provider's client, its metadata fetched once to catch a wrong
/// `OIDC_ISSUER_URL` at start-up. A provider that does not answer yet is not fatal: sign-in
/// says so until it answers.
async fn start_oidc(settings: &OidcSettings) -> anyhow::Result<Oidc> {
    let oidc = Oidc::new(settings.clone()).map_err(anyhow::Error::msg)?;
    let issuer = settings.issuer.as_str();
    match oidc.discover().await {
        Ok(()) => tracing::info!(%issuer, "signing in through the identity provider"),
        Err(Discovery::Unreachable(e)) => tracing::warn!(
            %issuer, error = %e,
            "the identity provider does not answer yet; sign-in will say so until it does"
        ),
        Err(Discovery::Wrong(e)) => anyhow::bail!(
            "configuration: OIDC_ISSUER_URL {issuer} does not lead to an OpenID provider: {e}"
        ),
    }
    Ok(oidc)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
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
}
