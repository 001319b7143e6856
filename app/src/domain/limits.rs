//! Every limit and size that more than one part of the product must agree on, each defined
//! once: the parser, the batch page, the server, the template and the export read them here.

/// The most users one batch file may hold, and so the most rows a batch, the template's
/// SEED list validation and an export of the status list cover.
pub const MAX_BATCH_ROWS: usize = 100_000;

/// Rows per `submit_batch` call, and per transaction on the server (the page sends a list in
/// parts of this size; the server refuses a larger part).
pub const SUBMIT_CHUNK_ROWS: usize = 500;

/// Parts of a list the page has sent and not had an answer for, at most: while the server
/// stores one part (its write lock held), the next arrives, is read, asked of the directory
/// and made into rows, so it is ready when the lock passes to it. Three, not two: on
/// PostgreSQL two parts store their rows at the same time and finish together, and with two
/// in flight the next two were then read and made while the database waited; a third is
/// made meanwhile (the submit bench, 11 alternating pairs: three faster in 8, 17,650 rows/s
/// against 16,600 on average; on SQLite, whose writes take turns, within noise).
pub const SUBMIT_CHUNKS_IN_FLIGHT: usize = 3;

/// Invitations per Resend, Revoke or Request SEED onboarding call.
pub const MAX_ACTION_IDS: usize = 500;
