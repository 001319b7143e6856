//! Routes for development and tests on one machine, which answer 404 unless the server runs
//! with the development sign-in: the clock. (The development mailbox is a page; `pages` hides
//! it the same way.) May import `app::server::clock` and `app::format`.

use app::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Development sign-in only: moves the server's clock on (`advance_days`) or back to the real
/// time (`reset`), so a test can see invitations expire and reminders fall due.
pub(super) async fn clock(
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
