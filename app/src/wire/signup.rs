//! An invitation link on the wire, and the development mailbox.

use serde::{Deserialize, Serialize};

/// What an invitation link leads to, once the invitee chose to continue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub email: String,
    /// The account was created on their behalf: they only activate it.
    pub create_account: bool,
}

/// One message in the development mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub link: Option<String>,
}
