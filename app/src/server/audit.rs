//! The audit log: who did what, when. One insert, used inside a transaction (so the record
//! exists exactly when the change does) or on the pool.

use super::clock::now_millis;
use super::sql::{Param, Rows};

pub async fn record<'e, E>(ex: E, actor: &str, action: &str, detail: &str) -> sqlx::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(now_millis())
    .bind(actor)
    .bind(action)
    .bind(detail)
    .execute(ex)
    .await?;
    Ok(())
}

/// The records of `action` by `actor`, one for each of `details`, to insert together (in
/// as few statements as the parameters allow) inside the change's transaction.
pub(crate) fn rows(actor: &str, action: &str, details: &[&str]) -> Rows {
    let now = now_millis();
    let mut rows = Rows::new("audit_log", &["id", "at", "actor", "action", "detail"]);
    for detail in details {
        rows.push([
            Param::from(uuid::Uuid::now_v7().to_string()),
            Param::Int(now),
            Param::from(actor),
            Param::from(action),
            Param::from(*detail),
        ]);
    }
    rows
}
