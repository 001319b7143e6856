//! SQL written once: the fragments several services share, and the parameters of queries
//! built at run time. Every query is portable SQL that SQLite and PostgreSQL both run.

/// The open invitations' statuses as an SQL list, for `status IN {OPEN}`: the one place the
/// services write [`InvitationStatus::OPEN`](crate::domain::InvitationStatus::OPEN) as SQL.
/// The partial unique indexes of the migrations use the same list; a test holds them to it.
pub const OPEN: &str = "('invited', 'created', 'provisioning')";

/// The open invitations whose email has gone (an account being provisioned has not sent
/// one yet): what reminders and Resend work on.
pub const SENT: &str = "('invited', 'created')";

/// A query's SQL and its parameters, numbered as they are added.
#[derive(Default)]
pub(crate) struct Params {
    values: Vec<Param>,
}

/// A parameter of a query built at run time.
#[derive(Clone)]
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

/// The most parameters one statement binds: SQLite takes 32,766, PostgreSQL 65,535.
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

    /// Inserts the rows: one statement for as many rows as its parameters allow (a batch
    /// chunk's 500 rows take one or two), not a statement per row.
    pub(crate) async fn insert(self, conn: &mut sqlx::AnyConnection) -> sqlx::Result<()> {
        let width = self.columns.len();
        let per_statement = (MAX_PARAMS / width).max(1);
        let mut values = self.values.into_iter().peekable();
        while values.peek().is_some() {
            let part: Vec<Param> = values.by_ref().take(per_statement * width).collect();
            let rows = part.len() / width;
            let tuples: Vec<String> = match conn.backend_name() {
                // SQLite looks a named parameter (`$7`, even `?7`) up in a list, at parse
                // and again at bind: thousands of them cost seconds. Bare `?`s are bound
                // by position, in the order the values come.
                "SQLite" => {
                    let row = format!("({})", vec!["?"; width].join(", "));
                    vec![row; rows]
                }
                _ => (0..rows)
                    .map(|r| format!("({})", placeholders(r * width + 1, width)))
                    .collect(),
            };
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                self.table,
                self.columns.join(", "),
                tuples.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for value in part {
                query = value.bind_to(query);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// How many values one `IN (...)` list takes.
pub(crate) const IN_LIST: usize = 500;

/// Runs `sql` (with `{}` where the list of placeholders goes, numbered after `leading`) for
/// each part of `keys`, collecting every row.
pub(crate) async fn fetch_in_parts<T>(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    leading: &[&str],
    keys: &[String],
) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut out = Vec::new();
    for part in keys.chunks(IN_LIST) {
        let sql = sql.replace("{}", &placeholders(leading.len() + 1, part.len()));
        // Not a cached prepared statement: PostgreSQL would soon run it with a generic plan
        // made without the values, and one chosen while a table was small (a sequential scan
        // that tests each row against 500 parameters) stays slow once the table has grown.
        // Planned afresh with the values, it uses the indexes.
        let mut query = sqlx::query_as::<_, T>(&sql).persistent(false);
        for value in leading {
            query = query.bind(*value);
        }
        for key in part {
            query = query.bind(key);
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InvitationStatus;

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
            if name == "invitations_one_open_per_email" {
                continue; // dropped by 20261203000003
            }
            assert_eq!(list, OPEN, "index {name} as migration {version} defines it");
        }
        assert!(last.contains_key("invitations_one_open_per_agency"));
    }
}
