//! Who is signed in. The session holds the signed-in address and what the identity provider
//! said about it; the rule of who may invite comes from the domain (`Officer::may_invite`).

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::db::Db;
use super::OrInternal;
use crate::domain::{Email, Officer, SignedInAs};
use crate::error::AppError;

/// The session key of the signed-in user.
pub(crate) const USER_KEY: &str = "user";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionUser {
    pub email: String,
    /// When they signed in (Unix seconds, wall clock): the session ends
    /// [`ABSOLUTE_LIFETIME_SECS`] later however busy it is (a session from before this field
    /// existed counts as expired).
    #[serde(default)]
    pub signed_in_at: i64,
    /// Whether the identity provider checked the address (`email_verified`); the development
    /// sign-in takes any address as verified.
    #[serde(default = "verified_by_default")]
    pub email_verified: bool,
    /// The agency the identity provider names them Subscription Admin of, if it does.
    #[serde(default)]
    pub admin_of: Option<String>,
    /// The identity provider's session they signed in through (none under the development
    /// sign-in): ended with it by a back-channel logout, and ended at the provider at sign-out.
    #[serde(default)]
    pub provider: Option<ProviderSession>,
}

fn verified_by_default() -> bool {
    true
}

/// The identity provider's side of a session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProviderSession {
    /// The provider's subject identifier (`sub`) of the user.
    pub subject: String,
    /// The provider's session ID (`sid`), when it gives one.
    pub sid: Option<String>,
    /// The ID token, sent back as `id_token_hint` when signing out at the provider.
    pub id_token: String,
}

/// Who signed in, as the development sign-in or the identity provider tells it.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub email: Email,
    pub email_verified: bool,
    pub admin_of: Option<String>,
    pub provider: Option<ProviderSession>,
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

    /// Whether they may invite, and for which agency; or why not.
    pub fn officer(&self) -> Result<Result<Officer, &'static str>, AppError> {
        let email = self.email()?;
        Ok(Officer::may_invite(SignedInAs {
            email: &email,
            email_verified: self.email_verified,
            admin_of: self.admin_of.as_deref(),
        }))
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

/// The signed-in user if they may invite (`Officer::may_invite`); anyone else is refused
/// with the reason.
pub async fn require_officer(session: &Session) -> Result<Officer, AppError> {
    let user = require_user(session).await?;
    user.officer()?.map_err(|reason| AppError::Forbidden {
        message: reason.to_string(),
    })
}

/// The officer making this server-function call: the one guard of every server function
/// that invites, lists or acts on invitations.
pub async fn officer() -> Result<Officer, AppError> {
    require_officer(&session().await?).await
}

pub async fn sign_in(session: &Session, db: &Db, who: SignIn) -> Result<(), AppError> {
    // A new session ID at every sign-in, so an ID planted before sign-in is worthless.
    session.cycle_id().await.or_internal()?;
    let detail = if who.provider.is_some() {
        "provider"
    } else {
        "development"
    };
    let actor = who.email.to_string();
    session
        .insert(
            USER_KEY,
            SessionUser {
                email: who.email.to_string(),
                signed_in_at: wall_clock_secs(),
                email_verified: who.email_verified,
                admin_of: who.admin_of,
                provider: who.provider,
            },
        )
        .await
        .or_internal()?;
    audit(db, &actor, "sign_in", detail).await
}

/// Ends the session here; returns the identity provider's side of it, to end there too.
pub async fn sign_out(session: &Session, db: &Db) -> Result<Option<ProviderSession>, AppError> {
    let user = current_user(session).await?;
    if let Some(user) = &user {
        audit(db, &user.email, "sign_out", "").await?;
    }
    session.flush().await.or_internal()?;
    Ok(user.and_then(|u| u.provider))
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
