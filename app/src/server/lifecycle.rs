//! What happens to an invitation after it is sent: Resend (a new link; the old one stops
//! working), Revoke, Request SEED onboarding for someone who already has an account, and the
//! reminders the relay sends on the configured days. Every action is limited to the
//! officer's agency, row by row, in the WHERE clause.

use sqlx::AnyConnection;

use super::audit;
use super::db::Db;
use super::invites::accept_link;
use super::outbox::{self, OutgoingEmail, Renewal};
use super::settings::Settings;
use super::sql::OPEN;
use super::status::account_state;
use crate::domain::limits::MAX_ACTION_IDS;
use crate::domain::Email;
use crate::domain::{seed_request_refusal, AccountState, SeedState};
use crate::wire::ActionOutcome;

/// Resends allowed for one invitee in any 24 hours.
pub const RESENDS_PER_INVITEE_PER_DAY: i64 = 3;
/// Resends allowed for one officer in any hour (a slip with "select all" cannot mail a
/// whole agency over and over).
pub const RESENDS_PER_OFFICER_PER_HOUR: i64 = 300;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// (id, email, status, invitation_type, token_hash)
type Found = (String, String, String, String, String);

async fn find(
    conn: &mut AnyConnection,
    agency: &str,
    id: &str,
) -> Result<Option<Found>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, status, invitation_type, token_hash FROM invitations \
         WHERE id = $1 AND inviter_agency = $2",
    )
    .bind(id)
    .bind(agency)
    .fetch_optional(conn)
    .await
}

/// What a row says that changed between reading and writing it (another officer's Resend,
/// the invitee signing up).
const CHANGED_MEANWHILE: &str =
    "changed a moment ago (another Resend, or the person signed up). Reload the page to see \
     where it stands";

/// What a missing id says: the same whether it does not exist or belongs to another agency.
const NOT_FOUND: &str = "This invitation was not found. Reload the page to see the current list";

/// The agency's invitation `id` unless it is missing or already active (neither can be
/// resent or revoked); for those, records why in `outcome`.
async fn find_open(
    conn: &mut AnyConnection,
    agency: &str,
    id: &str,
    outcome: &mut ActionOutcome,
) -> Result<Option<Found>, sqlx::Error> {
    match find(conn, agency, id).await? {
        None => outcome.refuse(id, "", NOT_FOUND),
        Some(found) if found.2 == "active" => {
            outcome.refuse(id, &found.1, "already has an active TechPass account")
        }
        Some(found) => return Ok(Some(found)),
    }
    Ok(None)
}

/// Gives the invitation a new link and queues it: the old link stops working at once (it
/// answers "replaced by a newer email"), the expiry starts again, and reminders start again.
///
/// Only while the invitation is still on the link `found` read and neither active nor
/// revoked: of two Resends at once (or a Resend and a sign-up or a revoke), exactly one
/// changes the row; on PostgreSQL the other waits for it and then finds it changed. Returns
/// whether this one did.
async fn renew(
    conn: &mut AnyConnection,
    settings: &Settings,
    inviter: &str,
    found: &Found,
    renewal: Renewal,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let (id, email, _, invitation_type, old_hash) = found;
    let link = settings.link_secret.new_link();
    let days = settings.invite_expiry_days;
    // A resend starts the link's time and the reminders again; a reminder keeps the expiry
    // the invitee was first told.
    let renewed = sqlx::query(
        "UPDATE invitations SET token_hash = $1, delivery = 'queued', updated_at = $4, \
         expires_at = CASE WHEN $5 = 1 THEN $3 ELSE expires_at END, \
         sent_at = CASE WHEN $5 = 1 THEN $4 ELSE sent_at END, \
         reminders_sent = CASE WHEN $5 = 1 THEN 0 ELSE reminders_sent END \
         WHERE id = $2 AND token_hash = $6 AND status NOT IN ('active', 'revoked')",
    )
    .bind(&link.token_hash)
    .bind(id)
    .bind(now + i64::from(days) * DAY_MS)
    .bind(now)
    .bind(i64::from(renewal == Renewal::Resent))
    .bind(old_hash)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !renewed {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO superseded_tokens (token_hash, invitation_id, superseded_at) \
         VALUES ($1, $2, $3)",
    )
    .bind(old_hash)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let activate = invitation_type != "email";
    let mail = OutgoingEmail::renewed(email, inviter, &accept_link(settings), activate, renewal);
    outbox::enqueue_as(conn, &link.mail_id, Some(id), &mail).await?;
    Ok(true)
}

/// Resends each invitation of `ids` that is still open (Invited, Created, Expired or
/// Delivery failed), within the limits.
pub async fn resend(
    db: &Db,
    settings: &Settings,
    officer: &Email,
    ids: &[String],
    now: i64,
) -> Result<ActionOutcome, sqlx::Error> {
    let agency = officer.agency();
    let mut outcome = ActionOutcome::default();
    for id in ids.iter().take(MAX_ACTION_IDS) {
        let mut tx = db.begin_write().await?;
        // The officer's hourly limit is counted below: one of their resends at a time.
        db.lock_key(&mut tx, &format!("resend:{}", officer.key()))
            .await?;
        let Some(found) = find_open(&mut tx, &agency, id, &mut outcome).await? else {
            continue;
        };
        let email = found.1.clone();
        // Another Resend of this invitation written after this request came in (at `now`)
        // ran at the same time as this one (a double click, a colleague): it already sent the
        // new link, so this one stands down rather than send a second.
        let overlapping: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM resends WHERE invitation_id = $1 AND at >= $2",
        )
        .bind(id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if overlapping > 0 {
            outcome.refuse(id, &email, CHANGED_MEANWHILE);
            continue;
        }
        if found.2 == "revoked" {
            outcome.refuse(
                id,
                &email,
                "was revoked. Send a new invitation if they still need an account",
            );
            continue;
        }
        let recent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM resends WHERE invitation_id = $1 AND at > $2")
                .bind(id)
                .bind(now - DAY_MS)
                .fetch_one(&mut *tx)
                .await?;
        if recent >= RESENDS_PER_INVITEE_PER_DAY {
            outcome.refuse(
                id,
                &email,
                &format!(
                    "was sent {RESENDS_PER_INVITEE_PER_DAY} new links in the last 24 hours, the \
                     most allowed. Try again tomorrow"
                ),
            );
            continue;
        }
        let by_officer: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM resends WHERE officer_email = $1 AND at > $2")
                .bind(officer.key())
                .bind(now - HOUR_MS)
                .fetch_one(&mut *tx)
                .await?;
        if by_officer >= RESENDS_PER_OFFICER_PER_HOUR {
            outcome.refuse(
                id,
                &email,
                &format!(
                    "was not resent: you have resent {RESENDS_PER_OFFICER_PER_HOUR} invitations \
                     in the last hour, the most allowed. Try again later"
                ),
            );
            continue;
        }
        if !renew(
            &mut tx,
            settings,
            officer.as_str(),
            &found,
            Renewal::Resent,
            now,
        )
        .await?
        {
            outcome.refuse(id, &email, CHANGED_MEANWHILE);
            continue;
        }
        sqlx::query(
            "INSERT INTO resends (id, invitation_id, officer_email, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(id)
        .bind(officer.key())
        // When it was written (not when its request came in): see `overlapping` above.
        .bind(super::clock::now_millis().max(now))
        .execute(&mut *tx)
        .await?;
        audit::record(&mut *tx, officer.as_str(), "resend_invite", &email).await?;
        tx.commit().await?;
        outcome.done.push(email);
    }
    Ok(outcome)
}

/// Revokes each open invitation of `ids`: its link then shows that it was withdrawn.
pub async fn revoke(
    db: &Db,
    officer: &Email,
    ids: &[String],
    now: i64,
) -> Result<ActionOutcome, sqlx::Error> {
    let agency = officer.agency();
    let mut outcome = ActionOutcome::default();
    for id in ids.iter().take(MAX_ACTION_IDS) {
        let mut tx = db.begin_write().await?;
        let Some((_, email, status, _, _)) = find_open(&mut tx, &agency, id, &mut outcome).await?
        else {
            continue;
        };
        match status.as_str() {
            // Already revoked: nothing to do, and nothing went wrong.
            "revoked" => {}
            _ => {
                // Guarded: a sign-up that took the invitation first wins, and the officer is
                // told, rather than shown "revoked" for an account that is active.
                let revoked = sqlx::query(&format!(
                    "UPDATE invitations SET status = 'revoked', updated_at = $1 \
                     WHERE id = $2 AND status IN {OPEN}"
                ))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !revoked {
                    let status: Option<String> =
                        sqlx::query_scalar("SELECT status FROM invitations WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    match status.as_deref() {
                        Some("revoked") => {}
                        Some("active") => {
                            outcome.refuse(id, &email, "already has an active TechPass account");
                            continue;
                        }
                        _ => {
                            outcome.refuse(id, &email, CHANGED_MEANWHILE);
                            continue;
                        }
                    }
                }
                audit::record(&mut *tx, officer.as_str(), "revoke_invite", &email).await?;
            }
        }
        tx.commit().await?;
        outcome.done.push(email);
    }
    Ok(outcome)
}

/// Asks for each person of `ids` who has a TechPass account and no SEED request yet to be
/// onboarded to SEED (see [`seed_request_refusal`]): their SEED licence becomes Pending (a
/// SEED report later makes it Licensed) and they get an email on how, once.
pub async fn request_seed(
    db: &Db,
    officer: &Email,
    ids: &[String],
    now: i64,
) -> Result<ActionOutcome, sqlx::Error> {
    let agency = officer.agency();
    let mut outcome = ActionOutcome::default();
    for id in ids.iter().take(MAX_ACTION_IDS) {
        let mut tx = db.begin_write().await?;
        // Claims the request first (as the reminders do), so that of two requests at once
        // (a double click, two officers) exactly one finds it Not requested and sends the
        // email. Rolled back below when the row turns out not to qualify.
        let claimed = sqlx::query(
            "UPDATE invitations SET seed_status = 'pending', seed_required = 1, \
             delivery = 'queued', updated_at = $1 \
             WHERE id = $2 AND inviter_agency = $3 AND seed_status = 'not_requested'",
        )
        .bind(now)
        .bind(id)
        .bind(&agency)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let found: Option<(String, String, String, String)> = sqlx::query_as(&format!(
            "SELECT i.email, i.kind, {} AS account_state, i.seed_status \
             FROM invitations i WHERE i.id = $2 AND i.inviter_agency = $3",
            account_state("$1")
        ))
        .bind(now)
        .bind(id)
        .bind(&agency)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((email, kind, account, seed)) = found else {
            outcome.refuse(id, "", NOT_FOUND);
            continue;
        };
        let account = AccountState::from_param(&account).unwrap_or(AccountState::Invited);
        // Not claimed: it was not Not requested (an unknown value counts as Pending).
        let seed = if claimed {
            SeedState::NotRequested
        } else {
            SeedState::from_param(&seed)
                .filter(|s| *s != SeedState::NotRequested)
                .unwrap_or(SeedState::Pending)
        };
        if let Some(reason) = seed_request_refusal(account, seed) {
            // Dropping the transaction undoes the claim.
            outcome.refuse(id, &email, reason);
            continue;
        }
        let kind = super::directory::kind_from_str(&kind);
        let activated = account == AccountState::Active;
        let mail = OutgoingEmail::seed_requested(&email, kind, officer.as_str(), activated);
        outbox::enqueue(&mut tx, Some(id), &mail).await?;
        audit::record(&mut *tx, officer.as_str(), "request_seed", &email).await?;
        tx.commit().await?;
        outcome.done.push(email);
    }
    Ok(outcome)
}

/// Queues the reminders that are due: an open invitation gets one reminder once each of
/// `settings.reminder_days` has passed since its link was sent (a missed day is not sent
/// twice: only the latest due reminder goes). Returns how many were queued.
pub async fn send_reminders(db: &Db, settings: &Settings, now: i64) -> Result<usize, sqlx::Error> {
    let mut queued = 0;
    let days = &settings.reminder_days;
    for (index, day) in days.iter().enumerate().rev() {
        let due: Vec<Found> = sqlx::query_as(&format!(
            "SELECT id, email, status, invitation_type, token_hash FROM invitations \
             WHERE status IN {OPEN} AND reminders_sent <= $1 \
             AND sent_at <= $2 AND expires_at > $3 AND delivery <> 'failed' \
             ORDER BY sent_at LIMIT 200"
        ))
        .bind(i64::try_from(index).unwrap_or(i64::MAX))
        .bind(now - i64::from(*day) * DAY_MS)
        .bind(now)
        .fetch_all(db.pool())
        .await?;
        for found in due {
            let mut tx = db.begin_write().await?;
            // Claims the reminder first, so two relays never both send it.
            let claimed = sqlx::query(
                "UPDATE invitations SET reminders_sent = $1 WHERE id = $2 AND reminders_sent < $1",
            )
            .bind(i64::try_from(index + 1).unwrap_or(i64::MAX))
            .bind(&found.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed != 1 {
                continue;
            }
            let inviter: String =
                sqlx::query_scalar("SELECT inviter_email FROM invitations WHERE id = $1")
                    .bind(&found.0)
                    .fetch_one(&mut *tx)
                    .await?;
            if renew(&mut tx, settings, &inviter, &found, Renewal::Reminder, now).await? {
                tx.commit().await?;
                queued += 1;
            }
        }
    }
    Ok(queued)
}
