//! Email addresses, and who counts as a public officer.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// RFC 5321 4.5.3.1: a forward-path holds at most 256 octets including the angle brackets,
/// so an address is at most 254 octets; the local part at most 64; a domain label at most 63.
const MAX_ADDRESS: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

/// Whether an address belongs to a public officer or a vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserKind {
    PublicOfficer,
    Vendor,
}

impl UserKind {
    pub fn label(self) -> &'static str {
        match self {
            UserKind::PublicOfficer => "Public officer",
            UserKind::Vendor => "Vendor",
        }
    }
}

/// A syntactically valid email address, trimmed, with its domain in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

/// The symbols RFC 5322 allows in the part before @ besides letters and digits (and the dot).
fn is_local_symbol(c: char) -> bool {
    matches!(
        c,
        '!' | '#'
            | '$'
            | '%'
            | '&'
            | '\''
            | '*'
            | '+'
            | '-'
            | '/'
            | '='
            | '?'
            | '^'
            | '_'
            | '`'
            | '{'
            | '|'
            | '}'
            | '~'
            | '.'
    )
}

impl Email {
    /// Parses what a user typed; the error is a message naming what to fix.
    pub fn parse(input: &str) -> Result<Email, String> {
        let (local, domain) = Self::checked(input)?;
        Ok(Email(format!("{local}@{domain}")))
    }

    /// One pass over the bytes that answers for an ordinary address: `Some(kind)` only for an
    /// address [`Email::check`] accepts, with the kind it gives; `None` for anything else
    /// (the rule then says what, if anything, is wrong). ASCII only, nothing to trim, one @,
    /// no trailing dot: what nearly every row of a file holds.
    pub(super) fn plain_kind(input: &str) -> Option<UserKind> {
        let bytes = input.as_bytes();
        if bytes.len() > MAX_ADDRESS {
            return None;
        }
        let at = bytes.iter().position(|&b| b == b'@')?;
        let (local, domain) = (&bytes[..at], &bytes[at + 1..]);
        if local.is_empty() || local.len() > MAX_LOCAL {
            return None;
        }
        // The part before @: letters, digits and RFC 5322's symbols; a dot neither first,
        // last nor after another.
        let mut after_dot = true;
        for &b in local {
            if b == b'.' {
                if after_dot {
                    return None;
                }
                after_dot = true;
            } else if b.is_ascii_alphanumeric() || (b.is_ascii() && is_local_symbol(char::from(b)))
            {
                after_dot = false;
            } else {
                return None;
            }
        }
        if after_dot {
            return None;
        }
        // The domain: labels of letters, digits and inner hyphens, at least two, none empty
        // (so no second @, no trailing dot).
        let (mut label, mut dots, mut last) = (0usize, 0usize, b'.');
        for &b in domain {
            if b == b'.' {
                if label == 0 || last == b'-' {
                    return None;
                }
                dots += 1;
                label = 0;
            } else if b.is_ascii_alphanumeric() || (b == b'-' && label > 0) {
                label += 1;
                if label > MAX_LABEL {
                    return None;
                }
            } else {
                return None;
            }
            last = b;
        }
        if label == 0 || last == b'-' || dots == 0 {
            return None;
        }
        let officer = domain.eq_ignore_ascii_case(b"gov.sg")
            || (domain.len() > b".gov.sg".len()
                && domain[domain.len() - b".gov.sg".len()..].eq_ignore_ascii_case(b".gov.sg"));
        Some(if officer {
            UserKind::PublicOfficer
        } else {
            UserKind::Vendor
        })
    }

    /// The rule without keeping the address: whose it is, or the message.
    pub fn check(input: &str) -> Result<UserKind, String> {
        Self::checked(input).map(|(_, domain)| kind_of(&domain))
    }

    /// The rule of [`Email::parse`]: the part before @ and the domain in lower case without
    /// a trailing dot (borrowed from `input` where it is already so).
    fn checked(input: &str) -> Result<(&str, Cow<'_, str>), String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter an email address".into());
        }
        if s.len() > MAX_ADDRESS {
            return Err(format!(
                "Email address must be {MAX_ADDRESS} characters or fewer"
            ));
        }
        let blank = if s.is_ascii() {
            s.bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        } else {
            s.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        if blank {
            return Err("Email address must not contain spaces".into());
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(
                "Enter an email address in the correct format, like name@agency.gov.sg".into(),
            );
        };
        if local.is_empty() || local.contains('@') {
            return Err(
                "Enter an email address in the correct format, like name@agency.gov.sg".into(),
            );
        }
        if local.len() > MAX_LOCAL {
            return Err(format!(
                "The part before @ must be {MAX_LOCAL} characters or fewer"
            ));
        }
        // (Bytes: '.' is one in UTF-8, and a two-byte search beats the substring searcher's
        // set-up on parts this short.)
        if local.starts_with('.')
            || local.ends_with('.')
            || local.as_bytes().windows(2).any(|w| w == b"..")
        {
            return Err(
                "The part before @ must not start or end with a dot, or have two dots in a row"
                    .into(),
            );
        }
        // The first ASCII character that is not allowed (an ASCII byte in UTF-8 is always
        // an ASCII character, so a scan of the bytes finds the same one).
        if let Some(bad) = local
            .bytes()
            .map(char::from)
            .find(|&c| c.is_ascii() && !(c.is_ascii_alphanumeric() || is_local_symbol(c)))
        {
            return Err(format!("Email address must not contain \"{bad}\""));
        }
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        let domain = if domain.is_ascii() {
            super::lower_ascii(domain)
        } else {
            Cow::Owned(domain.to_lowercase())
        };
        if !domain.contains('.') {
            return Err("Enter the full domain after @, like agency.gov.sg".into());
        }
        for label in domain.split('.') {
            if label.is_empty() {
                return Err(
                    "The domain after @ must not have empty parts (two dots in a row)".into(),
                );
            }
            if label.len() > MAX_LABEL {
                return Err(format!(
                    "Each part of the domain after @ must be {MAX_LABEL} characters or fewer"
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(
                    "Parts of the domain after @ must not start or end with a hyphen".into(),
                );
            }
            let allowed = if label.is_ascii() {
                label
                    .bytes()
                    .all(|b| b == b'-' || b.is_ascii_alphanumeric())
            } else {
                label.chars().all(|c| c == '-' || c.is_alphanumeric())
            };
            if !allowed {
                return Err(
                    "The domain after @ may contain only letters, digits, hyphens and dots".into(),
                );
            }
        }
        Ok((local, domain))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The key used to find duplicates: the whole address ignoring case.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// Public officers are those with an address on gov.sg or any subdomain of it.
    pub fn kind(&self) -> UserKind {
        kind_of(self.domain())
    }

    pub fn is_public_officer(&self) -> bool {
        self.kind() == UserKind::PublicOfficer
    }
}

/// Public officers are those with an address on gov.sg or any subdomain of it (`domain` in
/// lower case).
fn kind_of(domain: &str) -> UserKind {
    if domain == "gov.sg" || domain.ends_with(".gov.sg") {
        UserKind::PublicOfficer
    } else {
        UserKind::Vendor
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses_and_trims() {
        let e = Email::parse("  Jane.Tan@Agency.GOV.SG ").expect("valid");
        assert_eq!(e.as_str(), "Jane.Tan@agency.gov.sg");
        assert_eq!(e.key(), "jane.tan@agency.gov.sg");
    }

    #[test]
    fn officer_means_gov_sg_or_a_subdomain() {
        let kind = |s: &str| Email::parse(s).expect("valid").kind();
        assert_eq!(kind("a@gov.sg"), UserKind::PublicOfficer);
        assert_eq!(kind("a@tech.gov.sg"), UserKind::PublicOfficer);
        assert_eq!(kind("a@x.y.gov.sg"), UserKind::PublicOfficer);
        assert_eq!(kind("a@notgov.sg"), UserKind::Vendor);
        assert_eq!(kind("a@gov.sg.evil.com"), UserKind::Vendor);
        assert_eq!(kind("vendor@example.com"), UserKind::Vendor);
    }

    #[test]
    fn rejects_malformed_addresses_with_a_message() {
        for bad in [
            "",
            "plain",
            "a@b",
            "@gov.sg",
            "a@@gov.sg",
            "a b@gov.sg",
            "a..b@gov.sg",
            ".a@gov.sg",
            "a@-x.gov.sg",
            "a@x..sg",
            "a(b)@gov.sg",
        ] {
            let err = Email::parse(bad).expect_err(bad);
            assert!(!err.is_empty());
        }
    }

    #[test]
    fn enforces_rfc_5321_lengths() {
        let local = "a".repeat(65);
        assert!(Email::parse(&format!("{local}@gov.sg")).is_err());
        let long = format!("a@{}.sg", "b".repeat(250));
        assert!(Email::parse(&long).is_err());
        assert!(Email::parse(&format!("{}@gov.sg", "a".repeat(64))).is_ok());
    }

    #[test]
    fn accepts_internationalised_domains() {
        let e = Email::parse("li@例子.公司.sg").expect("idn");
        assert_eq!(e.kind(), UserKind::Vendor);
    }

    #[test]
    fn the_local_part_symbols_are_rfc_5322_s() {
        for b in 0u8..=0x7f {
            let c = char::from(b);
            assert_eq!(
                is_local_symbol(c),
                "!#$%&'*+-/=?^_`{|}~.".contains(c),
                "{c:?}"
            );
        }
    }

    /// The rule as it was written before its byte scans and borrowed domain (the reference
    /// the property below holds the faster one to).
    fn parse_reference(input: &str) -> Result<String, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter an email address".into());
        }
        if s.len() > MAX_ADDRESS {
            return Err(format!(
                "Email address must be {MAX_ADDRESS} characters or fewer"
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("Email address must not contain spaces".into());
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(
                "Enter an email address in the correct format, like name@agency.gov.sg".into(),
            );
        };
        if local.is_empty() || local.contains('@') {
            return Err(
                "Enter an email address in the correct format, like name@agency.gov.sg".into(),
            );
        }
        if local.len() > MAX_LOCAL {
            return Err(format!(
                "The part before @ must be {MAX_LOCAL} characters or fewer"
            ));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(
                "The part before @ must not start or end with a dot, or have two dots in a row"
                    .into(),
            );
        }
        if let Some(bad) = local
            .chars()
            .find(|&c| c.is_ascii() && !(c.is_ascii_alphanumeric() || is_local_symbol(c)))
        {
            return Err(format!("Email address must not contain \"{bad}\""));
        }
        let domain = domain.to_lowercase();
        let domain = domain.strip_suffix('.').unwrap_or(&domain);
        if !domain.contains('.') {
            return Err("Enter the full domain after @, like agency.gov.sg".into());
        }
        for label in domain.split('.') {
            if label.is_empty() {
                return Err(
                    "The domain after @ must not have empty parts (two dots in a row)".into(),
                );
            }
            if label.len() > MAX_LABEL {
                return Err(format!(
                    "Each part of the domain after @ must be {MAX_LABEL} characters or fewer"
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(
                    "Parts of the domain after @ must not start or end with a hyphen".into(),
                );
            }
            if !label.chars().all(|c| c == '-' || c.is_alphanumeric()) {
                return Err(
                    "The domain after @ may contain only letters, digits, hyphens and dots".into(),
                );
            }
        }
        Ok(format!("{local}@{domain}"))
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_is_idempotent(s in "\\PC{0,80}") {
            if let Ok(e) = Email::parse(&s) {
                let again = Email::parse(e.as_str()).expect("a parsed address parses again");
                prop_assert_eq!(again, e);
            }
        }

        #[test]
        fn parse_gives_what_the_reference_gives(
            s in "[ ]?[a-zA-Z0-9._%+-]{0,10}[.@]{0,2}[a-zA-Z0-9._%+-]{0,6}@[a-zA-Z0-9-]{0,8}(\\.[a-zA-Z0-9-]{0,6}){0,3}\\.?[ ]?|\\PC{0,40}|.{0,20}@.{0,20}"
        ) {
            prop_assert_eq!(Email::parse(&s).map(|e| e.as_str().to_string()), parse_reference(&s));
        }
    }
}
