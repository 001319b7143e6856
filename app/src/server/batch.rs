//! Batch upload: the pre-check of a whole list and the idempotent submit of its rows.
//!
//! Submitting works a chunk (up to 500 rows) at a time, each chunk one transaction holding,
//! for every row it invites, the account, the invitation, its `batch_rows` line, the email in
//! the outbox and the audit record. A row is keyed by (batch key, row id): a row already
//! invited under the key answers with its invitation and writes nothing, so a double click, a
//! retry after a lost response or a second tab never invites anyone twice. The primary key of
//! `batch_rows` and the unique indexes on accounts and open invitations hold that even when
//! the checks race; a chunk that loses such a race is rolled back and done again row by row,
//! so one clashing row does not sink the rest.
//!
//! The bulk look-ups (accounts and usernames by the hundred) read the built-in directory's
//! `accounts` table, which is the only directory there is; an external identity provider
//! would need the same two look-ups in bulk on the `Directory` trait.

use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;

use super::audit;
use super::clock::now_millis;
use super::db::Db;
use super::directory::{AccountStatus, Directory};
use super::invites::{self, InvitationRow, InviteError};
use super::outbox::{self, OutgoingEmail};
use super::settings::Settings;
use super::sql::OPEN;
use crate::domain::batch::{email_twice, username_twice};
use crate::domain::limits::{MAX_BATCH_ROWS, SUBMIT_CHUNK_ROWS};
use crate::domain::{Email, FieldError, NewAccount, Officer, TechPassUsername, UserKind};
use crate::format::thousands;
use crate::wire::{BatchRow, PrecheckRow, RowIssue, RowOutcome, RowResult};

/// Keys per `IN (...)` list: well under SQLite's and PostgreSQL's limits on parameters.
const IN_LIST: usize = 500;
const MAX_ROW_ID: usize = 100;
const MAX_FILE_NAME: usize = 255;
/// Attempts at a single row that keeps losing races before it is reported as a clash.
const ROW_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("the batch key is not a UUID")]
    BadKey,
    #[error("the batch key belongs to another officer's upload")]
    AnotherOfficersBatch,
    /// The call as a whole is unusable (too many rows, a bad row id).
    #[error("{}", .0.message)]
    BadRequest(FieldError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<BatchError> for crate::error::AppError {
    fn from(e: BatchError) -> Self {
        match e {
            BatchError::BadKey => crate::error::AppError::validation(
                "batch_key",
                "The upload has no valid batch key. Upload the file again",
            ),
            // Forbidden rather than Conflict: the key names another officer's upload, which
            // this officer may neither add to nor read back; nothing about it is revealed.
            BatchError::AnotherOfficersBatch => crate::error::AppError::Forbidden {
                message: "This upload belongs to another officer. Upload the file again to \
                          start your own"
                    .into(),
            },
            BatchError::BadRequest(field) => crate::error::AppError::Validation {
                fields: vec![field],
            },
            BatchError::Db(e) => super::internal_error(e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pre-check

/// The rows of `rows` that clash with an existing account, an open invitation or a taken
/// TechPass username, with the messages Create account gives. Rows whose email address does
/// not parse are skipped: the browser has flagged them already.
#[tracing::instrument(skip_all, fields(rows = rows.len()))]
/// What it tells: per address, whether it has an account, or an open invitation from the
/// officer's own agency (never another agency's), and which usernames are taken.
pub async fn precheck(
    db: &Db,
    officer: &Officer,
    rows: &[PrecheckRow],
) -> Result<Vec<RowIssue>, BatchError> {
    check_size(rows.len())?;
    let parsed: Vec<Option<(Email, Option<TechPassUsername>)>> = rows
        .iter()
        .map(|r| {
            let email = Email::parse(&r.email).ok()?;
            // Only vendors give a username; an officer's row with one is flagged by the
            // browser's own rules, and checking it here would only add noise.
            let username = match email.kind() {
                UserKind::Vendor if !r.username.trim().is_empty() => {
                    TechPassUsername::parse(&r.username).ok()
                }
                _ => None,
            };
            Some((email, username))
        })
        .collect();
    let keys = distinct(parsed.iter().flatten().map(|(e, _)| e.key()));
    let names = distinct(
        parsed
            .iter()
            .flatten()
            .filter_map(|(_, u)| u.as_ref().map(|u| u.as_str().to_string())),
    );
    let mut conn = db.pool().acquire().await?;
    let with_account = accounts_with_keys(&mut conn, &keys).await?;
    let open = open_invitations(&mut conn, officer.agency(), &keys).await?;
    let taken = taken_usernames(&mut conn, &names).await?;
    drop(conn);

    let mut issues = Vec::new();
    for (row, parsed) in rows.iter().zip(&parsed) {
        let Some((email, username)) = parsed else {
            continue;
        };
        let key = email.key();
        let email_issue = if with_account.contains(&key) {
            Some(invites::has_account(email))
        } else if open.contains_key(&key) {
            Some(invites::has_pending_invitation(email))
        } else {
            None
        };
        let username_issue = username
            .as_ref()
            .filter(|u| taken.contains(u.as_str()))
            .map(|u| invites::username_is_taken(u.as_str()));
        for f in email_issue.into_iter().chain(username_issue) {
            issues.push(RowIssue {
                row_id: row.row_id.clone(),
                field: f.field,
                message: f.message,
            });
        }
    }
    tracing::info!(
        rows = rows.len(),
        issues = issues.len(),
        "batch pre-checked"
    );
    Ok(issues)
}

// ---------------------------------------------------------------------------------------------
// Submit

/// Invites the valid rows of one call under `batch_key` and says what became of every row, in
/// the order sent (a row id sent twice in one call gets its first occurrence's outcome).
#[tracing::instrument(skip_all, fields(rows = rows.len(), batch_key = %batch_key))]
pub async fn submit(
    db: &Db,
    directory: &dyn Directory,
    settings: &Settings,
    inviter: &Officer,
    batch_key: &str,
    file_name: &str,
    rows: &[BatchRow],
) -> Result<Vec<RowOutcome>, BatchError> {
    let key = parse_key(batch_key)?;
    if rows.len() > SUBMIT_CHUNK_ROWS {
        return Err(BatchError::BadRequest(FieldError::new(
            "rows",
            format!(
                "Send at most {SUBMIT_CHUNK_ROWS} rows in one call (the page sends a list in parts of \
                 {SUBMIT_CHUNK_ROWS}); this call had {}",
                rows.len()
            ),
        )));
    }
    for row in rows {
        if row.row_id.is_empty() || row.row_id.chars().count() > MAX_ROW_ID {
            return Err(BatchError::BadRequest(FieldError::new(
                "row_id",
                format!("Each row needs an id of 1 to {MAX_ROW_ID} characters"),
            )));
        }
    }
    let file_name = clean_file_name(file_name);
    let ctx = Ctx {
        db,
        directory,
        settings,
        inviter,
        key: &key,
        file_name: &file_name,
    };

    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut distinct_rows: Vec<&BatchRow> = Vec::new();
    for row in rows {
        first.entry(row.row_id.as_str()).or_insert_with(|| {
            distinct_rows.push(row);
            distinct_rows.len() - 1
        });
    }

    let mut results: Vec<RowResult> = Vec::with_capacity(distinct_rows.len());
    let mut tally = Tally::default();
    for chunk in distinct_rows.chunks(SUBMIT_CHUNK_ROWS) {
        match run_chunk(&ctx, chunk).await {
            Ok(done) => {
                tally.add(&done.tally);
                results.extend(done.results);
            }
            Err(Failure::Race(_)) => {
                tracing::info!(
                    rows = chunk.len(),
                    "a concurrent change clashed with this chunk: doing it again row by row"
                );
                for row in chunk {
                    let done = run_row(&ctx, row).await?;
                    tally.add(&done.tally);
                    results.extend(done.results);
                }
            }
            Err(Failure::NotYours) => return Err(BatchError::AnotherOfficersBatch),
            Err(Failure::Db(e)) => return Err(BatchError::Db(e)),
        }
    }

    tracing::info!(
        batch_key = %key,
        invited = tally.invited,
        already_invited = tally.already,
        rejected = tally.rejected,
        "batch rows submitted"
    );
    Ok(rows
        .iter()
        .map(|row| RowOutcome {
            row_id: row.row_id.clone(),
            result: first
                .get(row.row_id.as_str())
                .and_then(|&i| results.get(i))
                .cloned()
                .unwrap_or_else(|| RowResult::Rejected { fields: Vec::new() }),
        })
        .collect())
}

/// What one call works with.
struct Ctx<'a> {
    db: &'a Db,
    directory: &'a dyn Directory,
    settings: &'a Settings,
    inviter: &'a Officer,
    key: &'a str,
    file_name: &'a str,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    /// Invited by this call.
    invited: i64,
    /// Invited by an earlier call with the same key and row id.
    already: i64,
    rejected: i64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.invited += other.invited;
        self.already += other.already;
        self.rejected += other.rejected;
    }
}

struct ChunkDone {
    results: Vec<RowResult>,
    tally: Tally,
}

/// Why a chunk's transaction was given up.
enum Failure {
    /// A unique index refused a write (or PostgreSQL broke a deadlock): something committed
    /// after the checks clashes with a row. Which field it most likely concerns:
    Race(Clash),
    NotYours,
    Db(sqlx::Error),
}

#[derive(Debug, Clone, Copy)]
enum Clash {
    Email,
    Username,
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                let names_username = d.constraint().is_some_and(|c| c.contains("username"))
                    || d.message().contains("username");
                Failure::Race(if names_username {
                    Clash::Username
                } else {
                    Clash::Email
                })
            }
            // PostgreSQL: deadlock detected, serialization failure. Both mean "try again".
            sqlx::Error::Database(d)
                if matches!(d.code().as_deref(), Some("40P01") | Some("40001")) =>
            {
                Failure::Race(Clash::Email)
            }
            _ => Failure::Db(e),
        }
    }
}

impl From<InviteError> for Failure {
    fn from(e: InviteError) -> Self {
        match e {
            InviteError::Conflict(_) => Failure::Race(Clash::Email),
            // Not raised while storing a batch (its quota is counted per chunk, row by row).
            InviteError::Quota(_) => Failure::Race(Clash::Email),
            InviteError::Db(e) => e.into(),
        }
    }
}

/// One row in a transaction of its own, tried again if it loses a race (the next attempt's
/// checks see what won); a row that keeps losing is rejected with the clash.
async fn run_row(ctx: &Ctx<'_>, row: &BatchRow) -> Result<ChunkDone, BatchError> {
    let mut attempt = 1;
    loop {
        match run_chunk(ctx, &[row]).await {
            Ok(done) => return Ok(done),
            Err(Failure::Race(_)) if attempt < ROW_ATTEMPTS => attempt += 1,
            Err(Failure::Race(clash)) => {
                let field = match clash {
                    Clash::Email => FieldError::new(
                        "email",
                        format!(
                            "{} already has a pending invitation or an account",
                            row.raw.email.trim()
                        ),
                    ),
                    Clash::Username => {
                        invites::username_is_taken(&row.raw.username.trim().to_lowercase())
                    }
                };
                return Ok(ChunkDone {
                    results: vec![RowResult::Rejected {
                        fields: vec![field],
                    }],
                    tally: Tally {
                        rejected: 1,
                        ..Tally::default()
                    },
                });
            }
            Err(Failure::NotYours) => return Err(BatchError::AnotherOfficersBatch),
            Err(Failure::Db(e)) => return Err(BatchError::Db(e)),
        }
    }
}

/// A row after validation: answered already, or a new account to check and store.
enum Plan {
    Answered(RowResult),
    New(Box<NewAccount>),
}

/// One transaction for `rows`: checks in bulk, then stores every row that passes.
async fn run_chunk(ctx: &Ctx<'_>, rows: &[&BatchRow]) -> Result<ChunkDone, Failure> {
    let mut tx = ctx.db.begin_write().await?;
    let now = now_millis();
    // The first statement writes, so it takes SQLite's write lock (no other write can come
    // between the checks below and the commit) and PostgreSQL's lock on this batch's row (two
    // calls with the same key run one after the other, the second finding the first's rows).
    sqlx::query(
        "INSERT INTO batches (id, inviter_email, inviter_agency, file_name, invited_count, \
         rejected_count, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0, $5, $5) \
         ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at",
    )
    .bind(ctx.key)
    .bind(ctx.inviter.email().as_str())
    .bind(ctx.inviter.agency())
    .bind(ctx.file_name)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let (owner,): (String,) = sqlx::query_as("SELECT inviter_email FROM batches WHERE id = $1")
        .bind(ctx.key)
        .fetch_one(&mut *tx)
        .await?;
    if owner.to_lowercase() != ctx.inviter.email().key() {
        return Err(Failure::NotYours);
    }

    let mut quota = invites::quota_left(ctx.db, &mut tx, ctx.settings, ctx.inviter, now).await?;

    let row_ids: Vec<String> = rows.iter().map(|r| r.row_id.clone()).collect();
    let done = invited_rows(&mut tx, ctx.key, &row_ids).await?;
    let mut tally = Tally::default();
    let plans: Vec<Plan> = rows
        .iter()
        .map(|row| {
            if let Some((invitation_id, email)) = done.get(&row.row_id) {
                tally.already += 1;
                return Plan::Answered(RowResult::Invited {
                    invitation_id: invitation_id.clone(),
                    email: email.clone(),
                });
            }
            match NewAccount::parse(&row.raw) {
                Ok(account) => Plan::New(Box::new(account)),
                Err(fields) => Plan::Answered(RowResult::Rejected { fields }),
            }
        })
        .collect();

    let new = || {
        plans.iter().filter_map(|p| match p {
            Plan::New(a) => Some(a),
            Plan::Answered(_) => None,
        })
    };
    let keys = distinct(new().map(|a| a.email.key()));
    let names = distinct(new().filter_map(|a| a.username.as_ref().map(|u| u.to_string())));
    let with_account = accounts_with_keys(&mut tx, &keys).await?;
    let open = open_invitations(&mut tx, ctx.inviter.agency(), &keys).await?;
    let taken = taken_usernames(&mut tx, &names).await?;

    let mut seen_emails: HashSet<String> = HashSet::new();
    let mut seen_names: HashSet<String> = HashSet::new();
    let mut results = Vec::with_capacity(rows.len());
    for (row, plan) in rows.iter().zip(plans) {
        let account = match plan {
            Plan::Answered(result) => {
                if matches!(result, RowResult::Rejected { .. }) {
                    tally.rejected += 1;
                }
                results.push(result);
                continue;
            }
            Plan::New(account) => account,
        };
        let email = &account.email;
        let key = email.key();
        let mut fields = Vec::new();
        match open.get(&key) {
            Some(Some(batch)) if batch == ctx.key => fields.push(email_twice(email.as_str(), None)),
            _ if with_account.contains(&key) => fields.push(invites::has_account(email)),
            Some(_) => fields.push(invites::has_pending_invitation(email)),
            None if seen_emails.contains(&key) => fields.push(email_twice(email.as_str(), None)),
            None => {}
        }
        if let Some(username) = &account.username {
            if taken.contains(username.as_str()) {
                fields.push(invites::username_is_taken(username.as_str()));
            } else if seen_names.contains(username.as_str()) {
                fields.push(username_twice(username.as_str(), None));
            }
        }
        if fields.is_empty() && quota <= 0 {
            fields.push(FieldError::new(
                "email",
                invites::quota_reached(ctx.settings),
            ));
        }
        if !fields.is_empty() {
            tally.rejected += 1;
            results.push(RowResult::Rejected { fields });
            continue;
        }
        quota -= 1;
        let invitation_id = store(&mut tx, ctx, &row.row_id, &account, now).await?;
        seen_emails.insert(key);
        if let Some(username) = &account.username {
            seen_names.insert(username.to_string());
        }
        tally.invited += 1;
        results.push(RowResult::Invited {
            invitation_id,
            email: email.to_string(),
        });
    }

    sqlx::query(
        "UPDATE batches SET invited_count = invited_count + $1, \
         rejected_count = rejected_count + $2, updated_at = $3 WHERE id = $4",
    )
    .bind(tally.invited)
    .bind(tally.rejected)
    .bind(now)
    .bind(ctx.key)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ChunkDone { results, tally })
}

/// Stores one account as Create account does (status Created, the activation email queued,
/// an audit record), with its invitation typed "batch" and its line in `batch_rows`.
async fn store(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    row_id: &str,
    account: &NewAccount,
    now: i64,
) -> Result<String, Failure> {
    let account_id = ctx
        .directory
        .create_account(conn, account, AccountStatus::Created)
        .await?;
    let link = ctx.settings.link_secret.new_link();
    let invitation_id = invites::insert_invitation(
        conn,
        InvitationRow::for_account(
            account,
            "batch",
            ctx.inviter,
            account_id,
            link.token_hash,
            ctx.settings.invite_expiry_days,
        ),
    )
    .await?;
    sqlx::query(
        "INSERT INTO batch_rows (batch_id, row_id, invitation_id, email_key, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ctx.key)
    .bind(row_id)
    .bind(&invitation_id)
    .bind(account.email.key())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let mail = OutgoingEmail::account_created(
        account,
        ctx.inviter.email(),
        &invites::accept_link(ctx.settings),
        ctx.settings.invite_expiry_days,
    );
    outbox::enqueue_as(conn, &link.mail_id, Some(&invitation_id), &mail).await?;
    audit::record(
        &mut *conn,
        ctx.inviter.email().as_str(),
        "batch_create_account",
        account.email.as_str(),
    )
    .await?;
    Ok(invitation_id)
}

// ---------------------------------------------------------------------------------------------
// Look-ups in bulk: one query per `IN_LIST` keys.

/// `$first, $first+1, ...`: `n` numbered placeholders.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items.filter(|i| seen.insert(i.clone())).collect()
}

/// Runs `sql` (with `{}` where the list of placeholders goes, numbered from `$first`) for
/// each part of `keys`, collecting every row.
async fn fetch_in_parts<T>(
    conn: &mut AnyConnection,
    sql: &str,
    leading: &[&str],
    keys: &[String],
) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut out = Vec::new();
    for part in keys.chunks(IN_LIST) {
        let sql = sql.replace("{}", &placeholders(leading.len() + 1, part.len()));
        // Not a cached prepared statement: PostgreSQL would soon run it with a generic plan
        // made without the values, and one chosen while a table was small (a sequential scan
        // that tests each row against 500 parameters) stays slow once the table has grown.
        // Planned afresh with the values, it uses the indexes.
        let mut query = sqlx::query_as::<_, T>(&sql).persistent(false);
        for value in leading {
            query = query.bind(*value);
        }
        for key in part {
            query = query.bind(key);
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// The email keys among `keys` that have an account.
async fn accounts_with_keys(
    conn: &mut AnyConnection,
    keys: &[String],
) -> sqlx::Result<HashSet<String>> {
    let rows: Vec<(String,)> = fetch_in_parts(
        conn,
        "SELECT email_key FROM accounts WHERE email_key IN ({})",
        &[],
        keys,
    )
    .await?;
    Ok(rows.into_iter().map(|(k,)| k).collect())
}

/// The email keys among `keys` with an open invitation from `agency`, each with the batch it
/// came from (if it came from one).
async fn open_invitations(
    conn: &mut AnyConnection,
    agency: &str,
    keys: &[String],
) -> sqlx::Result<HashMap<String, Option<String>>> {
    let sql = format!(
        "SELECT i.email_key, b.batch_id FROM invitations i \
         LEFT JOIN batch_rows b ON b.invitation_id = i.id \
         WHERE i.inviter_agency = $1 AND i.status IN {OPEN} AND i.email_key IN ({{}})"
    );
    let rows: Vec<(String, Option<String>)> = fetch_in_parts(conn, &sql, &[agency], keys).await?;
    Ok(rows.into_iter().collect())
}

/// The usernames among `names` that an account or an open invitation holds.
async fn taken_usernames(
    conn: &mut AnyConnection,
    names: &[String],
) -> sqlx::Result<HashSet<String>> {
    let sql = format!(
        "SELECT username FROM accounts WHERE username IN ({{}}) \
         UNION SELECT username FROM invitations WHERE status IN {OPEN} AND username IN ({{}})"
    );
    let rows: Vec<(String,)> = fetch_in_parts(conn, &sql, &[], names).await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

/// The rows of `row_ids` already invited under batch `key`: row id → (invitation id, email).
async fn invited_rows(
    conn: &mut AnyConnection,
    key: &str,
    row_ids: &[String],
) -> sqlx::Result<HashMap<String, (String, String)>> {
    #[derive(sqlx::FromRow)]
    struct Invited {
        row_id: String,
        invitation_id: String,
        email: String,
    }
    let rows: Vec<Invited> = fetch_in_parts(
        conn,
        "SELECT b.row_id, b.invitation_id, COALESCE(i.email, b.email_key) AS email \
         FROM batch_rows b \
         LEFT JOIN invitations i ON i.id = b.invitation_id \
         WHERE b.batch_id = $1 AND b.row_id IN ({})",
        &[key],
        row_ids,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.row_id, (r.invitation_id, r.email)))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Input checks

/// The batch key in one spelling (lower-case, hyphenated), so `{A-B}` and `a-b` are one batch.
fn parse_key(key: &str) -> Result<String, BatchError> {
    uuid::Uuid::try_parse(key.trim())
        .map(|k| k.hyphenated().to_string())
        .map_err(|_| BatchError::BadKey)
}

fn check_size(rows: usize) -> Result<(), BatchError> {
    if rows > MAX_BATCH_ROWS {
        return Err(BatchError::BadRequest(FieldError::new(
            "rows",
            format!(
                "A list can have at most {} users, and this one has {rows}. Split the file \
                 and upload each part",
                thousands(MAX_BATCH_ROWS as u64)
            ),
        )));
    }
    Ok(())
}

/// The file's name as shown later: its last path part, without control characters, at most
/// 255 characters.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    base.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_uuids_in_one_spelling() {
        let k = parse_key(" 67E55044-10B1-426F-9247-BB680E5FE0C8 ").expect("uuid");
        assert_eq!(k, "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert_eq!(
            parse_key("67e5504410b1426f9247bb680e5fe0c8").expect("simple"),
            k
        );
        assert!(matches!(parse_key("batch-1"), Err(BatchError::BadKey)));
        assert!(matches!(parse_key(""), Err(BatchError::BadKey)));
    }

    #[test]
    fn placeholders_are_numbered_from_the_first() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 0), "");
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\me\\staff.xlsx"), "staff.xlsx");
        assert_eq!(clean_file_name("/tmp/a\u{7}b.csv"), "ab.csv");
        assert_eq!(clean_file_name(&"x".repeat(300)).len(), 255);
    }

    #[test]
    fn too_many_rows_are_refused_as_a_whole() {
        assert!(check_size(MAX_BATCH_ROWS).is_ok());
        assert!(matches!(
            check_size(MAX_BATCH_ROWS + 1),
            Err(BatchError::BadRequest(f)) if f.field == "rows"
        ));
    }
}
