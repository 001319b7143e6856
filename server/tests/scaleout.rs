//! What several instances on one database need of each one: a shutdown that finishes what
//! it started and says it is draining (`/readyz`), a SIGTERM that ends in exit code 0,
//! migrations that instances started at once apply once, a database migrated by a newer
//! release refused, and operators' metrics. The whole of it under kills is the chaos test
//! (`scripts/chaos.sh`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;

use app::server::db::{Db, DbError, Schema, MIGRATOR};
use reqwest::StatusCode;
use support::scim::ScimServer;
use support::{build_with, fresh_database, Backend};

both_databases!(
    an_instance_told_to_stop_drains_and_finishes_the_requests_in_flight,
    |b| async move {
        // Each directory call takes 1.5 s: a Create account request is in flight that long.
        let scim = ScimServer::start_with(&[("SCIM_DELAY_MS", "1500")]).await;
        let mut vars = scim.vars();
        vars.extend([
            ("SHUTDOWN_DELAY_MS", "700".to_string()),
            ("SHUTDOWN_GRACE_SECS", "15".to_string()),
            ("RELAY_ENABLED", "false".to_string()),
        ]);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (app, officer) = build_with(b, &vars).await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        officer.assert_signs_in("boss@agency.gov.sg").await;
        assert_eq!(
            officer.get("/readyz").await.status(),
            StatusCode::OK,
            "ready before the stop"
        );

        let browser = officer.same_browser();
        let in_flight = tokio::spawn(async move {
            browser
                .create_account("vendor@acme.com", "acme-vendor", "Tan")
                .await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let signalled = Instant::now();
        stop.send(()).expect("the app is running");
        tokio::time::sleep(Duration::from_millis(150)).await;

        // Within the delay: still accepting, but not ready.
        let readyz = officer.get("/readyz").await;
        assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(readyz.text().await.unwrap_or_default().contains("draining"));

        // The request that was in flight when the listener closed gets its whole answer.
        let id = in_flight.await.expect("the request's task");
        assert!(
            signalled.elapsed() > Duration::from_millis(700),
            "the request outlived the listener ({:?} after the signal)",
            signalled.elapsed()
        );
        assert!(!id.is_empty());
        // (The app's own pool may be closed by now: the directory is asked instead.)
        assert_eq!(scim.users().await.len(), 1, "the account was made");

        let ended = tokio::time::timeout(Duration::from_secs(15), running)
            .await
            .expect("the app stops within its grace")
            .expect("the app's task");
        ended.expect("the app stops without an error");
        assert!(
            reqwest::get(officer.url("/healthz")).await.is_err(),
            "nothing is served after the stop"
        );
    }
);

/// The binary, told to stop by SIGTERM, exits 0 once it has drained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_process_with_exit_code_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = support::free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_techbiz-invite"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/t.db", dir.path().display()),
        )
        .env("SIGN_IN_MODE", "dev")
        .env("SHUTDOWN_DELAY_MS", "300")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary");
    support::wait_ready(port).await;
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the server did not exit within 15 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}

/// A migration that this binary does not have, as a newer release would have left it.
async fn migrate_as_a_newer_release(db: &Db) -> i64 {
    let version = Schema::binary_version() + 1;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'from a newer release', TRUE, $2, 0)",
    )
    .bind(version)
    .bind(vec![0u8; 48])
    .execute(db.pool())
    .await
    .expect("record a newer migration");
    version
}

both_databases!(
    a_database_migrated_by_a_newer_release_is_refused,
    |b| async move {
        let (url, _dir) = fresh_database(b).await;
        let db = Db::connect(&url).await.expect("first start migrates");
        assert_eq!(db.schema().await.expect("schema"), Schema::Current);
        let newer = migrate_as_a_newer_release(&db).await;
        assert_eq!(
            db.schema().await.expect("schema"),
            Schema::Newer {
                database: newer,
                binary: Schema::binary_version()
            }
        );
        let refused = Db::connect(&url).await.expect_err("an older binary starts");
        assert!(
            matches!(refused, DbError::NewerThanBinary { database, .. } if database == newer),
            "{refused:?}"
        );
        let said = refused.to_string();
        support::assert_mentions(
            &said,
            &[&newer.to_string(), "newer release", "refuses to serve"],
            "the refusal",
        );

        // An instance already running when a newer release migrated stops being ready.
        let officer = support::spawn(b).await;
        assert_eq!(officer.get("/readyz").await.status(), StatusCode::OK);
        migrate_as_a_newer_release(&officer.app_state.db).await;
        let readyz = officer.get("/readyz").await;
        assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(readyz
            .text()
            .await
            .unwrap_or_default()
            .contains("newer than this binary"));
        // Alive all the same: a liveness probe must not restart it for this.
        assert_eq!(officer.get("/healthz").await.status(), StatusCode::OK);
    }
);

/// Three instances starting at once on a new PostgreSQL database: one migrates (the others
/// wait on the migration lock), and every migration is applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_started_at_once_migrate_once() {
    let (url, _dir) = fresh_database(Backend::Postgres).await;
    let starts = (0..3).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { Db::connect(&url).await })
    });
    let mut dbs = Vec::new();
    for start in starts {
        dbs.push(
            start
                .await
                .expect("task")
                .expect("every instance starts on the shared database"),
        );
    }
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(dbs[0].pool())
        .await
        .expect("count");
    assert_eq!(applied, MIGRATOR.iter().count() as i64);
    for db in &dbs {
        assert_eq!(db.schema().await.expect("schema"), Schema::Current);
    }
}

/// Metrics on METRICS_ADDR: requests by route and status (a route's pattern, never a
/// scanner's path), server-function errors by kind (and the status of each kind), the outbox's
/// depth read from the database. Not on the site's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_errors_and_the_queues() {
    let vars = [
        ("METRICS_ADDR", "127.0.0.1:0"),
        ("RELAY_ENABLED", "false"),
        ("PROVISIONING_ENABLED", "false"),
    ];
    let (app, officer) = build_with(Backend::Sqlite, &vars).await;
    let metrics = format!(
        "http://{}/metrics",
        app.metrics_addr().expect("metrics are served")
    );
    tokio::spawn(app.run_until_stopped());
    officer.assert_signs_in("boss@agency.gov.sg").await;
    officer
        .invite_with_seed("colleague@agency.gov.sg", "no")
        .await;
    let refused = officer
        .post(
            "send_invite",
            &[
                ("email", "not an address"),
                ("seed_required", "no"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        officer
            .post("send_invite", &[("nonsense", "1")])
            .await
            .status(),
        StatusCode::BAD_REQUEST,
        "a call the server cannot decode is the caller's error"
    );
    let _ = officer.get("/wp-admin/setup-config.php").await;

    let scraped = reqwest::get(&metrics)
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    for line in [
        r#"http_requests_total{route="/api/send_invite",method="POST",status="200"}"#,
        r#"http_requests_total{route="/api/send_invite",method="POST",status="422"}"#,
        r#"server_fn_errors_total{function="/api/send_invite",kind="Validation"}"#,
        r#"server_fn_errors_total{function="/api/send_invite",kind="Transport"}"#,
        r#"http_request_duration_seconds_bucket{route="/api/send_invite",method="POST",status="200",le="0.5"}"#,
        r#"route="unmatched""#,
    ] {
        assert!(scraped.contains(line), "no {line} in:\n{scraped}");
    }
    // The queue gauges are the database's counts at the scrape.
    let pending = officer
        .count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        .await;
    assert_eq!(pending, 1, "the invitation's email is queued");
    for line in [
        format!("outbox_pending {pending}\n"),
        format!("outbox_due {pending}\n"),
        "provisioning_pending 0\n".to_string(),
    ] {
        assert!(scraped.contains(&line), "no {line} in:\n{scraped}");
    }
    assert!(!scraped.contains("wp-admin"), "a path became a label");
    assert_ne!(
        officer.get("/metrics").await.status(),
        StatusCode::OK,
        "metrics are not on the site"
    );
}
