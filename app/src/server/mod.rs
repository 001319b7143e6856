//! Server-only code (feature `ssr`): the services, the database and the sessions. All SQL
//! lives here (shared fragments in `sql`). May import `domain/`, `wire/`, `import/`,
//! `error`, `format` and `url`; never `api/` (which calls it) or `pages/`/`components/`.

pub mod audit;
pub mod auth;
pub mod batch;
pub mod budget;
pub mod clock;
pub mod db;
pub mod directory;
pub mod export;
pub mod invites;
pub mod lifecycle;
pub mod links;
pub mod oidc;
pub mod outbox;
pub mod provisioning;
pub mod relay;
pub mod scim;
pub mod search;
pub mod seed;
pub mod session_store;
pub mod settings;
pub mod signup;
pub mod sql;
pub mod state;
pub mod status;
pub mod template;
pub mod trace;

pub use trace::{current_trace_id, internal_error, OrInternal, TraceId, CURRENT_TRACE};
