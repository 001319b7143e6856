//! The invitee's side: opening the link from the email, signing up (email invitation) or
//! activating the account created for them. The token is looked up by its hash; it works
//! while the invitation is open and not expired, and only once.

use sqlx::AnyConnection;

use super::clock::now_millis;
use super::db::Db;
use super::directory::{ensure_created, Directory, DirectoryError, DirectoryUser};
use super::links::hash_token;
use super::sql::{from_row, OPEN};
use crate::domain::{Email, FieldError, InvitationStatus, NewAccount, RawAccount};

/// What the link leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInvitation {
    pub id: String,
    pub email: String,
    /// "email" (sign up) or "create" (activate).
    pub invitation_type: String,
    pub seed_required: bool,
    pub reason: String,
    pub account_id: Option<String>,
    /// The hash of the token it was opened with (the link in use now).
    token_hash: String,
    email_key: String,
}

impl OpenInvitation {
    /// The account was made on the invitee's behalf (Create account, batch upload): they
    /// activate it. Otherwise (email invitation) they sign up with their details.
    pub fn activates(&self) -> bool {
        self.invitation_type != "email"
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error("This link is not valid. Check you copied the whole address from the email.")]
    Unknown,
    #[error("This invitation has expired. Ask the person who invited you to send a new one.")]
    Expired,
    #[error("This invitation was withdrawn by the person who sent it. Ask them if you still need a TechPass account.")]
    Revoked,
    #[error("This link has already been used: your TechPass account is active.")]
    Used,
    #[error("This link was replaced by a newer email. Use the link in the latest email about your TechPass account.")]
    Replaced,
    #[error("You already have a TechPass account for this address: sign in to TechPass with it.")]
    HasAccount,
    #[error("Check the highlighted fields")]
    Invalid(Vec<FieldError>),
    #[error("TechPass is not answering at the moment, so your account is not ready yet. Your details are kept: try again in a minute.")]
    Directory(DirectoryError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

from_row! {
    /// An invitation as its link finds it.
    struct LinkRow {
        id: String,
        email: String,
        invitation_type: String,
        seed_required: i64,
        reason: String,
        account_id: Option<String>,
        status: String,
        expires_at: i64,
        email_key: String,
    }
}

async fn find(conn: &mut AnyConnection, token: &str) -> Result<OpenInvitation, SignUpError> {
    let token_hash = hash_token(token.trim());
    let row: Option<LinkRow> = sqlx::query_as(
        "SELECT id, email, invitation_type, seed_required, reason, account_id, status, expires_at, \
         email_key FROM invitations WHERE token_hash = $1",
    )
    .bind(&token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        let replaced: Option<String> =
            sqlx::query_scalar("SELECT invitation_id FROM superseded_tokens WHERE token_hash = $1")
                .bind(&token_hash)
                .fetch_optional(&mut *conn)
                .await?;
        return Err(if replaced.is_some() {
            SignUpError::Replaced
        } else {
            SignUpError::Unknown
        });
    };
    match InvitationStatus::parse(&row.status) {
        Some(InvitationStatus::Revoked) => return Err(SignUpError::Revoked),
        Some(InvitationStatus::Active) => return Err(SignUpError::Used),
        Some(InvitationStatus::Invited | InvitationStatus::Created)
            if row.expires_at > now_millis() => {}
        _ => return Err(SignUpError::Expired),
    }
    Ok(OpenInvitation {
        id: row.id,
        email: row.email,
        invitation_type: row.invitation_type,
        seed_required: row.seed_required != 0,
        reason: row.reason,
        account_id: row.account_id,
        token_hash,
        email_key: row.email_key,
    })
}

pub async fn open(db: &Db, token: &str) -> Result<OpenInvitation, SignUpError> {
    let mut conn = db.pool().acquire().await?;
    find(&mut conn, token).await
}

/// The invitee's own details, as typed on the sign-up page.
#[derive(Debug, Clone, Default)]
pub struct RawSignUp {
    pub first_name: String,
    pub last_name: String,
    pub contact_number: String,
    pub organisation: String,
    pub department: String,
}

/// Takes the invitation for this sign-up or activation, first: it must still be open, on the
/// same link, and unexpired when the write happens. Of a sign-up and a revoke or a Resend at
/// the same moment, or two sign-ups of one link, exactly one changes the row (on PostgreSQL
/// the other waits for the row and then finds it changed); the loser is told why, from the
/// row as it is now.
async fn claim(conn: &mut AnyConnection, invitation: &OpenInvitation) -> Result<(), SignUpError> {
    let now = now_millis();
    let active = InvitationStatus::Active.as_str();
    let claimed = sqlx::query(&format!(
        "UPDATE invitations SET status = '{active}', updated_at = $1 \
         WHERE id = $2 AND token_hash = $3 AND status IN {OPEN} \
         AND expires_at > $1"
    ))
    .bind(now)
    .bind(&invitation.id)
    .bind(&invitation.token_hash)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if claimed == 1 {
        return Ok(());
    }
    from_row! {
        struct Now {
            status: String,
            token_hash: String,
        }
    }
    let now: Option<Now> =
        sqlx::query_as("SELECT status, token_hash FROM invitations WHERE id = $1")
            .bind(&invitation.id)
            .fetch_optional(&mut *conn)
            .await?;
    Err(match now {
        Some(now) if now.token_hash != invitation.token_hash => SignUpError::Replaced,
        Some(now) => match InvitationStatus::parse(&now.status) {
            Some(InvitationStatus::Revoked) => SignUpError::Revoked,
            Some(InvitationStatus::Active) => SignUpError::Used,
            _ => SignUpError::Expired,
        },
        None => SignUpError::Unknown,
    })
}

/// Records the account on the claimed invitation, and the audit record.
async fn finish(
    conn: &mut AnyConnection,
    invitation: &OpenInvitation,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invitations SET account_id = $1 WHERE id = $2")
        .bind(account_id)
        .bind(&invitation.id)
        .execute(&mut *conn)
        .await?;
    super::audit::record(
        &mut *conn,
        &invitation.email,
        "account_active",
        &invitation.id,
    )
    .await?;
    // Other agencies may have invited the same person by email: they wanted them to have a
    // TechPass account, and now they have one, so those invitations are done too (their
    // links then say the account is active).
    let others: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT id FROM invitations WHERE email_key = $1 AND id <> $2 \
         AND status IN {OPEN} AND invitation_type = 'email'"
    ))
    .bind(&invitation.email_key)
    .bind(&invitation.id)
    .fetch_all(&mut *conn)
    .await?;
    for (other,) in others {
        let active = InvitationStatus::Active.as_str();
        sqlx::query(&format!(
            "UPDATE invitations SET status = '{active}', account_id = $1, updated_at = $2 \
             WHERE id = $3 AND status IN {OPEN}"
        ))
        .bind(account_id)
        .bind(now_millis())
        .bind(&other)
        .execute(&mut *conn)
        .await?;
        super::audit::record(&mut *conn, &invitation.email, "account_active", &other).await?;
    }
    Ok(())
}

/// Email invitation: the invitee gives their details and gets an active account. The
/// directory makes the account first (outside any transaction; the invitation's id as its
/// `externalId`, so trying again finds it), then the invitation is claimed.
pub async fn sign_up(
    db: &Db,
    directory: &dyn Directory,
    token: &str,
    details: RawSignUp,
) -> Result<Email, SignUpError> {
    let invitation = open(db, token).await?;
    if invitation.activates() {
        return Err(SignUpError::Unknown);
    }
    let raw = RawAccount {
        email: invitation.email.clone(),
        username: String::new(),
        first_name: details.first_name,
        last_name: details.last_name,
        contact_number: details.contact_number,
        organisation: details.organisation,
        department: details.department,
        seed_required: if invitation.seed_required {
            "yes"
        } else {
            "no"
        }
        .into(),
        reason: invitation.reason.clone(),
    };
    let account = NewAccount::parse(&raw).map_err(SignUpError::Invalid)?;
    let user = DirectoryUser::from_account(&account, &invitation.id, true);
    // Another agency's invitation may have made the account first (an account made for this
    // invitation, by a try whose answer was lost or a second click, is this sign-up's own).
    if find_ours(directory, &user).await?.is_none() {
        let existing = directory
            .existing(std::slice::from_ref(&invitation.email_key), &[])
            .await
            .map_err(SignUpError::Directory)?;
        if existing.emails.contains(&invitation.email_key)
            && find_ours(directory, &user).await?.is_none()
        {
            return Err(SignUpError::HasAccount);
        }
    }
    let created = ensure_created(directory, &user, false)
        .await
        .map_err(|e| match e {
            DirectoryError::Exists(_) => SignUpError::HasAccount,
            e => SignUpError::Directory(e),
        })?;
    let mut tx = db.begin_write().await?;
    if let Err(e) = claim(&mut tx, &invitation).await {
        drop(tx);
        return Err(undo_if_revoked(db, &invitation.id, &created.id, e).await);
    }
    finish(&mut tx, &invitation, &created.id).await?;
    // The names are known now, on every invitation this account answered (other agencies'
    // too): the status list shows, finds and sorts the person by them.
    let answered: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM invitations WHERE account_id = $1")
            .bind(&created.id)
            .fetch_all(&mut *tx)
            .await?;
    for (id,) in answered {
        super::search::reindex(
            &mut tx,
            &id,
            Some(account.first_name.as_str()),
            Some(account.last_name.as_str()),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(account.email)
}

/// The account made for this invitation, if any.
async fn find_ours(
    directory: &dyn Directory,
    user: &DirectoryUser,
) -> Result<Option<super::directory::RemoteUser>, SignUpError> {
    directory
        .find_by_external_id(&user.external_id)
        .await
        .map_err(SignUpError::Directory)
}

/// Create account: the person activates the account made for them. (TechPass itself does
/// this step in production; this page stands in for it, and tells the directory.)
pub async fn activate(
    db: &Db,
    directory: &dyn Directory,
    token: &str,
) -> Result<String, SignUpError> {
    let invitation = open(db, token).await?;
    let Some(account_id) = invitation
        .account_id
        .clone()
        .filter(|_| invitation.activates())
    else {
        return Err(SignUpError::Unknown);
    };
    directory
        .set_active(&account_id, true)
        .await
        .map_err(SignUpError::Directory)?;
    let mut tx = db.begin_write().await?;
    if let Err(e) = claim(&mut tx, &invitation).await {
        drop(tx);
        return Err(undo_if_revoked(db, &invitation.id, &account_id, e).await);
    }
    finish(&mut tx, &invitation, &account_id).await?;
    tx.commit().await?;
    Ok(invitation.email)
}

/// The invitation was revoked while its account was being made or activated in the
/// directory: the account is recorded on it and deactivated by the provisioning queue, so a
/// revoked invitation never leaves an active account behind. Gives back why it failed.
async fn undo_if_revoked(
    db: &Db,
    invitation_id: &str,
    account_id: &str,
    why: SignUpError,
) -> SignUpError {
    if !matches!(why, SignUpError::Revoked) {
        return why;
    }
    let undone = async {
        let mut tx = db.begin_write().await?;
        sqlx::query("UPDATE invitations SET account_id = $1 WHERE id = $2 AND account_id IS NULL")
            .bind(account_id)
            .bind(invitation_id)
            .execute(&mut *tx)
            .await?;
        super::provisioning::enqueue_deactivate_for(&mut tx, invitation_id).await?;
        tx.commit().await
    };
    match undone.await {
        Ok(()) => why,
        Err(e) => SignUpError::Db(e),
    }
}

impl From<SignUpError> for crate::error::AppError {
    fn from(e: SignUpError) -> Self {
        match e {
            SignUpError::Invalid(fields) => crate::error::AppError::Validation { fields },
            SignUpError::Db(e) => super::internal_error(e),
            SignUpError::Directory(DirectoryError::Refused(detail)) => {
                crate::error::AppError::Conflict {
                    message: format!(
                        "TechPass did not accept these details ({detail}). Check them, or ask \
                         the person who invited you"
                    ),
                }
            }
            SignUpError::Directory(DirectoryError::NotFound) => crate::error::AppError::Conflict {
                message: "TechPass has no account for this link any more. Ask the person who \
                          invited you to send a new invitation"
                    .into(),
            },
            other => crate::error::AppError::Conflict {
                message: other.to_string(),
            },
        }
    }
}
