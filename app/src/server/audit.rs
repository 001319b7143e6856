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

/// Records `action` by `actor` once for each of `details`, in as few statements as the
/// parameters allow.
pub async fn record_many(
    conn: &mut sqlx::AnyConnection,
    actor: &str,
    action: &str,
    details: &[&str],
) -> sqlx::Result<()> {
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
    rows.insert(conn).await
}
