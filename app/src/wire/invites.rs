//! The single-person forms on the wire: what a successful Email invitation or Create account
//! answers.

use serde::{Deserialize, Serialize};

/// The outcome the officer sees after a successful submit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteSent {
    pub email: String,
    pub invitation_id: String,
}
