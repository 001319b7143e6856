//! Search and sort by name on the status list, from indexes rather than a scan of every
//! invitation of the agency.
//!
//! Each invitation has search terms in `invitation_terms`: the words of its email address and
//! of the person's names, lowercased, each with its suffixes that start after punctuation
//! inside it ("wei.tan12@tech.gov.sg" gives "wei.tan12@tech.gov.sg", "tan12@tech.gov.sg" and
//! the domain "tech.gov.sg"; "O'Brien" gives "o'brien" and "brien"). A search matches the
//! invitations where every word typed is the start of one of their terms, as directory
//! searches (Entra, Okta) do: "tan", "Mei Tan", "tan12@", "@acme.com" and the whole address
//! all work. Each word is a range look-up on the terms index (`agency, term`).
//!
//! Terms are stored as bytes (`BYTEA`, which SQLite stores as a BLOB): a prefix is then the
//! byte range `[word, word with its last byte plus one)` under every database collation. As
//! text, a PostgreSQL database with a language collation (en_US) orders "ta.n" between "tan"
//! and "tao".
//!
//! `invitations.name_key` ("tan mei ling": last name, then first, lowercased; empty while the
//! names are unknown) gives the sort by name its index. Both are written with the invitation
//! and again when the invitee signs up; `terms_version` marks rows written by older code, which
//! [`backfill`] indexes at start-up.
//!
//! A batch's invitations are stored without their terms ([`PENDING`]): a chunk's answer does
//! not wait for them, and they are written once the batch's chunks pause ([`index_pending`],
//! from the instance's maker of batch accounts). A search writes those of its agency first,
//! so it finds every invitation stored before it, indexed yet or not.

use sqlx::{AnyConnection, Row};

use super::db::{Backend, Db};
use super::sql::{Param, Params, Rows};

/// Raised when the terms of a row change meaning; rows with a lower version are indexed
/// again at start-up.
pub(crate) const TERMS_VERSION: i64 = 1;

/// The `terms_version` of an invitation stored without its terms (a batch's): it has none,
/// and [`index_pending`] writes them.
pub(crate) const PENDING: i64 = -1;

/// Invitations indexed per transaction by [`index_pending`] and [`backfill`].
const INDEX_ROWS: usize = 500;

/// How long [`index_pending`] waits before it looks again when every pending row left is
/// held by another transaction.
const PENDING_HELD: std::time::Duration = std::time::Duration::from_millis(10);

/// At most this many words of a search are used.
const MAX_WORDS: usize = 8;

/// The lowercased sort key for the name: last name, then first name.
pub(crate) fn name_key(first: Option<&str>, last: Option<&str>) -> String {
    match (first, last) {
        (None, None) => String::new(),
        (first, last) => format!(
            "{} {}",
            last.unwrap_or_default().trim().to_lowercase(),
            first.unwrap_or_default().trim().to_lowercase()
        ),
    }
}

/// The search terms of an invitation: from its email key (already lowercase) and the names.
pub(crate) fn terms(email_key: &str, first: Option<&str>, last: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let email = email_key.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@').unwrap_or((email.as_str(), ""));
    push_with_suffixes(&mut out, &email, local.len());
    if !domain.is_empty() {
        out.push(domain.to_string());
    }
    for name in [first, last].into_iter().flatten() {
        for word in name.to_lowercase().split_whitespace() {
            push_with_suffixes(&mut out, word, word.len());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `word`, and each suffix of it that starts after punctuation within its first `within`
/// bytes.
fn push_with_suffixes(out: &mut Vec<String>, word: &str, within: usize) {
    if word.is_empty() {
        return;
    }
    out.push(word.to_string());
    let mut after_punctuation = false;
    for (at, c) in word.char_indices() {
        if at >= within {
            break;
        }
        if c.is_alphanumeric() {
            if after_punctuation && at > 0 {
                out.push(word[at..].to_string());
            }
            after_punctuation = false;
        } else {
            after_punctuation = true;
        }
    }
}

/// The words of a search as the terms are written: lowercased, split at white space, with
/// punctuation before a word's first letter or digit left off ("@acme.com" looks for the
/// domain). At most [`MAX_WORDS`], each once.
pub(crate) fn words(search: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in search.to_lowercase().split_whitespace() {
        let trimmed = raw.trim_start_matches(|c: char| !c.is_alphanumeric());
        let word = if trimmed.is_empty() { raw } else { trimmed };
        if !out.iter().any(|w| w == word) {
            out.push(word.to_string());
        }
        if out.len() == MAX_WORDS {
            break;
        }
    }
    out
}

/// The byte range of the terms that start with `word`: `[word, upper)`.
pub(crate) fn prefix_range(word: &str) -> (Vec<u8>, Vec<u8>) {
    let low = word.as_bytes().to_vec();
    let mut high = low.clone();
    // UTF-8 never has a 0xFF byte, so the last byte can always go up by one.
    if let Some(last) = high.last_mut() {
        *last = last.saturating_add(1);
    }
    (low, high)
}

/// The rows of `invitation_terms` for invitations that have none yet: each invitation's
/// agency, id and terms (from [`terms`]).
pub(crate) fn term_rows<'a>(
    invitations: impl IntoIterator<Item = (&'a str, &'a str, &'a [String])>,
) -> Rows {
    let mut rows = Rows::new("invitation_terms", &["agency", "term", "invitation_id"]);
    for (agency, id, terms) in invitations {
        for term in terms {
            rows.push([
                Param::from(agency),
                Param::Bytes(term.as_bytes().to_vec()),
                Param::from(id),
            ]);
        }
    }
    rows
}

/// One invitation to index again: its id, agency, email key and the names when known.
struct Indexing {
    id: String,
    agency: String,
    email_key: String,
    first: Option<String>,
    last: Option<String>,
}

impl Indexing {
    fn terms(&self) -> Vec<String> {
        terms(&self.email_key, self.first.as_deref(), self.last.as_deref())
    }
}

/// Inserts the terms of `invitations` (which have none), one statement for them all.
async fn insert_terms(conn: &mut AnyConnection, invitations: &[Indexing]) -> sqlx::Result<()> {
    let terms: Vec<Vec<String>> = invitations.iter().map(Indexing::terms).collect();
    term_rows(
        invitations
            .iter()
            .zip(&terms)
            .map(|(i, terms)| (i.agency.as_str(), i.id.as_str(), terms.as_slice())),
    )
    .insert(conn)
    .await
}

/// Writes the terms of `invitations` (which have none: see [`reindex`] and [`backfill`]),
/// their name keys and this code's terms version.
async fn index(conn: &mut AnyConnection, invitations: &[Indexing]) -> sqlx::Result<()> {
    insert_terms(conn, invitations).await?;
    for i in invitations {
        sqlx::query(
            "UPDATE invitations SET first_name = $1, last_name = $2, name_key = $3, \
             terms_version = $4 WHERE id = $5",
        )
        .bind(i.first.as_deref())
        .bind(i.last.as_deref())
        .bind(name_key(i.first.as_deref(), i.last.as_deref()))
        .bind(TERMS_VERSION)
        .bind(&i.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Indexes an invitation again under the person's names, now known (they signed up), and
/// stores the names on it.
///
/// Its terms are deleted through the lookup index (there is none by invitation: storing a
/// batch would write it for every term): the terms it has are those of its own columns, as
/// this code writes them, and the new ones go too, so none can clash with the insert. Terms
/// written by older code (only between an upgrade and its start-up [`backfill`]) are not
/// known that way; they are found among the agency's.
pub(crate) async fn reindex(
    conn: &mut AnyConnection,
    invitation_id: &str,
    first: Option<&str>,
    last: Option<&str>,
) -> sqlx::Result<()> {
    // Locked on PostgreSQL: an [`index_pending`] under way writes the terms of the names it
    // read, and this then deletes them.
    let lock = if conn.backend_name() == "SQLite" {
        ""
    } else {
        " FOR UPDATE"
    };
    let row = sqlx::query(&format!(
        "SELECT inviter_agency, email_key, first_name, last_name, terms_version \
         FROM invitations WHERE id = $1{lock}"
    ))
    .bind(invitation_id)
    .fetch_one(&mut *conn)
    .await?;
    let was = Indexing {
        id: invitation_id.to_string(),
        agency: row.try_get("inviter_agency")?,
        email_key: row.try_get("email_key")?,
        first: row.try_get("first_name")?,
        last: row.try_get("last_name")?,
    };
    let version: i64 = row.try_get("terms_version")?;
    // (A pending invitation has none of its terms yet; deleting them deletes nothing.)
    let known = (version == TERMS_VERSION || version == PENDING).then(|| was.terms());
    let now = Indexing {
        first: first.map(str::to_string),
        last: last.map(str::to_string),
        ..was
    };
    let mut params = Params::default();
    let agency = params.add(Param::Text(now.agency.clone()));
    let id = params.add(Param::Text(now.id.clone()));
    let mut sql =
        format!("DELETE FROM invitation_terms WHERE agency = {agency} AND invitation_id = {id}");
    if let Some(mut known) = known {
        known.extend(now.terms());
        known.sort();
        known.dedup();
        let known: Vec<String> = known
            .into_iter()
            .map(|t| params.add(Param::Bytes(t.into_bytes())))
            .collect();
        sql.push_str(&format!(" AND term IN ({})", known.join(", ")));
    }
    params.bind(sqlx::query(&sql)).execute(&mut *conn).await?;
    index(conn, &[now]).await
}

/// Indexes every invitation written before search terms existed (or by older terms code),
/// [`INDEX_ROWS`] per transaction, then those stored without terms ([`index_pending`]).
/// Returns how many.
///
/// The older ones' terms, if any, are not known from their columns (older code wrote them):
/// they are deleted first, in one statement, and only when there is such an invitation (the
/// partial index `invitations_terms_stale` answers that from nothing at all once every row is
/// current). A stop half-way leaves the rest without terms until the next start-up.
pub async fn backfill(db: &Db) -> sqlx::Result<u64> {
    let stale = format!("terms_version < {TERMS_VERSION} AND terms_version > {PENDING}");
    let any: Option<(i64,)> =
        sqlx::query_as(&format!("SELECT 1 FROM invitations WHERE {stale} LIMIT 1"))
            .fetch_optional(db.pool())
            .await?;
    if any.is_none() {
        return index_pending(db, None).await;
    }
    let mut tx = db.begin_write().await?;
    sqlx::query(&format!(
        "DELETE FROM invitation_terms WHERE invitation_id IN \
         (SELECT id FROM invitations WHERE {stale})"
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut done = 0u64;
    loop {
        let mut tx = db.begin_write().await?;
        let invitations = to_index(&mut tx, &stale, "", None).await?;
        if invitations.is_empty() {
            return Ok(done + index_pending(db, None).await?);
        }
        index(&mut tx, &invitations).await?;
        tx.commit().await?;
        done += invitations.len() as u64;
    }
}

/// Writes the terms of the invitations stored without them ([`PENDING`]), of `agency` or of
/// every agency, [`INDEX_ROWS`] per transaction. Returns how many.
///
/// Nearly always there are none, which a look-up on `invitations_terms_stale` tells without
/// the write lock. On PostgreSQL the rows are locked as they are read, skipping those another
/// transaction holds (another instance's indexing, a sign-up's re-index); while only such
/// rows are left, it waits for them to be done ([`PENDING_HELD`]), holding no lock itself, so
/// it is never in a deadlock and returns once every pending row it looked for is indexed.
pub async fn index_pending(db: &Db, agency: Option<&str>) -> sqlx::Result<u64> {
    let mut pending = format!("terms_version = {PENDING}");
    if agency.is_some() {
        pending.push_str(" AND inviter_agency = $1");
    }
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let mut done = 0u64;
    loop {
        let sql = format!("SELECT 1 FROM invitations WHERE {pending} LIMIT 1");
        let mut any = sqlx::query_as::<_, (i64,)>(&sql);
        if let Some(agency) = agency {
            any = any.bind(agency);
        }
        if any.fetch_optional(db.pool()).await?.is_none() {
            return Ok(done);
        }
        let mut tx = db.begin_write().await?;
        let invitations = to_index(&mut tx, &pending, lock, agency).await?;
        if invitations.is_empty() {
            // Another transaction holds the pending rows left.
            drop(tx);
            tokio::time::sleep(PENDING_HELD).await;
            continue;
        }
        insert_terms(&mut tx, &invitations).await?;
        let mut params = Params::default();
        let mut ids = Rows::new("indexed", &["indexed_id"]);
        for i in &invitations {
            ids.push([Param::from(i.id.as_str())]);
        }
        let ids = ids.source(&tx, &mut params)?;
        let sql = format!(
            "UPDATE invitations SET terms_version = {TERMS_VERSION} \
             WHERE id IN (SELECT indexed_id FROM {ids})"
        );
        params
            .bind(sqlx::query(&sql).persistent(false))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += invitations.len() as u64;
    }
}

/// Up to [`INDEX_ROWS`] invitations that meet `condition` (on `invitations`; `$1` is
/// `agency` when there is one), read with `lock`.
async fn to_index(
    conn: &mut AnyConnection,
    condition: &str,
    lock: &str,
    agency: Option<&str>,
) -> sqlx::Result<Vec<Indexing>> {
    let sql = format!(
        "SELECT id, inviter_agency, email_key, first_name, last_name FROM invitations \
         WHERE {condition} LIMIT {INDEX_ROWS}{lock}"
    );
    let mut query = sqlx::query(&sql);
    if let Some(agency) = agency {
        query = query.bind(agency);
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok(Indexing {
                id: row.try_get("id")?,
                agency: row.try_get("inviter_agency")?,
                email_key: row.try_get("email_key")?,
                first: row.try_get("first_name")?,
                last: row.try_get("last_name")?,
            })
        })
        .collect()
}

/// The condition that `words` (from [`words`]) all match the invitation whose id is `id`
/// (an expression on `invitations i`), of the agency whose placeholder is `agency`.
pub(crate) fn matches(words: &[String], id: &str, agency: &str, params: &mut Params) -> String {
    words
        .iter()
        .map(|word| {
            let (low, high) = prefix_range(word);
            let low = params.add(Param::Bytes(low));
            let high = params.add(Param::Bytes(high));
            format!(
                "{id} IN (SELECT t.invitation_id FROM invitation_terms t \
                 WHERE t.agency = {agency} AND t.term >= {low} AND t.term < {high})"
            )
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(terms: &[String], word: &str) -> bool {
        let (low, high) = prefix_range(word);
        terms
            .iter()
            .any(|t| t.as_bytes() >= low.as_slice() && t.as_bytes() < high.as_slice())
    }

    #[test]
    fn the_stale_terms_index_holds_the_rows_older_than_this_code() {
        // The last migration that makes `invitations_terms_stale` bounds it by this code's
        // TERMS_VERSION, which [`backfill`] writes into its query; with another bound the
        // backfill would read the whole table (still right, no longer from the index).
        let last = crate::server::db::MIGRATOR
            .iter()
            .flat_map(|m| m.sql.lines())
            .rfind(|line| line.contains("INDEX invitations_terms_stale"))
            .expect("a migration makes invitations_terms_stale");
        assert!(
            last.trim_end()
                .ends_with(&format!("WHERE terms_version < {TERMS_VERSION};")),
            "{last}"
        );
    }

    #[test]
    fn words_of_the_address_and_names_are_terms() {
        let t = terms("wei.tan12@tech.gov.sg", Some("Mei Ling"), Some("O'Brien"));
        for word in [
            "wei.tan12@tech.gov.sg",
            "tan12@",
            "tech.gov",
            "mei",
            "ling",
            "o'b",
            "brien",
        ] {
            assert!(has(&t, word), "{word} in {t:?}");
        }
        // Inside a word, or a part of the agency's domain: not a term.
        for word in ["an12", "gov.sg", "ei", "rien"] {
            assert!(!has(&t, word), "{word} in {t:?}");
        }
    }

    #[test]
    fn a_search_is_lowercased_split_and_trimmed_of_leading_punctuation() {
        assert_eq!(words("  Mei   TAN mei "), ["mei", "tan"]);
        assert_eq!(words("@acme.com"), ["acme.com"]);
        assert_eq!(words("%"), ["%"]);
        assert!(words("   ").is_empty());
        assert_eq!(words("a b c d e f g h i j").len(), MAX_WORDS);
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_words_that_start_with_it() {
        let (low, high) = prefix_range("tan");
        for (word, inside) in [
            ("tan", true),
            ("tan.x", true),
            ("tanaka", true),
            ("ta.n", false),
            ("tao", false),
            ("taм", false),
        ] {
            let b = word.as_bytes();
            assert_eq!(b >= low.as_slice() && b < high.as_slice(), inside, "{word}");
        }
        let (low, high) = prefix_range("é");
        assert!("éa".as_bytes() >= low.as_slice() && "éa".as_bytes() < high.as_slice());
    }

    #[test]
    fn the_name_key_sorts_by_last_name_then_first() {
        assert_eq!(name_key(Some("Mei Ling"), Some("Tan")), "tan mei ling");
        assert_eq!(name_key(None, None), "");
    }
}
