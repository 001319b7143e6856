//! The visitor and the site, as every page reads them; and why a sign-in through the identity
//! provider failed, as the callback tells the sign-in page.

use serde::{Deserialize, Serialize};

/// What every page needs to know about the visitor and the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub user: Option<SignedInUser>,
    pub support_email: String,
    /// How people sign in here.
    pub sign_in: SignInMethod,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub email: String,
    /// Whether they may invite (a public officer or a Subscription Admin).
    pub may_invite: bool,
    /// Why not, when they may not.
    pub refusal: Option<String>,
}

/// How people sign in (`SIGN_IN_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMethod {
    /// A form that signs in any address typed into it: development and tests only.
    Development,
    /// TechPass, through OpenID Connect (`/auth/login`).
    Provider,
    /// Switched off.
    Disabled,
}

/// Why a sign-in through the identity provider did not complete: the callback sends the
/// browser to `/sign-in?error=<code>&trace=<Trace ID>` and the page says what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFailure {
    /// The provider did not answer (down, or the network between).
    ProviderDown,
    /// The person declined to let the app use their account.
    Denied,
    /// The sign-in was already used, or took too long (a Back button, an old tab).
    Expired,
    /// The provider's and this server's clocks disagree too much to trust the answer.
    Clock,
    /// The provider's answer failed a check (signature, issuer, audience, nonce…).
    Refused,
    /// The provider did not say the email address is verified.
    Unverified,
    /// The provider gave no usable email address.
    NoEmail,
    /// The provider reported an error of its own.
    ProviderError,
}

impl SignInFailure {
    pub const ALL: [SignInFailure; 8] = [
        SignInFailure::ProviderDown,
        SignInFailure::Denied,
        SignInFailure::Expired,
        SignInFailure::Clock,
        SignInFailure::Refused,
        SignInFailure::Unverified,
        SignInFailure::NoEmail,
        SignInFailure::ProviderError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignInFailure::ProviderDown => "provider-down",
            SignInFailure::Denied => "denied",
            SignInFailure::Expired => "expired",
            SignInFailure::Clock => "clock",
            SignInFailure::Refused => "refused",
            SignInFailure::Unverified => "unverified",
            SignInFailure::NoEmail => "no-email",
            SignInFailure::ProviderError => "provider-error",
        }
    }

    pub fn parse(s: &str) -> Option<SignInFailure> {
        SignInFailure::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The heading of the page that explains it.
    pub fn title(self) -> &'static str {
        match self {
            SignInFailure::ProviderDown => "TechPass is not answering",
            SignInFailure::Denied => "You did not allow TechBiz Invite to sign you in",
            SignInFailure::Expired => "This sign-in has expired",
            SignInFailure::Clock => "The clocks do not agree",
            SignInFailure::Refused => "Your sign-in could not be checked",
            SignInFailure::Unverified => "Your email address is not verified",
            SignInFailure::NoEmail => "TechPass did not share your email address",
            SignInFailure::ProviderError => "TechPass could not sign you in",
        }
    }

    /// What happened and what to do, in a sentence or two.
    pub fn message(self) -> &'static str {
        match self {
            SignInFailure::ProviderDown => {
                "TechPass, where you sign in, did not answer. It may be busy or down for \
                 maintenance. Wait a minute, then try again."
            }
            SignInFailure::Denied => {
                "You chose not to let TechBiz Invite use your TechPass account, so you are not \
                 signed in. To sign in, try again and choose Allow."
            }
            SignInFailure::Expired => {
                "The sign-in took too long, or was already used (for example after going Back \
                 in the browser). Nothing is wrong with your account: start again."
            }
            SignInFailure::Clock => {
                "TechPass answered with a time too far from this server's, so the answer could \
                 not be trusted. Try again; if it keeps happening, tell support and quote the \
                 Trace ID."
            }
            SignInFailure::Refused => {
                "TechPass's answer did not pass the checks that keep your account safe, so you \
                 are not signed in. Try again; if it keeps happening, tell support and quote \
                 the Trace ID."
            }
            SignInFailure::Unverified => {
                "TechPass has not verified the email address of your account, so it cannot be \
                 used to invite anyone. Verify your email address in TechPass, then try again."
            }
            SignInFailure::NoEmail => {
                "TechBiz Invite needs your email address to know who you are, and TechPass did \
                 not share it. Try again and allow access to your email address."
            }
            SignInFailure::ProviderError => {
                "TechPass reported a problem while signing you in. Try again; if it keeps \
                 happening, tell support and quote the Trace ID."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SignInFailure;

    #[test]
    fn every_failure_reads_back_from_its_code() {
        for f in SignInFailure::ALL {
            assert_eq!(SignInFailure::parse(f.as_str()), Some(f));
        }
        assert_eq!(SignInFailure::parse("<script>"), None);
    }
}
