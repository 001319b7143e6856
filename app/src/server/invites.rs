//! Sending an email invitation and creating an account on someone's behalf: one transaction
//! holds the invitation, the email in the outbox (an email invitation's) or the account's
//! place in the provisioning queue (Create account: its email is written with the account,
//! by [`super::provisioning`]), and the audit record, so none exists without the others.
//! The directory is asked about existing accounts before that transaction, never inside it.

use sqlx::AnyConnection;

use super::audit;
use super::clock::now_millis;
use super::db::{Db, WriteTx};
use super::directory::{kind_str, Directory, DirectoryError, DirectoryUser};
use super::links::NewLink;
use super::outbox::{self, OutgoingEmail};
use super::provisioning::Provisioning;
use super::search;
use super::settings::Settings;
use super::sql::{Param, Rows, OPEN};
use crate::domain::{Email, EmailInvite, FieldError, InvitationStatus, NewAccount, Officer};
use crate::format::plural;
use crate::wire::InviteSent;

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// Something about the request clashes with what exists; the message says what.
    #[error("{}", .0.message)]
    Conflict(FieldError),
    /// The officer has sent as many invitations as an hour allows.
    #[error("{0}")]
    Quota(String),
    /// The directory could not be asked whether the person has an account.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What an officer is told when the directory cannot be asked about existing accounts:
/// not answering (try again), or anything else (a Trace ID; the detail is in the log).
pub(crate) fn directory_error(e: DirectoryError) -> crate::error::AppError {
    match e {
        DirectoryError::Unavailable { .. } => {
            tracing::warn!(error = %e, "the directory could not be asked about accounts");
            crate::error::AppError::Conflict {
                message: directory_unavailable(),
            }
        }
        e => super::internal_error(e),
    }
}

/// What an officer is told when the directory cannot be asked about existing accounts.
pub(crate) fn directory_unavailable() -> String {
    "The TechPass directory is not answering, so nothing was sent. Your entries are kept: try \
     again in a minute"
        .to_string()
}

/// The refusal of an address that already has an account (Create account and batch upload).
pub(crate) fn has_account(email: &Email) -> FieldError {
    FieldError::new(
        "email",
        format!("{email} already has a TechPass account, so there is nothing to send"),
    )
}

/// The refusal of an address that already has an open invitation.
pub(crate) fn has_pending_invitation(email: &Email) -> FieldError {
    FieldError::new(
        "email",
        format!("{email} already has a pending invitation. See Invite user status to follow it up"),
    )
}

/// The refusal of a TechPass username that an account or an open invitation already holds.
pub(crate) fn username_is_taken(username: &str) -> FieldError {
    FieldError::new(
        "username",
        format!("The TechPass username {username} is taken. Choose another"),
    )
}

const HOUR_MS: i64 = 3_600_000;

/// How many more invitations `inviter` may send in this hour (`INVITE_QUOTA_PER_HOUR`),
/// counted inside the caller's write transaction and held there: the officer's other
/// invitations wait for it, so the quota holds under concurrency.
pub(crate) async fn quota_left(
    db: &Db,
    conn: &mut AnyConnection,
    settings: &Settings,
    inviter: &Officer,
    now: i64,
) -> Result<i64, sqlx::Error> {
    lock_quota(db, conn, inviter).await?;
    Ok(i64::from(settings.invite_quota_per_hour) - sent_in_the_hour(conn, inviter, now).await?)
}

/// Holds `inviter`'s quota until the transaction on `conn` ends: their other invitations'
/// transactions wait for it.
pub(crate) async fn lock_quota(
    db: &Db,
    conn: &mut AnyConnection,
    inviter: &Officer,
) -> Result<(), sqlx::Error> {
    db.lock_key(conn, &format!("invite:{}", inviter.email().key()))
        .await
}

/// How many invitations `inviter` made in the hour before `now` (this transaction's own
/// included).
pub(crate) async fn sent_in_the_hour(
    conn: &mut AnyConnection,
    inviter: &Officer,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM invitations WHERE inviter_email = $1 AND created_at > $2",
    )
    .bind(inviter.email().as_str())
    .bind(now - HOUR_MS)
    .fetch_one(&mut *conn)
    .await
}

/// What an officer over the hourly quota is told.
pub(crate) fn quota_reached(settings: &Settings) -> String {
    format!(
        "Not sent: you have sent {} in the last hour, the most allowed. Try again in an hour, \
         or ask TechBiz support if your agency needs more",
        plural(
            settings.invite_quota_per_hour as usize,
            "invitation",
            "invitations"
        )
    )
}

/// Refuses an address that the directory has an account for, and a username it holds
/// (asked before the invitation's transaction, never inside it).
pub(crate) async fn ensure_no_account(
    directory: &dyn Directory,
    email: &Email,
    username: Option<&str>,
) -> Result<(), InviteError> {
    let usernames: Vec<String> = username.map(str::to_string).into_iter().collect();
    let existing = directory.existing(&[email.key()], &usernames).await?;
    if existing.emails.contains(&email.key()) {
        return Err(InviteError::Conflict(has_account(email)));
    }
    if let Some(u) = username.filter(|u| existing.usernames.contains(*u)) {
        return Err(InviteError::Conflict(username_is_taken(u)));
    }
    Ok(())
}

/// Refuses an address that has an open invitation from the inviter's agency. Another agency's
/// open invitation is not this officer's to know about: both may invite, and whichever link
/// the person uses first makes the account.
pub(crate) async fn ensure_new(
    conn: &mut AnyConnection,
    email: &Email,
    inviter: &Officer,
) -> Result<(), InviteError> {
    if address_open(conn, inviter.agency(), &email.key()).await? {
        return Err(InviteError::Conflict(has_pending_invitation(email)));
    }
    Ok(())
}

/// Whether `agency` has an open invitation for the address `email_key`.
pub(crate) async fn address_open(
    conn: &mut AnyConnection,
    agency: &str,
    email_key: &str,
) -> Result<bool, sqlx::Error> {
    let open: Option<(String,)> = sqlx::query_as(&format!(
        "SELECT status FROM invitations WHERE email_key = $1 AND inviter_agency = $2 \
         AND status IN {OPEN}"
    ))
    .bind(email_key)
    .bind(agency)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(open.is_some())
}

/// A unique-index violation from a concurrent duplicate becomes the same clear conflict:
/// the username's when the index that refused it keeps a username to one open invitation,
/// else the address's.
pub(crate) fn map_unique(email: &Email, username: Option<&str>, e: sqlx::Error) -> InviteError {
    match (&e, username) {
        (_, Some(username)) if is_username_clash(&e) => {
            InviteError::Conflict(username_is_taken(username))
        }
        (sqlx::Error::Database(d), _) if d.is_unique_violation() => {
            InviteError::Conflict(FieldError::new(
                "email",
                format!("{email} already has a pending invitation or an account"),
            ))
        }
        _ => InviteError::Db(e),
    }
}

/// The unique index that keeps a TechPass username to one open invitation.
const ONE_OPEN_PER_USERNAME: &str = "invitations_one_open_per_username";

/// Whether `e` is the database refusing a second open invitation for one TechPass username
/// ([`ONE_OPEN_PER_USERNAME`]: PostgreSQL names the index, SQLite the column).
pub(crate) fn is_username_clash(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            d.constraint() == Some(ONE_OPEN_PER_USERNAME)
                || d.message().ends_with("invitations.username")
        }
        _ => false,
    }
}

pub(crate) struct InvitationRow<'a> {
    pub email: &'a Email,
    pub invitation_type: &'a str,
    pub inviter: &'a Officer,
    pub reason: &'a str,
    pub seed_required: bool,
    pub account_id: Option<String>,
    pub username: Option<String>,
    pub status: InvitationStatus,
    pub token_hash: String,
    /// The id of the email that will carry the link (its token is made from it), for an
    /// invitation whose email is written once its account exists (see
    /// [`super::provisioning`]); none when the email is queued with the invitation.
    pub mail_id: Option<String>,
    pub expiry_days: u32,
    /// First and last name, when the account is made with the invitation.
    pub names: Option<(&'a str, &'a str)>,
}

impl<'a> InvitationRow<'a> {
    /// The invitation of an account made on the invitee's behalf (Create account, batch):
    /// Provisioning until the directory has the account, with the account's names, username
    /// and SEED answer.
    pub(crate) fn for_account(
        account: &'a NewAccount,
        invitation_type: &'a str,
        inviter: &'a Officer,
        link: NewLink,
        expiry_days: u32,
    ) -> Self {
        InvitationRow {
            email: &account.email,
            invitation_type,
            inviter,
            reason: account.reason.as_str(),
            seed_required: account.seed_required,
            account_id: None,
            username: account.username.as_ref().map(|u| u.as_str().to_string()),
            status: InvitationStatus::Provisioning,
            token_hash: link.token_hash,
            mail_id: Some(link.mail_id),
            expiry_days,
            names: Some((account.first_name.as_str(), account.last_name.as_str())),
        }
    }
}

pub(crate) async fn insert_invitation(
    conn: &mut AnyConnection,
    row: InvitationRow<'_>,
) -> Result<String, InviteError> {
    let email = row.email;
    let username = row.username.clone();
    let mut ids = insert_invitations(conn, vec![row])
        .await
        .map_err(|e| map_unique(email, username.as_deref(), e))?;
    Ok(ids.pop().unwrap_or_default())
}

/// Stores invitations with their search terms, a statement for each table (or two, past the
/// parameters one takes), and gives their new ids in order. A clash with an open invitation
/// or a held username is the database's unique-violation error.
pub(crate) async fn insert_invitations(
    conn: &mut AnyConnection,
    rows: Vec<InvitationRow<'_>>,
) -> sqlx::Result<Vec<String>> {
    stage_invitations(rows, Terms::WithThem).insert(conn).await
}

/// When an invitation's search terms are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Terms {
    /// With the invitation, in its transaction.
    WithThem,
    /// Later ([`search::PENDING`]): a batch chunk's, once the batch's chunks pause.
    Later,
}

/// Invitations and their search terms as rows to insert, with their new ids: made before a
/// transaction where they can be (a batch chunk's rows are, while the chunk before holds
/// the write lock), inserted in it.
pub(crate) struct StagedInvitations {
    pub ids: Vec<String>,
    invitations: Rows,
    /// None when they are written later.
    terms: Option<Rows>,
}

impl StagedInvitations {
    pub(crate) async fn insert(self, conn: &mut AnyConnection) -> sqlx::Result<Vec<String>> {
        self.invitations.insert(conn).await?;
        if let Some(terms) = self.terms {
            terms.insert(conn).await?;
        }
        Ok(self.ids)
    }
}

/// The rows [`insert_invitations`] writes: new ids (in time order), the invitations, their
/// terms (unless they are written later).
pub(crate) fn stage_invitations(rows: Vec<InvitationRow<'_>>, when: Terms) -> StagedInvitations {
    const COLUMNS: &[&str] = &[
        "id",
        "email",
        "email_key",
        "kind",
        "invitation_type",
        "inviter_email",
        "inviter_agency",
        "reason",
        "seed_required",
        "account_id",
        "username",
        "status",
        "token_hash",
        "expires_at",
        "created_at",
        "updated_at",
        "seed_status",
        "sent_at",
        "name_key",
        "terms_version",
        "first_name",
        "last_name",
        "mail_id",
    ];
    let now = now_millis();
    let mut invitations = Rows::new("invitations", COLUMNS);
    let mut ids = Vec::with_capacity(rows.len());
    let mut terms = Vec::with_capacity(rows.len());
    for row in rows {
        // In time order (UUIDv7): a chunk's rows go to the end of every index keyed by the
        // invitation id (its own and the terms', outbox's, queue's and batch lines'), not to
        // a page each all over them.
        let id = uuid::Uuid::now_v7().to_string();
        let expires_at = now + i64::from(row.expiry_days) * 86_400_000;
        let (first, last) = row.names.unzip();
        let seed_status = if row.seed_required {
            "pending"
        } else {
            "not_requested"
        };
        invitations.push([
            Param::from(id.as_str()),
            Param::from(row.email.as_str()),
            Param::from(row.email.key()),
            Param::from(kind_str(row.email.kind())),
            Param::from(row.invitation_type),
            Param::from(row.inviter.email().as_str()),
            Param::from(row.inviter.agency()),
            Param::from(row.reason),
            Param::from(i64::from(row.seed_required)),
            Param::from(row.account_id),
            Param::from(row.username),
            Param::from(row.status.as_str()),
            Param::from(row.token_hash),
            Param::from(expires_at),
            Param::from(now),
            Param::from(now),
            Param::from(seed_status),
            Param::from(now),
            Param::from(search::name_key(first, last)),
            Param::from(match when {
                Terms::WithThem => search::TERMS_VERSION,
                Terms::Later => search::PENDING,
            }),
            Param::from(first.map(str::to_string)),
            Param::from(last.map(str::to_string)),
            Param::from(row.mail_id),
        ]);
        if when == Terms::WithThem {
            terms.push((
                id.clone(),
                row.inviter.agency(),
                search::terms(&row.email.key(), first, last),
            ));
        }
        ids.push(id);
    }
    let terms = (when == Terms::WithThem).then(|| {
        search::term_rows(
            terms
                .iter()
                .map(|(id, agency, terms)| (*agency, id.as_str(), terms.as_slice())),
        )
    });
    StagedInvitations {
        ids,
        invitations,
        terms,
    }
}

/// The link of an invitation email as queued: its token is rendered at send time (see
/// [`super::links`]).
pub fn accept_link(settings: &Settings) -> String {
    format!(
        "{}/invitations/accept?token={}",
        settings.public_url,
        super::links::TOKEN_PLACEHOLDER
    )
}

/// Starts the write of one invitation to `email`: within the inviter's hourly quota, and to
/// someone with no open invitation from the inviter's agency. (The directory was asked about
/// an account before: [`ensure_no_account`].)
async fn begin(
    db: &Db,
    settings: &Settings,
    inviter: &Officer,
    email: &Email,
) -> Result<WriteTx, InviteError> {
    let mut tx = db.begin_write().await?;
    if quota_left(db, &mut tx, settings, inviter, now_millis()).await? <= 0 {
        return Err(InviteError::Quota(quota_reached(settings)));
    }
    ensure_new(&mut tx, email, inviter).await?;
    Ok(tx)
}

/// Email invitation to a public officer.
pub async fn send_invite(
    db: &Db,
    provisioning: &Provisioning,
    settings: &Settings,
    inviter: &Officer,
    invite: &EmailInvite,
) -> Result<InviteSent, InviteError> {
    ensure_no_account(provisioning.directory(), &invite.email, None).await?;
    once_more_on_lock_conflict(|| store_email_invite(db, settings, inviter, invite)).await
}

/// Runs `write` (a transaction) once more if PostgreSQL gave it up to break a deadlock: a
/// batch chunk storing the same address at the same moment takes the officer's quota lock
/// only at its commit (`batch::Locks::Late`), so an invitation holding that lock can wait for
/// the chunk's row while the chunk waits for the lock. Run again, it waits for the chunk and
/// sees what the chunk stored.
async fn once_more_on_lock_conflict<T, W, F>(mut write: W) -> Result<T, InviteError>
where
    W: FnMut() -> F,
    F: std::future::Future<Output = Result<T, InviteError>>,
{
    match write().await {
        Err(InviteError::Db(e)) if Db::is_lock_conflict(&e) => {
            tracing::info!(error = %e, "an invitation gave way to a batch chunk: once more");
            write().await
        }
        other => other,
    }
}

/// The transaction of [`send_invite`].
async fn store_email_invite(
    db: &Db,
    settings: &Settings,
    inviter: &Officer,
    invite: &EmailInvite,
) -> Result<InviteSent, InviteError> {
    let mut tx = begin(db, settings, inviter, &invite.email).await?;
    let link = settings.link_secret.new_link();
    let id = insert_invitation(
        &mut tx,
        InvitationRow {
            email: &invite.email,
            invitation_type: "email",
            inviter,
            reason: invite.reason.as_str(),
            seed_required: invite.seed_required,
            account_id: None,
            username: None,
            status: InvitationStatus::Invited,
            token_hash: link.token_hash,
            mail_id: None,
            expiry_days: settings.invite_expiry_days,
            names: None,
        },
    )
    .await?;
    let mail = OutgoingEmail::invitation(
        &invite.email,
        inviter.email(),
        &accept_link(settings),
        settings.invite_expiry_days,
    );
    let sent = Sent {
        id,
        mail_id: &link.mail_id,
        mail: &mail,
    };
    sent.commit(tx, inviter, "send_invite", &invite.email).await
}

/// Creates a TechPass account on behalf of an officer or a vendor; they activate it from
/// the email, which goes once the directory has the account (the provisioning queue, tried
/// at once here and by the worker after).
pub async fn create_account(
    db: &Db,
    provisioning: &Provisioning,
    settings: &Settings,
    inviter: &Officer,
    account: &NewAccount,
) -> Result<InviteSent, InviteError> {
    let username = account.username.as_ref().map(|u| u.as_str());
    ensure_no_account(provisioning.directory(), &account.email, username).await?;
    let id =
        once_more_on_lock_conflict(|| store_account(db, provisioning, settings, inviter, account))
            .await?;
    provisioning.provision_now(std::slice::from_ref(&id)).await;
    Ok(InviteSent {
        invitation_id: id,
        email: account.email.to_string(),
    })
}

/// The transaction of [`create_account`]: the invitation's id.
async fn store_account(
    db: &Db,
    provisioning: &Provisioning,
    settings: &Settings,
    inviter: &Officer,
    account: &NewAccount,
) -> Result<String, InviteError> {
    let username = account.username.as_ref().map(|u| u.as_str());
    let mut tx = begin(db, settings, inviter, &account.email).await?;
    if let Some(username) = username {
        if username_reserved(&mut tx, username).await? {
            return Err(InviteError::Conflict(username_is_taken(username)));
        }
    }
    let id = insert_invitation(
        &mut tx,
        InvitationRow::for_account(
            account,
            "create",
            inviter,
            settings.link_secret.new_link(),
            settings.invite_expiry_days,
        ),
    )
    .await?;
    provisioning
        .enqueue_create(&mut tx, &DirectoryUser::from_account(account, &id, false))
        .await?;
    audit::record(
        &mut *tx,
        inviter.email().as_str(),
        "create_account",
        account.email.as_str(),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Whether an open invitation already holds `username` (the directory's accounts were asked
/// about before).
pub(crate) async fn username_reserved(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<bool, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as(&format!(
        "SELECT id FROM invitations WHERE username = $1 AND status IN {OPEN}"
    ))
    .bind(username)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// A stored invitation and its email, ready to go.
struct Sent<'a> {
    id: String,
    mail_id: &'a str,
    mail: &'a OutgoingEmail,
}

impl Sent<'_> {
    /// Queues the email, records who did `action` for whom, and commits: the invitation and
    /// its email are stored together or not at all.
    async fn commit(
        self,
        mut tx: WriteTx,
        inviter: &Officer,
        action: &str,
        email: &Email,
    ) -> Result<InviteSent, InviteError> {
        outbox::enqueue_as(&mut tx, self.mail_id, Some(&self.id), self.mail).await?;
        audit::record(&mut *tx, inviter.email().as_str(), action, email.as_str()).await?;
        tx.commit().await?;
        Ok(InviteSent {
            invitation_id: self.id,
            email: email.to_string(),
        })
    }
}

impl From<InviteError> for crate::error::AppError {
    fn from(e: InviteError) -> Self {
        match e {
            InviteError::Conflict(field) => crate::error::AppError::Validation {
                fields: vec![field],
            },
            InviteError::Quota(message) => crate::error::AppError::Conflict { message },
            InviteError::Directory(e) => directory_error(e),
            InviteError::Db(e) => super::internal_error(e),
        }
    }
}
