//! The visitor and the site, as every page reads them.

use serde::{Deserialize, Serialize};

/// What every page needs to know about the visitor and the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub user: Option<SignedInUser>,
    pub support_email: String,
    /// Whether the development sign-in page is switched on.
    pub dev_sign_in: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub email: String,
    pub is_public_officer: bool,
}
