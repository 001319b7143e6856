//! Invite user status: the query behind the status page. Every query is limited to the
//! officer's agency (the domain of their email address) in its WHERE clause, whatever the
//! request asks for.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::Db;
use super::search;
use super::sql::{Param, Params};
use crate::domain::Officer;
use crate::domain::{AccountState, Delivery, InvitationStatus, SeedState};
use crate::wire::{SortKey, StatusPage, StatusQuery, StatusRow};

/// The account status the officer sees, computed from the stored status, the expiry time
/// (`now` is its placeholder) and the delivery state, on `invitations i`.
pub(crate) fn account_state(now: &str) -> String {
    let (revoked, active) = (InvitationStatus::Revoked, InvitationStatus::Active);
    let failed = InvitationStatus::ProvisioningFailed;
    format!(
        "CASE WHEN i.status = '{}' THEN '{}' WHEN i.status = '{}' THEN '{}' \
         WHEN i.status = '{}' THEN '{}' \
         WHEN i.expires_at <= {now} THEN '{}' WHEN i.delivery = '{}' THEN '{}' \
         ELSE i.status END",
        revoked.as_str(),
        AccountState::Revoked.param(),
        active.as_str(),
        AccountState::Active.param(),
        failed.as_str(),
        AccountState::ProvisioningFailed.param(),
        AccountState::Expired.param(),
        Delivery::Failed.as_str(),
        AccountState::DeliveryFailed.param(),
    )
}

/// What a stored row must be to show as a state: its stored status and, for open
/// invitations, whether the link has run out and whether the email could be delivered.
#[derive(Clone, Copy)]
enum Open {
    /// Any row of the stored status.
    Any,
    /// Not expired, delivered or still being delivered.
    Current,
    Expired,
    /// Not expired, and the relay gave up on the email.
    Failed,
}

/// The (stored status, condition) pairs that show as `state`. Each pair is read from the
/// index (agency, status, created_at, id, expires_at, delivery) in created_at order.
fn branches(state: AccountState) -> Vec<(InvitationStatus, Open)> {
    let open = |condition| InvitationStatus::OPEN.map(|s| (s, condition)).to_vec();
    match state {
        AccountState::Invited => vec![(InvitationStatus::Invited, Open::Current)],
        AccountState::Created => vec![(InvitationStatus::Created, Open::Current)],
        AccountState::Active => vec![(InvitationStatus::Active, Open::Any)],
        AccountState::Expired => open(Open::Expired),
        AccountState::Revoked => vec![(InvitationStatus::Revoked, Open::Any)],
        AccountState::DeliveryFailed => open(Open::Failed),
        AccountState::Provisioning => vec![(InvitationStatus::Provisioning, Open::Current)],
        AccountState::ProvisioningFailed => vec![(InvitationStatus::ProvisioningFailed, Open::Any)],
    }
}

/// The condition on `invitations i` of one branch; `now` is the placeholder of the time.
fn branch_condition((status, open): (InvitationStatus, Open), now: &str) -> String {
    // Each branch reads invitations_agency_status (agency, status, created_at, id, ...) in
    // the page's order and stops when the page is full. `i.expires_at + 0` keeps SQLite's
    // planner off invitations_agency_open_expiry, whose range would have to be sorted whole.
    let open = match open {
        Open::Any => String::new(),
        Open::Current => format!(" AND i.expires_at + 0 > {now} AND i.delivery <> 'failed'"),
        Open::Expired => format!(" AND i.expires_at + 0 <= {now}"),
        Open::Failed => format!(" AND i.expires_at + 0 > {now} AND i.delivery = 'failed'"),
    };
    format!("i.status = '{}'{open}", status.as_str())
}

/// Whether the rows of `state` change with time alone (a link running out).
fn depends_on_time(state: AccountState) -> bool {
    !matches!(
        state,
        AccountState::Active | AccountState::Revoked | AccountState::ProvisioningFailed
    )
}

/// What a list asks for, ready to become SQL: the agency, the search words, the filter.
struct Selection<'a> {
    agency: &'a str,
    words: Vec<String>,
    state: Option<AccountState>,
    now: i64,
    /// The search matches many rows: read the rows in the sort's order and keep those that
    /// match (the page is full after a few hundred), rather than fetch every match and sort.
    walk: bool,
}

impl<'a> Selection<'a> {
    fn new(agency: &'a str, query: &StatusQuery, now: i64) -> Self {
        Selection {
            agency,
            words: search::words(&query.search),
            state: query.status,
            now,
            walk: false,
        }
    }

    /// The WHERE clause (without the state filter) and its parameters: the agency, always
    /// first, then the search.
    fn base(&self, params: &mut Params) -> String {
        let agency = params.add(Param::Text(self.agency.to_string()));
        let mut clause = format!("i.inviter_agency = {agency}");
        if !self.words.is_empty() {
            clause.push_str(" AND ");
            // `i.id || ''` keeps SQLite from driving the query from the matches.
            let id = if self.walk { "i.id || ''" } else { "i.id" };
            clause.push_str(&search::matches(&self.words, id, &agency, params));
        }
        clause
    }

    /// The WHERE clause with the state filter.
    fn clause(&self, params: &mut Params) -> String {
        let mut clause = self.base(params);
        if let Some(state) = self.state {
            let now = params.add(Param::Int(self.now));
            let any = branches(state)
                .into_iter()
                .map(|b| format!("({})", branch_condition(b, &now)))
                .collect::<Vec<_>>()
                .join(" OR ");
            clause.push_str(&format!(" AND ({any})"));
        }
        clause
    }
}

/// A search matching more rows than this is answered by reading the rows in order (see
/// `Selection::walk`). One match in 20 of 100,000 (a common surname) fills a page after 500
/// rows read; 5,000 matches fetched and sorted cost about 10 ms on SQLite.
const WALK_FROM: u64 = 1_000;

const COLUMNS: &str = "i.id, i.email, i.first_name, i.last_name, i.kind, i.invitation_type, \
     i.inviter_email, i.created_at, i.expires_at, i.seed_status, i.delivery, i.provision_error";

/// A page of the agency's invitations. `now` (Unix ms) decides what has expired.
pub async fn list(
    db: &Db,
    counts: &CountCache,
    officer: &Officer,
    query: &StatusQuery,
    now: i64,
) -> Result<StatusPage, sqlx::Error> {
    let agency = officer.agency();
    // Read before the pending terms are written: a count made meanwhile is kept under this
    // version, which a chunk stored after it changes.
    let version = version(db, officer).await?;
    let mut selection = Selection::new(agency, query, now);
    index_for(db, &selection).await?;
    let total = counted(db, counts, &selection, &version).await?;
    selection.walk = total > WALK_FROM;
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
    let rows = rows(db, &selection, &answered, i64::from(per_page), offset).await?;
    Ok(StatusPage {
        rows,
        total,
        query: answered,
        version,
    })
}

/// Every row matching the query's search and filter, in its order, up to `limit`: for the
/// export.
pub async fn all(
    db: &Db,
    officer: &Officer,
    query: &StatusQuery,
    now: i64,
    limit: u32,
) -> Result<Vec<StatusRow>, sqlx::Error> {
    let agency = officer.agency();
    let selection = Selection::new(agency, query, now);
    index_for(db, &selection).await?;
    rows(db, &selection, query, i64::from(limit), 0).await
}

/// A search finds what was stored before it: the agency's invitations stored without their
/// terms (a batch's, until its chunks pause) are indexed first.
async fn index_for(db: &Db, selection: &Selection<'_>) -> Result<(), sqlx::Error> {
    if !selection.words.is_empty() {
        search::index_pending(db, Some(selection.agency)).await?;
    }
    Ok(())
}

/// The number of rows a list matches, counted once and then kept (in [`CountCache`]) while
/// it cannot have changed: the agency's version is the same and, for the filters that
/// depend on time, no open invitation has expired since.
async fn counted(
    db: &Db,
    counts: &CountCache,
    selection: &Selection<'_>,
    version: &str,
) -> Result<u64, sqlx::Error> {
    let key = CountKey {
        agency: selection.agency.to_string(),
        words: selection.words.clone(),
        state: selection.state.map(AccountState::param),
    };
    if let Some(total) = counts.get(&key, version, selection.now) {
        return Ok(total);
    }
    let mut params = Params::default();
    let clause = selection.clause(&mut params);
    let sql = format!("SELECT COUNT(*) FROM invitations i WHERE {clause}");
    let total: i64 = params
        .bind(sqlx::query(&sql))
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let total = u64::try_from(total).unwrap_or(0);
    let until = match selection.state {
        Some(state) if depends_on_time(state) => {
            next_expiry(db, selection.agency, selection.now).await?
        }
        _ => i64::MAX,
    };
    counts.put(key, version, selection.now, until, total);
    Ok(total)
}

/// When the next open invitation of the agency expires (i64::MAX if none is open).
async fn next_expiry(db: &Db, agency: &str, now: i64) -> Result<i64, sqlx::Error> {
    let mut next = i64::MAX;
    // One look-up per status, each the first entry of a range of
    // invitations_agency_open_expiry.
    for status in InvitationStatus::OPEN.map(InvitationStatus::as_str) {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(expires_at) FROM invitations \
             WHERE inviter_agency = $1 AND status = $2 AND expires_at > $3",
        )
        .bind(agency)
        .bind(status)
        .bind(now)
        .fetch_one(db.pool())
        .await?;
        next = next.min(at.unwrap_or(i64::MAX));
    }
    Ok(next)
}

/// The counts of the status list, by agency, search and filter. An entry is used only while
/// the agency's version is the one it was counted at, the clock is within
/// `[counted at, next expiry)`, and for at most [`CountCache::MAX_AGE_MS`]: the version
/// changes with every change to the agency's invitations (see [`version`]), and the age limit
/// bounds what a change it cannot see (two changes to one row within a millisecond, a clock
/// put back) could leave wrong. Each server instance keeps its own; the version is read from
/// the database on every request, so instances never disagree for long.
#[derive(Debug, Default)]
pub struct CountCache {
    entries: std::sync::Mutex<std::collections::HashMap<CountKey, Counted>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CountKey {
    agency: String,
    words: Vec<String>,
    state: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct Counted {
    version: String,
    at: i64,
    until: i64,
    total: u64,
}

impl CountCache {
    /// The most entries kept; past it the cache starts again empty.
    const MAX_ENTRIES: usize = 10_000;
    /// The longest an entry is used.
    const MAX_AGE_MS: i64 = 30_000;

    fn get(&self, key: &CountKey, version: &str, now: i64) -> Option<u64> {
        let entries = self.entries.lock().ok()?;
        let c = entries.get(key)?;
        (c.version == version && c.at <= now && now < c.until && now - c.at < Self::MAX_AGE_MS)
            .then_some(c.total)
    }

    fn put(&self, key: CountKey, version: &str, at: i64, until: i64, total: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                key,
                Counted {
                    version: version.to_string(),
                    at,
                    until,
                    total,
                },
            );
        }
    }
}

/// The rank of a state in the sort by status: the order of `AccountState::ALL`.
fn rank(state: AccountState) -> usize {
    AccountState::ALL
        .iter()
        .position(|s| *s == state)
        .unwrap_or(0)
}

async fn rows(
    db: &Db,
    selection: &Selection<'_>,
    query: &StatusQuery,
    limit: i64,
    offset: i64,
) -> Result<Vec<StatusRow>, sqlx::Error> {
    let dir = if query.descending { "DESC" } else { "ASC" };
    let mut params = Params::default();
    let sql = match (query.sort, selection.state) {
        // By status, or by date within one filtered status: the page is merged from one
        // index range per (stored status, condition), each read in date order and cut at
        // the page's end, so no query sorts the whole agency.
        (SortKey::Status, _) | (SortKey::InvitedOn, Some(_)) => {
            let base = selection.base(&mut params);
            let now = params.add(Param::Int(selection.now));
            let keep = params.add(Param::Int(limit.saturating_add(offset)));
            let (inner, outer) = if query.sort == SortKey::Status {
                // Newest first within a state, whichever way the states go.
                (
                    "i.created_at DESC, i.id DESC".to_string(),
                    format!("state_rank {dir}, created_at DESC, id DESC"),
                )
            } else {
                (
                    format!("i.created_at {dir}, i.id {dir}"),
                    format!("created_at {dir}, id {dir}"),
                )
            };
            let states = match selection.state {
                Some(state) => vec![state],
                None => AccountState::ALL.to_vec(),
            };
            let parts: Vec<String> = states
                .into_iter()
                .flat_map(|state| branches(state).into_iter().map(move |b| (state, b)))
                .enumerate()
                .map(|(n, (state, branch))| {
                    format!(
                        "SELECT * FROM (SELECT {COLUMNS}, '{}' AS account_state, {} AS state_rank \
                         FROM invitations i WHERE {base} AND {} \
                         ORDER BY {inner} LIMIT {keep}) AS b{n}",
                        state.param(),
                        rank(state),
                        branch_condition(branch, &now),
                    )
                })
                .collect();
            let limit = params.add(Param::Int(limit));
            let offset = params.add(Param::Int(offset));
            format!(
                "SELECT * FROM ({}) AS merged ORDER BY {outer} LIMIT {limit} OFFSET {offset}",
                parts.join(" UNION ALL ")
            )
        }
        (sort, _) => {
            let clause = selection.clause(&mut params);
            let now = params.add(Param::Int(selection.now));
            let state = account_state(&now);
            let key = match sort {
                SortKey::Email => "i.email_key",
                SortKey::Name => "i.name_key",
                _ => "i.created_at",
            };
            let limit = params.add(Param::Int(limit));
            let offset = params.add(Param::Int(offset));
            format!(
                "SELECT {COLUMNS}, {state} AS account_state FROM invitations i \
                 WHERE {clause} ORDER BY {key} {dir}, i.id {dir} LIMIT {limit} OFFSET {offset}"
            )
        }
    };
    params
        .bind(sqlx::query(&sql))
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
        problem: row.try_get("provision_error")?,
    })
}

/// Changes whenever an invitation of the officer's agency is added or changed: every change
/// sets `updated_at` to the time of the change, and nothing is deleted. The latest
/// `updated_at` and how many rows have it, so that a second change in the same millisecond
/// to another row changes it too. Index look-ups only (`invitations_agency_updated`).
pub async fn version(db: &Db, officer: &Officer) -> Result<String, sqlx::Error> {
    let row = sqlx::query(
        "SELECT MAX(updated_at) AS latest, COUNT(*) AS changed FROM invitations \
         WHERE inviter_agency = $1 AND updated_at = \
         (SELECT MAX(updated_at) FROM invitations WHERE inviter_agency = $1)",
    )
    .bind(officer.agency())
    .fetch_one(db.pool())
    .await?;
    let latest: Option<i64> = row.try_get("latest")?;
    let changed: i64 = row.try_get("changed")?;
    Ok(format!("{}.{changed}", latest.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stored row shows as exactly one state, whatever its status, expiry and delivery.
    #[test]
    fn the_branches_of_the_states_cover_every_row_once() {
        for status in InvitationStatus::ALL {
            for expired in [false, true] {
                for failed in [false, true] {
                    let holds = |(s, open): (InvitationStatus, Open)| {
                        s == status
                            && match open {
                                Open::Any => true,
                                Open::Current => !expired && !failed,
                                Open::Expired => expired,
                                Open::Failed => !expired && failed,
                            }
                    };
                    let states: Vec<AccountState> = AccountState::ALL
                        .into_iter()
                        .filter(|s| branches(*s).iter().any(|b| holds(*b)))
                        .collect();
                    assert_eq!(states.len(), 1, "{status:?} {expired} {failed}: {states:?}");
                    let n = branches(states[0]).iter().filter(|b| holds(**b)).count();
                    assert_eq!(n, 1);
                }
            }
        }
    }

    #[test]
    fn the_agency_is_always_in_the_where_clause() {
        let selection = Selection::new(
            "agency.gov.sg",
            &StatusQuery {
                search: "x y".into(),
                status: Some(AccountState::Expired),
                ..StatusQuery::default()
            },
            0,
        );
        let clause = selection.clause(&mut Params::default());
        assert!(clause.starts_with("i.inviter_agency = $1 AND "), "{clause}");
        // Each word's term look-up is limited to the agency too.
        assert_eq!(clause.matches("t.agency = $1").count(), 2, "{clause}");
    }

    #[test]
    fn a_count_is_used_only_while_it_is_right() {
        let cache = CountCache::default();
        let key = CountKey {
            agency: "a".into(),
            words: vec![],
            state: None,
        };
        cache.put(key.clone(), "5.1", 1_000, 9_000, 42);
        assert_eq!(cache.get(&key, "5.1", 1_000), Some(42));
        assert_eq!(cache.get(&key, "5.2", 1_000), None, "another version");
        assert_eq!(cache.get(&key, "5.1", 9_000), None, "an invitation expired");
        assert_eq!(cache.get(&key, "5.1", 999), None, "the clock went back");
        cache.put(key.clone(), "5.1", 1_000, i64::MAX, 42);
        assert_eq!(
            cache.get(&key, "5.1", 1_000 + CountCache::MAX_AGE_MS),
            None,
            "too old"
        );
    }
}
