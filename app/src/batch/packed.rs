//! The rows of a list in a compact binary form: how the parsing worker hands its rows to the
//! page and how the draft store keeps them (the page reads them without parsing JSON again).
//!
//! Two streams after a header. The numbers, each a little-endian `u32`: the row count, then
//! per row its line, its state, the byte length of each text field (an optional one as its
//! length + 1, 0 for none) and the length of each list of problems. The text: every string
//! of every row, in order, as one piece of UTF-8, checked once when read and cut at the
//! lengths (a cut off a character boundary is refused, never a panic).
//!
//! ```text
//! b"TBR" 2 | numbers: u32 count | text: u32 bytes | numbers … | text …
//! ```
//!
//! [`decode`] also reads what earlier versions stored, so a list kept in a browser before
//! this form still comes back: the JSON, and version 1 of this form, which kept each row's
//! id (its text first in the row) where version 2 makes it from the row number.

use crate::domain::{FieldError, RawAccount};

use super::model::{DraftRow, RowState};

const MAGIC: [u8; 4] = *b"TBR\x02";
/// Version 1: each row's id too.
const MAGIC_V1: [u8; 4] = *b"TBR\x01";
const HEADER: usize = 12;

/// `rows` in the packed form.
pub fn encode(rows: &[DraftRow]) -> Vec<u8> {
    encode_as(rows, MAGIC)
}

/// `rows` in the form `magic` names (version 1 only for the tests of reading it).
fn encode_as(rows: &[DraftRow], magic: [u8; 4]) -> Vec<u8> {
    // About 20 numbers and 250 bytes of text a row.
    let mut out = Writer {
        numbers: Vec::with_capacity(rows.len() * 20 + 1),
        text: Vec::with_capacity(rows.len() * 256),
    };
    out.number(rows.len());
    for row in rows {
        if magic == MAGIC_V1 {
            out.text(&row.id());
        }
        out.number(row.line);
        for value in row.raw.values() {
            out.text(value);
        }
        out.number(match row.state {
            RowState::Ready => 0,
            RowState::Invited => 1,
            RowState::Removed => 2,
        });
        for list in [&row.problems, &row.duplicates, &row.server_problems] {
            out.number(list.len());
            for problem in list {
                out.text(&problem.field);
                out.text(&problem.message);
            }
        }
        out.optional(row.trace_id.as_deref());
        out.optional(row.invitation_id.as_deref());
    }
    let mut bytes = Vec::with_capacity(HEADER + out.numbers.len() * 4 + out.text.len());
    bytes.extend_from_slice(&magic);
    bytes.extend_from_slice(&count(out.numbers.len()).to_le_bytes());
    bytes.extend_from_slice(&count(out.text.len()).to_le_bytes());
    for n in &out.numbers {
        bytes.extend_from_slice(&n.to_le_bytes());
    }
    bytes.extend_from_slice(&out.text);
    bytes
}

/// The rows of `bytes` (the packed form, or the JSON of earlier versions); `None` when they
/// are neither (a damaged or foreign store).
pub fn decode(bytes: &[u8]) -> Option<Vec<DraftRow>> {
    if !bytes.starts_with(&MAGIC) && !bytes.starts_with(&MAGIC_V1) {
        return serde_json::from_slice(bytes).ok();
    }
    unpack(bytes)
}

/// The rows of `bytes` in the packed form alone (the parsing worker's bundle, which reads no
/// JSON rows, links only this).
pub fn unpack(bytes: &[u8]) -> Option<Vec<DraftRow>> {
    let with_id = bytes.starts_with(&MAGIC_V1);
    if !bytes.starts_with(&MAGIC) && !with_id {
        return None;
    }
    let word = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    let numbers_len = word(4)?.checked_mul(4)?;
    let text_len = word(8)?;
    let text_at = HEADER.checked_add(numbers_len)?;
    if text_at.checked_add(text_len)? != bytes.len() {
        return None;
    }
    let mut reader = Reader {
        numbers: bytes[HEADER..text_at].chunks_exact(4),
        text: std::str::from_utf8(&bytes[text_at..]).ok()?,
        at: 0,
        with_id,
    };
    let rows = reader.number()?;
    // A row takes at least 16 numbers: a damaged count cannot ask for more room than that.
    let mut out = Vec::with_capacity(rows.min(reader.numbers.len() / 16));
    for _ in 0..rows {
        out.push(reader.row()?);
    }
    (reader.numbers.len() == 0 && reader.at == reader.text.len()).then_some(out)
}

struct Writer {
    numbers: Vec<u32>,
    text: Vec<u8>,
}

impl Writer {
    fn number(&mut self, n: usize) {
        self.numbers.push(count(n));
    }

    fn text(&mut self, s: &str) {
        self.number(s.len());
        self.text.extend_from_slice(s.as_bytes());
    }

    fn optional(&mut self, s: Option<&str>) {
        match s {
            None => self.number(0),
            Some(s) => {
                self.number(s.len() + 1);
                self.text.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// A count or length as the form's `u32`. A list is at most 100,000 rows of a 40 MB file, so
/// nothing in it comes near; should it, the row is cut short and refused when read, never
/// read wrong.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Reader<'a> {
    numbers: std::slice::ChunksExact<'a, u8>,
    text: &'a str,
    /// Where the next string starts in `text`.
    at: usize,
    /// Version 1: each row starts with its id's text (skipped: the id is made from the line).
    with_id: bool,
}

impl Reader<'_> {
    fn number(&mut self) -> Option<usize> {
        let b: [u8; 4] = self.numbers.next()?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    }

    fn cut(&mut self, len: usize) -> Option<String> {
        self.slice(len).map(str::to_owned)
    }

    fn slice(&mut self, len: usize) -> Option<&str> {
        let end = self.at.checked_add(len)?;
        let s = self.text.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn text(&mut self) -> Option<String> {
        let len = self.number()?;
        self.cut(len)
    }

    fn optional(&mut self) -> Option<Option<String>> {
        match self.number()? {
            0 => Some(None),
            n => self.cut(n - 1).map(Some),
        }
    }

    fn problems(&mut self) -> Option<Vec<FieldError>> {
        let n = self.number()?;
        let mut out = Vec::with_capacity(n.min(self.numbers.len() / 2));
        for _ in 0..n {
            out.push(FieldError {
                field: self.text()?,
                message: self.text()?,
            });
        }
        Some(out)
    }

    fn row(&mut self) -> Option<DraftRow> {
        if self.with_id {
            let len = self.number()?;
            self.slice(len)?;
        }
        let line = self.number()?;
        let mut values: [String; 9] = Default::default();
        for value in &mut values {
            *value = self.text()?;
        }
        let raw = RawAccount::from_values(values);
        let state = match self.number()? {
            0 => RowState::Ready,
            1 => RowState::Invited,
            2 => RowState::Removed,
            _ => return None,
        };
        Some(DraftRow {
            line,
            raw,
            state,
            problems: self.problems()?,
            duplicates: self.problems()?,
            server_problems: self.problems()?,
            trace_id: self.optional()?,
            invitation_id: self.optional()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "\\PC{0,12}|[a-z@.]{0,8}|"
    }

    fn problems() -> impl Strategy<Value = Vec<FieldError>> {
        prop::collection::vec(
            (text(), text()).prop_map(|(field, message)| FieldError { field, message }),
            0..3,
        )
    }

    fn row() -> impl Strategy<Value = DraftRow> {
        (
            (0usize..1_000_000, prop::collection::vec(text(), 9)),
            (0u8..3, problems(), problems(), problems()),
            (prop::option::of(text()), prop::option::of(text())),
        )
            .prop_map(
                |(
                    (line, f),
                    (state, problems, duplicates, server_problems),
                    (trace_id, invitation_id),
                )| {
                    DraftRow {
                        line,
                        raw: RawAccount::from_values(f.try_into().expect("nine values")),
                        state: [RowState::Ready, RowState::Invited, RowState::Removed]
                            [usize::from(state)],
                        problems,
                        duplicates,
                        server_problems,
                        trace_id,
                        invitation_id,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn rows_come_back_as_they_went(rows in prop::collection::vec(row(), 0..6)) {
            prop_assert_eq!(decode(&encode(&rows)), Some(rows.clone()));
            // What earlier versions stored: the form's version 1 (with each row's id), and
            // the JSON.
            prop_assert_eq!(decode(&encode_as(&rows, MAGIC_V1)), Some(rows.clone()));
            prop_assert_eq!(unpack(&encode_as(&rows, MAGIC_V1)), Some(rows.clone()));
            prop_assert_eq!(decode(&serde_json::to_vec(&rows).unwrap()), Some(rows));
        }

        #[test]
        fn damaged_bytes_are_refused_not_misread(
            rows in prop::collection::vec(row(), 1..4),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<bool>(),
        ) {
            let mut bytes = encode(&rows);
            let i = at.index(bytes.len());
            if cut {
                bytes.truncate(i);
                prop_assert_eq!(decode(&bytes), None);
            } else {
                bytes[i] = byte;
                // A changed byte may still spell rows (a letter of a name, say); it must
                // never panic, and a changed header or count must not pass as the rows.
                let read = decode(&bytes);
                if i < HEADER + 4 && bytes[i] != encode(&rows)[i] {
                    prop_assert_eq!(read, None);
                }
            }
        }
    }

    #[test]
    fn a_text_cut_inside_a_character_is_refused() {
        let mut row = DraftRow::new(2, RawAccount::default());
        row.raw.first_name = "Zoë".into();
        let mut bytes = encode(&[row]);
        // The first name's length, the fifth number (the count, then the line, the email's
        // and the username's lengths): "Zoë" is 4 bytes; say 3, and the next field starts
        // inside the ë.
        let first_name_len = HEADER + 4 * 4;
        assert_eq!(
            bytes[first_name_len..first_name_len + 4],
            4u32.to_le_bytes()
        );
        bytes[first_name_len..first_name_len + 4].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(decode(&bytes), None);
    }

    #[test]
    fn a_row_stored_as_json_by_an_earlier_version_comes_back_with_its_id() {
        let stored = r#"[{"id":"r7","line":7,"raw":{"email":"ann@tech.gov.sg","username":"","first_name":"Ann","last_name":"Tan","contact_number":"91234567","organisation":"GovTech","department":"","seed_required":"No","reason":"Ops"},"state":"Invited","problems":[],"duplicates":[],"server_problems":[],"trace_id":null,"invitation_id":"inv-1"}]"#;
        let rows = decode(stored.as_bytes()).expect("the JSON rows");
        assert_eq!((rows[0].line, rows[0].id()), (7, "r7".to_string()));
        assert_eq!(rows[0].state, RowState::Invited);
        assert_eq!(rows[0].invitation_id.as_deref(), Some("inv-1"));
    }

    #[test]
    fn it_is_smaller_than_the_json() {
        let rows: Vec<DraftRow> = (2..202)
            .map(|line| {
                DraftRow::new(
                    line,
                    RawAccount {
                        email: format!("person.{line}@tech.gov.sg"),
                        first_name: "Siew Ling".into(),
                        last_name: "Tan".into(),
                        contact_number: "+65 9123 4567".into(),
                        organisation: "GovTech".into(),
                        seed_required: "Yes".into(),
                        reason: "Deploys the agency's portal".into(),
                        ..RawAccount::default()
                    },
                )
            })
            .collect();
        let packed = encode(&rows).len();
        let json = serde_json::to_vec(&rows).unwrap().len();
        assert!(packed * 10 < json * 7, "packed {packed} bytes, JSON {json}");
    }
}
