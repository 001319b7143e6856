//! The audit log: who did what, when. One insert, used inside a transaction (so the record
//! exists exactly when the change does) or on the pool.

use super::clock::now_millis;

pub async fn record<'e, E>(ex: E, actor: &str, action: &str, detail: &str) -> sqlx::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(now_millis())
    .bind(actor)
    .bind(action)
    .bind(detail)
    .execute(ex)
    .await?;
    Ok(())
}
