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

/// Every SQLite connection keeps 32 MiB of pages (the default is 2 MiB) and reads the
/// database through a memory map (`mmap_size`, 256 MiB): a batch chunk reads the pages of a
/// dozen indexes, which a 2 MiB cache read again and again through read calls. And none
/// checkpoints on commit (`wal_autocheckpoint = 0`; see the next test).
#[tokio::test]
async fn sqlite_connections_cache_32_mib_and_read_through_a_memory_map() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::connect(&format!(
        "sqlite://{}",
        dir.path().join("cache.db").display()
    ))
    .await
    .expect("connect");
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

/// An instance's SQLite writers take the write lock in the order they asked for it, each as
/// the one before commits: they queue in the instance (`Db::begin_write`) instead of each
/// sleeping in SQLite's busy handler, whose growing sleeps (1, 2, 5 … 100 ms) let a later
/// writer in first and leave the lock idle after a commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_take_the_write_lock_in_the_order_they_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::connect(&format!(
        "sqlite://{}",
        dir.path().join("turn.db").display()
    ))
    .await
    .expect("connect");
    sqlx::query("CREATE TABLE turn_order (n INTEGER NOT NULL)")
        .execute(db.pool())
        .await
        .expect("a table");
    let holder = db.begin_write().await.expect("the first writer");
    let mut waiting = Vec::new();
    for n in 1..=5_i64 {
        let db = db.clone();
        waiting.push(tokio::spawn(async move {
            let mut tx = db.begin_write().await?;
            sqlx::query("INSERT INTO turn_order (n) VALUES ($1)")
                .bind(n)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }));
        // (Each has asked before the next does.)
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    holder.commit().await.expect("the first writer commits");
    for w in waiting {
        w.await.expect("a writer's task").expect("its write");
    }
    let order: Vec<(i64,)> = sqlx::query_as("SELECT n FROM turn_order ORDER BY rowid")
        .fetch_all(db.pool())
        .await
        .expect("the order");
    let order: Vec<i64> = order.into_iter().map(|(n,)| n).collect();
    assert_eq!(order, [1, 2, 3, 4, 5], "in the order they asked");
}
