mod answer;
mod dialog;
mod error_notice;
mod form;
mod layout;

pub use answer::Answer;
pub use dialog::{open_modal, ConfirmDialog};
pub use error_notice::{support_mailto, ErrorNotice, ErrorSummary};
pub use form::{FormState, TextField, YesNoField};
pub use layout::{AppLayout, SessionContext};
