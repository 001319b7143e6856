//! The database layer's own promises, where they are SQLite's alone.

use app::server::db::{Db, CHECKPOINT_EVERY};

/// `PRAGMA name` on `conn`.
async fn pragma(conn: &mut sqlx::AnyConnection, name: &str) -> i64 {
    let (value,): (i64,) = sqlx::query_as(&format!("PRAGMA {name}"))
        .fetch_one(conn)
        .await
        .expect("pragma");
    value
}

/// A fresh SQLite database named `name` in `dir`, migrated.
async fn sqlite(dir: &tempfile::TempDir, name: &str) -> Db {
    Db::connect(&format!("sqlite://{}", dir.path().join(name).display()))
        .await
        .expect("connect")
}

/// Every SQLite connection keeps 32 MiB of pages (the default is 2 MiB) and reads the
/// database through a memory map (`mmap_size`, 256 MiB): a batch chunk reads the pages of a
/// dozen indexes, which a 2 MiB cache read again and again through read calls. And none
/// checkpoints on commit (`wal_autocheckpoint = 0`; see the next test).
#[tokio::test]
async fn sqlite_connections_cache_32_mib_and_read_through_a_memory_map() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite(&dir, "cache.db").await;
    // Hold several of the pool's connections at once, so that more than one is asked.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = db.pool().acquire().await.expect("a connection");
        assert_eq!(
            pragma(&mut conn, "mmap_size").await,
            256 << 20,
            "pages would be copied by read calls"
        );
        assert_eq!(
            pragma(&mut conn, "cache_size").await,
            -32768,
            "the cache would be SQLite's default 2 MiB"
        );
        assert_eq!(
            pragma(&mut conn, "wal_autocheckpoint").await,
            0,
            "a commit would checkpoint"
        );
        held.push(conn);
    }
}

/// SQLite's write-ahead log is copied into the database by a task of its own, never by a
/// commit (`wal_autocheckpoint = 0` on every connection, checked above), and it stays
/// short: 8 MB written in 8 commits, with pauses, never leave more than a few MB of log.
#[tokio::test]
async fn sqlites_log_is_checkpointed_off_the_commits_and_stays_short() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("log.db");
    let db = Db::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    sqlx::query("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(db.pool())
        .await
        .expect("create");
    let wal = dir.path().join("log.db-wal");
    let body = "x".repeat(4_000);
    let mut longest = 0;
    for round in 0..8 {
        let mut tx = db.begin_write().await.expect("begin");
        for i in 0..250 {
            sqlx::query("INSERT INTO filler (id, body) VALUES ($1, $2)")
                .bind(round * 1_000 + i)
                .bind(body.as_str())
                .execute(&mut *tx)
                .await
                .expect("insert");
        }
        tx.commit().await.expect("commit");
        longest = longest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        tokio::time::sleep(CHECKPOINT_EVERY * 3).await;
    }
    assert!(
        longest < 4 * 1024 * 1024,
        "the log grew to {longest} bytes: nothing checkpointed it"
    );
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM filler")
        .fetch_one(db.pool())
        .await
        .expect("count");
    assert_eq!(rows, 2_000);
}

/// A fresh SQLite database with a table `turns (n)` that the turn tests write to.
async fn sqlite_with_turns(dir: &tempfile::TempDir) -> Db {
    let db = sqlite(dir, "turns.db").await;
    sqlx::query("CREATE TABLE turns (n INTEGER NOT NULL)")
        .execute(db.pool())
        .await
        .expect("a table");
    db
}

/// Writes `n` into `turns` in a write transaction of its own, holding it `hold` first.
async fn write_turn(db: Db, n: i64, hold: std::time::Duration) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    tokio::time::sleep(hold).await;
    sqlx::query("INSERT INTO turns (n) VALUES ($1)")
        .bind(n)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// What `turns` holds, in the order written.
async fn turns(db: &Db) -> Vec<i64> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT n FROM turns ORDER BY rowid")
        .fetch_all(db.pool())
        .await
        .expect("the order");
    rows.into_iter().map(|(n,)| n).collect()
}

/// An instance's SQLite writers take the write lock in the order they asked for it, each as
/// the one before commits: they queue in the instance (`Db::begin_write`) instead of each
/// sleeping in SQLite's busy handler, whose growing sleeps (1, 2, 5 … 100 ms) let a later
/// writer in first and leave the lock idle after a commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_take_the_write_lock_in_the_order_they_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite_with_turns(&dir).await;
    let holder = db.begin_write().await.expect("the first writer");
    // join_all polls the writers in order, so each asks for its turn before the next does.
    let writers = futures::future::join_all(
        (1..=5_i64).map(|n| write_turn(db.clone(), n, std::time::Duration::ZERO)),
    );
    let (written, ()) = tokio::join!(writers, async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        holder.commit().await.expect("the first writer commits");
    });
    for w in written {
        w.expect("a writer's write");
    }
    assert_eq!(turns(&db).await, [1, 2, 3, 4, 5], "in the order they asked");
}

/// A write outside the turns (one statement on the pool, as the relay, the sessions and the
/// provisioning worker write) gets in while a long run of turns holds the lock: after a
/// second of turns without a break, the next turn leaves the lock free for longer than
/// SQLite's busy handler sleeps, instead of the write hoping to land between two turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_outside_the_turns_gets_in_during_a_long_run_of_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite_with_turns(&dir).await;
    // Sixteen writers that each hold the lock 150 ms: 2.4 s of turns without a break. (Long
    // turns, so that few hand-overs happen before the break for the write to slip into.)
    let queued: Vec<_> = (1..=16_i64)
        .map(|n| {
            tokio::spawn(write_turn(
                db.clone(),
                n,
                std::time::Duration::from_millis(150),
            ))
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    sqlx::query("INSERT INTO turns (n) VALUES (-1)")
        .execute(db.pool())
        .await
        .expect("the write outside the turns");
    for w in queued {
        w.await.expect("a writer's task").expect("its write");
    }
    let at = turns(&db)
        .await
        .iter()
        .position(|n| *n == -1)
        .expect("the outside write");
    // The break comes after a second, as the eighth turn begins (0-based 7).
    assert!(
        at <= 9,
        "the write outside the turns waited past the break (it came after {at} of 16 turns)"
    );
}
