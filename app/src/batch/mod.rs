//! Batch upload's logic, apart from its screens: the list of an uploaded file and its rules
//! (`model`, pure and unit-tested natively), the browser glue that parses a file in a worker
//! and keeps the unsubmitted list in IndexedDB (`browser`), and the controller that the page's
//! components share (`controller`: upload, restore, keep, pre-check, submit, reset).
//!
//! It may import `domain`, `import`, `wire`, `error` and the `crate::api` server functions,
//! never `crate::server`, `pages` or `components`: the page (`pages/batch_upload/`) and the
//! parsing worker (`frontend/`, through [`prepare_upload`]) import it, not the other way round.

pub(crate) mod browser;
mod controller;
pub mod model;

pub(crate) use controller::Batch;
pub use model::prepare_upload;
