//! SQL written once: the fragments several services share, and the parameters of queries
//! built at run time. Every query is portable SQL that SQLite and PostgreSQL both run.

/// The open invitations' statuses as an SQL list, for `status IN {OPEN}`: the one place the
/// services write [`InvitationStatus::OPEN`](crate::domain::InvitationStatus::OPEN) as SQL.
/// The partial unique indexes of the migrations use the same list; a test holds them to it.
pub const OPEN: &str = "('invited', 'created', 'provisioning')";

/// The open invitations whose email has gone (an account being provisioned has not sent
/// one yet): what reminders and Resend work on.
pub const SENT: &str = "('invited', 'created')";

/// A struct that a query's rows are read into (`query_as`), each field from the column of its
/// name: what `#[derive(sqlx::FromRow)]` writes, without sqlx's proc macros (they bring a
/// second build of sqlx's drivers, for the compiler). Wraps the struct's definition; a field
/// written `name: Type as Stored` is read as `Stored` and converted with `TryFrom`.
macro_rules! from_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident: $ty:ty $(as $from:ty)?),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $ty),*
        }

        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $name {
            fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Self> {
                use sqlx::Row as _;
                Ok($name {
                    $($field: $crate::server::sql::from_row!(@get row, $field $(, $from)?)),*
                })
            }
        }
    };
    // A column read as its own type.
    (@get $row:ident, $field:ident) => {
        $row.try_get(stringify!($field))?
    };
    // `field: Type as Stored`: read as `Stored`, then `Type::try_from` it (sqlx's
    // `#[sqlx(try_from = "Stored")]`); a value it refuses is the column's decoding error.
    (@get $row:ident, $field:ident, $from:ty) => {
        $row.try_get::<$from, _>(stringify!($field))?
            .try_into()
            .map_err(|e| sqlx::Error::ColumnDecode {
                index: stringify!($field).to_string(),
                source: Box::from(e),
            })?
    };
}
pub(crate) use from_row;

/// A query's SQL and its parameters, numbered as they are added.
#[derive(Default)]
pub(crate) struct Params {
    values: Vec<Param>,
}

/// A parameter of a query built at run time.
#[derive(Clone, PartialEq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    /// NULL in a text column.
    NoText,
    /// NULL in an integer column.
    NoInt,
}

/// Binds one [`Param`] (owned) to a `Query` or a `QueryAs`: their `bind`s are not one trait.
macro_rules! bind_param {
    ($query:expr, $param:expr) => {
        match $param {
            Param::Int(v) => $query.bind(v),
            Param::Text(v) => $query.bind(v),
            Param::Bytes(v) => $query.bind(v),
            Param::NoText => $query.bind(None::<String>),
            Param::NoInt => $query.bind(None::<i64>),
        }
    };
}

impl Param {
    fn bind_to<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        bind_param!(query, self)
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(v.to_string())
    }
}

impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(v)
    }
}

impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        v.map_or(Param::NoText, Param::Text)
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl Params {
    /// Adds a parameter and gives its placeholder ("$3").
    pub(crate) fn add(&mut self, value: Param) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// [`Params::bind`] for a query whose rows are read as `T`.
    pub(crate) fn bind_as<'q, T>(
        &self,
        mut query: sqlx::query::QueryAs<'q, sqlx::Any, T, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, T, sqlx::any::AnyArguments<'q>> {
        for value in self.values.iter().cloned() {
            query = bind_param!(query, value);
        }
        query
    }

    /// Binds the parameters, in order, to `query` (made from the SQL they were added to).
    pub(crate) fn bind<'q>(
        &self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for value in self.values.iter().cloned() {
            query = bind_param!(query, value);
        }
        query
    }
}

/// `$first, $first+1, ...`: `n` numbered placeholders.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The most parameters one SQLite insert statement binds (SQLite takes 32,766; PostgreSQL's
/// inserts bind one array per column instead).
const MAX_PARAMS: usize = 30_000;

/// Rows to insert into one table: the values of `columns`, row after row.
pub(crate) struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    values: Vec<Param>,
}

impl Rows {
    pub(crate) fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Rows {
            table,
            columns,
            values: Vec::new(),
        }
    }

    /// Adds a row: one value per column, in the columns' order.
    pub(crate) fn push(&mut self, row: impl IntoIterator<Item = Param>) {
        let before = self.values.len();
        self.values.extend(row);
        debug_assert_eq!(
            self.values.len() - before,
            self.columns.len(),
            "a row of {} has one value per column",
            self.table
        );
    }

    /// Inserts the rows with a fixed number of statements, not a statement per row. SQLite:
    /// one multi-row `VALUES` statement for as many rows as its parameters allow (a batch
    /// chunk's 500 rows take one or two). PostgreSQL: one `INSERT … SELECT FROM UNNEST` of one
    /// array per column, so the statement has as many parameters as the table has columns
    /// however many rows it inserts (planning and binding thousands of parameters cost more
    /// than storing the rows).
    pub(crate) async fn insert(self, conn: &mut sqlx::AnyConnection) -> sqlx::Result<()> {
        if self.values.is_empty() {
            return Ok(());
        }
        match conn.backend_name() {
            "SQLite" => self.insert_values(conn).await,
            _ => self.insert_unnest(conn).await,
        }
    }

    async fn insert_values(self, conn: &mut sqlx::AnyConnection) -> sqlx::Result<()> {
        let width = self.columns.len();
        let per_statement = (MAX_PARAMS / width).max(1);
        let mut values = self.values.into_iter().peekable();
        while values.peek().is_some() {
            let part: Vec<Param> = values.by_ref().take(per_statement * width).collect();
            let rows = part.len() / width;
            // SQLite looks a named parameter (`$7`, even `?7`) up in a list, at parse and
            // again at bind: thousands of them cost seconds. Bare `?`s are bound by
            // position, in the order the values come.
            let row = format!("({})", vec!["?"; width].join(", "));
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                self.table,
                self.columns.join(", "),
                vec![row; rows].join(", ")
            );
            let mut query = sqlx::query(&sql);
            for value in part {
                query = value.bind_to(query);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// One array per column, typed by the column's first value. A value of another type
    /// in the column is refused (it would be cast to the first one's type, or fail there).
    fn arrays(&self) -> Result<Vec<ArrayLiteral>, String> {
        let every = vec![true; self.columns.len()];
        Ok(self.arrays_of(&every)?.into_iter().flatten().collect())
    }

    /// [`Rows::arrays`] for the columns `wanted` says (`None` for the others); every value
    /// is checked against its column's type all the same.
    fn arrays_of(&self, wanted: &[bool]) -> Result<Vec<Option<ArrayLiteral>>, String> {
        let width = self.columns.len();
        let mut arrays: Vec<(&'static str, Option<ArrayLiteral>)> = self.values[..width]
            .iter()
            .zip(wanted)
            .map(|(first, &wanted)| {
                let element_type = first.array_type();
                (
                    element_type,
                    wanted.then(|| ArrayLiteral::new(element_type)),
                )
            })
            .collect();
        for (i, value) in self.values.iter().enumerate() {
            let (element_type, array) = &mut arrays[i % width];
            if value.array_type() != *element_type {
                return Err(format!(
                    "{}.{}: a {} value in a column of {}",
                    self.table,
                    self.columns[i % width],
                    value.array_type(),
                    element_type
                ));
            }
            if let Some(array) = array {
                array.push(value);
            }
        }
        Ok(arrays.into_iter().map(|(_, array)| array).collect())
    }

    /// PostgreSQL's insert statement for the rows, and its parameters: an array per column
    /// (`UNNEST`), except that a column holding one value in every row is bound once as
    /// that value. A batch's chunk repeats its officer, agency, kind, status, times and
    /// empty columns in every row: about half of an invitation's columns, which PostgreSQL
    /// would otherwise parse out of an array text 500 times each. One row binds only values.
    /// (The statement's text depends on which columns are shared, so a table has a few forms
    /// of it in practice, each prepared once per connection like any other statement.)
    fn unnest_insert(&self) -> Result<(String, Params), String> {
        let width = self.columns.len();
        let rows = self.values.len() / width;
        let mut same: Vec<bool> = (0..width)
            .map(|c| {
                let first = &self.values[c];
                self.values[c..].iter().step_by(width).all(|v| v == first)
            })
            .collect();
        // More than one row: an array gives their number, so at least one column is one.
        if rows > 1 && same.iter().all(|&s| s) {
            same[0] = false;
        }
        let wanted: Vec<bool> = same.iter().map(|&s| !s).collect();
        let mut params = Params::default();
        let mut exprs = Vec::with_capacity(width);
        let mut arrays = Vec::new();
        let mut names = Vec::new();
        for (c, array) in self.arrays_of(&wanted)?.into_iter().enumerate() {
            let column = self.columns[c];
            match array {
                Some(array) => {
                    let element_type = array.element_type;
                    arrays.push(format!(
                        "{}::{element_type}[]",
                        params.add(Param::Text(array.finish()))
                    ));
                    names.push(column);
                    exprs.push(format!("u.{column}"));
                }
                None => {
                    let value = self.values[c].clone();
                    let element_type = value.array_type();
                    exprs.push(format!("{}::{element_type}", params.add(value)));
                }
            }
        }
        let from = if arrays.is_empty() {
            String::new()
        } else {
            format!(
                " FROM UNNEST({}) AS u({})",
                arrays.join(", "),
                names.join(", ")
            )
        };
        let sql = format!(
            "INSERT INTO {} ({}) SELECT {}{from}",
            self.table,
            self.columns.join(", "),
            exprs.join(", ")
        );
        Ok((sql, params))
    }

    async fn insert_unnest(self, conn: &mut sqlx::AnyConnection) -> sqlx::Result<()> {
        let (sql, params) = self
            .unnest_insert()
            .map_err(|e| sqlx::Error::Encode(e.into()))?;
        params.bind(sqlx::query(&sql)).execute(&mut *conn).await?;
        Ok(())
    }
}

impl Rows {
    /// The rows as a table that a statement reads, `FROM {source}` (named by the table given
    /// to [`Rows::new`], its columns by the columns), bound as a few parameters however many
    /// rows there are. PostgreSQL: `UNNEST` of one array per column (as [`Rows::insert`]).
    /// SQLite: the rows as one JSON array read by `json_each` (SQLite looks each named
    /// parameter up in a list, at parse and again at bind: a statement of hundreds costs
    /// more than its work). A statement that matches keys against it joins them instead of
    /// testing each row against a `CASE` or an `OR` of hundreds of parameters. Run such a
    /// statement with `.persistent(false)`: PostgreSQL then plans it with the arrays' values,
    /// so it knows how many rows `UNNEST` gives (a prepared statement's generic plan does
    /// not). With no rows, every column is typed text.
    pub(crate) fn source(
        &self,
        conn: &sqlx::AnyConnection,
        params: &mut Params,
    ) -> sqlx::Result<String> {
        let names = self.columns.join(", ");
        if conn.backend_name() == "SQLite" {
            let columns = self
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("value ->> {i} AS {c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let json = self.json().map_err(|e| sqlx::Error::Encode(e.into()))?;
            let at = params.add(Param::Text(json));
            return Ok(format!(
                "(SELECT {columns} FROM json_each({at})) AS {}",
                self.table
            ));
        }
        let arrays: Vec<ArrayLiteral> = if self.values.is_empty() {
            self.columns
                .iter()
                .map(|_| ArrayLiteral::new("text"))
                .collect()
        } else {
            self.arrays().map_err(|e| sqlx::Error::Encode(e.into()))?
        };
        let arrays = arrays
            .into_iter()
            .map(|a| {
                let element_type = a.element_type;
                format!("{}::{element_type}[]", params.add(Param::Text(a.finish())))
            })
            .collect::<Vec<_>>()
            .join(", ");
        Ok(format!("UNNEST({arrays}) AS {}({names})", self.table))
    }

    /// The rows as a JSON array of arrays (SQLite's [`Rows::source`]).
    fn json(&self) -> Result<String, String> {
        let width = self.columns.len();
        let mut rows = Vec::with_capacity(self.values.len() / width.max(1));
        for row in self.values.chunks(width) {
            let mut values = Vec::with_capacity(width);
            for (value, column) in row.iter().zip(self.columns) {
                values.push(match value {
                    Param::Int(v) => serde_json::Value::from(*v),
                    Param::Text(v) => serde_json::Value::from(v.as_str()),
                    Param::NoText | Param::NoInt => serde_json::Value::Null,
                    Param::Bytes(_) => {
                        return Err(format!("{}.{column}: bytes in a JSON row", self.table))
                    }
                });
            }
            rows.push(serde_json::Value::Array(values));
        }
        serde_json::to_string(&rows).map_err(|e| e.to_string())
    }
}

impl Param {
    /// The PostgreSQL type of an array of values like this one.
    fn array_type(&self) -> &'static str {
        match self {
            Param::Int(_) | Param::NoInt => "int8",
            Param::Text(_) | Param::NoText => "text",
            Param::Bytes(_) => "bytea",
        }
    }
}

/// A PostgreSQL array in its text form (`{"a","b\"c",NULL}`), bound as one text parameter
/// and cast to its type in the statement.
struct ArrayLiteral {
    element_type: &'static str,
    text: String,
}

impl ArrayLiteral {
    fn new(element_type: &'static str) -> Self {
        ArrayLiteral {
            element_type,
            text: String::from("{"),
        }
    }

    fn push(&mut self, value: &Param) {
        use std::fmt::Write;
        if self.text.len() > 1 {
            self.text.push(',');
        }
        match value {
            Param::Int(v) => {
                let _ = write!(self.text, "{v}");
            }
            Param::NoInt | Param::NoText => self.text.push_str("NULL"),
            Param::Text(v) => self.quote(v),
            // bytea's hex form, `\x6162`, its backslash escaped inside the quotes.
            Param::Bytes(v) => {
                self.text.push_str("\"\\\\x");
                for b in v {
                    let _ = write!(self.text, "{b:02x}");
                }
                self.text.push('"');
            }
        }
    }

    /// `v` quoted, its quotes and backslashes escaped.
    fn quote(&mut self, v: &str) {
        self.text.reserve(v.len() + 2);
        self.text.push('"');
        // The runs between the characters to escape go in whole (most values have none).
        let mut rest = v;
        while let Some(at) = rest.find(['"', '\\']) {
            self.text.push_str(&rest[..at]);
            self.text.push('\\');
            self.text.push_str(&rest[at..=at]);
            rest = &rest[at + 1..];
        }
        self.text.push_str(rest);
        self.text.push('"');
    }

    fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// How many keys one `IN (...)` list of numbered parameters takes (PostgreSQL's look-ups in
/// [`fetch_in_parts`], and the provisioning queue's lists on both databases).
pub(crate) const IN_LIST: usize = 500;

/// Runs `sql` (with `IN ({})` where the keys go, its other parameters numbered from `$1`
/// for `leading`) for all of `keys`, collecting every row.
///
/// SQLite: one query, the keys one JSON array read by `json_each` (SQLite looks each named
/// parameter up in a list at bind, so a list of hundreds costs more than the query).
/// PostgreSQL: a list of numbered parameters, [`IN_LIST`] keys a query. (One `text[]`
/// parameter is no constant when the query is planned: with a new table's statistics the
/// planner then filters every row of the batch against the array instead of looking each
/// key up.)
pub(crate) async fn fetch_in_parts<T>(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    leading: &[&str],
    keys: &[String],
) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    debug_assert!(sql.contains("IN ({})"), "the keys' place: {sql}");
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let sqlite = conn.backend_name() == "SQLite";
    let at = leading.len() + 1;
    let mut out = Vec::new();
    for part in keys.chunks(if sqlite { keys.len() } else { IN_LIST }) {
        let list = if sqlite {
            format!("SELECT value FROM json_each(${at})")
        } else {
            placeholders(at, part.len())
        };
        let sql = sql.replace("IN ({})", &format!("IN ({list})"));
        // Not a cached prepared statement: PostgreSQL would soon run it with a generic plan
        // made without the values, and one chosen while a table was small (a sequential
        // scan that tests each row against 500 parameters) stays slow once the table has
        // grown. Planned afresh with the values, it uses the indexes.
        let mut query = sqlx::query_as::<_, T>(&sql).persistent(false);
        for value in leading {
            query = query.bind(*value);
        }
        if sqlite {
            let json = serde_json::to_string(part).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            query = query.bind(json);
        } else {
            for key in part {
                query = query.bind(key);
            }
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InvitationStatus;

    #[tokio::test]
    async fn from_row_reads_each_field_by_its_name_and_converts_what_it_is_asked_to() {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect("sqlite::memory:")
            .await
            .expect("an in-memory SQLite");
        from_row! {
            struct Read {
                name: String,
                count: i64,
                note: Option<String>,
                status: InvitationStatus as String,
            }
        }
        // The columns in another order than the fields: each is read by its name.
        let read: Read = sqlx::query_as(
            "SELECT 'provisioning' AS status, NULL AS note, 7 AS count, 'x' AS name",
        )
        .fetch_one(&mut conn)
        .await
        .expect("a row that reads");
        assert_eq!(read.name, "x");
        assert_eq!(read.count, 7);
        assert_eq!(read.note, None);
        assert_eq!(read.status, InvitationStatus::Provisioning);
        // A value the conversion refuses is that column's decoding error.
        let refused = sqlx::query_as::<_, Read>(
            "SELECT 'nonsense' AS status, NULL AS note, 7 AS count, 'x' AS name",
        )
        .fetch_one(&mut conn)
        .await;
        assert!(
            matches!(&refused, Err(sqlx::Error::ColumnDecode { index, .. }) if index == "status"),
            "{:?}",
            refused.err()
        );
    }

    #[test]
    fn array_literals_quote_escape_and_type_their_elements() {
        let mut text = ArrayLiteral::new("text");
        for value in [
            Param::from("plain"),
            Param::from(r#"say "hi" \ {back}, NULL"#),
            Param::NoText,
            Param::from(""),
            Param::from("NULL"),
            Param::from("é\"\\\"ü\\"),
        ] {
            text.push(&value);
        }
        assert_eq!(
            text.finish(),
            r#"{"plain","say \"hi\" \\ {back}, NULL",NULL,"","NULL","é\"\\\"ü\\"}"#
        );
        let mut bytes = ArrayLiteral::new("bytea");
        bytes.push(&Param::Bytes("aé".as_bytes().to_vec()));
        assert_eq!(bytes.finish(), r#"{"\\x61c3a9"}"#);
        let mut ints = ArrayLiteral::new("int8");
        ints.push(&Param::Int(-3));
        ints.push(&Param::NoInt);
        assert_eq!(ints.finish(), "{-3,NULL}");
        assert_eq!(ArrayLiteral::new("text").finish(), "{}");
    }

    #[test]
    fn a_column_s_values_are_of_one_type() {
        let mut rows = Rows::new("t", &["name", "n"]);
        rows.push([Param::NoText, Param::Int(1)]);
        rows.push([Param::from("a"), Param::NoInt]);
        let arrays: Vec<String> = rows
            .arrays()
            .expect("one type per column")
            .into_iter()
            .map(ArrayLiteral::finish)
            .collect();
        assert_eq!(arrays, [r#"{NULL,"a"}"#, "{1,NULL}"]);
        rows.push([Param::Int(2), Param::Int(3)]);
        assert_eq!(
            rows.arrays().err().as_deref(),
            Some("t.name: a int8 value in a column of text")
        );
    }

    #[test]
    fn postgres_binds_a_column_that_every_row_shares_once_instead_of_as_an_array() {
        let columns: &'static [&'static str] = &["id", "agency", "note", "at"];
        let mut rows = Rows::new("t", columns);
        for id in ["a", "b", "c"] {
            rows.push([
                Param::from(id),
                Param::from("tech.gov.sg"),
                Param::NoText,
                Param::Int(7),
            ]);
        }
        let (sql, params) = rows.unnest_insert().expect("one type per column");
        assert_eq!(
            sql,
            "INSERT INTO t (id, agency, note, at) SELECT u.id, $2::text, $3::text, $4::int8 \
             FROM UNNEST($1::text[]) AS u(id)"
        );
        assert!(
            params.values
                == [
                    Param::from(r#"{"a","b","c"}"#),
                    Param::from("tech.gov.sg"),
                    Param::NoText,
                    Param::Int(7),
                ],
            "the array of ids, then each shared value once"
        );

        // A value that differs in the last row only makes its column an array.
        rows.push([
            Param::from("d"),
            Param::from("tech.gov.sg"),
            Param::from("late"),
            Param::Int(7),
        ]);
        let (sql, _) = rows.unnest_insert().expect("one type per column");
        assert_eq!(
            sql,
            "INSERT INTO t (id, agency, note, at) SELECT u.id, $2::text, u.note, $4::int8 \
             FROM UNNEST($1::text[], $3::text[]) AS u(id, note)"
        );

        // Rows alike in every column: the first column is an array all the same, which
        // gives their number.
        let mut twins = Rows::new("t", &["n"]);
        twins.push([Param::Int(1)]);
        twins.push([Param::Int(1)]);
        let (sql, params) = twins.unnest_insert().expect("one type per column");
        assert_eq!(
            sql,
            "INSERT INTO t (n) SELECT u.n FROM UNNEST($1::int8[]) AS u(n)"
        );
        assert!(params.values == [Param::from("{1,1}")]);

        // One row: its values, no array.
        let mut one = Rows::new("t", &["n", "s"]);
        one.push([Param::Int(1), Param::from("x")]);
        let (sql, _) = one.unnest_insert().expect("one type per column");
        assert_eq!(sql, "INSERT INTO t (n, s) SELECT $1::int8, $2::text");

        // A value of another type is refused as before, wherever it is.
        one.push([Param::Int(2), Param::Int(3)]);
        assert_eq!(
            one.unnest_insert().err().as_deref(),
            Some("t.s: a int8 value in a column of text")
        );
    }

    #[test]
    fn placeholders_are_numbered_from_the_first() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 0), "");
    }

    #[test]
    fn the_open_list_is_the_domain_s_open_set() {
        let list: Vec<String> = InvitationStatus::OPEN
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(OPEN, format!("({})", list.join(", ")));
    }

    #[test]
    fn the_migrations_indexes_count_open_invitations_as_the_services_do() {
        // Migrations are history and are not edited; each partial index over open
        // invitations, as its last migration defines it, must say exactly what the services
        // mean by open.
        let mut last: std::collections::HashMap<String, (i64, String)> = Default::default();
        for migration in crate::server::db::MIGRATOR.iter() {
            let mut index = None;
            for line in migration.sql.lines() {
                if let Some(at) = line.find("INDEX ") {
                    index = line[at + "INDEX ".len()..]
                        .split_whitespace()
                        .next()
                        .map(str::to_string);
                }
                if let Some(at) = line.find("WHERE status IN") {
                    let list = line[at + "WHERE status IN".len()..]
                        .trim()
                        .trim_end_matches(';');
                    let name = index.clone().expect("a partial index names itself first");
                    last.insert(name, (migration.version, list.to_string()));
                }
            }
        }
        assert!(
            !last.is_empty(),
            "the open-invitation indexes were not found"
        );
        for (name, (version, list)) in &last {
            let meant = match name.as_str() {
                "invitations_one_open_per_email" => continue, // dropped by 20261203000003
                // The reminder sweep's: invitations whose email has gone.
                "invitations_open_sent" => SENT,
                _ => OPEN,
            };
            assert_eq!(
                list, meant,
                "index {name} as migration {version} defines it"
            );
        }
        assert!(last.contains_key("invitations_open_sent"));
        assert!(last.contains_key("invitations_one_open_per_agency"));
        assert!(last.contains_key("invitations_one_open_per_username"));
    }
}
