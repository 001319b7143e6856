//! `#[server]` functions only: each gets state, authorises, parses with the domain, calls a
//! service and maps the error. Stable endpoints under `/api/` so HTTP tests can call them.

pub mod batch;
mod invites;
mod session;
mod signup;
mod status;

pub use batch::*;
pub use invites::*;
pub use session::*;
pub use signup::*;
pub use status::*;
