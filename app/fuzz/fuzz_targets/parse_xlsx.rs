//! Any bytes, as a file named .xlsx: `parse` returns rows or an error, and never panics.
//! Seed the corpus with real workbooks (scripts/fuzz.sh copies end2end/fixtures/batch/*.xlsx)
//! so that the fuzzer starts from valid zip archives.
#![no_main]

use app::import::{parse, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, "x.xlsx", &Limits::default());
});
