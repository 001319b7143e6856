//! The wire types: what the server functions of `api/` take and return, serialisable and
//! shared by the pages, the server functions and the services (`server/`), which is why
//! they live here and not in `api/`. Imports only `domain/`.

pub mod batch;
pub mod invites;
pub mod session;
pub mod signup;
pub mod status;

pub use batch::{BatchOutcome, BatchRow, PrecheckRow, RowIssue, RowOutcome, RowResult};
pub use invites::InviteSent;
pub use session::{SessionView, SignInFailure, SignInMethod, SignedInUser};
pub use signup::{DevMail, InvitationView};
pub use status::{ActionOutcome, Refusal, SortKey, StatusPage, StatusQuery, StatusRow};
