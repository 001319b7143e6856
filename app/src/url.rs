//! Small URL helpers shared by the pages and the server.

/// Percent-encodes everything but RFC 3986's unreserved characters (for query values).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_reserved_and_non_ascii() {
        assert_eq!(
            super::percent_encode("/a b?c=d&é"),
            "%2Fa%20b%3Fc%3Dd%26%C3%A9"
        );
    }
}
