//! The rules of a batch as a whole: each row is a Create account request, and rows of one
//! file must not ask for the same email address or TechPass username twice.

use std::borrow::Cow;
use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap;

use super::{Email, FieldError, NewAccount, RawAccount};

/// Every problem of one row against the Create account rules (empty when it is fine).
pub fn row_problems(raw: &RawAccount) -> Vec<FieldError> {
    NewAccount::problems(raw)
}

/// How rows are compared: addresses case-insensitively (as the server does), usernames
/// case-insensitively and trimmed.
pub fn email_key(email: &str) -> Option<String> {
    email_key_cow(email).map(Cow::into_owned)
}

/// [`email_key`], borrowed where the address is its own key (most addresses of a file are).
fn email_key_cow(email: &str) -> Option<Cow<'_, str>> {
    let trimmed = email.trim();
    if trimmed.is_empty() {
        return None;
    }
    // A valid address's key is its lower case with the domain's trailing dot dropped; an
    // invalid one's is its lower case. So an ASCII address without a trailing dot needs no
    // parse to find its key.
    if trimmed.is_ascii() && !trimmed.ends_with('.') {
        return Some(super::lower_ascii(trimmed));
    }
    Some(Cow::Owned(
        Email::parse(trimmed)
            .map(|e| e.key())
            .unwrap_or_else(|_| trimmed.to_lowercase()),
    ))
}

fn username_key(username: &str) -> Option<Cow<'_, str>> {
    let trimmed = username.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.is_ascii() {
        Some(super::lower_ascii(trimmed))
    } else {
        Some(Cow::Owned(trimmed.to_lowercase()))
    }
}

/// The same address twice in one list. `first` is the row of the file that has it first,
/// where known (the page knows the file's rows; the server knows only what it was sent).
pub fn email_twice(email: &str, first: Option<usize>) -> FieldError {
    FieldError::new(
        "email",
        match first {
            Some(first) => {
                format!(
                    "Row {first} already has the email address {email}: remove one of the two rows"
                )
            }
            None => format!("{email} is in this list more than once. Keep one row for each person"),
        },
    )
}

/// The same TechPass username twice in one list (see [`email_twice`]).
pub fn username_twice(username: &str, first: Option<usize>) -> FieldError {
    FieldError::new(
        "username",
        match first {
            Some(first) => {
                format!("Row {first} already has the TechPass username {username}: choose another")
            }
            None => format!(
                "The TechPass username {username} is in this list more than once. Give each \
                 vendor their own"
            ),
        },
    )
}

/// The row that had `key` first, or `None` when `line` is the first (and is now noted).
fn seen<'a>(
    rows: &mut FxHashMap<Cow<'a, str>, usize>,
    key: Cow<'a, str>,
    line: usize,
) -> Option<usize> {
    match rows.entry(key) {
        Entry::Occupied(first) => Some(*first.get()),
        Entry::Vacant(slot) => {
            slot.insert(line);
            None
        }
    }
}

/// For rows given as (row number, values), the clashes within the file: a row whose address
/// or username already appeared in an earlier row gets a problem naming that row. The first
/// occurrence stays clean, so removing or fixing the later one is enough. The result is
/// aligned with the input.
pub fn in_file_duplicates<'a>(
    rows: impl IntoIterator<Item = (usize, &'a RawAccount)>,
) -> Vec<Vec<FieldError>> {
    let rows = rows.into_iter();
    let size = rows.size_hint().0;
    // Keys borrow the rows' own text where it is already the key. Both maps are made to
    // size: one that grows rehashes every key it holds at each step (a vendors' list has a
    // username on every row).
    let mut emails: FxHashMap<Cow<'a, str>, usize> =
        FxHashMap::with_capacity_and_hasher(size, Default::default());
    let mut usernames: FxHashMap<Cow<'a, str>, usize> =
        FxHashMap::with_capacity_and_hasher(size, Default::default());
    let mut out = Vec::with_capacity(size);
    for (line, raw) in rows {
        let mut problems = Vec::new();
        if let Some(first) = email_key_cow(&raw.email).and_then(|k| seen(&mut emails, k, line)) {
            problems.push(email_twice(raw.email.trim(), Some(first)));
        }
        if let Some(first) = username_key(&raw.username).and_then(|k| seen(&mut usernames, k, line))
        {
            problems.push(username_twice(raw.username.trim(), Some(first)));
        }
        out.push(problems);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The key as it was found before the fast path: always through the parse.
    fn email_key_reference(email: &str) -> Option<String> {
        let trimmed = email.trim();
        if trimmed.is_empty() {
            return None;
        }
        Some(
            Email::parse(trimmed)
                .map(|e| e.key())
                .unwrap_or_else(|_| trimmed.to_lowercase()),
        )
    }

    proptest! {
        #[test]
        fn the_email_key_fast_path_gives_the_parsed_key(
            email in "[ ]?[a-zA-Z0-9.+_@ -]{0,12}@?[a-zA-Z0-9.-]{0,12}(\\.gov\\.sg|\\.COM|\\.)?[ ]?|\\PC{0,20}"
        ) {
            prop_assert_eq!(email_key(&email), email_key_reference(&email));
        }

        #[test]
        fn the_username_key_is_the_trimmed_lower_case(username in "[ ]?[a-zA-Z0-9._-]{0,8}[ ]?|\\PC{0,12}") {
            let trimmed = username.trim();
            let expected = (!trimmed.is_empty()).then(|| trimmed.to_lowercase());
            prop_assert_eq!(username_key(&username).map(Cow::into_owned), expected);
        }
    }

    fn raw(email: &str, username: &str) -> RawAccount {
        RawAccount {
            email: email.into(),
            username: username.into(),
            ..RawAccount::default()
        }
    }

    /// The clashes as first found: each key's first row in a `BTreeMap`.
    fn in_file_duplicates_reference(rows: &[RawAccount]) -> Vec<Vec<FieldError>> {
        let mut emails = std::collections::BTreeMap::new();
        let mut usernames = std::collections::BTreeMap::new();
        rows.iter()
            .enumerate()
            .map(|(i, raw)| {
                let line = i + 2;
                let mut problems = Vec::new();
                if let Some(key) = email_key(&raw.email) {
                    if let Some(&first) = emails.get(&key) {
                        problems.push(email_twice(raw.email.trim(), Some(first)));
                    } else {
                        emails.insert(key, line);
                    }
                }
                if let Some(key) = username_key(&raw.username).map(Cow::into_owned) {
                    if let Some(&first) = usernames.get(&key) {
                        problems.push(username_twice(raw.username.trim(), Some(first)));
                    } else {
                        usernames.insert(key, line);
                    }
                }
                problems
            })
            .collect()
    }

    proptest! {
        /// Few letters, so that rows clash often; up to 300 rows, so that the tables grow.
        #[test]
        fn the_clashes_are_the_reference_s(
            rows in prop::collection::vec(("[aAbB]{0,3}@?[ab]{0,2}(\\.gov\\.sg)?[ .]?", "[ ]?[aAbB]{0,3}"), 0..300)
        ) {
            let rows: Vec<RawAccount> = rows.into_iter().map(|(e, u)| raw(&e, &u)).collect();
            let found = in_file_duplicates(rows.iter().enumerate().map(|(i, r)| (i + 2, r)));
            prop_assert_eq!(found, in_file_duplicates_reference(&rows));
        }
    }

    #[test]
    fn later_rows_with_the_same_address_in_another_case_are_flagged_with_the_first_row() {
        let rows = [
            raw("ann@tech.gov.sg", ""),
            raw("bob@tech.gov.sg", ""),
            raw(" ANN@Tech.gov.sg", ""),
        ];
        let found = in_file_duplicates(rows.iter().enumerate().map(|(i, r)| (i + 2, r)));
        assert!(found[0].is_empty() && found[1].is_empty());
        assert_eq!(found[2].len(), 1);
        assert_eq!(found[2][0].field, "email");
        assert!(
            found[2][0].message.starts_with("Row 2 already has"),
            "{:?}",
            found[2]
        );
    }

    #[test]
    fn usernames_clash_case_insensitively_and_blank_ones_never_do() {
        let rows = [
            raw("a@vendor.com", "jtan"),
            raw("b@vendor.com", "JTan"),
            raw("c@tech.gov.sg", ""),
            raw("d@tech.gov.sg", ""),
        ];
        let found = in_file_duplicates(rows.iter().enumerate().map(|(i, r)| (i + 2, r)));
        assert_eq!(found[1][0].field, "username");
        assert!(found[2].is_empty() && found[3].is_empty());
    }

    #[test]
    fn a_row_with_every_field_wrong_names_each_field() {
        let problems = row_problems(&RawAccount::default());
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(
            fields.contains(&"email") && fields.contains(&"reason"),
            "{fields:?}"
        );
    }
}
