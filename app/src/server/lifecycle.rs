//! What happens to an invitation after it is sent: Resend (a new link; the old one stops
//! working), Revoke, Request SEED onboarding for someone who already has an account, and the
//! reminders the relay sends on the configured days. Every action is limited to the
//! officer's agency, row by row, in the WHERE clause.

use sqlx::AnyConnection;

use super::audit;
use super::db::Db;
use super::invites::{self, accept_link};
use super::outbox::{self, OutgoingEmail, Renewal};
use super::settings::Settings;
use super::sql::{from_row, OPEN, SENT};
use super::status::account_state;
use crate::domain::limits::MAX_ACTION_IDS;
use crate::domain::Officer;
use crate::domain::{seed_request_refusal, AccountState, InvitationStatus, SeedState, WAS_REVOKED};
use crate::wire::ActionOutcome;

/// Resends allowed for one invitee in any 24 hours.
pub const RESENDS_PER_INVITEE_PER_DAY: i64 = 3;
/// Resends allowed for one officer in any hour (a slip with "select all" cannot mail a
/// whole agency over and over).
pub const RESENDS_PER_OFFICER_PER_HOUR: i64 = 300;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

from_row! {
    /// An invitation as an action reads it.
    #[derive(Debug)]
    struct Found {
        id: String,
        email: String,
        status: InvitationStatus as String,
        invitation_type: String,
        token_hash: String,
    }
}

const FOUND: &str = "SELECT id, email, status, invitation_type, token_hash FROM invitations";

/// What an action did with one invitation.
enum Step {
    /// Done, for this address: the transaction is committed.
    Done(String),
    /// Not done, for this address (empty when the invitation was not found), and why: the
    /// transaction is dropped, which undoes anything the action wrote.
    Refused { email: String, reason: String },
}

impl Step {
    fn refused(email: &str, reason: &str) -> Step {
        Step::Refused {
            email: email.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// An action on invitations chosen on the status list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Resend,
    Revoke,
    RequestSeed,
    /// Puts an account the directory would not make back in the provisioning queue.
    RetryProvisioning,
}

/// Why an invitation whose account is not made yet has no link to resend.
fn provisioning_refusal(status: InvitationStatus) -> Option<&'static str> {
    match status {
        InvitationStatus::Provisioning => {
            Some("is still being set up in TechPass: its email goes as soon as the account exists")
        }
        InvitationStatus::ProvisioningFailed => {
            Some("has no TechPass account yet (provisioning failed): fix the cause, then use Retry")
        }
        _ => None,
    }
}

/// Who acts, and when: what every row of an action reads.
struct Acting<'a> {
    db: &'a Db,
    settings: &'a Settings,
    officer: &'a Officer,
    agency: String,
    now: i64,
}

/// Does `action` to each of `ids` (up to [`MAX_ACTION_IDS`]), each in a write transaction of
/// its own: committed when done, dropped when refused (which undoes anything written), so one
/// refused or failing row leaves the others done. Every row is limited to the officer's
/// agency.
pub async fn act(
    db: &Db,
    settings: &Settings,
    officer: &Officer,
    action: Action,
    ids: &[String],
    now: i64,
) -> Result<ActionOutcome, sqlx::Error> {
    let acting = Acting {
        db,
        settings,
        officer,
        agency: officer.agency().to_string(),
        now,
    };
    let mut outcome = ActionOutcome::default();
    for id in ids.iter().take(MAX_ACTION_IDS) {
        let mut tx = db.begin_write().await?;
        let step = match action {
            Action::Resend => resend(&acting, &mut tx, id).await?,
            Action::Revoke => revoke(&acting, &mut tx, id).await?,
            Action::RequestSeed => request_seed(&acting, &mut tx, id).await?,
            Action::RetryProvisioning => retry_provisioning(&acting, &mut tx, id).await?,
        };
        match step {
            Step::Done(email) => {
                tx.commit().await?;
                outcome.done.push(email);
            }
            Step::Refused { email, reason } => outcome.refuse(id, &email, &reason),
        }
    }
    Ok(outcome)
}

/// What a row says that changed between reading and writing it (another officer's Resend,
/// the invitee signing up).
const CHANGED_MEANWHILE: &str =
    "changed a moment ago (another Resend, or the person signed up). Reload the page to see \
     where it stands";

/// What a missing id says: the same whether it does not exist or belongs to another agency.
const NOT_FOUND: &str = "This invitation was not found. Reload the page to see the current list";

const ALREADY_ACTIVE: &str = "already has an active TechPass account";
/// Retry refused: the agency has invited the address again since.
const INVITED_AGAIN: &str =
    "has a newer invitation from your agency, so this one cannot be retried";
/// Retry refused: another open invitation holds the username now.
const USERNAME_GIVEN_AGAIN: &str = "has a TechPass username that another open invitation now \
     holds, so this one cannot be retried: invite the person again with another username";

/// The agency's invitation `id` unless it is missing or already active (neither can be
/// resent or revoked); for those, the refusal.
async fn find_open(
    conn: &mut AnyConnection,
    agency: &str,
    id: &str,
) -> Result<Result<Found, Step>, sqlx::Error> {
    let found: Option<Found> =
        sqlx::query_as(&format!("{FOUND} WHERE id = $1 AND inviter_agency = $2"))
            .bind(id)
            .bind(agency)
            .fetch_optional(conn)
            .await?;
    Ok(match found {
        None => Err(Step::refused("", NOT_FOUND)),
        Some(found) if found.status == InvitationStatus::Active => {
            Err(Step::refused(&found.email, ALREADY_ACTIVE))
        }
        Some(found) => Ok(found),
    })
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
    let Found {
        id,
        email,
        invitation_type,
        token_hash: old_hash,
        ..
    } = found;
    let link = settings.link_secret.new_link();
    let days = settings.invite_expiry_days;
    // A resend starts the link's time and the reminders again; a reminder keeps the expiry
    // the invitee was first told.
    let renewed = sqlx::query(&format!(
        "UPDATE invitations SET token_hash = $1, delivery = 'queued', updated_at = $4, \
         expires_at = CASE WHEN $5 = 1 THEN $3 ELSE expires_at END, \
         sent_at = CASE WHEN $5 = 1 THEN $4 ELSE sent_at END, \
         reminders_sent = CASE WHEN $5 = 1 THEN 0 ELSE reminders_sent END \
         WHERE id = $2 AND token_hash = $6 AND status IN {OPEN}"
    ))
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

/// Resends the invitation if it is still open (Invited, Created, Expired or Delivery failed),
/// within the limits.
async fn resend(
    acting: &Acting<'_>,
    tx: &mut AnyConnection,
    id: &str,
) -> Result<Step, sqlx::Error> {
    let (officer, now) = (acting.officer, acting.now);
    // The officer's hourly limit is counted below: one of their resends at a time.
    acting
        .db
        .lock_key(tx, &format!("resend:{}", officer.email().key()))
        .await?;
    let found = match find_open(tx, &acting.agency, id).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    if let Some(reason) = resend_refusal(tx, officer, &found, now).await? {
        return Ok(Step::refused(&found.email, &reason));
    }
    if !renew(
        tx,
        acting.settings,
        officer.email().as_str(),
        &found,
        Renewal::Resent,
        now,
    )
    .await?
    {
        return Ok(Step::refused(&found.email, CHANGED_MEANWHILE));
    }
    sqlx::query(
        "INSERT INTO resends (id, invitation_id, officer_email, at) VALUES ($1, $2, $3, $4)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(id)
    .bind(officer.email().key())
    // When it was written (not when its request came in): see `resend_refusal`.
    .bind(super::clock::now_millis().max(now))
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        officer.email().as_str(),
        "resend_invite",
        &found.email,
    )
    .await?;
    Ok(Step::Done(found.email))
}

/// Why the open invitation `found` may not be resent now, if it may not.
async fn resend_refusal(
    conn: &mut AnyConnection,
    officer: &Officer,
    found: &Found,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    // Another Resend of this invitation written after this request came in (at `now`) ran at
    // the same time as this one (a double click, a colleague): it already sent the new link,
    // so this one stands down rather than send a second.
    let overlapping: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM resends WHERE invitation_id = $1 AND at >= $2")
            .bind(&found.id)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
    if overlapping > 0 {
        return Ok(Some(CHANGED_MEANWHILE.to_string()));
    }
    if found.status == InvitationStatus::Revoked {
        return Ok(Some(WAS_REVOKED.to_string()));
    }
    if let Some(reason) = provisioning_refusal(found.status) {
        return Ok(Some(reason.to_string()));
    }
    let recent: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM resends WHERE invitation_id = $1 AND at > $2")
            .bind(&found.id)
            .bind(now - DAY_MS)
            .fetch_one(&mut *conn)
            .await?;
    if recent >= RESENDS_PER_INVITEE_PER_DAY {
        return Ok(Some(format!(
            "was sent {RESENDS_PER_INVITEE_PER_DAY} new links in the last 24 hours, the most \
             allowed. Try again tomorrow"
        )));
    }
    let by_officer: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM resends WHERE officer_email = $1 AND at > $2")
            .bind(officer.email().key())
            .bind(now - HOUR_MS)
            .fetch_one(&mut *conn)
            .await?;
    if by_officer >= RESENDS_PER_OFFICER_PER_HOUR {
        return Ok(Some(format!(
            "was not resent: you have resent {RESENDS_PER_OFFICER_PER_HOUR} invitations in the \
             last hour, the most allowed. Try again later"
        )));
    }
    Ok(None)
}

/// Revokes the invitation if it is open: its link then shows that it was withdrawn.
async fn revoke(
    acting: &Acting<'_>,
    tx: &mut AnyConnection,
    id: &str,
) -> Result<Step, sqlx::Error> {
    let found = match find_open(tx, &acting.agency, id).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    // Already revoked: nothing to do, and nothing went wrong.
    if found.status == InvitationStatus::Revoked {
        return Ok(Step::Done(found.email));
    }
    // Guarded: a sign-up that took the invitation first wins, and the officer is told, rather
    // than shown "revoked" for an account that is active.
    let revoked = sqlx::query(&format!(
        "UPDATE invitations SET status = $3, updated_at = $1 WHERE id = $2 \
         AND (status IN {OPEN} OR status = $4)"
    ))
    .bind(acting.now)
    .bind(id)
    .bind(InvitationStatus::Revoked.as_str())
    .bind(InvitationStatus::ProvisioningFailed.as_str())
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
        match status.as_deref().and_then(InvitationStatus::parse) {
            // Revoked by someone else a moment ago: done all the same.
            Some(InvitationStatus::Revoked) => {}
            Some(InvitationStatus::Active) => {
                return Ok(Step::refused(&found.email, ALREADY_ACTIVE))
            }
            _ => return Ok(Step::refused(&found.email, CHANGED_MEANWHILE)),
        }
    }
    // An account made for the person and never activated is deactivated in the directory
    // (by the provisioning queue); an account not made yet never is, nor its email written.
    super::provisioning::enqueue_deactivate_for(tx, id).await?;
    audit::record(
        &mut *tx,
        acting.officer.email().as_str(),
        "revoke_invite",
        &found.email,
    )
    .await?;
    Ok(Step::Done(found.email))
}

/// Retry on a row whose account the directory would not make: back in the provisioning queue.
async fn retry_provisioning(
    acting: &Acting<'_>,
    tx: &mut AnyConnection,
    id: &str,
) -> Result<Step, sqlx::Error> {
    let found = match find_open(tx, &acting.agency, id).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    if found.status != InvitationStatus::ProvisioningFailed {
        return Ok(Step::refused(
            &found.email,
            "is not waiting for a retry: only a row whose provisioning failed can be retried",
        ));
    }
    // Back in the queue it would be open again: not beside another open invitation of the
    // agency for the address, or one holding its username (each kept to one by a unique
    // index, whose refusal is the answer only to a race with these look-ups).
    let (email_key, username): (String, Option<String>) =
        sqlx::query_as("SELECT email_key, username FROM invitations WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if invites::address_open(tx, &acting.agency, &email_key).await? {
        return Ok(Step::refused(&found.email, INVITED_AGAIN));
    }
    if let Some(username) = username {
        if invites::username_reserved(tx, &username).await? {
            return Ok(Step::refused(&found.email, USERNAME_GIVEN_AGAIN));
        }
    }
    match super::provisioning::retry(tx, id).await {
        Ok(true) => {}
        Ok(false) => return Ok(Step::refused(&found.email, CHANGED_MEANWHILE)),
        Err(e) if invites::is_username_clash(&e) => {
            return Ok(Step::refused(&found.email, USERNAME_GIVEN_AGAIN))
        }
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            return Ok(Step::refused(&found.email, INVITED_AGAIN))
        }
        Err(e) => return Err(e),
    }
    audit::record(
        &mut *tx,
        acting.officer.email().as_str(),
        "retry_provisioning",
        &found.email,
    )
    .await?;
    Ok(Step::Done(found.email))
}

from_row! {
    /// An invitation as Request SEED onboarding reads it: with the account state the officer
    /// sees.
    struct SeedCandidate {
        email: String,
        kind: String,
        account_state: String,
        seed_status: String,
    }
}

/// Asks for the person to be onboarded to SEED if they have a TechPass account and no SEED
/// request yet (see [`seed_request_refusal`]): their SEED licence becomes Pending (a SEED
/// report later makes it Licensed) and they get an email on how, once.
async fn request_seed(
    acting: &Acting<'_>,
    tx: &mut AnyConnection,
    id: &str,
) -> Result<Step, sqlx::Error> {
    let (officer, now, agency) = (acting.officer, acting.now, &acting.agency);
    // Claims the request first (as the reminders do), so that of two requests at once (a
    // double click, two officers) exactly one finds it Not requested and sends the email. A
    // refusal drops the transaction, which undoes the claim.
    let claimed = sqlx::query(
        "UPDATE invitations SET seed_status = 'pending', seed_required = 1, \
         delivery = 'queued', updated_at = $1 \
         WHERE id = $2 AND inviter_agency = $3 AND seed_status = 'not_requested'",
    )
    .bind(now)
    .bind(id)
    .bind(agency)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let found: Option<SeedCandidate> = sqlx::query_as(&format!(
        "SELECT i.email, i.kind, {} AS account_state, i.seed_status \
         FROM invitations i WHERE i.id = $2 AND i.inviter_agency = $3",
        account_state("$1")
    ))
    .bind(now)
    .bind(id)
    .bind(agency)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(found) = found else {
        return Ok(Step::refused("", NOT_FOUND));
    };
    let account = AccountState::from_param(&found.account_state).unwrap_or(AccountState::Invited);
    // Not claimed: it was not Not requested (an unknown value counts as Pending).
    let seed = if claimed {
        SeedState::NotRequested
    } else {
        SeedState::from_param(&found.seed_status)
            .filter(|s| *s != SeedState::NotRequested)
            .unwrap_or(SeedState::Pending)
    };
    if let Some(reason) = seed_request_refusal(account, seed) {
        return Ok(Step::refused(&found.email, reason));
    }
    let kind = super::directory::kind_from_str(&found.kind);
    let activated = account == AccountState::Active;
    let mail =
        OutgoingEmail::seed_requested(&found.email, kind, officer.email().as_str(), activated);
    outbox::enqueue(&mut *tx, Some(id), &mail).await?;
    audit::record(
        &mut *tx,
        officer.email().as_str(),
        "request_seed",
        &found.email,
    )
    .await?;
    Ok(Step::Done(found.email))
}

/// Queues the reminders that are due: an open invitation gets one reminder once each of
/// `settings.reminder_days` has passed since its link was sent (a missed day is not sent
/// twice: only the latest due reminder goes). Returns how many were queued.
pub async fn send_reminders(db: &Db, settings: &Settings, now: i64) -> Result<usize, sqlx::Error> {
    let mut queued = 0;
    let days = &settings.reminder_days;
    for (index, day) in days.iter().enumerate().rev() {
        let due: Vec<Found> = sqlx::query_as(&format!(
            "{FOUND} WHERE status IN {SENT} AND reminders_sent <= $1 \
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
            .bind(&found.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed != 1 {
                continue;
            }
            let inviter: String =
                sqlx::query_scalar("SELECT inviter_email FROM invitations WHERE id = $1")
                    .bind(&found.id)
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
