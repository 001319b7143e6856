//! Batch upload: the pre-check of a whole list and the idempotent submit of its rows.
//!
//! Submitting works a chunk (up to 500 rows) at a time, each chunk one transaction holding,
//! for every row it invites, the invitation, its `batch_rows` line, its account's place in
//! the provisioning queue and the audit record (its email is written once the account
//! exists). A row is keyed by (batch key, row id): a row already
//! invited under the key answers with its invitation and writes nothing, so a double click, a
//! retry after a lost response or a second tab never invites anyone twice. The primary key of
//! `batch_rows` and the unique indexes on open invitations (one per address in an agency, one
//! per username) hold that even when the checks race.
//! On PostgreSQL a chunk first takes its batch's row and its officer's quota lock only at its
//! commit, so the chunks of a list are stored at the same time ([`Locks`]); one whose checks
//! did not hold there is rolled back and run again with the locks first. A chunk that loses a
//! race even so is done again row by row, so one clashing row does not sink the rest.
//!
//! Existing accounts and taken usernames are asked of the directory in bulk (a few requests
//! per chunk), before the chunk's transaction, never inside it. An account made elsewhere
//! between that question and the provisioning queue's create is caught by the directory
//! itself (409), and the row then shows "already has a TechPass account" on Invite user
//! status.

use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;

use super::audit;
use super::clock::now_millis;
use super::db::Db;
use super::directory::{Directory, DirectoryError, DirectoryUser, Existing};
use super::invites::{self, InvitationRow, InviteError};
use super::provisioning::Provisioning;
use super::settings::Settings;
use super::sql::{fetch_in_parts, from_row, Param, Rows, OPEN};
use crate::domain::batch::{email_twice, username_twice};
use crate::domain::limits::{MAX_BATCH_ROWS, SUBMIT_CHUNK_ROWS};
use crate::domain::{Email, FieldError, NewAccount, Officer, TechPassUsername, UserKind};
use crate::format::thousands;
use crate::wire::{BatchRow, PrecheckRow, RowIssue, RowOutcome, RowResult};

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
    /// The directory could not be asked about existing accounts: nothing was written.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
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
            BatchError::Directory(e) => invites::directory_error(e),
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
    directory: &dyn Directory,
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
    let existing = directory.existing(&keys, &names).await?;
    let mut conn = db.pool().acquire().await?;
    let open = open_invitations(&mut conn, officer.agency(), &keys).await?;
    let mut taken = reserved_usernames(&mut conn, &names).await?;
    drop(conn);
    let with_account = existing.emails;
    taken.extend(existing.usernames);

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
    provisioning: &Provisioning,
    settings: &Settings,
    inviter: &Officer,
    batch_key: &str,
    file_name: &str,
    rows: &[BatchRow],
) -> Result<Vec<RowOutcome>, BatchError> {
    let key = parse_key(batch_key)?;
    // The instance's maker of batch accounts waits while this is stored.
    let _storing = provisioning.storing_chunk();
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
        provisioning,
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
    // SQLite's first write takes the one write lock: a chunk there has its locks first anyway.
    let locks = if db.writes_one_at_a_time() {
        Locks::Early
    } else {
        Locks::Late
    };
    for chunk in distinct_rows.chunks(SUBMIT_CHUNK_ROWS) {
        let mut outcome = run_chunk(&ctx, chunk, locks).await;
        if locks == Locks::Late {
            if let Err(Failure::Race(clash)) = &outcome {
                tracing::info!(
                    rows = chunk.len(),
                    ?clash,
                    "the chunk, stored before its locks, clashed at its commit: again, with the locks first"
                );
                outcome = run_chunk(&ctx, chunk, Locks::Early).await;
                // Waiting with its locks for a chunk that stored the same address or row
                // id without them, it may be the one PostgreSQL gives up to end the wait.
                if let Err(Failure::Race(Clash::Lock)) = &outcome {
                    outcome = run_chunk(&ctx, chunk, Locks::Early).await;
                }
            }
        }
        match outcome {
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
            Err(Failure::Directory(e)) => return Err(BatchError::Directory(e)),
            Err(Failure::Db(e)) => return Err(BatchError::Db(e)),
        }
    }
    if tally.invited > 0 {
        // The accounts of the rows this call invited, made once the batch's chunks pause
        // (answers already given are skipped by the queue: their rows are done or in another
        // hand). The answer does not wait for them.
        let ids: Vec<String> = results
            .iter()
            .filter_map(|r| match r {
                RowResult::Invited { invitation_id, .. } => Some(invitation_id.clone()),
                RowResult::Rejected { .. } => None,
            })
            .collect();
        provisioning.provision_soon(ids);
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
    provisioning: &'a Provisioning,
    settings: &'a Settings,
    inviter: &'a Officer,
    key: &'a str,
    file_name: &'a str,
}

impl Ctx<'_> {
    /// Whether a batch whose row names `owner` is this officer's.
    fn owns(&self, owner: &str) -> bool {
        owner.to_lowercase() == self.inviter.email().key()
    }
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
    /// A unique index refused a write, a recount under the quota's lock at a `Late` chunk's
    /// commit found the quota spent meanwhile, or PostgreSQL broke a deadlock: something
    /// stored after the checks (or, for a `Late` chunk, which does not look for open
    /// invitations, before them) clashes with a row. Which field it most likely concerns:
    Race(Clash),
    NotYours,
    Directory(DirectoryError),
    Db(sqlx::Error),
}

#[derive(Debug, Clone, Copy)]
enum Clash {
    Email,
    Username,
    /// The officer's hourly quota, counted again at the commit.
    Quota,
    /// PostgreSQL gave the transaction up to break a deadlock (or a serialization conflict):
    /// nothing clashed with a row, the next run waits for the other transaction.
    Lock,
    /// A `Late` chunk's checks rejected a row. Never written, no index saw it, so an open
    /// invitation holding its address or username went unseen: the chunk runs again `Early`,
    /// whose look-ups give the row every message. (An `Early` run never gives it.)
    Unlooked,
}

/// When a chunk's transaction takes its batch's row and its officer's quota (PostgreSQL; on
/// SQLite the first write takes the one write lock, so the chunk always runs as `Early`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Locks {
    /// Just before its commit: chunks of one list (the page sends three at a time) store their
    /// rows at the same moment instead of one after the other. It does not look for open
    /// invitations holding its rows' addresses or usernames: the unique indexes refuse a
    /// second open invitation for an address in an agency or for a username, and a row
    /// stored twice (the chunk waits for the other and then fails), and under the quota's
    /// lock the quota is counted again. A chunk that fails them, or whose checks reject a
    /// row (which no index then sees), is run again `Early`, which looks, and rejects each
    /// row with every message that applies.
    Late,
    /// First: the checks hold until the commit.
    Early,
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                Failure::Race(if invites::is_username_clash(&e) {
                    Clash::Username
                } else {
                    Clash::Email
                })
            }
            // PostgreSQL: deadlock detected, serialization failure. Both mean "try again".
            _ if Db::is_lock_conflict(&e) => Failure::Race(Clash::Lock),
            _ => Failure::Db(e),
        }
    }
}

impl From<InviteError> for Failure {
    fn from(e: InviteError) -> Self {
        match e {
            InviteError::Conflict(field) if field.field == "username" => {
                Failure::Race(Clash::Username)
            }
            InviteError::Conflict(_) => Failure::Race(Clash::Email),
            // Not raised while storing a batch (its quota is counted per chunk, row by row;
            // a recount at the commit gives Clash::Quota directly).
            InviteError::Quota(_) => Failure::Race(Clash::Quota),
            InviteError::Directory(e) => Failure::Directory(e),
            InviteError::Db(e) => e.into(),
        }
    }
}

/// One row in a transaction of its own, tried again if it loses a race (the next attempt's
/// checks see what won); a row that keeps losing is rejected with the clash.
async fn run_row(ctx: &Ctx<'_>, row: &BatchRow) -> Result<ChunkDone, BatchError> {
    let mut attempt = 1;
    loop {
        match run_chunk(ctx, &[row], Locks::Early).await {
            Ok(done) => return Ok(done),
            Err(Failure::Race(_)) if attempt < ROW_ATTEMPTS => attempt += 1,
            Err(Failure::Race(clash)) => {
                let field = match clash {
                    // (Only `Lock` comes from the `Early` runs made here; `Unlooked` never.)
                    Clash::Lock | Clash::Unlooked => FieldError::new(
                        "email",
                        format!(
                            "{} was not invited this time: another change to the same people was \
                             being stored at that moment. Submit the row again",
                            row.raw.email.trim()
                        ),
                    ),
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
                    Clash::Quota => FieldError::new("email", invites::quota_reached(ctx.settings)),
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
            Err(Failure::Directory(e)) => return Err(BatchError::Directory(e)),
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
async fn run_chunk(ctx: &Ctx<'_>, rows: &[&BatchRow], locks: Locks) -> Result<ChunkDone, Failure> {
    // The directory first, outside the transaction: which of the rows' people have an
    // account, which usernames are taken.
    // Each row is parsed once, for the directory's question and for the checks below.
    let parsed: Vec<Result<NewAccount, Vec<FieldError>>> =
        rows.iter().map(|r| NewAccount::parse(&r.raw)).collect();
    let existing = ask_directory(ctx.provisioning.directory(), &parsed).await?;
    // What the chunk writes if every row that parses is invited (as a list's rows usually
    // all are), made before the write lock: while the chunk before holds it, this one makes
    // its rows meanwhile (the page sends the next chunk before the answer comes). Made again
    // inside for the rows the checks leave, when they are fewer.
    let now = now_millis();
    let candidates: Vec<(&str, &NewAccount)> = rows
        .iter()
        .zip(&parsed)
        .filter_map(|(row, parsed)| Some((row.row_id.as_str(), parsed.as_ref().ok()?)))
        .collect();
    let staged = stage(ctx, &candidates, now)?;
    let late = locks == Locks::Late;
    let mut tx = ctx.db.begin_write().await?;
    let limit = i64::from(ctx.settings.invite_quota_per_hour);
    let mut quota = if late {
        // The batch's row is read here, and written (made, or its counts added to) at the
        // end; the quota is counted without its lock, and again at the end under it.
        let owner: Option<(String,)> =
            sqlx::query_as("SELECT inviter_email FROM batches WHERE id = $1")
                .bind(ctx.key)
                .fetch_optional(&mut *tx)
                .await?;
        if owner.is_some_and(|(owner,)| !ctx.owns(&owner)) {
            return Err(Failure::NotYours);
        }
        limit - invites::sent_in_the_hour(&mut tx, ctx.inviter, now).await?
    } else {
        // The first statement writes: on PostgreSQL it takes this batch's row (two calls
        // with the same key run one after the other, the second finding the first's rows).
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
        if !ctx.owns(&owner) {
            return Err(Failure::NotYours);
        }
        invites::quota_left(ctx.db, &mut tx, ctx.settings, ctx.inviter, now).await?
    };

    let row_ids: Vec<String> = rows.iter().map(|r| r.row_id.clone()).collect();
    let done = invited_rows(&mut tx, ctx.key, &row_ids).await?;
    let mut tally = Tally::default();
    let plans: Vec<Plan> = rows
        .iter()
        .zip(parsed)
        .map(|(row, parsed)| {
            if let Some((invitation_id, email)) = done.get(&row.row_id) {
                tally.already += 1;
                return Plan::Answered(RowResult::Invited {
                    invitation_id: invitation_id.clone(),
                    email: email.clone(),
                });
            }
            match parsed {
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
    let with_account = &existing.emails;
    // The open invitations that hold the rows' addresses (the officer's agency's) and
    // usernames. A `Late` chunk does not look: it leaves them to the unique indexes, which
    // hold the same (an open invitation per address in an agency, per username), and whose
    // refusal runs the chunk again `Early`, which looks and gives each such row its message.
    // (A row it rejects for another reason is not written, so no index sees it: the chunk
    // then runs again `Early` too, so that the row gets every message.) Without its locks,
    // what it read could be stale by its commit anyway, and the page sends only the rows the
    // pre-check passed, so a clash here is rare: the two look-ups were an eighth of
    // PostgreSQL's time for the chunk.
    let (open, reserved) = if late {
        (HashMap::new(), HashSet::new())
    } else {
        (
            open_invitations(&mut tx, ctx.inviter.agency(), &keys).await?,
            reserved_usernames(&mut tx, &names).await?,
        )
    };
    // Held by open invitations, and by the directory's accounts.
    let mut taken = reserved;
    taken.extend(existing.usernames.iter().cloned());

    let mut seen_emails: HashSet<String> = HashSet::new();
    let mut seen_names: HashSet<String> = HashSet::new();
    let mut results = Vec::with_capacity(rows.len());
    // The rows to store: where their result is, their row id, their account.
    let mut accepted: Vec<(usize, &str, Box<NewAccount>)> = Vec::new();
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
            if late {
                tx.rollback().await?;
                return Err(Failure::Race(Clash::Unlooked));
            }
            tally.rejected += 1;
            results.push(RowResult::Rejected { fields });
            continue;
        }
        quota -= 1;
        seen_emails.insert(key);
        if let Some(username) = &account.username {
            seen_names.insert(username.to_string());
        }
        tally.invited += 1;
        // Its invitation id once the rows below are stored.
        results.push(RowResult::Invited {
            invitation_id: String::new(),
            email: email.to_string(),
        });
        accepted.push((results.len() - 1, row.row_id.as_str(), account));
    }
    let staged = if staged
        .row_ids
        .iter()
        .eq(accepted.iter().map(|(_, id, _)| id))
    {
        staged
    } else {
        let accepted: Vec<(&str, &NewAccount)> = accepted
            .iter()
            .map(|(_, id, a)| (*id, a.as_ref()))
            .collect();
        stage(ctx, &accepted, now)?
    };
    let ids = store(&mut tx, staged).await?;
    for ((at, _, _), id) in accepted.iter().zip(ids) {
        if let Some(RowResult::Invited { invitation_id, .. }) = results.get_mut(*at) {
            *invitation_id = id;
        }
    }

    if late {
        // The batch's row first (made by the list's first chunk to get here, which the
        // others then wait for), then the quota, in the order `Early` takes them.
        let (owner,): (String,) = sqlx::query_as(
            "INSERT INTO batches (id, inviter_email, inviter_agency, file_name, invited_count, \
             rejected_count, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (id) DO UPDATE SET \
             invited_count = batches.invited_count + excluded.invited_count, \
             rejected_count = batches.rejected_count + excluded.rejected_count, \
             updated_at = excluded.updated_at RETURNING inviter_email",
        )
        .bind(ctx.key)
        .bind(ctx.inviter.email().as_str())
        .bind(ctx.inviter.agency())
        .bind(ctx.file_name)
        .bind(tally.invited)
        .bind(tally.rejected)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // Each given up at once, so that what runs next does not wait for these locks.
        if !ctx.owns(&owner) {
            tx.rollback().await?;
            return Err(Failure::NotYours);
        }
        if tally.invited > 0 {
            invites::lock_quota(ctx.db, &mut tx, ctx.inviter).await?;
            if invites::sent_in_the_hour(&mut tx, ctx.inviter, now).await? > limit {
                tx.rollback().await?;
                return Err(Failure::Race(Clash::Quota));
            }
        }
    } else {
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
    }
    tx.commit().await?;
    Ok(ChunkDone { results, tally })
}

/// What a chunk writes for the rows it invites, as Create account does (status
/// Provisioning, a place in the provisioning queue, an audit record; the activation email is
/// written once the account exists), with invitations typed "batch" and their lines in
/// `batch_rows`: a statement or two per table for the whole chunk, not one per row.
struct Staged {
    /// The rows' ids, in order.
    row_ids: Vec<String>,
    invitations: invites::StagedInvitations,
    queue: Rows,
    lines: Rows,
    audit: Rows,
}

/// The rows to write for `accepted` (row id, account).
fn stage(ctx: &Ctx<'_>, accepted: &[(&str, &NewAccount)], now: i64) -> Result<Staged, Failure> {
    let invitations = invites::stage_invitations(
        accepted
            .iter()
            .map(|(_, account)| {
                InvitationRow::for_account(
                    account,
                    "batch",
                    ctx.inviter,
                    ctx.settings.link_secret.new_link(),
                    ctx.settings.invite_expiry_days,
                )
            })
            .collect(),
        // Written once the batch's chunks pause (the maker of its accounts does it; a search
        // does it first if it comes sooner): the chunk's answer does not wait on them.
        invites::Terms::Later,
    );
    let users: Vec<DirectoryUser> = accepted
        .iter()
        .zip(&invitations.ids)
        .map(|((_, account), id)| DirectoryUser::from_account(account, id, false))
        .collect();
    let queue = ctx.provisioning.create_rows(&users)?;
    let mut lines = Rows::new(
        "batch_rows",
        &[
            "batch_id",
            "row_id",
            "invitation_id",
            "email_key",
            "created_at",
        ],
    );
    for ((row_id, account), id) in accepted.iter().zip(&invitations.ids) {
        lines.push([
            Param::from(ctx.key),
            Param::from(*row_id),
            Param::from(id.as_str()),
            Param::from(account.email.key()),
            Param::Int(now),
        ]);
    }
    let whom: Vec<&str> = accepted.iter().map(|(_, a)| a.email.as_str()).collect();
    let audit = audit::rows(ctx.inviter.email().as_str(), "batch_create_account", &whom);
    Ok(Staged {
        row_ids: accepted.iter().map(|(id, _)| id.to_string()).collect(),
        invitations,
        queue,
        lines,
        audit,
    })
}

/// Writes `staged` and gives the invitation ids in order.
async fn store(conn: &mut AnyConnection, staged: Staged) -> Result<Vec<String>, Failure> {
    let ids = staged.invitations.insert(conn).await?;
    staged.queue.insert(conn).await?;
    staged.lines.insert(conn).await?;
    staged.audit.insert(conn).await?;
    Ok(ids)
}

/// What the directory holds of the addresses and usernames of the rows that parse.
async fn ask_directory(
    directory: &dyn Directory,
    parsed: &[Result<NewAccount, Vec<FieldError>>],
) -> Result<Existing, Failure> {
    let accounts = || parsed.iter().filter_map(|p| p.as_ref().ok());
    let keys = distinct(accounts().map(|a| a.email.key()));
    let names = distinct(accounts().filter_map(|a| a.username.as_ref().map(|u| u.to_string())));
    if keys.is_empty() && names.is_empty() {
        return Ok(Existing::default());
    }
    directory
        .existing(&keys, &names)
        .await
        .map_err(Failure::Directory)
}

// ---------------------------------------------------------------------------------------------
// Look-ups in bulk: a query for all the keys (SQLite), or per `IN_LIST` keys (PostgreSQL).

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items.filter(|i| seen.insert(i.clone())).collect()
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

/// The usernames among `names` that an open invitation holds (the directory is asked about
/// accounts).
async fn reserved_usernames(
    conn: &mut AnyConnection,
    names: &[String],
) -> sqlx::Result<HashSet<String>> {
    let sql =
        format!("SELECT username FROM invitations WHERE status IN {OPEN} AND username IN ({{}})");
    let rows: Vec<(String,)> = fetch_in_parts(conn, &sql, &[], names).await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

/// The rows of `row_ids` already invited under batch `key`: row id → (invitation id, email).
async fn invited_rows(
    conn: &mut AnyConnection,
    key: &str,
    row_ids: &[String],
) -> sqlx::Result<HashMap<String, (String, String)>> {
    from_row! {
        struct Invited {
            row_id: String,
            invitation_id: String,
            email: String,
        }
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
