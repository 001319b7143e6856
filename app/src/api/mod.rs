//! `#[server]` functions only: each gets state, authorises, parses with the domain, calls a
//! service and maps the error. Stable endpoints under `/api/` so HTTP tests can call them.
//! May import `domain/`, `wire/` and (on the server) `server/`; the services never import
//! this module. The wire types are re-exported here for callers of the functions.

pub mod batch;
mod invites;
mod session;
mod signup;
mod status;

pub use crate::wire::{
    ActionOutcome, BatchOutcome, BatchRow, DevMail, InvitationView, InviteSent, PrecheckRow,
    Refusal, RowIssue, RowOutcome, RowResult, SessionView, SignInFailure, SignInMethod,
    SignedInUser, SortKey, StatusPage, StatusQuery, StatusRow,
};
pub use batch::*;
pub use invites::*;
pub use session::*;
pub use signup::*;
pub use status::*;
