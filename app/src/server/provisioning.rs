//! The provisioning queue: TechPass accounts are made in the directory after the invitation
//! is committed, never inside its transaction.
//!
//! An invitation that comes with an account (Create account, batch upload) is stored as
//! Provisioning, with a `create` row in `provisioning`, in one transaction; its email is
//! written once the account exists (the invitation keeps the email's id, which its link's
//! token is made from). Then:
//!
//! - the request that stored it tries its own rows at once ([`Provisioning::provision_now`],
//!   within a deadline), so the officer usually sees Created straight away; a batch's chunk
//!   answers once its rows are stored and hands their accounts to this instance's maker
//!   ([`Provisioning::provision_soon`]), which makes them as soon as the batch's chunks
//!   stop arriving, so the officer's upload never waits on the directory;
//! - a worker in every instance ([`Provisioning::run`]) claims whatever is due, with a lease
//!   as the relay does (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so each row is in one hand
//!   at a time and a dead instance's rows come back when the lease runs out.
//!
//! A create is idempotent: the invitation's id is the account's `externalId`, and every
//! retry first looks for it ([`ensure_created`]), so a try whose answer was lost is not made
//! twice.
//! When the account exists, the invitation becomes Created and its email is written to the
//! outbox for the relay, in one transaction; a directory that says the person already has an account (409), or refuses the user
//! (400), ends it as Provisioning failed with the reason, and the email is never sent. An
//! unavailable directory (no answer, 5xx, 429) is tried again with backoff, honouring its
//! `Retry-After`.
//!
//! The worker also refreshes the accounts made on people's behalf from the directory, a few
//! at a time: an account the directory reports active makes its invitation Active.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::AnyConnection;
use tokio_util::sync::CancellationToken;

use super::audit;
use super::clock::now_millis;
use super::db::{Backend, Db};
use super::directory::{ensure_created, Directory, DirectoryError, DirectoryUser, RemoteUser};
use super::outbox::{self, OutgoingEmail};
use super::sql::{from_row, Param, Rows};
use crate::domain::InvitationStatus;

#[derive(Debug, Clone)]
pub struct ProvisioningOptions {
    /// How long a claimed row is this worker's; longer than the directory's timeout.
    pub lease: Duration,
    /// Tries before an unavailable directory fails the row.
    pub max_attempts: i32,
    /// First retry after this; doubling each time, at most ten minutes.
    pub retry_base: Duration,
    /// How long a request waits for its own rows before leaving them to the worker.
    pub inline_deadline: Duration,
    /// Directory calls in flight at once, per worker or request.
    pub concurrency: usize,
    /// How often an account made on someone's behalf is asked about again.
    pub refresh_every: Duration,
}

impl Default for ProvisioningOptions {
    fn default() -> Self {
        ProvisioningOptions {
            lease: Duration::from_secs(60),
            max_attempts: 10,
            retry_base: Duration::from_secs(5),
            inline_deadline: Duration::from_secs(5),
            concurrency: 8,
            refresh_every: Duration::from_secs(60),
        }
    }
}

/// The queue and the directory it feeds.
#[derive(Debug, Clone)]
pub struct Provisioning {
    db: Db,
    directory: Arc<dyn Directory>,
    options: ProvisioningOptions,
    /// The worker's: cancelled when the instance shuts down, after which it claims no row;
    /// the rows under way finish (or their leases run out and another instance takes them).
    /// A request's own rows ([`Provisioning::provision_now`]) are not the worker's: they
    /// finish with the request.
    stop: CancellationToken,
    /// The batches' accounts waiting for a pause in their chunks ([`Provisioning::provision_soon`]).
    soon: Arc<Soon>,
    /// The link of the activation emails, as queued (see [`super::invites::accept_link`]).
    accept_link: Arc<str>,
}

/// The way to this instance's maker of batch accounts: started by the first batch that
/// needs it, and again if it ever ended.
#[derive(Debug, Default)]
struct Soon {
    to_maker: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Vec<String>>>>,
    /// Batch chunks being stored by this instance now ([`Provisioning::storing_chunk`]).
    storing: AtomicUsize,
}

/// Held while a batch's chunk is being stored: the maker does not start while any is (up to
/// [`SOON_AT_MOST`]), so an upload's answers do not share the database with its accounts.
#[derive(Debug)]
pub struct StoringChunk(Arc<Soon>);

impl Drop for StoringChunk {
    fn drop(&mut self) {
        self.0.storing.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The maker waits this long after the latest chunk, with none being stored, for another one
/// before it makes what it holds: the page sends a batch's chunks one straight after another.
const SOON_QUIET: Duration = Duration::from_millis(100);
/// ... but never holds accounts longer than this while chunks keep coming.
const SOON_AT_MOST: Duration = Duration::from_secs(2);

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProvisioningRound {
    pub created: usize,
    pub failed: usize,
    pub retrying: usize,
    pub deactivated: usize,
}

impl ProvisioningRound {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Created => self.created += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Retrying | Outcome::Released => self.retrying += 1,
            Outcome::Deactivated => self.deactivated += 1,
        }
        metrics::counter!("provisioning_outcomes_total", "outcome" => o.name()).increment(1);
    }

    fn total(&self) -> usize {
        self.created + self.failed + self.retrying + self.deactivated
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Created,
    Failed,
    Retrying,
    Released,
    Deactivated,
}

impl Outcome {
    /// The metric's label.
    fn name(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Failed => "failed",
            Outcome::Retrying => "retrying",
            Outcome::Released => "released",
            Outcome::Deactivated => "deactivated",
        }
    }
}

from_row! {
    #[derive(Debug, Clone)]
    struct Claimed {
        id: String,
        invitation_id: String,
        op: String,
        payload: String,
        attempts: i32,
        /// The lease this claim stamped: every write-back is made only while the row still
        /// carries it (a hand whose lease ran out and was taken over writes nothing).
        locked_until: i64,
    }
}

const CREATE: &str = "create";
const DEACTIVATE: &str = "deactivate";

/// Queues the deactivation of the account of a revoked invitation, if it has one that the
/// invitee never activated (in the revoke's transaction).
pub(crate) async fn enqueue_deactivate_for(
    conn: &mut AnyConnection,
    invitation_id: &str,
) -> sqlx::Result<()> {
    let account: Option<Option<String>> =
        sqlx::query_scalar("SELECT account_id FROM invitations WHERE id = $1")
            .bind(invitation_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(Some(account_id)) = account {
        enqueue(conn, invitation_id, DEACTIVATE, &account_id).await?;
    }
    // No account yet: a create not in anyone's hands is called off; one in flight finds
    // the invitation revoked when it is done, and deactivates what it made.
    let now = now_millis();
    sqlx::query(
        "UPDATE provisioning SET status = 'cancelled', done_at = $1 WHERE invitation_id = $2 \
         AND op = 'create' AND status = 'pending' AND locked_until <= $1",
    )
    .bind(now)
    .bind(invitation_id)
    .execute(&mut *conn)
    .await?;
    // Its email, if written, is not sent (unless a relay is sending it right now).
    sqlx::query(
        "UPDATE outbox SET status = 'cancelled' WHERE invitation_id = $1 \
         AND status = 'pending' AND locked_until <= $2",
    )
    .bind(invitation_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends a claimed row as `status`, only while it still carries this claim's lease; false
/// when another hand has taken it over (then nothing is written).
async fn settle(
    conn: &mut AnyConnection,
    row: &Claimed,
    status: &str,
    error: Option<&str>,
) -> sqlx::Result<bool> {
    let settled = sqlx::query(
        "UPDATE provisioning SET status = $1, done_at = $2, locked_until = 0, last_error = $3 \
         WHERE id = $4 AND locked_until = $5",
    )
    .bind(status)
    .bind(now_millis())
    .bind(error)
    .bind(&row.id)
    .bind(row.locked_until)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(settled == 1)
}

/// An account was made for an invitation that was settled meanwhile (no longer
/// Provisioning): if it was revoked, the account is noted and deactivated, never used.
async fn settled_meanwhile(
    conn: &mut AnyConnection,
    invitation_id: &str,
    account_id: &str,
    active: bool,
) -> sqlx::Result<()> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM invitations WHERE id = $1")
        .bind(invitation_id)
        .fetch_optional(&mut *conn)
        .await?;
    if status.as_deref() == Some(InvitationStatus::Revoked.as_str()) {
        sqlx::query("UPDATE invitations SET account_id = $1 WHERE id = $2 AND account_id IS NULL")
            .bind(account_id)
            .bind(invitation_id)
            .execute(&mut *conn)
            .await?;
        if !active {
            enqueue(conn, invitation_id, DEACTIVATE, account_id).await?;
        }
    }
    Ok(())
}

/// What the release of invitations (Provisioning to Created) returns of each: what its
/// activation email is written from.
const RELEASED: &str =
    "id, email, first_name, username, inviter_email, mail_id, expires_at, sent_at";

from_row! {
    struct Released {
        id: String,
        email: String,
        first_name: Option<String>,
        username: Option<String>,
        inviter_email: String,
        mail_id: Option<String>,
        expires_at: i64,
        sent_at: i64,
    }
}

/// Queues an operation, due at once.
async fn enqueue(
    conn: &mut AnyConnection,
    invitation_id: &str,
    op: &str,
    payload: &str,
) -> sqlx::Result<()> {
    enqueue_due(conn, invitation_id, op, payload, now_millis()).await
}

async fn enqueue_due(
    conn: &mut AnyConnection,
    invitation_id: &str,
    op: &str,
    payload: &str,
    due: i64,
) -> sqlx::Result<()> {
    let mut rows = Rows::new("provisioning", QUEUE_COLUMNS);
    push_queued(
        &mut rows,
        invitation_id,
        op,
        payload.to_string(),
        due,
        now_millis(),
    );
    rows.insert(conn).await
}

const QUEUE_COLUMNS: &[&str] = &[
    "id",
    "invitation_id",
    "op",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "locked_until",
    "created_at",
];

/// A new row of the queue: pending, not tried, due at `due`.
fn push_queued(
    rows: &mut Rows,
    invitation_id: &str,
    op: &str,
    payload: String,
    due: i64,
    now: i64,
) {
    rows.push([
        Param::from(uuid::Uuid::now_v7().to_string()),
        Param::from(invitation_id),
        Param::from(op),
        Param::from(payload),
        Param::from("pending"),
        Param::Int(0),
        Param::Int(due),
        Param::Int(0),
        Param::Int(now),
    ]);
}

/// Puts a failed invitation's account back in the queue (Retry on Invite user status), in the
/// caller's transaction. False when it is not Provisioning failed (any more).
pub(crate) async fn retry(conn: &mut AnyConnection, invitation_id: &str) -> sqlx::Result<bool> {
    let now = now_millis();
    let again = sqlx::query(
        "UPDATE invitations SET status = $1, provision_error = NULL, updated_at = $2 \
         WHERE id = $3 AND status = $4",
    )
    .bind(InvitationStatus::Provisioning.as_str())
    .bind(now)
    .bind(invitation_id)
    .bind(InvitationStatus::ProvisioningFailed.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !again {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE provisioning SET status = 'pending', attempts = 0, next_attempt_at = $1, \
         locked_until = 0, last_error = NULL, done_at = NULL \
         WHERE invitation_id = $2 AND op = 'create' AND status = 'failed'",
    )
    .bind(now)
    .bind(invitation_id)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// What the officer reads on Invite user status when the directory would not make the account.
fn failure_reason(e: &DirectoryError, attempts: i32) -> String {
    match e {
        DirectoryError::Exists(_) => "already has a TechPass account".into(),
        DirectoryError::Refused(detail) => format!("the TechPass directory refused it: {detail}"),
        DirectoryError::Unavailable { .. } => {
            format!("the TechPass directory did not answer after {attempts} tries. Retry later")
        }
        DirectoryError::NotFound => "the TechPass directory lost the account. Retry".into(),
    }
}

impl Provisioning {
    /// `accept_link`: the link of the activation emails, as queued
    /// ([`super::invites::accept_link`]).
    pub fn new(
        db: Db,
        directory: Arc<dyn Directory>,
        options: ProvisioningOptions,
        accept_link: String,
    ) -> Self {
        Provisioning {
            db,
            directory,
            options,
            stop: CancellationToken::new(),
            soon: Arc::default(),
            accept_link: accept_link.into(),
        }
    }

    /// Makes the accounts of `invitations` (just committed by a batch's chunk) in the
    /// background, as [`Provisioning::provision_now`] does, once the batch's chunks pause
    /// (no chunk for [`SOON_QUIET`]; at most [`SOON_AT_MOST`] after the first waiting one):
    /// the chunk's answer does not wait on the directory, and the accounts of a whole batch
    /// are made together instead of between its chunks' writes. If the instance stops first,
    /// the rows are the workers' once their request's deadline has passed, as for a request
    /// that died.
    pub fn provision_soon(&self, invitations: Vec<String>) {
        // (No time for requests' rows: they are all the workers'.)
        if invitations.is_empty() || self.options.inline_deadline.is_zero() {
            return;
        }
        // (A poisoned lock only means another chunk panicked while holding it.)
        let mut to_maker = self
            .soon
            .to_maker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let invitations = match to_maker.as_ref() {
            Some(tx) => match tx.send(invitations) {
                Ok(()) => return,
                Err(tokio::sync::mpsc::error::SendError(back)) => back,
            },
            None => invitations,
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        if tx.send(invitations).is_err() {
            return; // (unreachable: `rx` is alive)
        }
        *to_maker = Some(tx);
        tokio::spawn(self.clone().make_soon(rx));
    }

    /// Marks a batch's chunk as being stored until the guard is dropped (see [`StoringChunk`]).
    pub fn storing_chunk(&self) -> StoringChunk {
        self.soon.storing.fetch_add(1, Ordering::SeqCst);
        StoringChunk(self.soon.clone())
    }

    /// The maker: gathers ids until the chunks pause, then makes their accounts and writes
    /// the batch's search terms.
    async fn make_soon(self, mut from_chunks: tokio::sync::mpsc::UnboundedReceiver<Vec<String>>) {
        let mut waiting: Vec<String> = Vec::new();
        loop {
            if waiting.is_empty() {
                match from_chunks.recv().await {
                    Some(ids) => waiting.extend(ids),
                    None => return,
                }
            }
            let first = Instant::now();
            loop {
                let left = SOON_AT_MOST.saturating_sub(first.elapsed());
                if left.is_zero() {
                    break;
                }
                match tokio::time::timeout(SOON_QUIET.min(left), from_chunks.recv()).await {
                    Ok(Some(ids)) => waiting.extend(ids),
                    Ok(None) => break,
                    // Quiet, but a chunk (of this batch or another) is being stored: the
                    // accounts wait for its answer.
                    Err(_) if self.soon.storing.load(Ordering::SeqCst) > 0 => {}
                    Err(_) => break,
                }
            }
            let ids = std::mem::take(&mut waiting);
            self.provision_now(&ids).await;
            // Their chunks stored them without search terms (see `search::PENDING`).
            if let Err(e) = super::search::index_pending(&self.db, None).await {
                tracing::warn!(error = %e, "could not index a batch's invitations for search; a search indexes them first");
            }
        }
    }

    pub fn directory(&self) -> &dyn Directory {
        &*self.directory
    }

    /// Queues the account of `user.external_id`'s invitation (in its transaction). The request
    /// that stores it makes it at once ([`Provisioning::provision_now`]); the worker takes
    /// it only once that request's deadline has passed or it gave the row back, so a test or
    /// an officer sees the request's own outcome, and a request that died is covered.
    pub(crate) async fn enqueue_create(
        &self,
        conn: &mut AnyConnection,
        user: &DirectoryUser,
    ) -> sqlx::Result<()> {
        self.enqueue_creates(conn, std::slice::from_ref(user)).await
    }

    /// Queues the accounts of many invitations as [`Provisioning::enqueue_create`] does, in
    /// as few statements as the parameters allow.
    pub(crate) async fn enqueue_creates(
        &self,
        conn: &mut AnyConnection,
        users: &[DirectoryUser],
    ) -> sqlx::Result<()> {
        self.create_rows(users)?.insert(conn).await
    }

    /// The queue's rows for the accounts of `users`, as [`Provisioning::enqueue_creates`]
    /// writes them, to insert in the invitations' transaction.
    pub(crate) fn create_rows(&self, users: &[DirectoryUser]) -> sqlx::Result<Rows> {
        let now = now_millis();
        let due = now + self.options.inline_deadline.as_millis() as i64;
        let mut rows = Rows::new("provisioning", QUEUE_COLUMNS);
        for user in users {
            let payload =
                serde_json::to_string(user).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            push_queued(&mut rows, &user.external_id, CREATE, payload, due, now);
        }
        Ok(rows)
    }

    fn backoff(&self, attempts: i32, retry_after: Option<Duration>) -> Duration {
        let factor = 2u32.saturating_pow(attempts.clamp(1, 20) as u32 - 1);
        let backoff = self
            .options
            .retry_base
            .saturating_mul(factor)
            .min(Duration::from_secs(600));
        backoff.max(
            retry_after
                .unwrap_or_default()
                .min(Duration::from_secs(3600)),
        )
    }

    /// Claims due rows for one lease: of `invitations` only, or any.
    async fn claim(
        &self,
        invitations: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<Claimed>, sqlx::Error> {
        let now = now_millis();
        let lock = match self.db.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut conn = self.db.pool().acquire().await?;
        let mut params = super::sql::Params::default();
        let lease = params.add((now + self.options.lease.as_millis() as i64).into());
        let at = params.add(now.into());
        let limit = params.add((limit as i64).into());
        // A request takes its own new rows (not tried yet) before they are due for the worker.
        let (only, due) = match invitations {
            Some(ids) => {
                let mut mine = Rows::new("mine", &["mine_id"]);
                for id in ids {
                    mine.push([Param::from(id.as_str())]);
                }
                let mine = mine.source(&conn, &mut params)?;
                (
                    format!("AND invitation_id IN (SELECT mine_id FROM {mine})"),
                    format!("(next_attempt_at <= {at} OR attempts = 0)"),
                )
            }
            None => (String::new(), format!("next_attempt_at <= {at}")),
        };
        let sql = format!(
            "UPDATE provisioning SET locked_until = {lease}, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM provisioning WHERE status = 'pending' \
             AND {due} AND locked_until <= {at} {only} \
             ORDER BY next_attempt_at LIMIT {limit} {lock}) \
             RETURNING id, invitation_id, op, payload, attempts, locked_until"
        );
        params
            .bind_as(sqlx::query_as::<_, Claimed>(&sql).persistent(invitations.is_none()))
            .fetch_all(&mut *conn)
            .await
    }

    /// Makes the accounts of `invitations` (just committed by the caller) now, as far as
    /// the deadline allows; what is left is the worker's.
    pub async fn provision_now(&self, invitations: &[String]) {
        let deadline = Instant::now() + self.options.inline_deadline;
        let mut round = ProvisioningRound::default();
        for part in invitations.chunks(super::sql::IN_LIST) {
            match self.claim(Some(part), part.len()).await {
                Ok(claimed) => {
                    // First tries of creates go to the directory together where it can take
                    // them so; the rest (and whatever that cannot do) row by row.
                    // (None once the deadline has passed: the worker's then, like the rest.)
                    let in_time = Instant::now() < deadline;
                    let (first, rest): (Vec<Claimed>, Vec<Claimed>) = claimed
                        .into_iter()
                        .partition(|c| in_time && c.op == CREATE && c.attempts <= 1);
                    let (outcomes, left) = self.create_together(first).await;
                    for o in outcomes {
                        round.add(o);
                    }
                    for o in self
                        .work(left.into_iter().chain(rest).collect(), Some(deadline))
                        .await
                    {
                        round.add(o);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim the new accounts: the worker will");
                    return;
                }
            }
        }
        tracing::info!(
            created = round.created,
            failed = round.failed,
            left_to_worker = round.retrying,
            "accounts provisioned with the request"
        );
    }

    /// First tries of creates, made together: one look-up of the invitations still waiting,
    /// one call to the directory for all their accounts ([`Directory::create_many`]) and
    /// one transaction that records them (a few statements for all rows). Gives the
    /// outcomes, and the rows left to be done one by one: those whose payload or invitation
    /// needs a closer look, or all of them when the directory cannot make them together or
    /// the record fails (a row's account is then found by its `externalId`, never made
    /// twice).
    async fn create_together(&self, claimed: Vec<Claimed>) -> (Vec<Outcome>, Vec<Claimed>) {
        if claimed.len() < 2 {
            return (Vec::new(), claimed);
        }
        let ids: Vec<String> = claimed.iter().map(|c| c.invitation_id.clone()).collect();
        let waiting: Vec<(String,)> = match self.db.pool().acquire().await {
            Ok(mut conn) => match super::sql::fetch_in_parts(
                &mut conn,
                "SELECT id FROM invitations WHERE status = $1 AND id IN ({})",
                &[InvitationStatus::Provisioning.as_str()],
                &ids,
            )
            .await
            {
                Ok(rows) => rows,
                Err(_) => return (Vec::new(), claimed),
            },
            Err(_) => return (Vec::new(), claimed),
        };
        let waiting: std::collections::HashSet<String> =
            waiting.into_iter().map(|(id,)| id).collect();
        let mut together: Vec<(Claimed, DirectoryUser)> = Vec::new();
        let mut left = Vec::new();
        for c in claimed {
            match serde_json::from_str::<DirectoryUser>(&c.payload) {
                Ok(user) if waiting.contains(&c.invitation_id) => together.push((c, user)),
                _ => left.push(c),
            }
        }
        if together.len() < 2 {
            left.extend(together.into_iter().map(|(c, _)| c));
            return (Vec::new(), left);
        }
        let users: Vec<DirectoryUser> = together.iter().map(|(_, u)| u.clone()).collect();
        let Some(accounts) = self.directory.create_many(&users).await else {
            left.extend(together.into_iter().map(|(c, _)| c));
            return (Vec::new(), left);
        };
        let made: Vec<(Claimed, RemoteUser)> =
            together.into_iter().map(|(c, _)| c).zip(accounts).collect();
        match self.record_created(&made).await {
            Ok(outcomes) => (outcomes, left),
            Err(e) => {
                tracing::warn!(error = %e, rows = made.len(), "could not record the accounts made together: row by row");
                left.extend(made.into_iter().map(|(c, _)| c));
                (Vec::new(), left)
            }
        }
    }

    /// [`Provisioning::created`] for many rows of one claim, in one transaction.
    async fn record_created(
        &self,
        made: &[(Claimed, RemoteUser)],
    ) -> Result<Vec<Outcome>, sqlx::Error> {
        if made.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        let mut outcomes = Vec::with_capacity(made.len());
        // Rows still in this hand (their lease is the one this claim stamped).
        let mut ours: std::collections::HashSet<String> = std::collections::HashSet::new();
        {
            let mut params = super::sql::Params::default();
            let done_at = params.add(now.into());
            let mut leases = Rows::new("leases", &["lease_id", "lease_until"]);
            for (c, _) in made {
                leases.push([Param::from(c.id.as_str()), Param::Int(c.locked_until)]);
            }
            let leases = leases.source(&tx, &mut params)?;
            let sql = format!(
                "UPDATE provisioning SET status = 'done', done_at = {done_at}, locked_until = 0, \
                 last_error = NULL FROM {leases} WHERE provisioning.id = leases.lease_id \
                 AND provisioning.locked_until = leases.lease_until RETURNING provisioning.id"
            );
            let settled: Vec<(String,)> = params
                .bind_as(sqlx::query_as(&sql).persistent(false))
                .fetch_all(&mut *tx)
                .await?;
            ours.extend(settled.into_iter().map(|(id,)| id));
        }
        let settled: Vec<&(Claimed, RemoteUser)> =
            made.iter().filter(|(c, _)| ours.contains(&c.id)).collect();
        // The link's days start when its email goes, not when the row was queued.
        let mut now_made: std::collections::HashSet<String> = std::collections::HashSet::new();
        if !settled.is_empty() {
            let mut params = super::sql::Params::default();
            let status = params.add(InvitationStatus::Created.as_str().into());
            let at = params.add(now.into());
            let waiting = params.add(InvitationStatus::Provisioning.as_str().into());
            let mut accounts = Rows::new("made", &["made_invitation", "made_account"]);
            for (c, account) in &settled {
                accounts.push([
                    Param::from(c.invitation_id.as_str()),
                    Param::from(account.id.as_str()),
                ]);
            }
            let accounts = accounts.source(&tx, &mut params)?;
            let sql = format!(
                "UPDATE invitations SET status = {status}, account_id = made.made_account, \
                 provision_error = NULL, updated_at = {at}, checked_at = {at}, \
                 expires_at = {at} + (expires_at - sent_at), sent_at = {at} \
                 FROM {accounts} WHERE invitations.id = made.made_invitation \
                 AND invitations.status = {waiting} RETURNING {RELEASED}"
            );
            let rows: Vec<Released> = params
                .bind_as(sqlx::query_as(&sql).persistent(false))
                .fetch_all(&mut *tx)
                .await?;
            self.write_emails(&mut tx, &rows).await?;
            now_made.extend(rows.into_iter().map(|r| r.id));
        }
        for (c, account) in made {
            if !ours.contains(&c.id) {
                tracing::warn!(invitation_id = %c.invitation_id, "provisioning lease lost: another worker has the row");
                outcomes.push(Outcome::Retrying);
                continue;
            }
            if !now_made.contains(&c.invitation_id) {
                settled_meanwhile(&mut tx, &c.invitation_id, &account.id, account.active).await?;
            }
            tracing::debug!(invitation_id = %c.invitation_id, account_id = %account.id, "account provisioned");
            outcomes.push(Outcome::Created);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Writes the activation emails of invitations just released (their accounts made), in
    /// the release's transaction. Their links work for as many days as they were given
    /// (the release counts them from now). An invitation stored by older code has no mail
    /// id: its email was written with it, held back (or cancelled, if the directory refused
    /// the account before a Retry), and is released instead; it is its only email, as an
    /// invitation is released once and never after a revoke.
    async fn write_emails(
        &self,
        conn: &mut AnyConnection,
        released: &[Released],
    ) -> sqlx::Result<()> {
        let mut mails = Vec::with_capacity(released.len());
        let mut held = Vec::new();
        for r in released {
            let Some(mail_id) = &r.mail_id else {
                held.push(r.id.as_str());
                continue;
            };
            let days = u32::try_from((r.expires_at - r.sent_at) / 86_400_000).unwrap_or(0);
            let mail = OutgoingEmail::account_created(
                &r.email,
                r.first_name.as_deref().unwrap_or_default(),
                r.username.as_deref(),
                &r.inviter_email,
                &self.accept_link,
                days,
            );
            mails.push((mail_id.clone(), r.id.clone(), mail));
        }
        outbox::enqueue_many(conn, &mails).await?;
        for part in held.chunks(super::sql::IN_LIST) {
            let mut params = super::sql::Params::default();
            let at = params.add(now_millis().into());
            let ids: Vec<String> = part.iter().map(|id| params.add((*id).into())).collect();
            let sql = format!(
                "UPDATE outbox SET status = 'pending', next_attempt_at = {at} \
                 WHERE status IN ('held', 'cancelled') AND invitation_id IN ({})",
                ids.join(", ")
            );
            params.bind(sqlx::query(&sql)).execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Runs `claimed`, `concurrency` at a time; rows not started by `deadline` are released.
    async fn work(&self, claimed: Vec<Claimed>, deadline: Option<Instant>) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(claimed.len());
        let mut rows = claimed.into_iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < self.options.concurrency.max(1) {
                let Some(row) = rows.next() else { break };
                let this = self.clone();
                let late = deadline.is_some_and(|d| Instant::now() >= d);
                running.spawn(async move {
                    let id = row.id.clone();
                    let result = if late {
                        this.release(&row).await.map(|_| Outcome::Released)
                    } else {
                        this.run_row(row).await
                    };
                    result.unwrap_or_else(|e| {
                        // The lease runs out and another round takes it again.
                        tracing::error!(provisioning_id = %id, error = %e, "could not record a provisioning result");
                        Outcome::Retrying
                    })
                });
            }
            match running.join_next().await {
                Some(Ok(outcome)) => outcomes.push(outcome),
                Some(Err(e)) => tracing::error!(error = %e, "a provisioning task failed"),
                None => return outcomes,
            }
        }
    }

    /// Gives a claimed row back untouched (not counted as a try), due for the worker now.
    async fn release(&self, row: &Claimed) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE provisioning SET locked_until = 0, attempts = attempts - 1, \
             next_attempt_at = $1 WHERE id = $2 AND locked_until = $3",
        )
        .bind(now_millis())
        .bind(&row.id)
        .bind(row.locked_until)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn run_row(&self, row: Claimed) -> Result<Outcome, sqlx::Error> {
        match row.op.as_str() {
            CREATE => {
                let user: DirectoryUser = match serde_json::from_str(&row.payload) {
                    Ok(u) => u,
                    Err(e) => {
                        tracing::error!(provisioning_id = %row.id, error = %e, "unreadable queued user");
                        let e =
                            DirectoryError::Refused("the queued account could not be read".into());
                        return self.fail(&row, &e).await;
                    }
                };
                // Revoked (or otherwise settled) since it was queued: nothing to make.
                let status: Option<String> =
                    sqlx::query_scalar("SELECT status FROM invitations WHERE id = $1")
                        .bind(&row.invitation_id)
                        .fetch_optional(self.db.pool())
                        .await?;
                if status.as_deref() != Some(InvitationStatus::Provisioning.as_str()) {
                    self.done_as(&row, "cancelled", None).await?;
                    return Ok(Outcome::Released);
                }
                // `attempts` counts this claim: 1 means no try before it (a try is counted
                // when claimed, so an instance that died mid-try left 1 or more behind).
                match ensure_created(&*self.directory, &user, row.attempts <= 1).await {
                    Ok(account) => self.created(&row, &account.id, account.active).await,
                    Err(e @ DirectoryError::Unavailable { .. })
                        if row.attempts < self.options.max_attempts =>
                    {
                        self.later(&row, &e).await
                    }
                    Err(e) => self.fail(&row, &e).await,
                }
            }
            DEACTIVATE => match self.directory.set_active(&row.payload, false).await {
                Ok(()) | Err(DirectoryError::NotFound) => {
                    self.done(&row, None).await?;
                    tracing::info!(invitation_id = %row.invitation_id, "account deactivated");
                    Ok(Outcome::Deactivated)
                }
                Err(e) if row.attempts < self.options.max_attempts => self.later(&row, &e).await,
                Err(e) => {
                    self.done_as(&row, "failed", Some(&e.to_string())).await?;
                    tracing::error!(invitation_id = %row.invitation_id, error = %e, "account not deactivated");
                    Ok(Outcome::Failed)
                }
            },
            other => {
                let e = DirectoryError::Refused(format!("unknown operation {other}"));
                self.fail(&row, &e).await
            }
        }
    }

    async fn done(&self, row: &Claimed, error: Option<&str>) -> Result<(), sqlx::Error> {
        self.done_as(row, "done", error).await
    }

    async fn done_as(
        &self,
        row: &Claimed,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut conn = self.db.pool().acquire().await?;
        settle(&mut conn, row, status, error).await?;
        Ok(())
    }

    /// The account exists: the invitation is Created and its email goes. If the invitation
    /// was revoked meanwhile, the account is deactivated instead.
    async fn created(
        &self,
        row: &Claimed,
        account_id: &str,
        active: bool,
    ) -> Result<Outcome, sqlx::Error> {
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        // Still this hand's row? (Else whoever took it over records the account, which it
        // finds by externalId.)
        if !settle(&mut tx, row, "done", None).await? {
            tracing::warn!(invitation_id = %row.invitation_id, "provisioning lease lost: another worker has the row");
            return Ok(Outcome::Retrying);
        }
        // The link's days start when its email goes, not when the row was queued.
        let released: Option<Released> = sqlx::query_as(&format!(
            "UPDATE invitations SET status = $1, account_id = $2, provision_error = NULL, \
             updated_at = $3, checked_at = $3, expires_at = $3 + (expires_at - sent_at), \
             sent_at = $3 WHERE id = $4 AND status = $5 RETURNING {RELEASED}"
        ))
        .bind(InvitationStatus::Created.as_str())
        .bind(account_id)
        .bind(now)
        .bind(&row.invitation_id)
        .bind(InvitationStatus::Provisioning.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let made = released.is_some();
        if let Some(released) = released {
            self.write_emails(&mut tx, std::slice::from_ref(&released))
                .await?;
        } else {
            settled_meanwhile(&mut tx, &row.invitation_id, account_id, active).await?;
        }
        tx.commit().await?;
        tracing::info!(invitation_id = %row.invitation_id, account_id, attempts = row.attempts, settled_meanwhile = !made, "account provisioned");
        Ok(Outcome::Created)
    }

    /// Not now: tried again after the backoff (or the directory's Retry-After).
    async fn later(&self, row: &Claimed, e: &DirectoryError) -> Result<Outcome, sqlx::Error> {
        let retry_after = match e {
            DirectoryError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        };
        let next = now_millis() + self.backoff(row.attempts, retry_after).as_millis() as i64;
        sqlx::query(
            "UPDATE provisioning SET next_attempt_at = $1, locked_until = 0, last_error = $2 \
             WHERE id = $3 AND locked_until = $4",
        )
        .bind(next)
        .bind(e.to_string())
        .bind(&row.id)
        .bind(row.locked_until)
        .execute(self.db.pool())
        .await?;
        tracing::warn!(invitation_id = %row.invitation_id, attempts = row.attempts, error = %e, "directory unavailable: provisioning later");
        Ok(Outcome::Retrying)
    }

    /// The directory will not make the account: Provisioning failed, with the reason.
    async fn fail(&self, row: &Claimed, e: &DirectoryError) -> Result<Outcome, sqlx::Error> {
        let now = now_millis();
        let reason = failure_reason(e, row.attempts);
        let mut tx = self.db.begin_write().await?;
        if !settle(&mut tx, row, "failed", Some(&e.to_string())).await? {
            tracing::warn!(invitation_id = %row.invitation_id, "provisioning lease lost: another worker has the row");
            return Ok(Outcome::Retrying);
        }
        sqlx::query(
            "UPDATE invitations SET status = $1, provision_error = $2, updated_at = $3 \
             WHERE id = $4 AND status = $5",
        )
        .bind(InvitationStatus::ProvisioningFailed.as_str())
        .bind(&reason)
        .bind(now)
        .bind(&row.invitation_id)
        .bind(InvitationStatus::Provisioning.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::warn!(invitation_id = %row.invitation_id, error = %e, "account not provisioned");
        Ok(Outcome::Failed)
    }

    /// One round of the worker: claims and runs what is due, at most `limit` rows,
    /// `concurrency` at a time. Each row is claimed when a slot is free to work on it, so its
    /// lease starts when its work does, and one slow answer does not hold up the others.
    pub async fn run_once(&self, limit: usize) -> Result<ProvisioningRound, sqlx::Error> {
        let mut round = ProvisioningRound::default();
        let mut running = tokio::task::JoinSet::new();
        let (mut claimed, mut drained) = (0, false);
        loop {
            while !drained
                && claimed < limit
                && running.len() < self.options.concurrency.max(1)
                && !self.stop.is_cancelled()
            {
                let Some(row) = self.claim(None, 1).await?.pop() else {
                    drained = true;
                    break;
                };
                claimed += 1;
                let this = self.clone();
                running.spawn(async move {
                    let id = row.id.clone();
                    this.run_row(row).await.unwrap_or_else(|e| {
                        // The lease runs out and another round takes it again.
                        tracing::error!(provisioning_id = %id, error = %e, "could not record a provisioning result");
                        Outcome::Retrying
                    })
                });
            }
            match running.join_next().await {
                Some(Ok(outcome)) => round.add(outcome),
                Some(Err(e)) => tracing::error!(error = %e, "a provisioning task failed"),
                None => return Ok(round),
            }
        }
    }

    /// How many accounts wait to be made (due now or later), and how long the oldest one due
    /// now has been due, in milliseconds: for operators' metrics.
    pub async fn depth(&self, now: i64) -> Result<(i64, i64), sqlx::Error> {
        let (pending, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(CASE WHEN next_attempt_at <= $1 THEN next_attempt_at END) \
             FROM provisioning WHERE status = 'pending'",
        )
        .bind(now)
        .fetch_one(self.db.pool())
        .await?;
        Ok((pending, oldest.map_or(0, |t| (now - t).max(0))))
    }

    /// Asks the directory about accounts made on people's behalf that were not asked about
    /// for `refresh_every`; those it reports active make their invitation Active.
    pub async fn refresh_once(&self, limit: usize) -> Result<usize, sqlx::Error> {
        let now = now_millis();
        // The status written out, not bound: only then may the database read the partial
        // index of created invitations (`invitations_created_checked`).
        let due: Vec<(String, String, String)> = sqlx::query_as(&format!(
            "SELECT id, account_id, email FROM invitations WHERE status = '{}' \
             AND account_id IS NOT NULL AND checked_at <= $1 ORDER BY checked_at LIMIT $2",
            InvitationStatus::Created.as_str()
        ))
        .bind(now - self.options.refresh_every.as_millis() as i64)
        .bind(limit as i64)
        .fetch_all(self.db.pool())
        .await?;
        let mut activated = 0;
        for (id, account_id, email) in due {
            let active = match self.directory.get(&account_id).await {
                Ok(found) => found.is_some_and(|a| a.active),
                Err(e) => {
                    tracing::warn!(error = %e, "could not refresh account states");
                    break;
                }
            };
            let mut tx = self.db.begin_write().await?;
            if active {
                let done = sqlx::query(
                    "UPDATE invitations SET status = $1, updated_at = $2, checked_at = $2 \
                     WHERE id = $3 AND status = $4",
                )
                .bind(InvitationStatus::Active.as_str())
                .bind(now)
                .bind(&id)
                .bind(InvitationStatus::Created.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 1 {
                    audit::record(&mut *tx, &email, "account_active", &id).await?;
                    activated += 1;
                }
            } else {
                sqlx::query("UPDATE invitations SET checked_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        if activated > 0 {
            tracing::info!(activated, "accounts the directory reports active");
        }
        Ok(activated)
    }

    /// The worker: runs until `stop` is cancelled (then returns once the rows under way are
    /// done), a round every `interval` (at once again when a round was full).
    pub async fn run(mut self, interval: Duration, stop: CancellationToken) {
        const ROUND: usize = 50;
        self.stop = stop;
        while !self.stop.is_cancelled() {
            let busy = match self.run_once(ROUND).await {
                Ok(r) => {
                    if r.total() > 0 {
                        tracing::info!(
                            created = r.created,
                            failed = r.failed,
                            retrying = r.retrying,
                            deactivated = r.deactivated,
                            "provisioning round"
                        );
                    }
                    r.total() >= ROUND
                }
                Err(e) => {
                    tracing::error!(error = %e, "provisioning round failed");
                    false
                }
            };
            if self.stop.is_cancelled() {
                break;
            }
            if let Err(e) = self.refresh_once(ROUND).await {
                tracing::error!(error = %e, "account refresh round failed");
            }
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = self.stop.cancelled() => {}
                }
            }
        }
        tracing::info!("provisioning worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn officers_read_why_an_account_was_not_made() {
        assert_eq!(
            failure_reason(&DirectoryError::Exists("userName taken".into()), 1),
            "already has a TechPass account"
        );
        assert!(
            failure_reason(&DirectoryError::Refused("phoneNumbers: bad".into()), 1)
                .ends_with("phoneNumbers: bad")
        );
        assert!(failure_reason(&DirectoryError::unavailable("HTTP 503"), 10).contains("10 tries"));
    }
}
