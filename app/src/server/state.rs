use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;

use super::db::Db;
use super::provisioning::Provisioning;
use super::settings::Settings;
use super::OrInternal;
use crate::error::AppError;

/// Everything a request handler or server function needs, cheap to clone.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub settings: Arc<Settings>,
    /// The TechPass directory (built-in by default) and the queue that makes its accounts.
    pub provisioning: Provisioning,
    /// The status list's counts, kept while they are right (see `status::CountCache`).
    pub counts: Arc<super::status::CountCache>,
    /// The status exports being made (one per officer at a time).
    pub exports: Arc<super::export::ExportsInFlight>,
    /// Addresses each officer may pre-check in an hour (`PRECHECK_ADDRESSES_PER_HOUR`).
    pub prechecks: Arc<super::budget::HourlyBudget>,
    /// The identity provider, under `SIGN_IN_MODE=oidc`.
    pub oidc: Option<Arc<super::oidc::Oidc>>,
}

/// The state inside a server function (provided as context by the server's handlers).
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .ok_or("AppState missing from context")
        .or_internal()
}
