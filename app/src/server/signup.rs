//! The invitee's side: opening the link from the email, signing up (email invitation) or
//! activating the account created for them. The token is looked up by its hash; it works
//! while the invitation is open and not expired, and only once.

use sqlx::AnyConnection;

use super::db::{now_millis, Db};
use super::directory::{AccountStatus, Directory};
use super::invites::hash_token;
use crate::domain::{Email, FieldError, NewAccount, RawAccount};

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
    #[error("Check the highlighted fields")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

type Row = (
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    i64,
);

async fn find(conn: &mut AnyConnection, token: &str) -> Result<OpenInvitation, SignUpError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, email, invitation_type, seed_required, reason, account_id, status, expires_at \
         FROM invitations WHERE token_hash = $1",
    )
    .bind(hash_token(token.trim()))
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, email, invitation_type, seed_required, reason, account_id, status, expires_at)) =
        row
    else {
        let replaced: Option<String> =
            sqlx::query_scalar("SELECT invitation_id FROM superseded_tokens WHERE token_hash = $1")
                .bind(hash_token(token.trim()))
                .fetch_optional(&mut *conn)
                .await?;
        return Err(if replaced.is_some() {
            SignUpError::Replaced
        } else {
            SignUpError::Unknown
        });
    };
    match status.as_str() {
        "revoked" => return Err(SignUpError::Revoked),
        "active" => return Err(SignUpError::Used),
        "expired" => return Err(SignUpError::Expired),
        _ if expires_at <= now_millis() => return Err(SignUpError::Expired),
        _ => {}
    }
    Ok(OpenInvitation {
        id,
        email,
        invitation_type,
        seed_required: seed_required != 0,
        reason,
        account_id,
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

async fn finish(
    conn: &mut AnyConnection,
    invitation: &OpenInvitation,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    let now = now_millis();
    sqlx::query(
        "UPDATE invitations SET status = 'active', account_id = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(account_id)
    .bind(now)
    .bind(&invitation.id)
    .execute(&mut *conn)
    .await?;
    super::audit::record(conn, &invitation.email, "account_active", &invitation.id).await?;
    Ok(())
}

/// Email invitation: the invitee gives their details and gets an active account.
pub async fn sign_up(
    db: &Db,
    directory: &dyn Directory,
    token: &str,
    details: RawSignUp,
) -> Result<Email, SignUpError> {
    let mut tx = db.begin_write().await?;
    let invitation = find(&mut tx, token).await?;
    if invitation.invitation_type != "email" {
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
    let account_id = directory
        .create_account(&mut tx, &account, AccountStatus::Active)
        .await?;
    finish(&mut tx, &invitation, &account_id).await?;
    // The names are known now: the status list finds and sorts the person by them.
    super::search::reindex(
        &mut tx,
        &invitation.id,
        Some(account.first_name.as_str()),
        Some(account.last_name.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(account.email)
}

/// Create account: the person activates the account made for them.
pub async fn activate(
    db: &Db,
    directory: &dyn Directory,
    token: &str,
) -> Result<String, SignUpError> {
    let mut tx = db.begin_write().await?;
    let invitation = find(&mut tx, token).await?;
    let Some(account_id) = invitation.account_id.clone() else {
        return Err(SignUpError::Unknown);
    };
    directory.activate(&mut tx, &account_id).await?;
    finish(&mut tx, &invitation, &account_id).await?;
    tx.commit().await?;
    Ok(invitation.email)
}

impl From<SignUpError> for crate::AppError {
    fn from(e: SignUpError) -> Self {
        match e {
            SignUpError::Invalid(fields) => crate::AppError::Validation { fields },
            SignUpError::Db(e) => super::internal_error(e),
            other => crate::AppError::Conflict {
                message: other.to_string(),
            },
        }
    }
}
