//! The relay: sends what the outbox holds, records sent / failed, retries with backoff.
//!
//! Several server instances may share one PostgreSQL. A relay claims one due message at a
//! time (`FOR UPDATE SKIP LOCKED`) and stamps a lease (`locked_until`) on it just before
//! sending it, so a message is in one relay's hands at a time, however slow the SMTP server,
//! and a relay that dies mid-send gives it back when the lease runs out. The lease is longer
//! than the SMTP timeout, so it cannot run out while the send is still waiting. (SQLite has
//! one writer at a time, so its claiming UPDATE is atomic without the clause.)
//!
//! The one window left: a relay that dies after the SMTP server accepted a message and before
//! the row is marked sent sends it again once the lease runs out (at least once, not exactly
//! once). Every message carries a Message-ID made from its outbox id, so the second copy has
//! the same Message-ID as the first and mail systems can tell it is the same message.
//!
//! Links are rendered here, at send time (see [`super::links`]): the outbox holds none.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio_util::sync::CancellationToken;

use super::clock::now_millis;
use super::db::{Backend, Db};
use super::links::LinkSecret;
use super::outbox::OutgoingEmail;
use super::sql::from_row;
use crate::wire::DevMail;

#[async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Delivers one message; `id` is the outbox id (stable across retries).
    async fn send(&self, id: &str, mail: &OutgoingEmail) -> Result<(), String>;
}

/// SMTP through lettre (`SMTP_URL`: `smtp://host:port` plain, `smtp://…?tls=required`
/// for STARTTLS, `smtps://…` for TLS).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from)
            .finish()
    }
}

impl SmtpMailer {
    /// `timeout`: the most one send may take (the relay's lease must be longer).
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<SmtpMailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL is not usable: {e}"))?
            .timeout(Some(timeout))
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("SMTP_FROM is not an address: {e}"))?;
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, id: &str, mail: &OutgoingEmail) -> Result<(), String> {
        // Errors are logged: they name no recipient (the outbox id says who).
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| format!("the recipient's address is not usable: {e}"))?;
        let domain = self.from.email.domain().to_string();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .message_id(Some(format!("<{id}@{domain}>")))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|e| format!("could not build the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| redact(&e.to_string(), &mail.to))
    }
}

/// An SMTP error with the recipient's address taken out (servers often quote it back).
fn redact(error: &str, recipient: &str) -> String {
    if recipient.is_empty() {
        return error.to_string();
    }
    let lower = error.to_lowercase();
    let needle = recipient.to_lowercase();
    let mut out = String::with_capacity(error.len());
    let mut rest = 0;
    for (at, _) in lower.match_indices(&needle) {
        out.push_str(&error[rest..at]);
        out.push_str("<recipient>");
        rest = at + needle.len();
    }
    out.push_str(&error[rest..]);
    out
}

/// Development: mail is kept in a table and shown on the development mailbox page.
#[derive(Debug, Clone)]
pub struct DevMailbox {
    db: Db,
}

impl DevMailbox {
    pub fn new(db: Db) -> Self {
        DevMailbox { db }
    }

    /// The latest hundred messages, newest first, each with the first link in its text.
    pub async fn latest(db: &Db) -> Result<Vec<DevMail>, sqlx::Error> {
        from_row! {
            struct Kept {
                recipient: String,
                subject: String,
                body_text: String,
            }
        }
        let kept: Vec<Kept> = sqlx::query_as(
            "SELECT recipient, subject, body_text FROM dev_mailbox \
             ORDER BY created_at DESC LIMIT 100",
        )
        .fetch_all(db.pool())
        .await?;
        Ok(kept
            .into_iter()
            .map(|m| DevMail {
                link: m
                    .body_text
                    .split_whitespace()
                    .find(|w| w.starts_with("http://") || w.starts_with("https://"))
                    .map(str::to_string),
                to: m.recipient,
                subject: m.subject,
                text: m.body_text,
            })
            .collect())
    }
}

#[async_trait]
impl Mailer for DevMailbox {
    async fn send(&self, id: &str, mail: &OutgoingEmail) -> Result<(), String> {
        sqlx::query(
            "INSERT INTO dev_mailbox (id, recipient, subject, body_text, body_html, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(&mail.to)
        .bind(&mail.subject)
        .bind(&mail.text)
        .bind(&mail.html)
        .bind(now_millis())
        .execute(self.db.pool())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// The most messages one round sends (each claimed on its own).
    pub batch: i64,
    /// How long a claimed message is this relay's; longer than the SMTP timeout (20 s).
    pub lease: Duration,
    pub max_attempts: i32,
    /// First retry after this; doubling each time, at most an hour.
    pub retry_base: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        RelayOptions {
            batch: 20,
            lease: Duration::from_secs(120),
            max_attempts: 8,
            retry_base: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Relay {
    db: Db,
    mailer: Arc<dyn Mailer>,
    options: RelayOptions,
    links: LinkSecret,
    /// When set, each round also queues the reminders that are due.
    reminders: Option<Arc<super::settings::Settings>>,
    /// Cancelled when the instance shuts down: no message is claimed after it; a send under
    /// way finishes (or its lease runs out and another instance sends it).
    stop: CancellationToken,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayRound {
    pub sent: usize,
    pub failed: usize,
}

from_row! {
    /// An outbox message claimed for one lease.
    struct Claimed {
        id: String,
        recipient: String,
        subject: String,
        body_text: String,
        body_html: String,
        attempts: i32,
    }
}

impl Relay {
    pub fn new(db: Db, mailer: Arc<dyn Mailer>, options: RelayOptions, links: LinkSecret) -> Relay {
        Relay {
            db,
            mailer,
            options,
            links,
            reminders: None,
            stop: CancellationToken::new(),
        }
    }

    /// Also sends reminders, on `settings.reminder_days`.
    pub fn with_reminders(mut self, settings: Arc<super::settings::Settings>) -> Relay {
        self.reminders = Some(settings);
        self
    }

    pub fn backoff(&self, attempts: i32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.clamp(1, 20) as u32 - 1);
        self.options
            .retry_base
            .saturating_mul(factor)
            .min(Duration::from_secs(3600))
    }

    /// Claims the next due message, for one lease.
    async fn claim(&self, conn: &mut sqlx::AnyConnection) -> Result<Option<Claimed>, sqlx::Error> {
        let now = now_millis();
        let lock = match self.db.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
             AND locked_until <= $2 ORDER BY next_attempt_at LIMIT 1 {lock}) \
             RETURNING id, recipient, subject, body_text, body_html, attempts"
        );
        sqlx::query_as(&sql)
            .bind(now + self.options.lease.as_millis() as i64)
            .bind(now)
            .fetch_optional(conn)
            .await
    }

    /// Records on the invitation (for Invite user status) what became of its email.
    async fn mark_delivery(
        conn: &mut sqlx::AnyConnection,
        outbox_id: &str,
        delivery: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE invitations SET delivery = $1, updated_at = $2 \
             WHERE id = (SELECT invitation_id FROM outbox WHERE id = $3)",
        )
        .bind(delivery)
        .bind(now_millis())
        .bind(outbox_id)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Sends what is due now; returns what happened.
    pub async fn run_once(&self) -> Result<RelayRound, sqlx::Error> {
        let mut round = RelayRound::default();
        for _ in 0..self.options.batch {
            if self.stop.is_cancelled() {
                break;
            }
            // The connection that records the send is taken before the claim: a message is
            // never claimed (and so held for the lease) by a relay that then cannot record
            // what became of it. And between the mail server's acceptance and the record, an
            // instance killed sends the message again (at least once), so that window is one
            // statement, with no wait for the pool.
            let mut conn = self.db.pool().acquire().await?;
            let Some(Claimed {
                id,
                recipient,
                subject,
                body_text,
                body_html,
                attempts,
            }) = self.claim(&mut conn).await?
            else {
                break;
            };
            let mail = OutgoingEmail {
                to: recipient,
                subject,
                text: self.links.render(&id, &body_text),
                html: self.links.render(&id, &body_html),
            };
            match self.mailer.send(&id, &mail).await {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE outbox SET status = 'sent', sent_at = $1, locked_until = 0, \
                         last_error = NULL WHERE id = $2",
                    )
                    .bind(now_millis())
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
                    Self::mark_delivery(&mut conn, &id, "sent").await?;
                    tracing::info!(outbox_id = %id, "email sent");
                    metrics::counter!("emails_sent_total").increment(1);
                    round.sent += 1;
                }
                Err(error) => {
                    let error = redact(&error, &mail.to);
                    let give_up = attempts >= self.options.max_attempts;
                    let next = now_millis() + self.backoff(attempts).as_millis() as i64;
                    sqlx::query(
                        "UPDATE outbox SET status = $1, next_attempt_at = $2, locked_until = 0, \
                         last_error = $3 WHERE id = $4",
                    )
                    .bind(if give_up { "failed" } else { "pending" })
                    .bind(next)
                    .bind(&error)
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
                    if give_up {
                        Self::mark_delivery(&mut conn, &id, "failed").await?;
                    }
                    tracing::warn!(outbox_id = %id, attempts, give_up, %error, "email not sent");
                    metrics::counter!("emails_failed_total", "gave_up" => give_up.to_string())
                        .increment(1);
                    round.failed += 1;
                }
            }
        }
        Ok(round)
    }

    /// Runs until `stop` is cancelled (then returns once the send under way is done), a round
    /// every `interval` (at once again when a round was full).
    pub async fn run(mut self, interval: Duration, stop: CancellationToken) {
        self.stop = stop;
        while !self.stop.is_cancelled() {
            if let Some(settings) = &self.reminders {
                match super::lifecycle::send_reminders(&self.db, settings, now_millis()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(reminders = n, "reminders queued"),
                    Err(e) => tracing::error!(error = %e, "reminder round failed"),
                }
            }
            let busy = match self.run_once().await {
                Ok(r) => (r.sent + r.failed) as i64 >= self.options.batch,
                Err(e) => {
                    tracing::error!(error = %e, "relay round failed");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = self.stop.cancelled() => {}
                }
            }
        }
        tracing::info!("relay stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn smtp_errors_lose_the_recipients_address() {
        assert_eq!(
            redact(
                "550 5.1.1 <Mei.Ling@Agency.gov.sg>: user unknown",
                "mei.ling@agency.gov.sg"
            ),
            "550 5.1.1 <<recipient>>: user unknown"
        );
        assert_eq!(redact("421 try later", "a@b.sg"), "421 try later");
    }
}
