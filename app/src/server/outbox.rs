//! The transactional outbox: an email is written in the same transaction as the invitation
//! it belongs to, and a relay sends it afterwards. Nothing is sent from inside a request, so a
//! crash can neither lose an invitation's email nor send one for an invitation that was
//! rolled back.

use sqlx::AnyConnection;

use super::clock::now_millis;
use super::db::Db;
use super::sql::{Param, Rows};
use crate::domain::{Email, UserKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub use crate::format::escape_markup as escape_html;

fn html_page(paragraphs: &[String], link: &str, button: &str) -> String {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape_html(p)))
        .collect();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><body style=\"font-family:Arial,sans-serif;line-height:1.5\">\
         {body}<p><a href=\"{href}\" style=\"display:inline-block;padding:10px 20px;background:#0b4f9c;\
         color:#ffffff;text-decoration:none;border-radius:4px\">{button}</a></p>\
         <p>If the button does not work, copy this address into your browser:<br>{href}</p></body></html>",
        href = escape_html(link),
        button = escape_html(button),
    )
}

impl OutgoingEmail {
    pub fn invitation(to: &Email, inviter: &Email, link: &str, expiry_days: u32) -> Self {
        let paragraphs = vec![
            "Hello,".to_string(),
            format!(
                "{inviter} has invited you to create a TechPass account, the identity you use \
                 for Singapore Government Tech Stack products."
            ),
            format!("The link below works for {expiry_days} days."),
        ];
        let text = format!(
            "{}\n\nCreate your TechPass account: {link}\n",
            paragraphs.join("\n\n")
        );
        OutgoingEmail {
            to: to.to_string(),
            subject: "You are invited to create a TechPass account".into(),
            html: html_page(&paragraphs, link, "Create your TechPass account"),
            text,
        }
    }

    /// The activation email of an account made for someone (Create account, batch): to
    /// `to`, greeted by `first_name`, with the username when they chose one.
    pub fn account_created(
        to: &str,
        first_name: &str,
        username: Option<&str>,
        inviter: &str,
        link: &str,
        days: u32,
    ) -> Self {
        let mut paragraphs = vec![
            format!("Hello {first_name},"),
            format!(
                "{inviter} has created a TechPass account for you, the identity you use for \
                 Singapore Government Tech Stack products."
            ),
        ];
        if let Some(u) = username {
            paragraphs.push(format!("Your TechPass username is {u}."));
        }
        paragraphs.push(format!(
            "Activate it with the link below within {days} days."
        ));
        let text = format!(
            "{}\n\nActivate your TechPass account: {link}\n",
            paragraphs.join("\n\n")
        );
        OutgoingEmail {
            to: to.to_string(),
            subject: "Your TechPass account is ready to activate".into(),
            html: html_page(&paragraphs, link, "Activate your TechPass account"),
            text,
        }
    }
}

/// Why an invitation is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// The officer chose Resend.
    Resent,
    /// A reminder on one of the configured days.
    Reminder,
}

impl OutgoingEmail {
    /// A new link for an open invitation (Resend, or a reminder). `activate`: the account was
    /// made for the person (Create account, batch), who activates it; otherwise they create it.
    pub fn renewed(to: &str, inviter: &str, link: &str, activate: bool, renewal: Renewal) -> Self {
        let (what, button) = if activate {
            (
                "activate the TechPass account made for you",
                "Activate your TechPass account",
            )
        } else {
            ("create a TechPass account", "Create your TechPass account")
        };
        let opening = match renewal {
            Renewal::Resent => format!("{inviter} has sent you a new link to {what}."),
            Renewal::Reminder => format!(
                "A reminder: {inviter} has invited you to {what}, the identity you use for \
                 Singapore Government Tech Stack products."
            ),
        };
        let paragraphs = vec![
            "Hello,".to_string(),
            opening,
            "This link replaces the one in earlier emails, which no longer works.".to_string(),
        ];
        let text = format!("{}\n\n{button}: {link}\n", paragraphs.join("\n\n"));
        OutgoingEmail {
            to: to.to_string(),
            subject: match renewal {
                Renewal::Resent => "A new link for your TechPass account".into(),
                Renewal::Reminder => "Reminder: your TechPass account is waiting".into(),
            },
            html: html_page(&paragraphs, link, button),
            text,
        }
    }
}

/// Where a public officer onboards to SEED (the TechPass user guide's "Onboard to SEED").
pub const ONBOARD_TO_SEED_URL: &str =
    "https://docs.developer.tech.gov.sg/docs/techpass-user-guide/#/onboard-to-seed";
/// Where a vendor raises a service request in the TechPass service desk.
pub const TECHPASS_SERVICE_REQUEST_URL: &str = "https://go.gov.sg/techpass-sr";

impl OutgoingEmail {
    /// An officer asked for an existing TechPass user to be onboarded to SEED: how to do it,
    /// which depends on who they are. `activated`: their account is active (not only made for
    /// them and waiting to be activated).
    pub fn seed_requested(to: &str, kind: UserKind, inviter: &str, activated: bool) -> Self {
        let mut paragraphs = vec![
            "Hello,".to_string(),
            format!(
                "{inviter} has asked for you to be onboarded to SEED with your TechPass account."
            ),
        ];
        if !activated {
            paragraphs.push(
                "First activate your TechPass account, with the link in the earlier email \
                 about it."
                    .to_string(),
            );
        }
        let (link, button) = match kind {
            UserKind::PublicOfficer => {
                paragraphs.push(
                    "As a public officer, open Onboard to SEED and follow the on-screen \
                     instructions."
                        .to_string(),
                );
                (ONBOARD_TO_SEED_URL, "Onboard to SEED")
            }
            UserKind::Vendor => {
                paragraphs.push(
                    "As a vendor, raise a service request in the TechPass service desk to be \
                     onboarded to SEED."
                        .to_string(),
                );
                (TECHPASS_SERVICE_REQUEST_URL, "Raise a service request")
            }
        };
        let text = format!("{}\n\n{button}: {link}\n", paragraphs.join("\n\n"));
        OutgoingEmail {
            to: to.to_string(),
            subject: "You are asked to onboard to SEED".into(),
            html: html_page(&paragraphs, link, button),
            text,
        }
    }
}

/// Queues an email inside the caller's transaction.
pub async fn enqueue(
    conn: &mut AnyConnection,
    invitation_id: Option<&str>,
    mail: &OutgoingEmail,
) -> Result<String, sqlx::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    enqueue_as(conn, &id, invitation_id, mail).await?;
    Ok(id)
}

/// Queues an email under the id `id` (the id an invitation link's token is made from: see
/// [`super::links`]).
pub async fn enqueue_as(
    conn: &mut AnyConnection,
    id: &str,
    invitation_id: Option<&str>,
    mail: &OutgoingEmail,
) -> Result<(), sqlx::Error> {
    insert(conn, id, invitation_id, mail, "pending").await
}

async fn insert(
    conn: &mut AnyConnection,
    id: &str,
    invitation_id: Option<&str>,
    mail: &OutgoingEmail,
    status: &str,
) -> Result<(), sqlx::Error> {
    let mut rows = Rows::new("outbox", COLUMNS);
    push(&mut rows, id, invitation_id, mail, status, now_millis());
    rows.insert(conn).await
}

/// Queues emails inside the caller's transaction, each under its id (see [`enqueue_as`]),
/// in as few statements as the parameters allow.
pub async fn enqueue_many(
    conn: &mut AnyConnection,
    mails: &[(String, String, OutgoingEmail)],
) -> Result<(), sqlx::Error> {
    let now = now_millis();
    let mut rows = Rows::new("outbox", COLUMNS);
    for (id, invitation_id, mail) in mails {
        push(&mut rows, id, Some(invitation_id), mail, "pending", now);
    }
    rows.insert(conn).await
}

const COLUMNS: &[&str] = &[
    "id",
    "invitation_id",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "status",
    "attempts",
    "next_attempt_at",
    "locked_until",
    "created_at",
];

fn push(
    rows: &mut Rows,
    id: &str,
    invitation_id: Option<&str>,
    mail: &OutgoingEmail,
    status: &str,
    now: i64,
) {
    rows.push([
        Param::from(id),
        Param::from(invitation_id.map(str::to_string)),
        Param::from(mail.to.as_str()),
        Param::from(mail.subject.as_str()),
        Param::from(mail.text.as_str()),
        Param::from(mail.html.as_str()),
        Param::from(status),
        Param::Int(0),
        Param::Int(now),
        Param::Int(0),
        Param::Int(now),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn invitation_mail_carries_the_link_in_text_and_html() {
        let to = Email::parse("new@agency.gov.sg").expect("to");
        let by = Email::parse("boss@agency.gov.sg").expect("by");
        let m =
            OutgoingEmail::invitation(&to, &by, "https://x.test/invitations/accept?token=t", 14);
        assert!(m.text.contains("https://x.test/invitations/accept?token=t"));
        assert!(m.html.contains("https://x.test/invitations/accept?token=t"));
        assert!(m.text.contains("boss@agency.gov.sg") && m.text.contains("14 days"));
    }

    #[test]
    fn a_seed_request_sends_officers_to_onboard_to_seed_and_vendors_to_the_service_desk() {
        let officer = OutgoingEmail::seed_requested(
            "a@agency.gov.sg",
            UserKind::PublicOfficer,
            "boss@agency.gov.sg",
            true,
        );
        assert!(officer.text.contains(ONBOARD_TO_SEED_URL));
        assert!(officer.html.contains(&escape_html(ONBOARD_TO_SEED_URL)));
        assert!(!officer.text.contains(TECHPASS_SERVICE_REQUEST_URL));
        assert!(officer.text.contains("boss@agency.gov.sg"));
        assert!(!officer.text.contains("activate"), "{}", officer.text);

        let vendor = OutgoingEmail::seed_requested(
            "v@acme.com",
            UserKind::Vendor,
            "boss@agency.gov.sg",
            false,
        );
        assert!(vendor.text.contains(TECHPASS_SERVICE_REQUEST_URL));
        assert!(vendor.html.contains(TECHPASS_SERVICE_REQUEST_URL));
        assert!(!vendor.text.contains(ONBOARD_TO_SEED_URL));
        assert!(vendor.text.contains("First activate your TechPass account"));
        assert_eq!(vendor.subject, officer.subject);
    }
}

/// How the outbox stands, for operators' metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxDepth {
    /// Waiting to be sent (due now or later, retries included). (The email of an account
    /// still to be made is written once it is: the provisioning queue counts those.)
    pub pending: i64,
    /// Due now and not claimed by a relay.
    pub due: i64,
    /// How long the oldest message due now has been due, in milliseconds (0 when none is).
    pub oldest_due_ms: i64,
}

/// The outbox's depth at `now` (milliseconds): one query over the `outbox_due` index.
pub async fn depth(db: &Db, now: i64) -> Result<OutboxDepth, sqlx::Error> {
    let (pending, due, oldest): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT \
           COUNT(*), \
           COALESCE(SUM(CASE WHEN status = 'pending' AND next_attempt_at <= $1 \
                        AND locked_until <= $1 THEN 1 ELSE 0 END), 0), \
           MIN(CASE WHEN status = 'pending' AND next_attempt_at <= $1 \
                    THEN next_attempt_at END) \
         FROM outbox WHERE status = 'pending'",
    )
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok(OutboxDepth {
        pending,
        due,
        oldest_due_ms: oldest.map_or(0, |t| (now - t).max(0)),
    })
}
