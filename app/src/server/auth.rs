//! Who is signed in. The session holds the signed-in address; the rules of who may invite
//! come from the domain (`Email::is_public_officer`).

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::db::Db;
use super::OrInternal;
use crate::domain::Email;
use crate::error::AppError;

const USER_KEY: &str = "user";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionUser {
    pub email: String,
    /// When they signed in (Unix seconds, wall clock): the session ends
    /// [`ABSOLUTE_LIFETIME_SECS`] later however busy it is (a session from before this field
    /// existed counts as expired).
    #[serde(default)]
    pub signed_in_at: i64,
}

/// The longest a session lasts, active or not (the idle limit is set on the session layer).
pub const ABSOLUTE_LIFETIME_SECS: i64 = 12 * 3600;

/// Unix seconds by the wall clock (not the development clock, which tests move on by days).
fn wall_clock_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Whether a session that began at `signed_in_at` has outlived its absolute lifetime.
pub fn outlived(signed_in_at: i64, now_secs: i64) -> bool {
    now_secs.saturating_sub(signed_in_at) >= ABSOLUTE_LIFETIME_SECS || signed_in_at > now_secs + 300
}

impl SessionUser {
    pub fn email(&self) -> Result<Email, AppError> {
        Email::parse(&self.email).or_internal()
    }
}

/// The session of the request being handled (inside a server function).
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.or_internal()
}

pub async fn current_user(session: &Session) -> Result<Option<SessionUser>, AppError> {
    let user = session.get::<SessionUser>(USER_KEY).await.or_internal()?;
    match user {
        Some(u) if outlived(u.signed_in_at, wall_clock_secs()) => {
            // Polling keeps the idle timer fresh; this ends the session all the same.
            session.flush().await.or_internal()?;
            Ok(None)
        }
        other => Ok(other),
    }
}

/// The signed-in user, or `Unauthenticated`.
pub async fn require_user(session: &Session) -> Result<SessionUser, AppError> {
    current_user(session)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// The signed-in user if they are a public officer; anyone else is refused with the reason.
pub async fn require_officer(session: &Session) -> Result<(SessionUser, Email), AppError> {
    let user = require_user(session).await?;
    let email = user.email()?;
    if !email.is_public_officer() {
        return Err(AppError::Forbidden {
            message: NOT_OFFICER.to_string(),
        });
    }
    Ok((user, email))
}

/// The officer making this server-function call: the one guard of every server function
/// that invites, lists or acts on invitations.
pub async fn officer() -> Result<Email, AppError> {
    let (_, officer) = require_officer(&session().await?).await?;
    Ok(officer)
}

pub const NOT_OFFICER: &str = "Only public officers can invite users. Sign in with your \
organisation email address (ending in gov.sg), or ask a public officer in your agency to \
send the invitation.";

pub async fn sign_in(session: &Session, db: &Db, email: &Email) -> Result<(), AppError> {
    // A new session ID at every sign-in, so an ID planted before sign-in is worthless.
    session.cycle_id().await.or_internal()?;
    session
        .insert(
            USER_KEY,
            SessionUser {
                email: email.to_string(),
                signed_in_at: wall_clock_secs(),
            },
        )
        .await
        .or_internal()?;
    audit(db, email.as_str(), "sign_in", "").await
}

pub async fn sign_out(session: &Session, db: &Db) -> Result<(), AppError> {
    if let Some(user) = current_user(session).await? {
        audit(db, &user.email, "sign_out", "").await?;
    }
    session.flush().await.or_internal()
}

/// Appends to the audit log.
pub async fn audit(db: &Db, actor: &str, action: &str, detail: &str) -> Result<(), AppError> {
    super::audit::record(db.pool(), actor, action, detail)
        .await
        .or_internal()
}

/// Where to go after sign-in: only a path on this site, never another origin. Browsers drop
/// tabs and line breaks from a URL and read `\\` as `/`, so `/\t/evil.example` would be
/// `//evil.example` to them: a path with any whitespace, control character or backslash, or
/// one that starts with `//`, goes to the Overview instead.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '\\') =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/invite-users")), "/invite-users");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        for sneaky in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/\u{0}/evil.example",
            "/\u{a0}/evil",
            "\t//evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(sneaky)), "/", "{sneaky:?}");
        }
        assert_eq!(
            safe_next(Some("/invite-users/status?q=tan&page=2")),
            "/invite-users/status?q=tan&page=2"
        );
    }

    #[test]
    fn a_session_ends_twelve_hours_after_sign_in_however_busy() {
        use super::{outlived, ABSOLUTE_LIFETIME_SECS};
        let start = 1_800_000_000;
        assert!(!outlived(start, start));
        assert!(!outlived(start, start + ABSOLUTE_LIFETIME_SECS - 1));
        assert!(outlived(start, start + ABSOLUTE_LIFETIME_SECS));
        assert!(
            outlived(0, start),
            "a session from before sign-in times were kept"
        );
        assert!(
            outlived(start + 3600, start),
            "signed in in the future: forged"
        );
    }
}
