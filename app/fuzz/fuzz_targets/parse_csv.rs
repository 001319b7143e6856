//! Any bytes, as a file named .csv: `parse` returns rows or an error, and never panics.
#![no_main]

use app::import::{parse, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, "x.csv", &Limits::default());
});
