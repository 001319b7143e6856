mod error_notice;
mod layout;

pub use error_notice::{support_mailto, ErrorNotice, ErrorSummary};
pub use layout::{AppLayout, SessionContext};
