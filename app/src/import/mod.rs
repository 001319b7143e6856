//! Bytes → rows for batch upload files (CSV and xlsx). Pure Rust with no I/O and no feature
//! gates: unit-tested and fuzzed natively, and run unchanged in the browser (in a worker).

mod columns;

pub use columns::{Column, COLUMNS};
