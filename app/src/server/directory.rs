//! The TechPass directory: where accounts live. Two implementations sit behind one trait that
//! knows no database connection: the built-in one (the `accounts` table of this app's own
//! database, the embedded default) and a SCIM 2.0 client ([`super::scim`], `DIRECTORY=scim`).
//!
//! The services never call the directory inside a database transaction: look-ups are made
//! before the transaction that checks and stores, and accounts are created by the
//! provisioning queue ([`super::provisioning`]) after the invitation is committed, so a slow
//! or absent directory never holds a lock, and a retry never makes a second account (the
//! invitation's id is the account's `externalId`).

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::clock::now_millis;
use super::db::Db;
use super::sql::{fetch_in_parts, from_row, Param, Rows};

/// The columns the built-in directory writes for a new account.
const ACCOUNT_COLUMNS: &[&str] = &[
    "id",
    "email",
    "email_key",
    "username",
    "kind",
    "first_name",
    "last_name",
    "contact_number",
    "organisation",
    "department",
    "status",
    "created_at",
    "activated_at",
    "external_id",
];
use crate::domain::{NewAccount, UserKind};

pub fn kind_str(kind: UserKind) -> &'static str {
    match kind {
        UserKind::PublicOfficer => "officer",
        UserKind::Vendor => "vendor",
    }
}

/// The kind stored by [`kind_str`], read back (anything but "vendor" is a public officer).
pub fn kind_from_str(stored: &str) -> UserKind {
    if stored == kind_str(UserKind::Vendor) {
        UserKind::Vendor
    } else {
        UserKind::PublicOfficer
    }
}

/// A user as the directory is given it: the SCIM core User with the enterprise extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    /// The invitation's id: how a retry finds the account it may already have made.
    pub external_id: String,
    /// The TechPass username: a vendor's own choice, an officer's address.
    pub user_name: String,
    pub email: String,
    pub kind: UserKind,
    pub given_name: String,
    pub family_name: String,
    /// E.164.
    pub phone: String,
    pub organisation: String,
    pub department: Option<String>,
    /// False for an account made on someone's behalf until they activate it.
    pub active: bool,
}

impl DirectoryUser {
    /// The user of an account made for `account` by the invitation `invitation_id`.
    pub fn from_account(account: &NewAccount, invitation_id: &str, active: bool) -> Self {
        DirectoryUser {
            external_id: invitation_id.to_string(),
            user_name: user_name(account),
            email: account.email.to_string(),
            kind: account.email.kind(),
            given_name: account.first_name.as_str().to_string(),
            family_name: account.last_name.as_str().to_string(),
            phone: account.contact_number.as_e164().to_string(),
            organisation: account.organisation.as_str().to_string(),
            department: account.department.as_ref().map(|d| d.as_str().to_string()),
            active,
        }
    }
}

/// The TechPass username an account gets: a vendor's chosen one, an officer's address (in
/// lower case, so one officer has one username however the address was typed).
pub fn user_name(account: &NewAccount) -> String {
    match &account.username {
        Some(u) => u.as_str().to_string(),
        None => account.email.key(),
    }
}

/// An account as the directory holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUser {
    /// The directory's id of the account.
    pub id: String,
    pub external_id: Option<String>,
    pub active: bool,
}

/// What the directory already holds of the addresses and usernames asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Existing {
    /// Email keys (lower case) that have an account.
    pub emails: HashSet<String>,
    /// Usernames (lower case) that an account holds.
    pub usernames: HashSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Worth trying again: the directory did not answer, answered 5xx or 429, or timed out.
    #[error("the TechPass directory is unavailable: {detail}")]
    Unavailable {
        detail: String,
        /// The directory's `Retry-After`, when it gave one.
        retry_after: Option<Duration>,
    },
    /// An account already holds this username or address (SCIM 409 `uniqueness`).
    #[error("already has a TechPass account ({0})")]
    Exists(String),
    /// The directory refused the request (SCIM 400 and the like); its detail.
    #[error("the TechPass directory refused the account: {0}")]
    Refused(String),
    /// The account asked about is not there (SCIM 404).
    #[error("the TechPass directory has no such account")]
    NotFound,
}

impl DirectoryError {
    pub fn unavailable(detail: impl Into<String>) -> Self {
        DirectoryError::Unavailable {
            detail: detail.into(),
            retry_after: None,
        }
    }
}

impl From<sqlx::Error> for DirectoryError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                DirectoryError::Exists(d.message().to_string())
            }
            _ => DirectoryError::unavailable(e.to_string()),
        }
    }
}

#[async_trait]
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// Which of `email_keys` have an account and which of `usernames` are taken: a few round
    /// trips for a whole chunk of a list, not one per row.
    async fn existing(
        &self,
        email_keys: &[String],
        usernames: &[String],
    ) -> Result<Existing, DirectoryError>;
    /// Creates the account. An account that already holds the username (or, in the
    /// built-in directory, the address) is [`DirectoryError::Exists`].
    async fn create(&self, user: &DirectoryUser) -> Result<RemoteUser, DirectoryError>;
    /// Creates all these accounts together (first tries: none of them can exist yet), all
    /// or nothing: `None` when the directory cannot (the default) or any of them fails, and
    /// the caller makes them one by one ([`ensure_created`]) to learn each one's outcome.
    async fn create_many(&self, users: &[DirectoryUser]) -> Option<Vec<RemoteUser>> {
        let _ = users;
        None
    }
    /// The account made for `external_id` (an invitation's id), if there is one.
    async fn find_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<RemoteUser>, DirectoryError>;
    /// The account `id` as it is now; `None` once it is gone.
    async fn get(&self, id: &str) -> Result<Option<RemoteUser>, DirectoryError>;
    /// Makes the account active (the invitee activated it) or not (its invitation was
    /// revoked before it was used).
    async fn set_active(&self, id: &str, active: bool) -> Result<(), DirectoryError>;
}

/// Creates `user` unless the directory already has the account made for its `externalId`
/// (an earlier try whose answer was lost): the one way the app creates accounts, so a retry
/// never makes a second one. `first_try`: no earlier try can have reached the directory, so
/// it is not asked first (half the requests of a large list); a 409 is still checked.
pub async fn ensure_created(
    directory: &dyn Directory,
    user: &DirectoryUser,
    first_try: bool,
) -> Result<RemoteUser, DirectoryError> {
    if !first_try {
        if let Some(found) = directory.find_by_external_id(&user.external_id).await? {
            return Ok(found);
        }
    }
    match directory.create(user).await {
        Ok(created) => Ok(created),
        // Made between the look-up and the create (a lost answer of a concurrent try)?
        Err(DirectoryError::Exists(detail)) => {
            match directory.find_by_external_id(&user.external_id).await? {
                Some(found) => Ok(found),
                None => Err(DirectoryError::Exists(detail)),
            }
        }
        Err(e) => Err(e),
    }
}

/// The built-in directory: the `accounts` table, on its own connections.
#[derive(Debug, Clone)]
pub struct BuiltInDirectory {
    db: Db,
}

impl BuiltInDirectory {
    pub fn new(db: Db) -> Self {
        BuiltInDirectory { db }
    }
}

from_row! {
    struct AccountRow {
        id: String,
        external_id: Option<String>,
        status: String,
    }
}

impl From<AccountRow> for RemoteUser {
    fn from(a: AccountRow) -> Self {
        RemoteUser {
            id: a.id,
            external_id: a.external_id,
            active: a.status == "active",
        }
    }
}

#[async_trait]
impl Directory for BuiltInDirectory {
    async fn existing(
        &self,
        email_keys: &[String],
        usernames: &[String],
    ) -> Result<Existing, DirectoryError> {
        let mut conn = self.db.pool().acquire().await?;
        let emails: Vec<(String,)> = fetch_in_parts(
            &mut conn,
            "SELECT email_key FROM accounts WHERE email_key IN ({})",
            &[],
            email_keys,
        )
        .await?;
        let names: Vec<(String,)> = fetch_in_parts(
            &mut conn,
            "SELECT username FROM accounts WHERE username IN ({})",
            &[],
            usernames,
        )
        .await?;
        Ok(Existing {
            emails: emails.into_iter().map(|(k,)| k).collect(),
            usernames: names.into_iter().map(|(u,)| u).collect(),
        })
    }

    async fn create(&self, u: &DirectoryUser) -> Result<RemoteUser, DirectoryError> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_millis();
        let status = if u.active { "active" } else { "created" };
        sqlx::query(
            "INSERT INTO accounts (id, email, email_key, username, kind, first_name, last_name, \
             contact_number, organisation, department, status, created_at, activated_at, \
             external_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(&u.email)
        .bind(u.email.to_lowercase())
        .bind((u.kind == UserKind::Vendor).then(|| u.user_name.clone()))
        .bind(kind_str(u.kind))
        .bind(&u.given_name)
        .bind(&u.family_name)
        .bind(&u.phone)
        .bind(&u.organisation)
        .bind(&u.department)
        .bind(status)
        .bind(now)
        .bind(u.active.then_some(now))
        .bind(&u.external_id)
        .execute(self.db.pool())
        .await?;
        Ok(RemoteUser {
            id,
            external_id: Some(u.external_id.clone()),
            active: u.active,
        })
    }

    async fn create_many(&self, users: &[DirectoryUser]) -> Option<Vec<RemoteUser>> {
        let now = now_millis();
        let mut rows = Rows::new("accounts", ACCOUNT_COLUMNS);
        let mut made = Vec::with_capacity(users.len());
        for u in users {
            let id = uuid::Uuid::new_v4().to_string();
            let status = if u.active { "active" } else { "created" };
            rows.push([
                Param::from(id.as_str()),
                u.email.as_str().into(),
                u.email.to_lowercase().into(),
                (u.kind == UserKind::Vendor)
                    .then(|| u.user_name.clone())
                    .into(),
                kind_str(u.kind).into(),
                u.given_name.as_str().into(),
                u.family_name.as_str().into(),
                u.phone.as_str().into(),
                u.organisation.as_str().into(),
                u.department.clone().into(),
                status.into(),
                now.into(),
                u.active.then_some(now).map_or(Param::NoInt, Param::Int),
                u.external_id.as_str().into(),
            ]);
            made.push(RemoteUser {
                id,
                external_id: Some(u.external_id.clone()),
                active: u.active,
            });
        }
        let mut tx = self.db.begin_write().await.ok()?;
        // An address or username already taken fails the whole statement: the caller then
        // goes row by row and learns which.
        rows.insert(&mut tx).await.ok()?;
        tx.commit().await.ok()?;
        Some(made)
    }

    async fn find_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<RemoteUser>, DirectoryError> {
        let row: Option<AccountRow> =
            sqlx::query_as("SELECT id, external_id, status FROM accounts WHERE external_id = $1")
                .bind(external_id)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(Into::into))
    }

    async fn get(&self, id: &str) -> Result<Option<RemoteUser>, DirectoryError> {
        let row: Option<AccountRow> =
            sqlx::query_as("SELECT id, external_id, status FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(Into::into))
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<(), DirectoryError> {
        let (status, at) = if active {
            ("active", Some(now_millis()))
        } else {
            ("inactive", None)
        };
        sqlx::query("UPDATE accounts SET status = $1, activated_at = $2 WHERE id = $3")
            .bind(status)
            .bind(at)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}
