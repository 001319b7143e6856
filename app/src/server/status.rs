//! Invite user status: the query behind the status page. Every query is limited to the
//! officer's agency (the domain of their email address) in its WHERE clause, whatever the
//! request asks for.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::Db;
use super::invites::agency_of;
use crate::api::{AccountState, Delivery, SeedState, SortKey, StatusPage, StatusQuery, StatusRow};
use crate::domain::Email;

/// The account status the officer sees, computed from the stored status, the expiry time
/// (`$1` is now) and the delivery state, on `invitations i`.
pub(crate) const ACCOUNT_STATE: &str = "CASE WHEN i.status = 'revoked' THEN 'revoked' \
     WHEN i.status = 'active' THEN 'active' \
     WHEN i.expires_at <= $1 THEN 'expired' \
     WHEN i.delivery = 'failed' THEN 'delivery_failed' \
     ELSE i.status END";

/// The rows that have `state` (`$1` is now).
fn state_filter(state: AccountState) -> &'static str {
    match state {
        AccountState::Invited => {
            "i.status = 'invited' AND i.expires_at > $1 AND i.delivery <> 'failed'"
        }
        AccountState::Created => {
            "i.status = 'created' AND i.expires_at > $1 AND i.delivery <> 'failed'"
        }
        AccountState::Active => "i.status = 'active'",
        AccountState::Revoked => "i.status = 'revoked'",
        AccountState::Expired => "i.status IN ('invited', 'created') AND i.expires_at <= $1",
        AccountState::DeliveryFailed => {
            "i.status IN ('invited', 'created') AND i.expires_at > $1 AND i.delivery = 'failed'"
        }
    }
}

fn order_by(sort: SortKey, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    let columns = match sort {
        SortKey::InvitedOn => vec!["i.created_at"],
        SortKey::Email => vec!["i.email_key"],
        SortKey::Name => vec![
            "LOWER(COALESCE(a.last_name, ''))",
            "LOWER(COALESCE(a.first_name, ''))",
        ],
        SortKey::Status => vec!["account_state"],
    };
    columns
        .into_iter()
        .chain(["i.id"])
        .map(|c| format!("{c} {dir}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` as a LIKE pattern matching it anywhere, with LIKE's wildcards taken literally.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The WHERE clause and whether it needs the accounts table: `$1` is now, `$2` the agency,
/// `$3` the search pattern (when there is a search).
fn where_clause(query: &StatusQuery) -> (String, bool) {
    let mut clause = String::from("i.inviter_agency = $2");
    let mut needs_accounts = false;
    if let Some(state) = query.status {
        clause.push_str(&format!(" AND ({})", state_filter(state)));
    }
    if !query.search.is_empty() {
        needs_accounts = true;
        clause.push_str(
            " AND (i.email_key LIKE $3 ESCAPE '\\' \
             OR LOWER(a.first_name) LIKE $3 ESCAPE '\\' \
             OR LOWER(a.last_name) LIKE $3 ESCAPE '\\' \
             OR LOWER(a.first_name || ' ' || a.last_name) LIKE $3 ESCAPE '\\')",
        );
    }
    (clause, needs_accounts)
}

/// A page of the agency's invitations. `now` (Unix ms) decides what has expired.
pub async fn list(
    db: &Db,
    officer: &Email,
    query: &StatusQuery,
    now: i64,
) -> Result<StatusPage, sqlx::Error> {
    let agency = agency_of(officer);
    let total = count(db, &agency, query, now).await?;
    let per_page = if StatusQuery::PAGE_SIZES.contains(&query.per_page) {
        query.per_page
    } else {
        StatusQuery::default().per_page
    };
    let pages = u32::try_from(total.div_ceil(u64::from(per_page)).max(1)).unwrap_or(u32::MAX);
    let answered = StatusQuery {
        page: query.page.clamp(1, pages),
        per_page,
        ..query.clone()
    };
    let offset = i64::from(answered.page - 1) * i64::from(per_page);
    let rows = rows(db, &agency, &answered, now, i64::from(per_page), offset).await?;
    Ok(StatusPage {
        rows,
        total,
        query: answered,
        version: version(db, officer).await?,
    })
}

/// Every row matching the query's search and filter, in its order, up to `limit`: for the
/// export.
pub async fn all(
    db: &Db,
    officer: &Email,
    query: &StatusQuery,
    now: i64,
    limit: u32,
) -> Result<Vec<StatusRow>, sqlx::Error> {
    rows(db, &agency_of(officer), query, now, i64::from(limit), 0).await
}

async fn count(db: &Db, agency: &str, query: &StatusQuery, now: i64) -> Result<u64, sqlx::Error> {
    let (clause, needs_accounts) = where_clause(query);
    // `$1 = $1` uses the parameter "now" even when no status filter does, so that the same
    // parameters fit every query.
    let sql = format!(
        "SELECT COUNT(*) FROM invitations i {} WHERE {clause} AND $1 = $1",
        if needs_accounts { ACCOUNTS } else { "" }
    );
    let mut count = sqlx::query_scalar::<_, i64>(&sql).bind(now).bind(agency);
    if !query.search.is_empty() {
        count = count.bind(contains_pattern(&query.search));
    }
    Ok(u64::try_from(count.fetch_one(db.pool()).await?).unwrap_or(0))
}

const ACCOUNTS: &str = "LEFT JOIN accounts a ON a.id = i.account_id";

async fn rows(
    db: &Db,
    agency: &str,
    query: &StatusQuery,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<StatusRow>, sqlx::Error> {
    let (clause, _) = where_clause(query);
    let (limit_at, offset_at) = if query.search.is_empty() {
        ("$3", "$4")
    } else {
        ("$4", "$5")
    };
    let sql = format!(
        "SELECT i.id, i.email, a.first_name, a.last_name, i.kind, i.invitation_type, \
         i.inviter_email, i.created_at, i.expires_at, {ACCOUNT_STATE} AS account_state, \
         i.seed_status, i.delivery \
         FROM invitations i {ACCOUNTS} WHERE {clause} \
         ORDER BY {} LIMIT {limit_at} OFFSET {offset_at}",
        order_by(query.sort, query.descending)
    );
    let mut rows = sqlx::query(&sql).bind(now).bind(agency);
    if !query.search.is_empty() {
        rows = rows.bind(contains_pattern(&query.search));
    }
    rows.bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(status_row)
        .collect()
}

fn status_row(row: &AnyRow) -> Result<StatusRow, sqlx::Error> {
    let state: String = row.try_get("account_state")?;
    let seed: String = row.try_get("seed_status")?;
    let delivery: String = row.try_get("delivery")?;
    Ok(StatusRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        kind: row.try_get("kind")?,
        invitation_type: row.try_get("invitation_type")?,
        invited_by: row.try_get("inviter_email")?,
        invited_on: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        account: AccountState::from_param(&state).unwrap_or(AccountState::Invited),
        seed: SeedState::from_param(&seed).unwrap_or(SeedState::NotRequested),
        delivery: Delivery::from_param(&delivery).unwrap_or(Delivery::Queued),
    })
}

/// Changes whenever an invitation of the officer's agency is added or changed: every change
/// sets `updated_at` to the time of the change, and nothing is deleted. One index look-up
/// (`invitations_agency_updated`).
pub async fn version(db: &Db, officer: &Email) -> Result<String, sqlx::Error> {
    let latest: Option<i64> =
        sqlx::query_scalar("SELECT MAX(updated_at) FROM invitations WHERE inviter_agency = $1")
            .bind(agency_of(officer))
            .fetch_one(db.pool())
            .await?;
    Ok(latest.unwrap_or(0).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_taken_literally() {
        assert_eq!(contains_pattern("Tan"), "%tan%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn every_sort_ends_with_the_id_so_pages_never_overlap() {
        for key in SortKey::ALL {
            for descending in [false, true] {
                assert!(order_by(key, descending).ends_with(if descending {
                    "i.id DESC"
                } else {
                    "i.id ASC"
                }));
            }
        }
    }

    #[test]
    fn the_agency_is_always_in_the_where_clause() {
        let (clause, _) = where_clause(&StatusQuery {
            search: "x".into(),
            status: Some(AccountState::Expired),
            ..StatusQuery::default()
        });
        assert!(clause.starts_with("i.inviter_agency = $2 AND "));
    }
}
