//! The TechPass directory: where accounts live. The built-in one is a table in this app's
//! database (the default); the portal's real identity provider replaces it behind this trait.
//! Operations take the caller's connection so the built-in directory joins the invitation's
//! transaction; an external directory would ignore it.

use async_trait::async_trait;
use sqlx::AnyConnection;

use super::clock::now_millis;
use super::sql::OPEN;
use crate::domain::{NewAccount, UserKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Created on the person's behalf; they have not activated it yet.
    Created,
    Active,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Created => "created",
            AccountStatus::Active => "active",
        }
    }
}

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

#[async_trait]
pub trait Directory: Send + Sync + std::fmt::Debug {
    async fn account_exists(&self, conn: &mut AnyConnection, email_key: &str)
        -> sqlx::Result<bool>;
    async fn username_taken(&self, conn: &mut AnyConnection, username: &str) -> sqlx::Result<bool>;
    /// Creates the account; returns its id.
    async fn create_account(
        &self,
        conn: &mut AnyConnection,
        account: &NewAccount,
        status: AccountStatus,
    ) -> sqlx::Result<String>;
    /// Makes an account created on someone's behalf active.
    async fn activate(&self, conn: &mut AnyConnection, account_id: &str) -> sqlx::Result<()>;
}

/// The built-in directory.
#[derive(Debug, Clone, Default)]
pub struct BuiltInDirectory;

#[async_trait]
impl Directory for BuiltInDirectory {
    async fn account_exists(
        &self,
        conn: &mut AnyConnection,
        email_key: &str,
    ) -> sqlx::Result<bool> {
        let row: Option<(String,)> = sqlx::query_as("SELECT id FROM accounts WHERE email_key = $1")
            .bind(email_key)
            .fetch_optional(conn)
            .await?;
        Ok(row.is_some())
    }

    async fn username_taken(&self, conn: &mut AnyConnection, username: &str) -> sqlx::Result<bool> {
        let row: Option<(String,)> = sqlx::query_as(&format!(
            "SELECT id FROM accounts WHERE username = $1 \
             UNION ALL SELECT id FROM invitations WHERE username = $1 AND status IN {OPEN}"
        ))
        .bind(username)
        .fetch_optional(conn)
        .await?;
        Ok(row.is_some())
    }

    async fn create_account(
        &self,
        conn: &mut AnyConnection,
        a: &NewAccount,
        status: AccountStatus,
    ) -> sqlx::Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_millis();
        sqlx::query(
            "INSERT INTO accounts (id, email, email_key, username, kind, first_name, last_name, \
             contact_number, organisation, department, status, created_at, activated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&id)
        .bind(a.email.as_str())
        .bind(a.email.key())
        .bind(a.username.as_ref().map(|u| u.as_str().to_string()))
        .bind(kind_str(a.kind))
        .bind(a.first_name.as_str())
        .bind(a.last_name.as_str())
        .bind(a.contact_number.as_e164())
        .bind(a.organisation.as_str())
        .bind(a.department.as_ref().map(|d| d.as_str().to_string()))
        .bind(status.as_str())
        .bind(now)
        .bind((status == AccountStatus::Active).then_some(now))
        .execute(conn)
        .await?;
        Ok(id)
    }

    async fn activate(&self, conn: &mut AnyConnection, account_id: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE accounts SET status = 'active', activated_at = $1 WHERE id = $2")
            .bind(now_millis())
            .bind(account_id)
            .execute(conn)
            .await?;
        Ok(())
    }
}
