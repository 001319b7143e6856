//! A file read while it arrives: the parsing worker hands each part of the file over as the
//! browser reads it from disk (public/parse-worker.js), and the records of a UTF-8 text file
//! are read in between, so that most of the parse is done by the time the last part comes.
//! Any other file (a workbook, UTF-16, a legacy encoding, one too large) is kept whole and
//! read by [`super::read_with`] at the end.
//!
//! The answer is always the one [`super::read_with`] gives for the whole file: a record is
//! read only once the bytes after it are there (`text::read` with `more`), the start only once
//! the bytes it looks at are there (`text::start`), and if the file turns out not to be UTF-8
//! further down, the rows read so far are thrown away and the whole file is read as
//! `read_with` reads it. Property tests feed random files in random parts and compare.

use super::records::Position;
use super::table::Assembler;
use super::text::{self, Start};
use super::{detect, mode, open, Choice, Format, ImportError, Limits, Reading, ReferenceScan};

/// Bytes to have before the reading begins: a first part worth the reading's set-up (what
/// must have come for each step of the start, `text::start` waits for itself).
pub const START_BYTES: usize = 64 << 10;

/// Unread bytes that stop the reading as the file comes: the delimiter's rows not yet whole,
/// or a record not yet ended (an unclosed quote, a run of blank lines), this far into the
/// file. Each part would read them again; they are read once, at the end, instead.
const GIVE_UP_BYTES: usize = 1 << 20;

/// A file fed in parts ([`Feed::push`]), read as it comes where it can be.
pub struct Feed {
    bytes: Vec<u8>,
    file_name: String,
    choice: Choice,
    limits: Limits,
    start_bytes: usize,
    state: State,
}

enum State {
    /// Fewer than `start_bytes`, or not yet enough to tell how to read it.
    Waiting,
    /// UTF-8 delimited text, read as it comes.
    Reading(Box<Stream>),
    /// Read whole at the end.
    Whole,
}

/// A text file's reading so far.
struct Stream {
    kind: &'static str,
    encoding: &'static str,
    delimiter: u8,
    /// Where the reader stands, in the file's bytes; before the first record, where the text
    /// starts (after a byte-order mark and a `sep=` line).
    at: Position,
    assembler: Assembler,
    /// The bytes known to be UTF-8 (up to a character's start).
    checked: usize,
    /// The reading stopped before the end: the assembler asks the officer, or the file was
    /// refused (the refusal). The rest is only checked to be UTF-8.
    stopped: Option<Option<ImportError>>,
    /// The rest is read at the end ([`GIVE_UP_BYTES`]).
    held: bool,
}

impl Feed {
    /// A file of about `size` bytes (its room is taken at once), named `file_name`;
    /// `choice` is the officer's answer to an earlier question about it.
    pub fn new(file_name: &str, size: usize, choice: Choice) -> Feed {
        Self::with_start(file_name, size, choice, START_BYTES)
    }

    /// [`Feed::new`], beginning to read once `start_bytes` have come (tests feed small files).
    pub fn with_start(file_name: &str, size: usize, choice: Choice, start_bytes: usize) -> Feed {
        let limits = Limits::default();
        let mut bytes = Vec::new();
        let state = if size > limits.max_bytes || bytes.try_reserve_exact(size).is_err() {
            State::Whole
        } else {
            State::Waiting
        };
        Feed {
            bytes,
            file_name: file_name.to_string(),
            choice,
            limits,
            start_bytes,
            state,
        }
    }

    /// The next part of the file; reads what it can.
    pub fn push(&mut self, part: &[u8]) {
        self.bytes.extend_from_slice(part);
        self.advance(true);
    }

    /// The file is all there: what reading it comes to, as [`super::read_with`] gives it for
    /// the whole file (its references scanned here).
    pub fn finish(mut self) -> Result<Reading, ImportError> {
        if self.bytes.len() > self.limits.max_bytes || self.bytes.is_empty() {
            self.state = State::Whole;
        }
        self.advance(false);
        match self.state {
            State::Reading(stream) => stream.end(),
            State::Waiting | State::Whole => open(
                &self.bytes,
                &self.file_name,
                &self.limits,
                Some(&self.choice),
                ReferenceScan::Here,
            ),
        }
    }

    /// The file's name, as given to [`Feed::new`].
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The rows read so far while the file arrives (the last one's row number), or `None` if
    /// it is not being read as it comes (for tests).
    #[cfg(test)]
    pub(super) fn read_so_far(&self) -> Option<usize> {
        match &self.state {
            State::Reading(stream) => Some(stream.at.row),
            State::Waiting | State::Whole => None,
        }
    }

    /// Whether the rest of the file is left to be read at the end ([`GIVE_UP_BYTES`]).
    #[cfg(test)]
    pub(super) fn held(&self) -> bool {
        matches!(&self.state, State::Reading(stream) if stream.held)
    }

    /// Begins or goes on reading; `more`: more of the file is to come.
    fn advance(&mut self, more: bool) {
        if let State::Waiting = self.state {
            if more && self.bytes.len() < self.start_bytes {
                return;
            }
            self.state = self.begin(more);
        }
        if let State::Reading(stream) = &mut self.state {
            if !stream.read_on(&self.bytes, more) {
                self.state = State::Whole;
            }
        }
    }

    /// How to read the file, from what has come of it.
    fn begin(&self, more: bool) -> State {
        let Format::Text(kind) = detect(&self.bytes, &self.file_name) else {
            return State::Whole;
        };
        match text::start(&self.bytes, kind, more) {
            Start::Text {
                base,
                encoding,
                delimiter,
                refused,
            } => State::Reading(Box::new(Stream {
                kind,
                encoding,
                delimiter,
                at: Position {
                    after: base,
                    row: 0,
                },
                assembler: Assembler::with_mode(self.limits.max_rows, mode(Some(&self.choice))),
                checked: base,
                stopped: refused.map(Some),
                held: false,
            })),
            Start::Wait if self.bytes.len() < GIVE_UP_BYTES => State::Waiting,
            Start::Wait | Start::Whole => State::Whole,
        }
    }
}

impl Stream {
    /// Reads the records that have come whole; `false` if the file cannot be read as it
    /// comes after all (it is not UTF-8).
    fn read_on(&mut self, bytes: &[u8], more: bool) -> bool {
        if more && self.held {
            return true;
        }
        if self.stopped.is_some() {
            let Some(rest) = bytes.get(self.checked..) else {
                return false;
            };
            return match text::utf8_prefix(rest, more) {
                Some(valid) => {
                    self.checked += valid.len();
                    true
                }
                None => false,
            };
        }
        // The text from the line break that ended the last record on (an ASCII byte): the
        // reader goes on from there as from the start (`Records::resume`).
        let start = if self.at.row == 0 {
            self.at.after
        } else {
            self.at.after.saturating_sub(1)
        };
        let Some(text) = bytes.get(start..).and_then(|b| text::utf8_prefix(b, more)) else {
            return false;
        };
        let at = Position {
            after: self.at.after - start,
            row: self.at.row,
        };
        match text::read(text, self.delimiter, at, more, &mut self.assembler) {
            Ok(stopped_at) => {
                self.at = Position {
                    after: start + stopped_at.after,
                    row: stopped_at.row,
                };
                if self.assembler.is_asking() {
                    self.stopped = Some(None);
                }
                self.held = bytes.len().saturating_sub(self.at.after) > GIVE_UP_BYTES;
            }
            Err(refused) => self.stopped = Some(Some(refused)),
        }
        self.checked = start + text.len();
        true
    }

    /// What the reading came to (the file all read).
    fn end(self) -> Result<Reading, ImportError> {
        if let Some(Some(refused)) = self.stopped {
            return Err(refused);
        }
        text::reading(
            self.assembler.end()?,
            self.kind,
            self.encoding,
            self.delimiter,
        )
    }
}
