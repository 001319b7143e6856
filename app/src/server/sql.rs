//! SQL written once: the fragments several services share, and the parameters of queries
//! built at run time. Every query is portable SQL that SQLite and PostgreSQL both run.

/// The open invitations' statuses as an SQL list, for `status IN {OPEN}`: the one place the
/// services write [`InvitationStatus::OPEN`](crate::domain::InvitationStatus::OPEN) as SQL.
/// The partial unique indexes of the migrations use the same list; a test holds them to it.
pub const OPEN: &str = "('invited', 'created')";

/// A query's SQL and its parameters, numbered as they are added.
#[derive(Default)]
pub(crate) struct Params {
    values: Vec<Param>,
}

/// A parameter of a query built at run time.
pub(crate) enum Param {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Params {
    /// Adds a parameter and gives its placeholder ("$3").
    pub(crate) fn add(&mut self, value: Param) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Binds the parameters, in order, to `query` (made from the SQL they were added to).
    pub(crate) fn bind<'q>(
        &self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for value in &self.values {
            query = match value {
                Param::Int(v) => query.bind(*v),
                Param::Text(v) => query.bind(v.clone()),
                Param::Bytes(v) => query.bind(v.clone()),
            };
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InvitationStatus;

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
        // invitations must still say exactly what the services mean by open.
        let migrations = crate::server::db::MIGRATOR.iter();
        let mut seen = 0;
        for migration in migrations {
            for line in migration.sql.lines() {
                if let Some(at) = line.find("WHERE status IN") {
                    let list = line[at + "WHERE status IN".len()..]
                        .trim()
                        .trim_end_matches(';');
                    assert_eq!(list, OPEN, "migration {}", migration.version);
                    seen += 1;
                }
            }
        }
        assert!(seen >= 2, "the open-invitation indexes were not found");
    }
}
