//! tower-sessions store on our own pool, so sessions live in the same database (SQLite or
//! PostgreSQL) with the same code. tower-sessions-sqlx-store has one store per driver and
//! none for sqlx's `Any` pool, which is why this small adapter exists. A session signed in
//! through the identity provider is stored with the provider's subject and session ID beside
//! it, which is how a back-channel logout finds it ([`DbSessionStore::end_provider_sessions`]).

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::auth::{SessionUser, USER_KEY};
use super::db::Db;
use super::sql::from_row;

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        DbSessionStore { db }
    }

    /// Deletes sessions whose expiry has passed; returns how many went.
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Ends the sessions the identity provider signed out: the one with its session ID `sid`,
    /// or, when it names none, every session of `subject`. Returns how many ended.
    pub async fn end_provider_sessions(
        &self,
        subject: &str,
        sid: Option<&str>,
    ) -> Result<u64, sqlx::Error> {
        let done = match sid {
            Some(sid) => {
                sqlx::query("DELETE FROM sessions WHERE subject = $1 AND provider_sid = $2")
                    .bind(subject)
                    .bind(sid)
                    .execute(self.db.pool())
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM sessions WHERE subject = $1")
                    .bind(subject)
                    .execute(self.db.pool())
                    .await?
            }
        };
        Ok(done.rows_affected())
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

/// The identity provider's subject and session ID of the signed-in user, if any.
fn provider_keys(record: &Record) -> (Option<String>, Option<String>) {
    let provider = record
        .data
        .get(USER_KEY)
        .and_then(|u| serde_json::from_value::<SessionUser>(u.clone()).ok())
        .and_then(|u| u.provider);
    match provider {
        Some(p) => (Some(p.subject), p.sid),
        None => (None, None),
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let (subject, sid) = provider_keys(record);
        loop {
            let done = sqlx::query(
                "INSERT INTO sessions (id, data, expires_at, subject, provider_sid) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(&data)
            .bind(record.expiry_date.unix_timestamp())
            .bind(&subject)
            .bind(&sid)
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            // An ID collision (vanishingly rare): pick another.
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (subject, sid) = provider_keys(record);
        sqlx::query(
            "INSERT INTO sessions (id, data, expires_at, subject, provider_sid) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, \
             expires_at = excluded.expires_at, subject = excluded.subject, \
             provider_sid = excluded.provider_sid",
        )
        .bind(record.id.to_string())
        .bind(encode(record)?)
        .bind(record.expiry_date.unix_timestamp())
        .bind(&subject)
        .bind(&sid)
        .execute(self.db.pool())
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        from_row! {
            struct Stored {
                data: String,
                expires_at: i64,
            }
        }
        let row: Option<Stored> = sqlx::query_as(
            "SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(id.to_string())
        .bind(time::OffsetDateTime::now_utc().unix_timestamp())
        .fetch_optional(self.db.pool())
        .await
        .map_err(backend)?;
        let Some(Stored { data, expires_at }) = row else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}
