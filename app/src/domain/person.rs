//! The details of a person being invited or given an account: names, contact number,
//! organisation, department, TechPass username, the reason for the invitation, and whether
//! they need onboarding to SEED.
//!
//! Each type *parses* what a user typed (or what a spreadsheet cell held) into a value that is
//! valid by construction. A parse error is a message the user can act on, naming the field in
//! the words of the form's labels. Lengths are counted in Unicode scalar values (`char`s).
//!
//! Deserialising any of these types runs the same parser, so a value that arrives over the
//! wire is as trustworthy as one parsed here.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::UserKind;

/// Characters that are invisible, and only ever pasted in by accident or to spoof what a
/// reader sees: zero-width space, soft hyphen, bidirectional marks, overrides and isolates,
/// word joiner and invisible operators, and the byte-order mark. They are dropped.
///
/// Zero-width (non-)joiners (U+200C, U+200D) are not here: some scripts need them in names.
fn is_invisible_junk(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Text for a one-line field: control characters and invisible junk dropped, every run of
/// whitespace (including line breaks, tabs and non-breaking spaces) made one space, trimmed.
fn single_line(input: &str) -> Cow<'_, str> {
    // Most cells are already as the rule would leave them: no copy at all instead of three
    // passes and three allocations.
    if plain_line_chars(input).is_some() {
        return Cow::Borrowed(input);
    }
    let kept: String = input
        .chars()
        .filter(|&c| c.is_whitespace() || !(c.is_control() || is_invisible_junk(c)))
        .collect();
    Cow::Owned(kept.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// How many characters `input` has, if [`single_line`] gives it back unchanged (text in any
/// script with single spaces between words, no control characters, invisible junk or other
/// whitespace, nothing to trim); `None` otherwise. The rows of a file are checked with it
/// ([`Organisation::plainly_valid`], [`Department::plainly_valid`]): printable ASCII, as
/// most cells are, is checked 16 bytes at a time; other text a character at a time.
fn plain_line_chars(input: &str) -> Option<usize> {
    let bytes = input.as_bytes();
    if !printable_ascii(bytes) {
        return plain_line_chars_by_char(input);
    }
    // A character a byte; only the spaces can be wrong.
    let plain =
        bytes.first() != Some(&b' ') && bytes.last() != Some(&b' ') && !has_double_space(bytes);
    plain.then_some(bytes.len())
}

/// Whether every byte is printable ASCII, the space included. Without a branch per byte (a
/// fold, not `all`), so that the compiler checks 16 bytes at a time (the worker's bundle is
/// built with SIMD).
fn printable_ascii(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(true, |ok, &b| ok & (b.wrapping_sub(0x20) < 0x5f))
}

/// [`printable_ascii`], line feeds allowed too (a reason's lines), checked as fast.
fn printable_ascii_lines(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| {
        ok & ((b.wrapping_sub(0x20) < 0x5f) | (b == b'\n'))
    })
}

/// Whether two spaces follow each other somewhere (without a branch per byte, as
/// [`printable_ascii`]).
fn has_double_space(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .zip(bytes.iter().skip(1))
        .fold(false, |found, (&a, &b)| found | ((a == b' ') & (b == b' ')))
}

/// [`plain_line_chars`] a character at a time, for text in any script.
fn plain_line_chars_by_char(input: &str) -> Option<usize> {
    let bytes = input.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return None;
    }
    let (mut count, mut after_space) = (0usize, false);
    for c in input.chars() {
        count += 1;
        if c == ' ' {
            if after_space {
                return None;
            }
            after_space = true;
        } else if ('!'..='~').contains(&c)
            || !(c.is_ascii() || c.is_whitespace() || c.is_control() || is_invisible_junk(c))
        {
            after_space = false;
        } else {
            return None;
        }
    }
    Some(count)
}

/// "first name" -> "First name", for a label that starts a sentence.
fn sentence_case(label: &str) -> String {
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "a" or "an" before a label, for "Enter a first name" and "Enter an organisation".
fn article(label: &str) -> &'static str {
    match label.chars().next() {
        Some(c) if "aeiouAEIOU".contains(c) => "an",
        _ => "a",
    }
}

fn too_long(label: &str, max: usize, count: usize) -> String {
    format!(
        "{} must be {max} characters or fewer (you have entered {count})",
        sentence_case(label)
    )
}

// ---------------------------------------------------------------------------------------------
// Names

/// A first or last name: 1 to 100 characters of letters in any script, spaces, hyphens,
/// apostrophes and full stops, with at least one letter. Trimmed, with runs of whitespace made
/// one space. Letters keep the case the user typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    /// A name for the "First name" field.
    pub fn parse_first(input: &str) -> Result<PersonName, String> {
        Self::parse_labelled(input, "first name")
    }

    /// A name for the "Last name" field.
    pub fn parse_last(input: &str) -> Result<PersonName, String> {
        Self::parse_labelled(input, "last name")
    }

    /// A name whose field is not known; messages call it "name".
    pub fn parse(input: &str) -> Result<PersonName, String> {
        Self::parse_labelled(input, "name")
    }

    /// A name for a field labelled `label` (in lower case, e.g. "first name"), which the
    /// error messages use.
    pub fn parse_labelled(input: &str, label: &str) -> Result<PersonName, String> {
        Self::check_labelled(input, label).map(|s| PersonName(s.into_owned()))
    }

    /// The "First name" field's rule without keeping the name: the message, if any.
    pub fn check_first(input: &str) -> Result<(), String> {
        Self::check_labelled(input, "first name").map(drop)
    }

    /// The "Last name" field's rule without keeping the name.
    pub fn check_last(input: &str) -> Result<(), String> {
        Self::check_labelled(input, "last name").map(drop)
    }

    /// One pass that answers for an ordinary name: true only for a name the rule accepts as
    /// it is (letters of any script and the name marks, single spaces between words, at
    /// least one letter, at most [`PersonName::MAX_CHARS`]); false for anything else, which
    /// the rule then judges.
    pub(super) fn plainly_valid(input: &str) -> bool {
        let bytes = input.as_bytes();
        let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
            return false;
        };
        if first == b' ' || last == b' ' {
            return false;
        }
        let (mut count, mut letter, mut after_space) = (0usize, false, false);
        for c in input.chars() {
            count += 1;
            match c {
                'a'..='z' | 'A'..='Z' => {
                    letter = true;
                    after_space = false;
                }
                ' ' if !after_space => after_space = true,
                '-' | '\'' | '.' => after_space = false,
                c if !c.is_ascii() && is_name_char(c) => {
                    letter |= c.is_alphabetic();
                    after_space = false;
                }
                _ => return false,
            }
        }
        letter && count <= Self::MAX_CHARS
    }

    /// The rule of [`PersonName::parse_labelled`]: the name as it would be kept, borrowed
    /// from `input` where it is already so.
    fn check_labelled<'a>(input: &'a str, label: &str) -> Result<Cow<'a, str>, String> {
        let s = single_line(input);
        if s.is_empty() {
            return Err(format!("Enter {} {label}", article(label)));
        }
        let count = s.chars().count();
        if count > Self::MAX_CHARS {
            return Err(too_long(label, Self::MAX_CHARS, count));
        }
        if let Some(bad) = s.chars().find(|&c| !is_name_char(c)) {
            let label = sentence_case(label);
            return Err(if bad.is_numeric() {
                format!("{label} must not contain digits")
            } else {
                format!(
                    "{label} must not contain \"{bad}\": use only letters, spaces, \
                     hyphens (-), apostrophes (') and full stops (.)"
                )
            });
        }
        if !s.chars().any(char::is_alphabetic) {
            return Err(format!(
                "{} must contain at least one letter",
                sentence_case(label)
            ));
        }
        Ok(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Letters of any script (with the combining marks some scripts write them with), the space,
/// hyphens, apostrophes and the full stop.
fn is_name_char(c: char) -> bool {
    c.is_alphabetic()
        || matches!(
            c,
            ' ' | '-' | '\u{2010}' | '\u{2011}' | '\'' | '\u{2018}' | '\u{2019}' | '.'
        )
        || is_combining_mark(c)
}

/// Combining marks that names need but that are not `Alphabetic` in Unicode (e.g. Tamil
/// pulli, Devanagari virama and nukta, Thai tone marks, Hebrew points, Arabic harakat,
/// decomposed Latin accents), and the zero-width joiners some scripts need.
fn is_combining_mark(c: char) -> bool {
    let u = u32::from(c);
    let in_block = |lo: u32, hi: u32| (lo..=hi).contains(&u);
    // Blocks that are wholly combining marks.
    if in_block(0x0300, 0x036F)
        || in_block(0x1AB0, 0x1AFF)
        || in_block(0x1DC0, 0x1DFF)
        || in_block(0x20D0, 0x20FF)
        || in_block(0xFE20, 0xFE2F)
        || c == '\u{200C}'
        || c == '\u{200D}'
    {
        return true;
    }
    // Hebrew points and cantillation (less the three punctuation marks among them).
    if in_block(0x0591, 0x05C7) {
        return !matches!(u, 0x05C0 | 0x05C3 | 0x05C6);
    }
    // Arabic marks.
    if in_block(0x0610, 0x061A)
        || in_block(0x064B, 0x065F)
        || u == 0x0670
        || in_block(0x06D6, 0x06DC)
        || in_block(0x06DF, 0x06E4)
        || matches!(u, 0x06E7 | 0x06E8)
        || in_block(0x06EA, 0x06ED)
    {
        return true;
    }
    // Indic (Devanagari to Sinhala), Thai, Lao, Myanmar and Khmer: the blocks hold letters,
    // marks, digits and a little punctuation and currency; everything but the last three.
    if in_block(0x0900, 0x0DFF)
        || in_block(0x0E00, 0x0EFF)
        || in_block(0x1000, 0x109F)
        || in_block(0x1780, 0x17FF)
    {
        let punctuation_or_currency = matches!(
            u,
            0x0964 | 0x0965 | 0x0970 | 0x09F2..=0x09FB | 0x0AF0 | 0x0AF1 | 0x0BF3..=0x0BFA
                | 0x0DF4 | 0x0E3F | 0x0E4F | 0x0E5A | 0x0E5B | 0x104A..=0x104F
                | 0x17D4..=0x17DB
        );
        return !c.is_numeric() && !punctuation_or_currency;
    }
    false
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        PersonName::parse(&s)
    }
}

impl From<PersonName> for String {
    fn from(v: PersonName) -> String {
        v.0
    }
}

// ---------------------------------------------------------------------------------------------
// Contact number

const CONTACT_GENERAL: &str = "Contact number must be a Singapore number like 9123 4567 \
                               or an international number starting with +";

/// A telephone number, stored in E.164 form (`+6591234567`).
///
/// Accepted input, with spaces, hyphens (or dashes) and brackets anywhere:
/// - a Singapore number of 8 digits starting with 3, 6, 8 or 9: `9123 4567`, `6123-4567`;
/// - the same with the country code, with or without `+`: `+65 9123 4567`, `+65-6123-4567`,
///   `(65) 6123 4567`, `(+65) 9123 4567`, `65 9123 4567`, `6591234567`. Ten digits starting
///   with 65 are read as a Singapore number: no Singapore number has 10 digits, and a foreign
///   number is accepted only with its `+`, so this is never ambiguous;
/// - an international number: `+`, then 8 to 15 digits (country code first, not starting
///   with 0). A trunk prefix written `(0)`, as in `+44 (0)20 7946 0958`, is left out.
///
/// Full-width digits and punctuation (from Chinese and Japanese input methods) are read as
/// their ASCII forms, and one leading apostrophe (how a spreadsheet keeps a number as text)
/// is ignored. Anything else is rejected, never guessed: letters (`ext 12`, `6.5912345E9`),
/// full stops (`91234567.0`), a `+` that is not at the start, `00` instead of `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContactNumber(String);

impl ContactNumber {
    pub fn parse(input: &str) -> Result<ContactNumber, String> {
        Self::rule(input).map(|n| ContactNumber(n.as_str().to_string()))
    }

    /// [`ContactNumber::parse`]'s answer without the number: no allocation for a valid one
    /// (the batch upload checks 100,000 at a time).
    pub fn check(input: &str) -> Result<(), String> {
        Self::rule(input).map(|_| ())
    }

    /// One pass over the bytes that answers for an ordinary number: true only for a number
    /// the rule accepts (digits, spaces and hyphens, a + only first); false for anything
    /// else, which the rule then judges.
    pub(super) fn plainly_valid(input: &str) -> bool {
        let bytes = input.as_bytes();
        let (plus, rest) = match bytes.split_first() {
            Some((b'+', rest)) => (true, rest),
            _ => (false, bytes),
        };
        let mut digits = Digits::default();
        for &b in rest {
            match b {
                b'0'..=b'9' => digits.push(b),
                b' ' | b'-' => {}
                _ => return false,
            }
        }
        if digits.len > Digits::KEPT {
            return false;
        }
        let kept = digits.kept();
        let singapore_with_code =
            digits.len == 10 && kept.starts_with(b"65") && is_singapore_subscriber(&kept[2..]);
        if plus {
            if kept.starts_with(b"65") {
                singapore_with_code
            } else {
                !kept.starts_with(b"0") && (8..=15).contains(&digits.len)
            }
        } else {
            is_singapore_subscriber(kept) || singapore_with_code
        }
    }

    /// The rule: the number's E.164 form, on the stack.
    fn rule(input: &str) -> Result<E164, String> {
        // Full-width digits and signs are folded; ASCII text has none.
        let folded: std::borrow::Cow<str> = if input.is_ascii() {
            std::borrow::Cow::Borrowed(input)
        } else {
            std::borrow::Cow::Owned(input.chars().map(fold_full_width).collect())
        };
        let s = folded.trim();
        let s = s.strip_prefix(['\'', '\u{2019}']).unwrap_or(s).trim_start();
        if s.is_empty() {
            return Err("Enter a contact number".into());
        }
        if s.chars().any(char::is_alphabetic) {
            return Err(
                "Contact number must not contain letters: enter digits only, \
                        and leave out any extension"
                    .into(),
            );
        }
        // With a country code, a "(0)" (the trunk prefix some write after it) is left out.
        let drop_trunk = s.contains('+');
        let mut digits = Digits::default();
        let mut plus = false;
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            if drop_trunk && rest.starts_with("(0)") {
                rest = &rest[3..];
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                '0'..='9' => digits.push(c as u8),
                '+' if !plus && digits.len == 0 => plus = true,
                '+' => {
                    return Err("Contact number may have a + only at the start".into());
                }
                c if c.is_whitespace() || is_phone_separator(c) => {}
                c => {
                    return Err(format!(
                        "Contact number must not contain \"{c}\": use only digits, spaces, \
                         hyphens and brackets, with + only at the start"
                    ));
                }
            }
        }
        if plus {
            if digits.starts_with(b"0") {
                return Err(
                    "Contact number: the country code after + must not start with 0".into(),
                );
            }
            if digits.starts_with(b"65") {
                return match digits.kept().get(2..) {
                    Some(local) if digits.len == 10 && is_singapore_subscriber(local) => {
                        Ok(E164::new(b"+65", local))
                    }
                    _ => Err(
                        "Contact number: Singapore numbers have 8 digits after +65 and start \
                         with 3, 6, 8 or 9, like +65 9123 4567"
                            .into(),
                    ),
                };
            }
            if !(8..=15).contains(&digits.len) {
                return Err(format!(
                    "Contact number: international numbers have 8 to 15 digits after the +, \
                     including the country code (you have entered {})",
                    digits.len
                ));
            }
            return Ok(E164::new(b"+", digits.kept()));
        }
        if digits.len == 8 {
            return if is_singapore_subscriber(digits.kept()) {
                Ok(E164::new(b"+65", digits.kept()))
            } else {
                Err(
                    "Contact number: Singapore numbers have 8 digits and start with \
                     3, 6, 8 or 9, like 9123 4567. For a number outside Singapore, \
                     start with + and the country code"
                        .into(),
                )
            };
        }
        if digits.len == 10 && digits.starts_with(b"65") {
            let local = &digits.kept()[2..];
            if is_singapore_subscriber(local) {
                return Ok(E164::new(b"+65", local));
            }
        }
        if digits.starts_with(b"00") && digits.len > 8 {
            return Err(
                "Contact number: write + instead of 00 before the country code, \
                        like +60 12 345 6789"
                    .into(),
            );
        }
        Err(CONTACT_GENERAL.into())
    }

    /// The number in E.164 form, like `+6591234567`.
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    pub fn is_singapore(&self) -> bool {
        self.0.starts_with("+65")
    }

    /// For people to read: Singapore numbers as `+65 9123 4567`, others in E.164 form
    /// (their grouping differs by country).
    pub fn display(&self) -> String {
        match self.0.strip_prefix("+65") {
            Some(local) if local.len() == 8 => {
                format!("+65 {} {}", &local[..4], &local[4..])
            }
            _ => self.0.clone(),
        }
    }
}

/// 8 digits starting with 3 (VoIP), 6 (fixed line), 8 or 9 (mobile).
fn is_singapore_subscriber(digits: &[u8]) -> bool {
    digits.len() == 8
        && digits.iter().all(u8::is_ascii_digit)
        && matches!(digits.first(), Some(b'3' | b'6' | b'8' | b'9'))
}

/// The digits of a contact number as typed: how many, and the first [`Digits::KEPT`] (a
/// valid number has at most 15; a longer one is refused by its count and first digits).
#[derive(Default)]
struct Digits {
    kept: [u8; Digits::KEPT],
    len: usize,
}

impl Digits {
    const KEPT: usize = 16;

    fn push(&mut self, digit: u8) {
        if let Some(slot) = self.kept.get_mut(self.len) {
            *slot = digit;
        }
        self.len = self.len.saturating_add(1);
    }

    fn kept(&self) -> &[u8] {
        &self.kept[..self.len.min(Self::KEPT)]
    }

    fn starts_with(&self, prefix: &[u8]) -> bool {
        self.kept().starts_with(prefix)
    }
}

/// A number in E.164 form (`+` and at most 15 digits), on the stack.
struct E164 {
    bytes: [u8; 16],
    len: usize,
}

impl E164 {
    /// `prefix` (`+` or `+65`) then `digits`; the rule calls it with at most 16 bytes.
    fn new(prefix: &[u8], digits: &[u8]) -> E164 {
        let mut bytes = [0; 16];
        let mut len = 0;
        for (slot, &b) in bytes.iter_mut().zip(prefix.iter().chain(digits)) {
            *slot = b;
            len += 1;
        }
        E164 { bytes, len }
    }

    fn as_str(&self) -> &str {
        // ASCII `+` and digits only.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// Hyphens and dashes people type or paste between groups of digits, and brackets.
fn is_phone_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '('
            | ')'
            | '\u{2010}'
            | '\u{2011}'
            | '\u{2012}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2212}'
    )
}

/// Full-width digits, plus, hyphen, brackets and space as their ASCII forms.
fn fold_full_width(c: char) -> char {
    match c {
        '\u{FF10}'..='\u{FF19}' => {
            char::from_u32(u32::from(c) - 0xFF10 + u32::from('0')).unwrap_or(c)
        }
        '\u{FF0B}' => '+',
        '\u{FF0D}' => '-',
        '\u{FF08}' => '(',
        '\u{FF09}' => ')',
        '\u{3000}' => ' ',
        _ => c,
    }
}

impl fmt::Display for ContactNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl TryFrom<String> for ContactNumber {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        ContactNumber::parse(&s)
    }
}

impl From<ContactNumber> for String {
    fn from(v: ContactNumber) -> String {
        v.0
    }
}

// ---------------------------------------------------------------------------------------------
// Organisation and department

/// The person's organisation (agency or company): required, 1 to 200 characters, any
/// characters; trimmed, with runs of whitespace made one space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Organisation(String);

impl Organisation {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Organisation, String> {
        Self::checked(input).map(|s| Organisation(s.into_owned()))
    }

    /// The rule without keeping the value: the message, if any.
    pub fn check(input: &str) -> Result<(), String> {
        Self::checked(input).map(drop)
    }

    /// One pass: true only for an organisation the rule accepts as it is (text in any
    /// script with single spaces between words, nothing to trim or drop); false for anything
    /// else, which the rule then judges.
    pub(super) fn plainly_valid(input: &str) -> bool {
        matches!(plain_line_chars(input), Some(1..=Self::MAX_CHARS))
    }

    fn checked(input: &str) -> Result<Cow<'_, str>, String> {
        let s = single_line(input);
        if s.is_empty() {
            return Err("Enter an organisation".into());
        }
        let count = s.chars().count();
        if count > Self::MAX_CHARS {
            return Err(too_long("organisation", Self::MAX_CHARS, count));
        }
        Ok(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The person's department within their organisation: up to 200 characters, any characters;
/// trimmed, with runs of whitespace made one space. The field is optional: see
/// [`Department::parse_optional`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Department(String);

impl Department {
    pub const MAX_CHARS: usize = 200;

    /// A department that must be given.
    pub fn parse(input: &str) -> Result<Department, String> {
        match Self::parse_optional(input)? {
            Some(d) => Ok(d),
            None => Err("Enter a department".into()),
        }
    }

    /// The optional "Department" field: empty (or only spaces) is `None`.
    pub fn parse_optional(input: &str) -> Result<Option<Department>, String> {
        Self::checked_optional(input).map(|s| s.map(|s| Department(s.into_owned())))
    }

    /// The optional field's rule without keeping the value: the message, if any.
    pub fn check_optional(input: &str) -> Result<(), String> {
        Self::checked_optional(input).map(drop)
    }

    /// One pass: true only for a department the rule accepts as it is (empty, or text in any
    /// script with single spaces between words, nothing to trim or drop); false for anything
    /// else, which the rule then judges.
    pub(super) fn plainly_valid(input: &str) -> bool {
        matches!(plain_line_chars(input), Some(0..=Self::MAX_CHARS))
    }

    fn checked_optional(input: &str) -> Result<Option<Cow<'_, str>>, String> {
        let s = single_line(input);
        if s.is_empty() {
            return Ok(None);
        }
        let count = s.chars().count();
        if count > Self::MAX_CHARS {
            return Err(too_long("department", Self::MAX_CHARS, count));
        }
        Ok(Some(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_newtype_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                <$t>::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    };
}

text_newtype_impls!(Organisation);
text_newtype_impls!(Department);
text_newtype_impls!(TechPassUsername);
text_newtype_impls!(Reason);

// ---------------------------------------------------------------------------------------------
// TechPass username

/// A TechPass username, which vendors choose (public officers' usernames come from their
/// email address).
///
/// Pattern: 3 to 30 characters; lower-case letters `a`-`z`, digits `0`-`9` and the
/// separators `.`, `_` and `-`; starts with a letter; ends with a letter or digit; no two
/// separators in a row. As a regular expression: `^[a-z](?:[._-]?[a-z0-9])+$` with length
/// 3..=30. Input is trimmed and upper-case ASCII letters are made lower case, so `Jane.Tan`
/// is stored as `jane.tan`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TechPassUsername(String);

impl TechPassUsername {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 30;

    pub fn parse(input: &str) -> Result<TechPassUsername, String> {
        Self::checked(input).map(|s| TechPassUsername(s.into_owned()))
    }

    /// The rule without keeping the username: the message, if any.
    pub fn check(input: &str) -> Result<(), String> {
        Self::checked(input).map(drop)
    }

    /// One pass over the bytes: true only for a username the rule accepts (letters a-z in
    /// either case, digits and single separators, starting with a letter and ending with a
    /// letter or digit, 3 to 30 long, nothing to trim); false for anything else, which the
    /// rule then judges.
    pub(super) fn plainly_valid(input: &str) -> bool {
        let bytes = input.as_bytes();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&bytes.len())
            || !bytes[0].is_ascii_alphabetic()
        {
            return false;
        }
        let mut after_separator = false;
        for &b in bytes {
            if b.is_ascii_alphanumeric() {
                after_separator = false;
            } else if matches!(b, b'.' | b'_' | b'-') && !after_separator {
                after_separator = true;
            } else {
                return false;
            }
        }
        !after_separator
    }

    fn checked(input: &str) -> Result<Cow<'_, str>, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter a TechPass username".into());
        }
        if s.chars().any(char::is_whitespace) {
            return Err("TechPass username must not contain spaces".into());
        }
        let s = super::lower_ascii(s);
        if let Some(bad) = s
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || is_separator(c)))
        {
            return Err(format!(
                "TechPass username must not contain \"{bad}\": use only letters a-z, \
                 digits 0-9, full stops (.), underscores (_) and hyphens (-)"
            ));
        }
        let count = s.len();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&count) {
            return Err(format!(
                "TechPass username must be {} to {} characters long (you have entered {count})",
                Self::MIN_CHARS,
                Self::MAX_CHARS
            ));
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err("TechPass username must start with a letter".into());
        }
        if s.ends_with(is_separator) {
            return Err("TechPass username must end with a letter or digit".into());
        }
        if s.as_bytes()
            .windows(2)
            .any(|w| is_separator(char::from(w[0])) && is_separator(char::from(w[1])))
        {
            return Err(
                "TechPass username must not have two of . _ - in a row, like \"a..b\" or \"a._b\""
                    .into(),
            );
        }
        Ok(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, '.' | '_' | '-')
}

/// The "TechPass username" field for a user of the given kind: vendors must give one; public
/// officers must leave it empty, as their username comes from their email address.
pub fn username_rule(kind: UserKind, input: &str) -> Result<Option<TechPassUsername>, String> {
    if username_given(kind, input)? {
        TechPassUsername::parse(input).map(Some)
    } else {
        Ok(None)
    }
}

/// Whether a username is given, where the kind of user allows what was done.
pub(super) fn username_given(kind: UserKind, input: &str) -> Result<bool, String> {
    let given = !input.trim().is_empty();
    match (kind, given) {
        (UserKind::Vendor, false) => {
            Err("Enter a TechPass username: it is required for vendors".into())
        }
        (UserKind::PublicOfficer, true) => Err("Leave TechPass username empty for public \
                                                officers: their username comes from their \
                                                email address"
            .into()),
        (_, given) => Ok(given),
    }
}

// ---------------------------------------------------------------------------------------------
// Reason

/// Why the person needs a TechPass account: required, 1 to 500 characters. Line breaks are
/// kept (made `\n`); other control characters and invisible junk are dropped; trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(input: &str) -> Result<Reason, String> {
        Self::checked(input).map(|s| Reason(s.into_owned()))
    }

    /// The rule without keeping the reason: the message, if any.
    pub fn check(input: &str) -> Result<(), String> {
        Self::checked(input).map(drop)
    }

    fn checked(input: &str) -> Result<Cow<'_, str>, String> {
        let s = Self::normalised(input);
        if s.is_empty() {
            return Err("Enter a reason".into());
        }
        let count = s.chars().count();
        if count > Self::MAX_CHARS {
            return Err(too_long("reason", Self::MAX_CHARS, count));
        }
        Ok(s)
    }

    /// The text as it would be stored, so a form can count characters the same way.
    pub fn normalise(input: &str) -> String {
        Self::normalised(input).into_owned()
    }

    /// One pass that answers for an ordinary reason: true only for a reason the rule accepts
    /// as it is (no control characters but line feeds, no invisible junk, not blank, at most
    /// [`Reason::MAX_CHARS`] once trimmed); false for anything else, which the rule then
    /// judges.
    pub(super) fn plainly_valid(input: &str) -> bool {
        // Printable ASCII and line feeds, as most reasons are: a character a byte.
        if printable_ascii_lines(input.as_bytes()) {
            let count = input.trim().len();
            return count > 0 && count <= Self::MAX_CHARS;
        }
        Self::plainly_valid_by_char(input)
    }

    /// [`Reason::plainly_valid`] a character at a time, for text in any script.
    fn plainly_valid_by_char(input: &str) -> bool {
        let text = input.trim();
        let mut count = 0usize;
        for c in text.chars() {
            count += 1;
            let plain = ('\u{20}'..='~').contains(&c)
                || c == '\n'
                || !(c.is_ascii() || c.is_control() || is_invisible_junk(c));
            if !plain {
                return false;
            }
        }
        count > 0 && count <= Self::MAX_CHARS
    }

    fn normalised(input: &str) -> Cow<'_, str> {
        // Printable ASCII and line feeds only: nothing to unify or drop, only the trim.
        if printable_ascii_lines(input.as_bytes()) {
            return Cow::Borrowed(input.trim());
        }
        let unified = input.replace("\r\n", "\n").replace('\r', "\n");
        let kept: String = unified
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|&c| c == '\n' || !(c.is_control() || is_invisible_junk(c)))
            .collect();
        Cow::Owned(kept.trim().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// ---------------------------------------------------------------------------------------------
// SEED

/// The answer to "Onboarding to SEED required": yes or no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeedRequired(pub bool);

impl SeedRequired {
    /// Accepts yes/no, y/n and true/false in any case (so spreadsheet cells with `Yes` or
    /// `TRUE` work), trimmed.
    pub fn parse(input: &str) -> Result<SeedRequired, String> {
        let s = input.trim();
        let is_one_of = |words: [&str; 3]| words.iter().any(|w| s.eq_ignore_ascii_case(w));
        match s {
            _ if is_one_of(["yes", "y", "true"]) => Ok(SeedRequired(true)),
            _ if is_one_of(["no", "n", "false"]) => Ok(SeedRequired(false)),
            "" => Err("Select whether onboarding to SEED is required".into()),
            _ => Err(
                "Onboarding to SEED required must be yes or no: select whether onboarding to \
                 SEED is required"
                    .into(),
            ),
        }
    }

    pub fn value(self) -> bool {
        self.0
    }

    /// The form value: "yes" or "no".
    pub fn as_str(self) -> &'static str {
        if self.0 {
            "yes"
        } else {
            "no"
        }
    }
}

impl From<SeedRequired> for bool {
    fn from(v: SeedRequired) -> bool {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // --- names ---

    #[test]
    fn names_are_trimmed_and_inner_whitespace_collapsed() {
        let n = PersonName::parse_first("  Mary \t Ann\u{00A0} ").expect("valid");
        assert_eq!(n.as_str(), "Mary Ann");
        let n = PersonName::parse_last(" Tan\n\nAh  Kow ").expect("valid");
        assert_eq!(n.as_str(), "Tan Ah Kow");
    }

    #[test]
    fn names_accept_letters_of_any_script_and_name_punctuation() {
        for ok in [
            "Jane",
            "O'Brien",
            "O\u{2019}Brien",
            "Mary-Jane",
            "St. John",
            "J.",
            "'t Hooft",
            "Zoë",
            "Zoe\u{0308}",
            "陈大文",
            "김민준",
            "Nguyễn",
            "Müller",
            "சுப்ரமணியம்",
            "प्रिया",
            "ประยุทธ์",
            "محمد",
            "Ιωάννης",
            "Алексей",
            "Nur Aisyah binte Abdullah",
        ] {
            let n = PersonName::parse_first(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(n.as_str(), ok);
        }
    }

    #[test]
    fn empty_names_ask_for_the_right_field() {
        assert_eq!(
            PersonName::parse_first("").expect_err("empty"),
            "Enter a first name"
        );
        assert_eq!(
            PersonName::parse_last("   ").expect_err("blank"),
            "Enter a last name"
        );
        assert_eq!(PersonName::parse("").expect_err("empty"), "Enter a name");
    }

    #[test]
    fn names_reject_digits_symbols_and_punctuation_only() {
        let e = PersonName::parse_first("Jane2").expect_err("digit");
        assert_eq!(e, "First name must not contain digits");
        let e = PersonName::parse_last("Tan@home").expect_err("symbol");
        assert!(e.starts_with("Last name must not contain \"@\""), "{e}");
        let e = PersonName::parse_last("<script>").expect_err("symbol");
        assert!(e.starts_with("Last name"), "{e}");
        let e = PersonName::parse_first("-.'").expect_err("no letter");
        assert_eq!(e, "First name must contain at least one letter");
        assert!(
            PersonName::parse_first("Jane\u{0663}").is_err(),
            "Arabic digit"
        );
        assert!(PersonName::parse_first("ராமு௧").is_err(), "Tamil digit");
    }

    #[test]
    fn names_have_at_most_100_characters() {
        let ok = "é".repeat(100);
        assert!(
            PersonName::parse_first(&ok).is_ok(),
            "counts chars, not bytes"
        );
        let e = PersonName::parse_first(&"a".repeat(101)).expect_err("long");
        assert_eq!(
            e,
            "First name must be 100 characters or fewer (you have entered 101)"
        );
        let e = PersonName::parse_last(&"a".repeat(150)).expect_err("long");
        assert!(e.starts_with("Last name must be 100"), "{e}");
    }

    #[test]
    fn names_drop_invisible_junk() {
        let n = PersonName::parse_first("\u{FEFF}Ja\u{200B}ne\u{202E}").expect("valid");
        assert_eq!(n.as_str(), "Jane");
    }

    #[test]
    fn names_round_trip_through_serde_and_reject_invalid_json() {
        let n = PersonName::parse_first("Jane").expect("valid");
        let json = serde_json::to_string(&n).expect("serialise");
        assert_eq!(json, "\"Jane\"");
        let back: PersonName = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, n);
        assert!(serde_json::from_str::<PersonName>("\"J4ne\"").is_err());
    }

    // --- contact number ---

    /// The rule as it was written before its digits went on the stack (the reference the
    /// property below holds the new one to).
    fn parse_reference(input: &str) -> Result<String, String> {
        // Full-width digits and signs are folded; ASCII text has none.
        let folded: std::borrow::Cow<str> = if input.is_ascii() {
            std::borrow::Cow::Borrowed(input)
        } else {
            std::borrow::Cow::Owned(input.chars().map(fold_full_width).collect())
        };
        let s = folded.trim();
        let s = s.strip_prefix(['\'', '\u{2019}']).unwrap_or(s).trim_start();
        if s.is_empty() {
            return Err("Enter a contact number".into());
        }
        if s.chars().any(char::is_alphabetic) {
            return Err(
                "Contact number must not contain letters: enter digits only, \
                        and leave out any extension"
                    .into(),
            );
        }
        let s: std::borrow::Cow<str> = if s.contains('+') {
            std::borrow::Cow::Owned(s.replace("(0)", ""))
        } else {
            std::borrow::Cow::Borrowed(s)
        };
        let mut digits = String::new();
        let mut plus = false;
        for c in s.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if !plus && digits.is_empty() => plus = true,
                '+' => {
                    return Err("Contact number may have a + only at the start".into());
                }
                c if c.is_whitespace() || is_phone_separator(c) => {}
                c => {
                    return Err(format!(
                        "Contact number must not contain \"{c}\": use only digits, spaces, \
                         hyphens and brackets, with + only at the start"
                    ));
                }
            }
        }
        if plus {
            if digits.starts_with('0') {
                return Err(
                    "Contact number: the country code after + must not start with 0".into(),
                );
            }
            if let Some(local) = digits.strip_prefix("65") {
                return if is_singapore_subscriber(local.as_bytes()) {
                    Ok(format!("+65{local}"))
                } else {
                    Err(
                        "Contact number: Singapore numbers have 8 digits after +65 and start \
                         with 3, 6, 8 or 9, like +65 9123 4567"
                            .into(),
                    )
                };
            }
            if !(8..=15).contains(&digits.len()) {
                return Err(format!(
                    "Contact number: international numbers have 8 to 15 digits after the +, \
                     including the country code (you have entered {})",
                    digits.len()
                ));
            }
            return Ok(format!("+{digits}"));
        }
        if digits.len() == 8 {
            return if is_singapore_subscriber(digits.as_bytes()) {
                Ok(format!("+65{digits}"))
            } else {
                Err(
                    "Contact number: Singapore numbers have 8 digits and start with \
                     3, 6, 8 or 9, like 9123 4567. For a number outside Singapore, \
                     start with + and the country code"
                        .into(),
                )
            };
        }
        if let Some(local) = digits.strip_prefix("65") {
            if is_singapore_subscriber(local.as_bytes()) {
                return Ok(format!("+65{local}"));
            }
        }
        if digits.starts_with("00") && digits.len() > 8 {
            return Err(
                "Contact number: write + instead of 00 before the country code, \
                        like +60 12 345 6789"
                    .into(),
            );
        }
        Err(CONTACT_GENERAL.into())
    }

    proptest! {
        #[test]
        fn contact_numbers_are_judged_as_the_reference_judges_them(
            s in "[ '+＋０-９0-9()\\-\u{2013}.a-z]{0,20}|\\+?(65|6|0|00)?[ ]?[0-9 ()-]{0,18}|\\PC{0,24}"
        ) {
            let new = ContactNumber::parse(&s).map(|n| n.as_e164().to_string());
            prop_assert_eq!(&new, &parse_reference(&s));
            prop_assert_eq!(ContactNumber::check(&s), new.map(|_| ()));
        }
    }

    #[test]
    fn singapore_numbers_in_every_common_style() {
        for (input, e164) in [
            ("9123 4567", "+6591234567"),
            ("91234567", "+6591234567"),
            ("9123-4567", "+6591234567"),
            ("+65 9123 4567", "+6591234567"),
            ("+6591234567", "+6591234567"),
            ("+65-6123-4567", "+6561234567"),
            ("(65) 6123 4567", "+6561234567"),
            ("(+65) 8123 4567", "+6581234567"),
            ("65 9123 4567", "+6591234567"),
            ("6591234567", "+6591234567"),
            ("3123 4567", "+6531234567"),
            ("'91234567", "+6591234567"),
            ("  9123\u{2013}4567  ", "+6591234567"),
            ("＋６５ ９１２３ ４５６７", "+6591234567"),
        ] {
            let n = ContactNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.as_e164(), e164, "{input}");
            assert!(n.is_singapore());
        }
        let n = ContactNumber::parse("91234567").expect("valid");
        assert_eq!(n.display(), "+65 9123 4567");
        assert_eq!(n.to_string(), "+65 9123 4567");
    }

    #[test]
    fn international_numbers_are_e164() {
        for (input, e164) in [
            ("+60 12-345 6789", "+60123456789"),
            ("+1 (415) 555-2671", "+14155552671"),
            ("+44 (0)20 7946 0958", "+442079460958"),
            ("+86 138 0013 8000", "+8613800138000"),
            ("+123456789012345", "+123456789012345"),
        ] {
            let n = ContactNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.as_e164(), e164, "{input}");
            assert!(!n.is_singapore());
            assert_eq!(n.display(), e164);
        }
    }

    #[test]
    fn contact_number_rejects_with_messages_naming_the_field() {
        for bad in [
            "",
            "abc",
            "9123 4567 ext 12",
            "6.5912345E9",
            "91234567.0",
            "1234 5678",
            "5123 4567",
            "9123456",
            "912345678",
            "+65 9123 456",
            "+65 1234 5678",
            "+0 1234 5678",
            "+1234567",
            "+1234567890123456",
            "0065 9123 4567",
            "9123+4567",
            "++65 9123 4567",
            "9123/4567",
            "١٢٣٤٥٦٧٨",
            "---",
        ] {
            let e = ContactNumber::parse(bad).expect_err(bad);
            assert!(
                e.contains("contact number") || e.contains("Contact number"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            ContactNumber::parse(" ").expect_err("blank"),
            "Enter a contact number"
        );
        assert!(ContactNumber::parse("9123 4567 ext 12")
            .expect_err("letters")
            .contains("letters"));
        assert_eq!(
            ContactNumber::parse("12345").expect_err("short"),
            CONTACT_GENERAL
        );
    }

    #[test]
    fn contact_number_serialises_as_e164_and_validates_on_the_way_in() {
        let n = ContactNumber::parse("9123 4567").expect("valid");
        let json = serde_json::to_string(&n).expect("serialise");
        assert_eq!(json, "\"+6591234567\"");
        assert_eq!(serde_json::from_str::<ContactNumber>(&json).expect("de"), n);
        assert!(serde_json::from_str::<ContactNumber>("\"hello\"").is_err());
    }

    // --- organisation and department ---

    #[test]
    fn organisation_is_required_and_at_most_200_characters() {
        let o = Organisation::parse("  GovTech   Singapore ").expect("valid");
        assert_eq!(o.as_str(), "GovTech Singapore");
        assert!(Organisation::parse("A*STAR").is_ok());
        assert!(Organisation::parse("Ng & Co. Pte. Ltd.").is_ok());
        assert_eq!(
            Organisation::parse(" ").expect_err("blank"),
            "Enter an organisation"
        );
        assert!(Organisation::parse(&"x".repeat(200)).is_ok());
        assert_eq!(
            Organisation::parse(&"x".repeat(201)).expect_err("long"),
            "Organisation must be 200 characters or fewer (you have entered 201)"
        );
    }

    #[test]
    fn department_is_optional_and_at_most_200_characters() {
        assert_eq!(Department::parse_optional("").expect("empty ok"), None);
        assert_eq!(Department::parse_optional("  \t ").expect("blank ok"), None);
        let d = Department::parse_optional(" Data  Science ").expect("valid");
        assert_eq!(d.as_ref().map(Department::as_str), Some("Data Science"));
        assert!(Department::parse_optional(&"x".repeat(200)).is_ok());
        let e = Department::parse_optional(&"x".repeat(201)).expect_err("long");
        assert_eq!(
            e,
            "Department must be 200 characters or fewer (you have entered 201)"
        );
        assert_eq!(
            Department::parse("").expect_err("required form"),
            "Enter a department"
        );
    }

    // --- TechPass username ---

    #[test]
    fn usernames_follow_the_pattern_and_are_lower_cased() {
        for (input, stored) in [
            ("jane.tan", "jane.tan"),
            ("  Jane_Tan2 ", "jane_tan2"),
            ("abc", "abc"),
            ("a-b", "a-b"),
            ("a1.b2-c3_d4", "a1.b2-c3_d4"),
            (&"a".repeat(30), &"a".repeat(30)),
        ] {
            let u = TechPassUsername::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(u.as_str(), stored);
        }
    }

    #[test]
    fn usernames_are_rejected_with_actionable_messages() {
        let err = |s: &str| TechPassUsername::parse(s).expect_err(s);
        assert_eq!(err(""), "Enter a TechPass username");
        assert_eq!(err("jane tan"), "TechPass username must not contain spaces");
        assert!(err("jane@tan").starts_with("TechPass username must not contain \"@\""));
        assert!(err("jané").starts_with("TechPass username must not contain \"é\""));
        assert_eq!(
            err("ab"),
            "TechPass username must be 3 to 30 characters long (you have entered 2)"
        );
        assert!(err(&"a".repeat(31)).contains("(you have entered 31)"));
        assert_eq!(err("1jane"), "TechPass username must start with a letter");
        assert_eq!(err(".jane"), "TechPass username must start with a letter");
        assert_eq!(
            err("jane."),
            "TechPass username must end with a letter or digit"
        );
        assert!(err("jane..tan").contains("in a row"));
        assert!(err("jane._tan").contains("in a row"));
        // The Kelvin sign lower-cases to an ASCII "k" in Unicode; it is refused, not folded.
        assert!(TechPassUsername::parse("\u{212A}elvin").is_err());
    }

    #[test]
    fn username_rule_depends_on_the_kind_of_user() {
        assert_eq!(
            username_rule(UserKind::Vendor, " ").expect_err("required"),
            "Enter a TechPass username: it is required for vendors"
        );
        assert_eq!(
            username_rule(UserKind::Vendor, "Vendor.Jane")
                .expect("valid")
                .map(String::from),
            Some("vendor.jane".to_string())
        );
        assert!(username_rule(UserKind::Vendor, "x")
            .expect_err("bad")
            .starts_with("TechPass username"));
        assert_eq!(username_rule(UserKind::PublicOfficer, "  "), Ok(None));
        let e = username_rule(UserKind::PublicOfficer, "jane").expect_err("not allowed");
        assert!(
            e.starts_with("Leave TechPass username empty for public officers"),
            "{e}"
        );
    }

    // --- reason ---

    #[test]
    fn reason_is_required_trimmed_and_keeps_line_breaks() {
        let r = Reason::parse("  Needs access\r\nto the\tsandbox \u{7} ").expect("valid");
        assert_eq!(r.as_str(), "Needs access\nto the sandbox");
        assert_eq!(Reason::parse(" \n ").expect_err("blank"), "Enter a reason");
    }

    #[test]
    fn reason_is_at_most_500_characters_and_says_the_count() {
        assert!(Reason::parse(&"é".repeat(500)).is_ok());
        assert_eq!(
            Reason::parse(&"x".repeat(501)).expect_err("long"),
            "Reason must be 500 characters or fewer (you have entered 501)"
        );
    }

    // --- SEED ---

    #[test]
    fn seed_required_reads_yes_and_no_in_many_spellings() {
        for yes in ["yes", "Yes", "YES", " y ", "Y", "true", "TRUE", "True"] {
            assert_eq!(SeedRequired::parse(yes), Ok(SeedRequired(true)), "{yes}");
        }
        for no in ["no", "No", "NO", "n", "N", "false", "FALSE"] {
            assert_eq!(SeedRequired::parse(no), Ok(SeedRequired(false)), "{no}");
        }
        assert_eq!(
            SeedRequired::parse("  ").expect_err("blank"),
            "Select whether onboarding to SEED is required"
        );
        let e = SeedRequired::parse("maybe").expect_err("other");
        assert!(e.contains("SEED"), "{e}");
        assert!(SeedRequired::parse("1").is_err());
        assert_eq!(SeedRequired(true).as_str(), "yes");
        assert!(!bool::from(SeedRequired(false)));
    }

    // --- properties ---

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,120}",
            any::<String>(),
            "[ 0-9+()\\-']{0,25}",
            "[ a-zA-Z._'\\-]{0,40}",
        ]
    }

    /// The one-line rule as it was before its ASCII fast path: the reference it must match.
    fn single_line_reference(input: &str) -> String {
        let kept: String = input
            .chars()
            .filter(|&c| c.is_whitespace() || !(c.is_control() || is_invisible_junk(c)))
            .collect();
        kept.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The reason's normalising as it was before its ASCII fast path.
    fn normalise_reference(input: &str) -> String {
        let unified = input.replace("\r\n", "\n").replace('\r', "\n");
        let kept: String = unified
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|&c| c == '\n' || !(c.is_control() || is_invisible_junk(c)))
            .collect();
        kept.trim().to_string()
    }

    /// Cells as spreadsheets give them: mostly plain ASCII, with the spaces, tabs, line
    /// breaks, control characters, invisible characters and full-width forms the fast paths
    /// must leave to the full rules.
    fn cell_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            8 => "[a-zA-Z0-9.,'()+\\-]{1,8}",
            3 => Just(" ".to_string()),
            1 => Just("  ".to_string()),
            1 => prop::sample::select(vec![
                "\t", "\n", "\r\n", "\r", "\u{0}", "\u{7f}", "\u{a0}", "\u{ad}", "\u{200b}",
                "\u{feff}", "\u{3000}", "\u{ff19}", "\u{ff0b}", "é", "陈", "\u{2028}", "\u{b}",
            ])
            .prop_map(str::to_string),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
    }

    proptest! {
        #[test]
        fn the_fast_paths_give_what_the_full_rules_give(s in cell_text()) {
            prop_assert_eq!(single_line(&s), single_line_reference(&s));
            prop_assert_eq!(Reason::normalise(&s), normalise_reference(&s));
            // The ASCII scans against the scans a character at a time.
            prop_assert_eq!(plain_line_chars(&s), plain_line_chars_by_char(&s));
            prop_assert_eq!(Reason::plainly_valid(&s), Reason::plainly_valid_by_char(&s));
        }
    }

    proptest! {
        #[test]
        fn parsers_never_panic_and_are_idempotent(s in any_text()) {
            if let Ok(v) = PersonName::parse_first(&s) {
                prop_assert_eq!(PersonName::parse_first(v.as_str()), Ok(v.clone()));
                prop_assert_eq!(PersonName::parse_last(v.as_str()), Ok(v));
            }
            if let Ok(v) = ContactNumber::parse(&s) {
                prop_assert_eq!(ContactNumber::parse(v.as_e164()), Ok(v.clone()));
                prop_assert_eq!(ContactNumber::parse(&v.display()), Ok(v));
            }
            if let Ok(v) = Organisation::parse(&s) {
                prop_assert_eq!(Organisation::parse(v.as_str()), Ok(v));
            }
            if let Ok(Some(v)) = Department::parse_optional(&s) {
                prop_assert_eq!(Department::parse_optional(v.as_str()), Ok(Some(v)));
            }
            if let Ok(v) = TechPassUsername::parse(&s) {
                prop_assert_eq!(TechPassUsername::parse(v.as_str()), Ok(v));
            }
            if let Ok(v) = Reason::parse(&s) {
                prop_assert_eq!(Reason::parse(v.as_str()), Ok(v));
            }
            if let Ok(v) = SeedRequired::parse(&s) {
                prop_assert_eq!(SeedRequired::parse(v.as_str()), Ok(v));
            }
            for kind in [UserKind::PublicOfficer, UserKind::Vendor] {
                let _ = username_rule(kind, &s);
            }
        }

        #[test]
        fn any_valid_username_matches_the_documented_pattern(s in "[a-zA-Z0-9._-]{0,34}") {
            if let Ok(u) = TechPassUsername::parse(&s) {
                let u = u.as_str();
                prop_assert!((3..=30).contains(&u.len()));
                prop_assert!(u.starts_with(|c: char| c.is_ascii_lowercase()));
                prop_assert!(u.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()));
                prop_assert!(!u.chars().zip(u.chars().skip(1))
                    .any(|(a, b)| is_separator(a) && is_separator(b)));
                prop_assert_eq!(u, s.to_ascii_lowercase());
            }
        }

        #[test]
        fn singapore_numbers_normalise_the_same_in_every_style(
            first in prop::sample::select(vec!['3', '6', '8', '9']),
            rest in "[0-9]{7}",
            style in 0usize..12,
        ) {
            let n = format!("{first}{rest}");
            let (a, b) = n.split_at(4);
            let input = match style {
                0 => n.clone(),
                1 => format!("{a} {b}"),
                2 => format!("{a}-{b}"),
                3 => format!("+65{n}"),
                4 => format!("+65 {a} {b}"),
                5 => format!("+65-{a}-{b}"),
                6 => format!("(65) {a} {b}"),
                7 => format!("(+65) {a}-{b}"),
                8 => format!("65{n}"),
                9 => format!("65 {a} {b}"),
                10 => format!("  '{a}  {b} "),
                _ => format!("+ 6 5 ( {a} ) {b}"),
            };
            let parsed = ContactNumber::parse(&input).map_err(TestCaseError::fail)?;
            prop_assert_eq!(parsed.as_e164(), format!("+65{n}"));
            prop_assert_eq!(parsed.display(), format!("+65 {a} {b}"));
        }

        #[test]
        fn singapore_numbers_with_another_first_digit_are_refused(
            first in prop::sample::select(vec!['0', '1', '2', '4', '5', '7']),
            rest in "[0-9]{7}",
        ) {
            let n = format!("{first}{rest}");
            prop_assert!(ContactNumber::parse(&n).is_err());
            let with_code = format!("+65 {n}");
            prop_assert!(ContactNumber::parse(&with_code).is_err());
        }
    }
}
