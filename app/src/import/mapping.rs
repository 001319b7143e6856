//! The column question: a file's header row, each column's first values, and the best guess
//! of which column is which template field, for the officer to confirm or change.
//!
//! The guess keeps every column the template's names and aliases match, then gives each field
//! still without a column the unclaimed column that looks most like it: by its header (a
//! template name or alias inside it, or most of its letter pairs) or by its values (addresses
//! in an email column, yes or no in the SEED column, digits in the contact number column).

use std::borrow::Cow;

use super::table::{normalise, Header, Row};
use super::{ColumnQuestion, FileColumn, COLUMNS};

/// Rows below the header whose values are shown as samples.
const SAMPLE_ROWS: usize = 3;

/// Sample values are cut to this many characters.
const SAMPLE_CHARS: usize = 60;

/// Columns listed at most (a header row of hundreds of cells is not a user list anyway).
const MAX_COLUMNS: usize = 200;

/// A guess below this score is no guess.
const THRESHOLD: f32 = 0.5;

/// The question for a header row that does not match the template: `header` is its match,
/// `cells` its cells, `below` the rows read after it.
pub(super) fn question(
    header: &Header,
    cells: &[(usize, Cow<'_, str>)],
    below: &[Row<'_>],
) -> ColumnQuestion {
    let samples: Vec<&Row<'_>> = below.iter().take(SAMPLE_ROWS).collect();
    let mut indices: Vec<usize> = cells
        .iter()
        .map(|(c, _)| *c)
        .chain(samples.iter().flat_map(|r| r.cells.iter().map(|(c, _)| *c)))
        .collect();
    indices.sort_unstable();
    indices.dedup();
    indices.truncate(MAX_COLUMNS);
    let columns: Vec<FileColumn> = indices
        .into_iter()
        .map(|index| FileColumn {
            index,
            header: cell(cells, index).to_string(),
            samples: samples.iter().map(|r| cut(cell(&r.cells, index))).collect(),
        })
        .collect();
    let signature = cells
        .iter()
        .map(|(_, text)| normalise(text))
        .collect::<Vec<_>>()
        .join("|");
    let headerless = cells
        .iter()
        .any(|(_, text)| value_score("email", &[text.to_string()]) > 0.0);
    ColumnQuestion {
        sheet: None,
        header_line: header.line,
        guess: guess(&header.fields, &columns),
        columns,
        signature,
        headerless,
    }
}

fn cell<'a>(cells: &'a [(usize, Cow<'_, str>)], column: usize) -> &'a str {
    cells
        .iter()
        .find(|(c, _)| *c == column)
        .map_or("", |(_, t)| t.as_ref())
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(SAMPLE_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// For each template field, its column: the header match where there is one, else the best
/// of the columns left (see the module's comment), each column used once.
pub(super) fn guess(matched: &[Option<usize>], columns: &[FileColumn]) -> Vec<Option<usize>> {
    let mut guess: Vec<Option<usize>> = matched.to_vec();
    guess.resize(COLUMNS.len(), None);
    let claimed = |guess: &[Option<usize>], c: usize| guess.contains(&Some(c));
    let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
    for (field, column) in COLUMNS.iter().enumerate() {
        if guess[field].is_some() {
            continue;
        }
        for file in columns {
            if claimed(&guess, file.index) {
                continue;
            }
            let score = name_score(column.header, column.aliases, &file.header)
                .max(value_score(column.field, &file.samples));
            if score >= THRESHOLD {
                candidates.push((score, field, file.index));
            }
        }
    }
    // Best first; on a tie, the template's order, then the file's.
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, field, column) in candidates {
        if guess[field].is_none() && !claimed(&guess, column) {
            guess[field] = Some(column);
        }
    }
    guess
}

/// How much a file's header looks like a template column's names: 0.9 when one of them is a
/// word of it ("Email (work)"), else the share of letter pairs they have in common.
fn name_score(header: &str, aliases: &[&str], file_header: &str) -> f32 {
    let key = normalise(file_header);
    if key.is_empty() {
        return 0.0;
    }
    let words: Vec<String> = file_header
        .split(|c: char| !c.is_alphanumeric())
        .map(normalise)
        .filter(|w| !w.is_empty())
        .collect();
    std::iter::once(header)
        .chain(aliases.iter().copied())
        .map(|name| {
            let name = normalise(name);
            let is_word = name.len() >= 3 && words.contains(&name);
            if is_word || (name.len() >= 5 && key.contains(name.as_str())) {
                0.9
            } else {
                dice(&key, &name)
            }
        })
        .fold(0.0, f32::max)
}

/// Sørensen–Dice coefficient of the letter pairs of two words.
fn dice(a: &str, b: &str) -> f32 {
    let pairs = |s: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = s.chars().collect();
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (a, mut b) = (pairs(a), pairs(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let total = (a.len() + b.len()) as f32;
    let mut common = 0;
    for pair in &a {
        if let Some(i) = b.iter().position(|p| p == pair) {
            b.swap_remove(i);
            common += 1;
        }
    }
    2.0 * common as f32 / total
}

/// How much a column's values look like a field's: the share of its non-blank samples that
/// do (0.8 at most, under a header that matches).
fn value_score(field: &str, samples: &[String]) -> f32 {
    let values: Vec<&str> = samples
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if values.is_empty() {
        return 0.0;
    }
    let looks: fn(&str) -> bool = match field {
        "email" => |v| {
            v.split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !v.contains(' '))
        },
        "seed_required" => |v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "yes" | "no" | "y" | "n" | "true" | "false"
            )
        },
        "contact_number" => |v| {
            let digits = v.chars().filter(char::is_ascii_digit).count();
            digits >= 7
                && v.chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
        },
        _ => return 0.0,
    };
    0.8 * values.iter().filter(|v| looks(v)).count() as f32 / values.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(index: usize, header: &str, samples: &[&str]) -> FileColumn {
        FileColumn {
            index,
            header: header.into(),
            samples: samples.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn field(name: &str) -> usize {
        COLUMNS.iter().position(|c| c.field == name).unwrap()
    }

    #[test]
    fn headers_guess_by_words_and_letter_pairs() {
        let columns = [
            column(0, "Email (work)", &[]),
            column(1, "Organisation name", &[]),
            column(2, "Contact No.", &[]),
            column(3, "Notes", &[]),
        ];
        let guess = guess(&[None; 9], &columns);
        assert_eq!(guess[field("email")], Some(0));
        assert_eq!(guess[field("organisation")], Some(1));
        assert_eq!(guess[field("contact_number")], Some(2));
        assert_eq!(guess[field("reason")], None, "Notes is no reason");
    }

    #[test]
    fn values_guess_what_headers_do_not() {
        let columns = [
            column(0, "Correo", &["ana@tech.gov.sg", "bo@vendor.com"]),
            column(1, "Teléfono", &["+65 9123 4567", "81234567"]),
            column(2, "SEED onboard?", &["Yes", "no"]),
            column(3, "Nombre", &["Ana", "Bo"]),
        ];
        let guess = guess(&[None; 9], &columns);
        assert_eq!(guess[field("email")], Some(0));
        assert_eq!(guess[field("contact_number")], Some(1));
        assert_eq!(guess[field("seed_required")], Some(2));
        assert_eq!(guess[field("first_name")], None);
    }

    #[test]
    fn a_column_is_guessed_once_and_header_matches_stay() {
        let mut matched = [None; 9];
        matched[field("email")] = Some(5);
        let columns = [column(0, "Email 2", &["x@y.sg"]), column(5, "Email", &[])];
        let guess = guess(&matched, &columns);
        assert_eq!(guess[field("email")], Some(5));
        assert_eq!(guess.iter().filter(|g| **g == Some(0)).count(), 0);
    }

    #[test]
    fn samples_are_cut() {
        assert_eq!(cut("short"), "short");
        let long = "é".repeat(70);
        assert_eq!(cut(&long).chars().count(), SAMPLE_CHARS + 1);
    }
}
