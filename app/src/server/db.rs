//! The database: SQLite (the embedded default) or PostgreSQL, chosen by `DATABASE_URL`, with
//! one set of queries and one set of migrations written in the SQL both understand. `Db` is
//! the pool and how to begin a write; it knows no feature (caches live in `AppState`,
//! start-up work is called by the server's start-up).

use std::borrow::Cow;
use std::sync::LazyLock;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};

/// The files of migrations/, embedded when the crate is built (build.rs lists them): each
/// file's name and SQL.
const MIGRATION_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The migrations, as `sqlx::migrate!` would embed them (the same versions, descriptions,
/// checksums; a test compares them with sqlx's reading of the folder), without sqlx's proc
/// macros: those bring a second build of sqlx's drivers, for the compiler.
pub static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| Migrator {
    migrations: Cow::Owned(migrations(MIGRATION_FILES)),
    ..Migrator::DEFAULT
});

/// `files` (name, SQL) as sqlx reads a migration folder: `<version>_<description>.sql`, the
/// description's underscores as spaces, in the order of their versions.
fn migrations(files: &[(&str, &'static str)]) -> Vec<Migration> {
    let mut migrations: Vec<Migration> = files
        .iter()
        .map(|&(name, sql)| {
            let (version, rest) = name
                .split_once('_')
                .expect("build.rs lists <version>_<description>.sql files only");
            let migration_type = MigrationType::from_filename(rest);
            Migration::new(
                version
                    .parse()
                    .expect("build.rs checks that the version is a number"),
                Cow::Owned(
                    rest.trim_end_matches(migration_type.suffix())
                        .replace('_', " "),
                ),
                migration_type,
                Cow::Borrowed(sql),
                sql.starts_with("-- no-transaction"),
            )
        })
        .collect();
    migrations.sort_by_key(|m| m.version);
    migrations
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL must start with sqlite:// or postgres://, got \"{0}\"")]
    UnsupportedUrl(String),
    #[error("could not create the database folder {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A newer release migrated the database: this binary would read and write a schema it
    /// does not know, so it refuses to serve.
    #[error(
        "the database has migration {database}, which this binary does not know (it knows up to \
         {binary}): a newer release has migrated this database. Deploy that release (or newer) \
         on every instance; this one refuses to serve"
    )]
    NewerThanBinary { database: i64, binary: i64 },
    /// A migration this binary has was applied with other contents.
    #[error(
        "migration {0} in the database differs from this binary's copy of it: the database was \
         migrated by another build. Deploy the build that migrated it; this one refuses to serve"
    )]
    ChangedMigration(i64),
}

/// How the database's migrations stand against this binary's (the readiness check's question).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Every migration this binary has is applied, and no other.
    Current,
    /// Migrations of this binary are missing (another instance is still migrating).
    Behind { database: i64, binary: i64 },
    /// A newer release migrated the database.
    Newer { database: i64, binary: i64 },
}

impl Schema {
    /// The newest migration this binary carries.
    pub fn binary_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

/// How often SQLite's write-ahead log is copied into the database file, off the requests'
/// path (see [`checkpoint_while_open`]).
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// SQLite's checkpoints, taken by a task of their own: every connection is opened with
/// `wal_autocheckpoint = 0`, so no commit pays for copying the log into the database (by
/// default the commit that passes 1,000 pages of log does, and a 500-row batch chunk's
/// commit took 3 to 44 ms, growing with the log). Every `every`, a passive checkpoint copies
/// what the log holds without waiting for or blocking anyone; the next write then starts the
/// log over, so it stays about as long as `every`'s writes. Ends once the pool is closed (the
/// last connection to close checkpoints too).
async fn checkpoint_while_open(pool: AnyPool, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::debug!(error = %e, "checkpoint not taken; the next one will be");
        }
    }
}

#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: the writers of [`Db::begin_write`] take turns here before `BEGIN IMMEDIATE`,
    /// in the order they came. Without it a writer that finds the write lock held sleeps in
    /// SQLite's busy handler (1, 2, 5, 10, 15, 20, 25 ms ...) and wakes after the lock has long
    /// been free. The value is since when the turns have followed one another without a break.
    write_turn: std::sync::Arc<tokio::sync::Mutex<Option<std::time::Instant>>>,
}

/// A write transaction ([`Db::begin_write`]): the connection, as a `Transaction` gives it,
/// until [`WriteTx::commit`]; dropped without a commit, it rolls back. On SQLite it holds
/// this instance's write turn until then.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<Option<std::time::Instant>>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

/// How long a writer waits for its turn before it goes to SQLite's lock as before (the busy
/// timeout's length): a turn held that long is stuck (or its holder is waiting for a second
/// write of its own, which then fails with "database is locked", as it did before the turns).
const WRITE_TURN_WAIT: Duration = Duration::from_secs(5);

/// Writes that do not queue (single statements on the pool, the relay's records, sessions)
/// still wait for SQLite's lock in its busy handler, which tries again every 100 ms at the
/// slowest. Turns that have followed one another for this long (a long list being stored)
/// leave the lock free for [`WRITE_TURN_BREAK`], so that each such write gets in within
/// about this long instead of hoping to land between two turns.
const WRITE_TURN_RUN: Duration = Duration::from_secs(1);

/// Longer than the busy handler's longest sleep, so that every write waiting in it tries once.
const WRITE_TURN_BREAK: Duration = Duration::from_millis(110);

impl Db {
    /// Connects, creating an SQLite file (and its folder) if needed, and applies migrations.
    /// Several instances may start at once on one PostgreSQL database: the migrator holds
    /// PostgreSQL's advisory lock while it migrates, so one instance migrates and the others
    /// wait for it, then find nothing left to do. A database that a newer release migrated is
    /// refused ([`DbError::NewerThanBinary`]) before anything is applied.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = Self::prepare_url(url)?;
        let options: AnyConnectOptions = url.parse().map_err(DbError::Connect)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // cache_size (32 MiB a connection, the default is 2) and mmap_size
                        // (256 MiB, shared): a batch chunk reads the pages of a dozen
                        // indexes, which a 2 MiB cache read again and again, each copied
                        // by a read call.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                             PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -32768; \
                             PRAGMA mmap_size = 268435456;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoint_while_open(pool.clone(), CHECKPOINT_EVERY));
        }
        MIGRATOR.run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(database) => DbError::NewerThanBinary {
                database,
                binary: Schema::binary_version(),
            },
            sqlx::migrate::MigrateError::VersionMismatch(v) => DbError::ChangedMigration(v),
            other => DbError::Migrate(other),
        })?;
        Ok(Db {
            pool,
            backend,
            write_turn: std::sync::Arc::default(),
        })
    }

    fn prepare_url(url: &str) -> Result<(Backend, String), DbError> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if !path.is_empty() && path != ":memory:" {
                if let Some(parent) = std::path::Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
                            path: parent.display().to_string(),
                            source,
                        })?;
                    }
                }
            }
            let url = if url.contains("mode=") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            Ok((Backend::Sqlite, url))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok((Backend::Postgres, url.to_string()))
        } else {
            Err(DbError::UnsupportedUrl(url.to_string()))
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether PostgreSQL gave up `e`'s transaction to break a deadlock (40P01) or a
    /// serialization conflict (40001): nothing it wrote clashed, and run again it waits for
    /// the other transaction and sees what that stored.
    pub fn is_lock_conflict(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d)
            if matches!(d.code().as_deref(), Some("40P01") | Some("40001")))
    }

    /// Whether write transactions run one at a time whatever they touch (SQLite: one
    /// write lock for the database), so that what one reads after its first write holds
    /// until its commit.
    pub fn writes_one_at_a_time(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), waiting for its turn and then up to the busy timeout for a writer of
    /// another process or outside the turns to finish: a
    /// plain `BEGIN` reads first and then fails with "database is locked" when another
    /// connection wrote in between, which two officers inviting at the same moment would hit.
    ///
    /// On SQLite this instance's writers first queue for their turn (`write_turn`), so
    /// that the lock passes from one to the next as it is released; after a second of turns
    /// without a break, the next one first leaves the lock free for a moment
    /// ([`WRITE_TURN_RUN`]).
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let turn = match self.write_turn.clone().try_lock_owned() {
                    // Nobody had it: a new run of turns starts.
                    Ok(mut turn) => {
                        *turn = Some(std::time::Instant::now());
                        Some(turn)
                    }
                    Err(_) => {
                        let waited = tokio::time::timeout(
                            WRITE_TURN_WAIT,
                            self.write_turn.clone().lock_owned(),
                        )
                        .await
                        .ok();
                        if let Some(mut turn) = waited {
                            let run = turn.get_or_insert_with(std::time::Instant::now).elapsed();
                            if run >= WRITE_TURN_RUN {
                                tokio::time::sleep(WRITE_TURN_BREAK).await;
                                *turn = Some(std::time::Instant::now());
                            }
                            Some(turn)
                        } else {
                            None
                        }
                    }
                };
                Ok(WriteTx {
                    tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: turn,
                })
            }
            Backend::Postgres => Ok(WriteTx {
                tx: self.pool.begin().await?,
                _turn: None,
            }),
        }
    }

    /// Holds, until the transaction on `conn` ends, a lock named `key`: write transactions
    /// that take the same key run one after another, so a limit counted inside them ("at most
    /// N an hour") holds under concurrency. SQLite's write transactions are one at a time
    /// already (`BEGIN IMMEDIATE`); PostgreSQL takes a transaction-level advisory lock.
    pub async fn lock_key(
        &self,
        conn: &mut sqlx::AnyConnection,
        key: &str,
    ) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query(
                "SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS held",
            )
            .bind(key)
            .execute(conn)
            .await?;
        }
        Ok(())
    }

    /// Whether the database answers a query now (the health check's question).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// How the applied migrations stand against this binary's: one query, which also tells
    /// whether the database answers.
    pub async fn schema(&self) -> Result<Schema, sqlx::Error> {
        let (newest, count): (Option<i64>, i64) = sqlx::query_as(
            "SELECT MAX(version), COUNT(*) FROM _sqlx_migrations WHERE success = TRUE",
        )
        .fetch_one(&self.pool)
        .await?;
        let database = newest.unwrap_or(0);
        let binary = Schema::binary_version();
        let known = MIGRATOR.iter().filter(|m| m.version <= database).count() as i64;
        Ok(if database > binary {
            Schema::Newer { database, binary }
        } else if database < binary || count < known {
            Schema::Behind { database, binary }
        } else {
            Schema::Current
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded migrations are the ones sqlx reads from the folder, as `migrate!` embedded
    /// them: a difference in a checksum would make every existing database refuse to start.
    #[tokio::test]
    async fn the_embedded_migrations_are_the_ones_sqlx_reads_from_the_folder() {
        let folder = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"));
        let read = Migrator::new(folder).await.expect("sqlx reads migrations/");
        let ours: Vec<_> = MIGRATOR.iter().collect();
        let theirs: Vec<_> = read.iter().collect();
        assert!(
            theirs.len() >= 16,
            "migrations/ has {} migrations",
            theirs.len()
        );
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(
                (
                    a.version,
                    &a.description,
                    a.migration_type,
                    &a.checksum,
                    a.no_tx,
                    &a.sql
                ),
                (
                    b.version,
                    &b.description,
                    b.migration_type,
                    &b.checksum,
                    b.no_tx,
                    &b.sql
                )
            );
        }
    }

    #[test]
    fn sqlite_urls_get_create_mode_and_others_are_refused() {
        let (b, u) = Db::prepare_url("sqlite::memory:").expect("memory");
        assert_eq!(b, Backend::Sqlite);
        assert_eq!(u, "sqlite::memory:?mode=rwc");
        let (b, u) = Db::prepare_url("postgres://u@127.0.0.1/db").expect("pg");
        assert_eq!(b, Backend::Postgres);
        assert_eq!(u, "postgres://u@127.0.0.1/db");
        assert!(matches!(
            Db::prepare_url("mysql://x"),
            Err(DbError::UnsupportedUrl(_))
        ));
    }
}
