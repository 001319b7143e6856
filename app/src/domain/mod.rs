//! Rules of the product, in plain Rust with no I/O and no feature gates: compiled into the
//! browser bundle and the server alike, so both apply the very same rules. The states an
//! invitation goes through (`state`) and the limits both sides keep (`limits`) live here too.
//! Imports nothing of the crate outside `domain/`.

pub mod batch;
mod email;
mod invitation;
pub mod limits;
mod officer;
mod person;
mod state;

pub use email::{Email, UserKind};
pub use invitation::{
    check_account_field, check_email_invite_field, officer_email_rule, EmailInvite, NewAccount,
    RawAccount, RawEmailInvite,
};
pub use officer::{agency_from_claim, Officer, SignedInAs, NOT_OFFICER, UNVERIFIED};
pub use person::{
    username_rule, ContactNumber, Department, Organisation, PersonName, Reason, SeedRequired,
    TechPassUsername,
};
pub use state::{
    seed_request_refusal, AccountState, Delivery, InvitationStatus, SeedState, WAS_REVOKED,
};

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// ASCII text in lower case, copied only when it has a capital (addresses, usernames and
/// their keys are compared so).
fn lower_ascii(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// A rejected field: which field, and a message that tells the user how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form field's name (the `name` attribute of its input).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}
