//! SEED licence reports. SEED is another system: it tells us, per email address, whether a
//! person's SEED licence is pending or granted, by POSTing JSON to `/webhooks/seed`:
//!
//! ```text
//! X-Seed-Signature: t=1795309500,v1=<hex HMAC-SHA256(secret, "1795309500." + body)>
//! {"reports":[{"email":"jane@agency.gov.sg","status":"licensed"}]}
//! ```
//!
//! The signature covers the time and the body with the shared secret (`SEED_WEBHOOK_SECRET`);
//! a report signed more than five minutes away from our clock is refused, so a captured
//! request cannot be replayed later. Without a secret the endpoint refuses everything.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::db::Db;
use crate::domain::Email;
use crate::domain::SeedState;

pub const SIGNATURE_HEADER: &str = "x-seed-signature";
/// How far a report's time may be from ours, in seconds.
pub const TOLERANCE_SECS: i64 = 300;
/// The most reports one request may carry.
pub const MAX_REPORTS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedReport {
    pub email: String,
    /// "pending", "licensed" or "not_requested".
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedReports {
    pub reports: Vec<SeedReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("SEED reports are not accepted here: no shared secret is configured")]
    NoSecret,
    #[error("the X-Seed-Signature header is missing or not of the form t=<seconds>,v1=<hex>")]
    BadHeader,
    #[error("the signature was made more than {TOLERANCE_SECS} seconds from now")]
    Stale,
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("the body is not a list of reports: {0}")]
    BadBody(String),
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value SEED sends for `body` at time `t` (Unix seconds): for the development
/// simulator and the tests.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let tag = mac(secret, t, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Checks a request's signature header against its body, in constant time; gives the time
/// the report was signed (Unix seconds).
pub fn verify(secret: &[u8], header: &str, body: &[u8], now_secs: i64) -> Result<i64, SeedError> {
    if secret.is_empty() {
        return Err(SeedError::NoSecret);
    }
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(SeedError::BadHeader);
    };
    let tag = decode_hex(v1).ok_or(SeedError::BadHeader)?;
    // abs_diff: any t, however far off, is compared without overflowing.
    if now_secs.abs_diff(t) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SeedError::Stale);
    }
    mac(secret, t, body)
        .verify_slice(&tag)
        .map_err(|_| SeedError::BadSignature)?;
    Ok(t)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Parses a verified body.
pub fn parse(body: &[u8]) -> Result<Vec<(Email, SeedState)>, SeedError> {
    let reports: SeedReports =
        serde_json::from_slice(body).map_err(|e| SeedError::BadBody(e.to_string()))?;
    if reports.reports.len() > MAX_REPORTS {
        return Err(SeedError::BadBody(format!(
            "{} reports; send at most {MAX_REPORTS} at a time",
            reports.reports.len()
        )));
    }
    reports
        .reports
        .iter()
        .map(|r| {
            let email = Email::parse(&r.email)
                .map_err(|e| SeedError::BadBody(format!("{:?}: {e}", r.email)))?;
            let state = SeedState::from_param(&r.status).ok_or_else(|| {
                SeedError::BadBody(format!(
                    "{:?}: status must be pending, licensed or not_requested",
                    r.status
                ))
            })?;
            Ok((email, state))
        })
        .collect()
}

/// Records each report on the person's invitations (every agency's: SEED knows people, not
/// invitations). Returns how many invitations changed.
///
/// `signed_at` is the report's signed time (Unix seconds): a report no newer than the last one
/// applied to a person (a replay within the tolerance, or an older report arriving late)
/// changes nothing, so it cannot move a licence backwards.
pub async fn apply(
    db: &Db,
    reports: &[(Email, SeedState)],
    now: i64,
    signed_at: i64,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let mut changed = 0;
    for (email, state) in reports {
        changed += sqlx::query(
            "UPDATE invitations SET seed_status = $1, updated_at = $2, seed_reported_at = $4 \
             WHERE email_key = $3 AND seed_status <> $1 AND seed_reported_at < $4",
        )
        .bind(state.param())
        .bind(now)
        .bind(email.key())
        .bind(signed_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "UPDATE invitations SET seed_reported_at = $2 \
             WHERE email_key = $1 AND seed_reported_at < $2",
        )
        .bind(email.key())
        .bind(signed_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"shared secret";

    #[test]
    fn a_signed_body_verifies_and_any_change_fails() {
        let body = br#"{"reports":[{"email":"a@agency.gov.sg","status":"licensed"}]}"#;
        let header = sign(SECRET, 1_000, body);
        assert_eq!(verify(SECRET, &header, body, 1_000), Ok(1_000));
        assert_eq!(
            verify(SECRET, &header, body, 1_000 + TOLERANCE_SECS),
            Ok(1_000)
        );
        // A time at the ends of the range is refused, not an overflow.
        for t in [i64::MIN, i64::MAX] {
            let far = sign(SECRET, t, body);
            assert_eq!(
                verify(SECRET, &far, body, 1_000),
                Err(SeedError::Stale),
                "{t}"
            );
            assert_eq!(
                verify(SECRET, &far, body, -1_000),
                Err(SeedError::Stale),
                "{t}"
            );
        }
        assert_eq!(
            verify(SECRET, &header, body, 1_001 + TOLERANCE_SECS),
            Err(SeedError::Stale)
        );
        let mut tampered = body.to_vec();
        tampered[30] ^= 1;
        assert_eq!(
            verify(SECRET, &header, &tampered, 1_000),
            Err(SeedError::BadSignature)
        );
        assert_eq!(
            verify(b"other secret", &header, body, 1_000),
            Err(SeedError::BadSignature)
        );
        // The time is signed too: moving it breaks the signature.
        let moved = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify(SECRET, &moved, body, 1_000),
            Err(SeedError::BadSignature)
        );
        for bad in ["", "t=1000", "v1=00", "t=x,v1=00", "t=1000,v1=zz"] {
            assert_eq!(
                verify(SECRET, bad, body, 1_000),
                Err(SeedError::BadHeader),
                "{bad}"
            );
        }
        assert_eq!(verify(b"", &header, body, 1_000), Err(SeedError::NoSecret));
    }

    #[test]
    fn reports_are_parsed_with_clear_errors() {
        let ok = parse(br#"{"reports":[{"email":"A@Agency.gov.sg","status":"pending"}]}"#).unwrap();
        assert_eq!(ok[0].0.key(), "a@agency.gov.sg");
        assert_eq!(ok[0].1, SeedState::Pending);
        assert!(matches!(
            parse(br#"{"reports":[{"email":"a@agency.gov.sg","status":"gold"}]}"#),
            Err(SeedError::BadBody(m)) if m.contains("status must be")
        ));
        assert!(matches!(parse(b"[]"), Err(SeedError::BadBody(_))));
    }
}
