//! Who may invite (the user guide: "Subscription Admin or any Public Officer"), and for which
//! agency. Every list, limit and clash check of an officer is within their agency.

use super::Email;

/// Someone allowed to invite, with the agency they invite for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Officer {
    email: Email,
    agency: String,
}

/// What the identity provider (or the development sign-in) says about who signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInAs<'a> {
    pub email: &'a Email,
    /// Whether the provider has checked that the address is theirs (`email_verified`).
    pub email_verified: bool,
    /// The agency the provider names them Subscription Admin of, if it does.
    pub admin_of: Option<&'a str>,
}

impl Officer {
    /// Who may invite, or why not (a sentence to show them):
    /// - an address the provider has not verified invites no one, whatever else it says;
    /// - a Subscription Admin invites for the agency the provider names;
    /// - a public officer (a gov.sg address) invites for the agency of their address;
    /// - anyone else (a vendor) may not invite.
    pub fn may_invite(who: SignedInAs<'_>) -> Result<Officer, &'static str> {
        if !who.email_verified {
            return Err(UNVERIFIED);
        }
        if let Some(agency) = who.admin_of {
            return Ok(Officer {
                email: who.email.clone(),
                agency: agency.to_string(),
            });
        }
        if who.email.is_public_officer() {
            return Ok(Officer {
                email: who.email.clone(),
                agency: who.email.domain().to_string(),
            });
        }
        Err(NOT_OFFICER)
    }

    /// A public officer by their gov.sg address (tools and tests that act as one).
    pub fn public_officer(email: Email) -> Option<Officer> {
        Officer::may_invite(SignedInAs {
            email: &email,
            email_verified: true,
            admin_of: None,
        })
        .ok()
    }

    pub fn email(&self) -> &Email {
        &self.email
    }

    /// The agency they invite for: a public officer's is the domain of their address, a
    /// Subscription Admin's the one their identity provider names.
    pub fn agency(&self) -> &str {
        &self.agency
    }
}

/// An agency as a provider's claim names it: trimmed and lowercased (agencies are compared as
/// the domains officers' addresses end in), or `None` when it is empty or not text.
pub fn agency_from_claim(value: &str) -> Option<String> {
    let agency = value.trim().to_lowercase();
    (!agency.is_empty() && agency.len() <= 253 && !agency.chars().any(char::is_control))
        .then_some(agency)
}

pub const NOT_OFFICER: &str = "Only public officers can invite users. Sign in with your \
organisation email address (ending in gov.sg), or ask a public officer in your agency to \
send the invitation.";

pub const UNVERIFIED: &str = "Your TechPass account's email address has not been verified, so \
it cannot be used to invite anyone. Verify your email address in TechPass, then sign in again.";

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Email {
        Email::parse(s).expect("valid")
    }

    fn who<'a>(e: &'a Email, verified: bool, admin_of: Option<&'a str>) -> SignedInAs<'a> {
        SignedInAs {
            email: e,
            email_verified: verified,
            admin_of,
        }
    }

    #[test]
    fn a_public_officer_invites_for_the_agency_of_their_address() {
        let e = email("Tan.Ah.Kow@Tech.Gov.SG");
        let officer = Officer::may_invite(who(&e, true, None)).expect("officer");
        assert_eq!(officer.agency(), "tech.gov.sg");
    }

    #[test]
    fn a_subscription_admin_invites_for_the_agency_the_provider_names() {
        let e = email("admin@partner.example.com");
        let officer = Officer::may_invite(who(&e, true, Some("hdb.gov.sg"))).expect("admin");
        assert_eq!(officer.agency(), "hdb.gov.sg");
        assert_eq!(officer.email(), &e);
    }

    #[test]
    fn vendors_and_unverified_addresses_may_not_invite() {
        let vendor = email("someone@vendor.example.com");
        assert_eq!(
            Officer::may_invite(who(&vendor, true, None)),
            Err(NOT_OFFICER)
        );
        let officer = email("officer@tech.gov.sg");
        assert_eq!(
            Officer::may_invite(who(&officer, false, None)),
            Err(UNVERIFIED)
        );
        assert_eq!(
            Officer::may_invite(who(&officer, false, Some("tech.gov.sg"))),
            Err(UNVERIFIED),
            "an unverified address is not trusted as an admin either"
        );
    }

    #[test]
    fn agency_claims_are_compared_as_domains() {
        assert_eq!(agency_from_claim(" HDB.gov.sg "), Some("hdb.gov.sg".into()));
        assert_eq!(agency_from_claim("  "), None);
        assert_eq!(agency_from_claim("a\u{0}b"), None);
    }
}
