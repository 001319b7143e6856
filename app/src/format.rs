//! Numbers, times and spreadsheet cells as the pages and exports show them.

/// A cell a spreadsheet would run as a formula (it begins with `=`, `+`, `-` or `@`, or a
/// tab or CR, which some strip first), made text with a leading `'` (OWASP's advice): a
/// reason typed as `=HYPERLINK(...)` shows as text instead of running. For CSV files only:
/// an xlsx text cell is never evaluated.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The cell as typed, from a CSV cell [`defuse`] wrote (the batch upload reads back the
/// rows it let the officer download): a `'` before `=`, `+`, `-` or `@` goes.
pub fn undefuse(cell: &str) -> &str {
    match cell.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@', ..] => &cell[1..],
        _ => cell,
    }
}

/// Text for HTML or XML content and attributes: `&`, `<`, `>`, `"` and `'` escaped (as a
/// numeric reference, which both read).
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// 1 → "1 user", 1200 → "1,200 users".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        thousands(n as u64),
        if n == 1 { one } else { many }
    )
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Unix ms as a Singapore date and time (UTC+8; Singapore has no daylight saving):
/// (year, month 1–12, day, hour, minute).
fn sg_parts(ms: i64) -> (i64, usize, i64, i64, i64) {
    let minutes = ms.saturating_add(8 * 3_600_000).div_euclid(60_000);
    let days = minutes.div_euclid(1440);
    let minute_of_day = minutes.rem_euclid(1440);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        usize::try_from(month).unwrap_or(1),
        day,
        minute_of_day / 60,
        minute_of_day % 60,
    )
}

/// "22 Nov 2026, 09:05" (Singapore time), for pages.
pub fn sg_date_time(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day, hour, minute) = sg_parts(ms);
    let name = MONTHS.get(month.wrapping_sub(1)).unwrap_or(&"");
    format!("{day} {name} {year}, {hour:02}:{minute:02}")
}

/// "2026-11-22 09:05" (Singapore time), for exports: sorts as text, and spreadsheets read it
/// as a date.
pub fn sg_iso_date_time(ms: i64) -> String {
    let (year, month, day, hour, minute) = sg_parts(ms);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_defused_cell_reads_back_as_typed() {
        for typed in ["=1+1", "+65 9123 4567", "-x", "@me", "plain", "'quoted", ""] {
            assert_eq!(undefuse(&defuse(typed)), typed);
        }
        assert_eq!(undefuse("'+65 9123 4567"), "+65 9123 4567");
        assert_eq!(undefuse("'quoted"), "'quoted");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn times_are_shown_in_singapore_time() {
        assert_eq!(sg_date_time(0), "1 Jan 1970, 08:00");
        // 2026-11-22T01:05:00Z
        assert_eq!(sg_date_time(1_795_309_500_000), "22 Nov 2026, 09:05");
        assert_eq!(sg_iso_date_time(1_795_309_500_000), "2026-11-22 09:05");
        // 2024-02-29T16:00:00Z is already 1 March in Singapore.
        assert_eq!(sg_date_time(1_709_222_400_000), "1 Mar 2024, 00:00");
        assert_eq!(sg_iso_date_time(-1), "1970-01-01 07:59");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
