//! Files to download: the batch upload templates (public) and Invite user status as CSV or
//! xlsx (an officer's own agency, with the page's search and filter). May import
//! `app::server` (`template`, `export`, `status`, `auth`), `app::api` (`StatusQuery`) and
//! `pages` (the sign-in redirect and the error page).

use app::api::StatusQuery;
use app::server::state::AppState;
use app::server::{auth, export, status, template};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_sessions::Session;

use super::pages::{error_page, to_sign_in};

/// The templates at `/templates/<file name>`, the export next to the status page.
pub(super) fn routes() -> Router<AppState> {
    let templates = |name: &str| format!("/templates/{name}");
    let status_file = |ext: &str| format!("{}/export.{ext}", StatusQuery::PATH);
    Router::new()
        .route(&templates(template::XLSX_FILE_NAME), get(xlsx_template))
        .route(&templates(template::CSV_FILE_NAME), get(csv_template))
        .route(&status_file("csv"), get(export_status))
        .route(&status_file("xlsx"), get(export_status))
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

/// Invite user status as a file, in the format its name ends with.
#[derive(Clone, Copy)]
enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    fn of_path(path: &str) -> ExportFormat {
        if path.ends_with(".xlsx") {
            ExportFormat::Xlsx
        } else {
            ExportFormat::Csv
        }
    }
}

/// Invite user status as a file, with the page's search and filter: `export.csv` or
/// `export.xlsx` next to the status page.
async fn export_status(
    State(state): State<AppState>,
    session: Session,
    uri: Uri,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let format = ExportFormat::of_path(uri.path());
    let officer = match auth::require_officer(&session).await {
        Ok(officer) => officer,
        Err(app::error::AppError::Unauthenticated) => return to_sign_in(&state, StatusQuery::PATH),
        Err(app::error::AppError::Forbidden { message }) => {
            return (StatusCode::FORBIDDEN, message).into_response()
        }
        Err(e) => return error_page(&state, &e),
    };
    let Some(_ticket) = state.exports.start(&officer.email().key()) else {
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
