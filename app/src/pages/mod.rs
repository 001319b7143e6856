//! The pages, one module per route (the batch upload page a folder of its own), each a
//! component whose name ends in `Page`; `lib.rs` routes to them.
//!
//! A page may import `components`, `domain`, `format`, `error`, `wire` and `batch` (the batch
//! page's controller). It reaches the server only through the server functions of `api` and
//! the `wire` types they take and give, never the server's services (`server/`, which is not
//! even compiled into the browser's bundle).

mod accept_invitation;
mod batch_upload;
mod dev_mailbox;
pub(crate) mod invite_forms;
mod invite_status;
mod invite_users;
mod not_found;
mod overview;
mod sign_in;

pub use accept_invitation::AcceptInvitationPage;
pub use batch_upload::BatchUploadPage;
pub use dev_mailbox::DevMailboxPage;
pub use invite_forms::{CreateAccountPage, EmailInvitationPage};
pub use invite_status::InviteStatusPage;
pub use invite_users::{InviteUsersPage, INVITATION_TYPES};
pub use not_found::NotFoundPage;
pub use overview::OverviewPage;
pub use sign_in::{SignInPage, SignedOutPage};
