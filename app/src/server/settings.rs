//! The parts of the configuration that server functions need. `server/src/config.rs` reads
//! them from the environment.

use crate::wire::SignInMethod;

/// How people sign in (`SIGN_IN_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMode {
    /// Through the identity provider, by OpenID Connect (`server::oidc`): production.
    Oidc,
    /// A page that signs in any address typed into it: for development and tests only.
    Development,
    /// Nobody can sign in.
    Disabled,
}

impl SignInMode {
    pub fn parse(s: &str) -> Result<SignInMode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "oidc" => Ok(SignInMode::Oidc),
            "dev" | "development" => Ok(SignInMode::Development),
            "disabled" | "off" | "none" => Ok(SignInMode::Disabled),
            other => Err(format!(
                "SIGN_IN_MODE must be \"oidc\", \"dev\" or \"disabled\", not \"{other}\""
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Where users write when something goes wrong (shown with the Trace ID).
    pub support_email: String,
    pub sign_in_mode: SignInMode,
    /// The address people reach the app at (used in email links; https makes cookies Secure).
    pub public_url: String,
    /// `smtp://…` or `smtps://…`; none means mail goes to the development mailbox.
    pub smtp_url: Option<String>,
    /// Days an invitation link stays valid.
    pub invite_expiry_days: u32,
    /// Days after an invitation (or its last Resend) on which a reminder goes, if it is still
    /// open.
    pub reminder_days: Vec<u32>,
    /// The secret SEED signs its licence reports with; none refuses every report.
    pub seed_webhook_secret: Option<String>,
    /// The secret invitation links' tokens are made with (`LINK_SECRET`).
    pub link_secret: super::links::LinkSecret,
    /// The most invitations one officer may send in any hour (`INVITE_QUOTA_PER_HOUR`).
    pub invite_quota_per_hour: u32,
}

impl Settings {
    pub fn dev_sign_in(&self) -> bool {
        self.sign_in_mode == SignInMode::Development
    }

    pub fn sign_in_method(&self) -> SignInMethod {
        match self.sign_in_mode {
            SignInMode::Oidc => SignInMethod::Provider,
            SignInMode::Development => SignInMethod::Development,
            SignInMode::Disabled => SignInMethod::Disabled,
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
