//! The server's integration tests, one test binary for all of them (`cargo test -p server
//! --test server`): each file below stays a module of its own, and the binary is compiled and
//! linked once instead of once per file. Test names start with the file's name
//! (`batch::...::sqlite`).
//!
//! `aborted.rs` is not here: it counts panics with a panic hook, which is the whole process's,
//! so it keeps a binary of its own (`--test aborted`).
//!
//! A new test file is a new `mod` line here.

// `both_databases!` (defined in support) is used by every module after it.
#[macro_use]
mod support;

mod batch;
mod concurrency;
mod database;
mod delivery;
mod http;
mod integrity;
mod invites;
mod lifecycle;
mod limits;
mod oidc;
mod scaleout;
mod scim;
mod security_headers;
mod seed_request;
mod status;
