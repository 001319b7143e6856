//! The building blocks that pages share: the layout around the signed-in pages, the page
//! heading and the form page shell, form fields in the GOV.UK pattern, error notices, dialogs,
//! and `Answer` (a server action's answer, read safely).
//!
//! A component may import `domain`, `format`, `url`, `error` and `wire`, and reaches the server
//! only through the server functions of `api`, never the server's services (`server/`); it
//! never imports `pages` or `batch`, which build on it.

mod answer;
mod dialog;
#[cfg(feature = "hydrate")]
pub mod early_input;
mod error_notice;
mod form;
mod layout;
mod page;

pub use answer::Answer;
pub use dialog::{open_modal, ConfirmDialog};
pub use error_notice::{support_mailto, ErrorNotice, ErrorSummary, FALLBACK_SUPPORT_EMAIL};
pub use form::{FormState, TextField, YesNoField};
pub use layout::{AppLayout, OfficersOnly, SessionContext};
pub use page::{Done, FormPage, PageHeading, SubmitButton};
