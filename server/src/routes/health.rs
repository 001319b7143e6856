//! The checks a load balancer or an orchestrator polls. No SQL is written under `routes`.
//!
//! - `/healthz`: alive. 200 while the process serves at all; it does not ask the database,
//!   so a database outage does not get every instance restarted at once.
//! - `/readyz`: ready for traffic. 200 `ready` while the instance is not shutting down, the
//!   database answers and its migrations are this binary's ([`Db::schema`]); otherwise 503
//!   with the reason in the body (`draining`, `database unavailable`, `migrations behind`,
//!   `database newer than this binary`). A load balancer sends requests only to ready
//!   instances.

use app::server::db::Schema;
use app::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use tokio_util::sync::CancellationToken;

/// Whether this instance takes new work: no longer once it starts shutting down. Its token
/// is the shutdown's own (the workers stop claiming when it is cancelled).
#[derive(Debug, Clone, Default)]
pub struct Readiness(CancellationToken);

impl Readiness {
    /// From now on `/readyz` answers 503 `draining`, and whatever holds the token stops.
    pub fn drain(&self) {
        self.0.cancel();
    }

    pub fn draining(&self) -> bool {
        self.0.is_cancelled()
    }

    /// The token cancelled by [`Readiness::drain`].
    pub fn token(&self) -> CancellationToken {
        self.0.clone()
    }
}

pub(super) async fn alive() -> Response {
    (StatusCode::OK, "ok").into_response()
}

pub(super) async fn ready(
    State(state): State<AppState>,
    Extension(readiness): Extension<Readiness>,
) -> Response {
    let unavailable = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    if readiness.draining() {
        return unavailable("draining: this instance is shutting down".into());
    }
    match state.db.schema().await {
        Ok(Schema::Current) => (StatusCode::OK, "ready").into_response(),
        Ok(Schema::Behind { database, binary }) => unavailable(format!(
            "migrations behind: the database is at {database}, this binary needs {binary} \
             (another instance may be migrating)"
        )),
        Ok(Schema::Newer { database, binary }) => {
            tracing::error!(
                database,
                binary,
                "the database was migrated by a newer release: this instance is not ready"
            );
            unavailable(format!(
                "database newer than this binary: the database is at {database}, this binary \
                 knows up to {binary}; deploy the newer release"
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "readiness check: the database does not answer");
            unavailable("database unavailable".into())
        }
    }
}
