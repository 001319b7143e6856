//! Batch upload's logic, apart from its screens: the list of an uploaded file and its rules
//! (`model`, pure and unit-tested natively), the browser glue that parses a file in a worker
//! and keeps the unsubmitted list in IndexedDB (`browser`, with `app/js/batch.js` and
//! `public/draft-store.js`), and the controller that the page's components share
//! (`controller`: upload, restore, keep, pre-check, submit with a retry, remove, save, reset).
//!
//! It may import `domain`, `import`, `format`, `error`, `wire` and the server functions of
//! `api`; never the server's services (`server/`), nor `pages` or `components`: the page
//! (`pages/batch_upload/`) and the parsing worker (`frontend/worker/`, through
//! `PreparedUpload`, feature `parser`) import this, not the other way round.

pub(crate) mod browser;
mod controller;
pub mod model;
pub mod packed;
#[cfg(feature = "parser")]
pub mod reserve;

pub(crate) use controller::{Asked, Batch, Incoming};
#[cfg(feature = "parser")]
pub use model::{prepare_fed_upload, prepare_upload, PreparedUpload};
