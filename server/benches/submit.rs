//! `cargo bench -p server --bench submit` (release profile): 10,000 generated valid rows
//! submitted to a running instance through the server function (`POST /api/submit_batch`,
//! signed in) in chunks of 500, the way the browser sends them (three at a time, their answers
//! taken in order), on a fresh SQLite file and (when `TEST_POSTGRES_URL` is set and
//! reachable) a fresh PostgreSQL database, each chunk's accounts made by the instance right
//! after its answer; then how long after the last answer every account was made; then the
//! same 10,000 rows again (the idempotent path). The instance runs on a runtime of its own
//! (two worker threads), the bench's client on another, as a browser would be.
//! It prints figures (`submit 10000 rows sqlite: 3.21 s, 3115 rows/s`) and asserts nothing
//! but that every row was invited.
//!
//! Then provisioning throughput: the same 10,000 rows stored on a fresh SQLite file with the
//! accounts left to the queue, and the queue drained by two workers (two instances), into
//! the built-in directory and, when `SCIM_BENCH_URL` and `SCIM_BENCH_TOKEN` are set (make
//! bench starts scim2-server), into that SCIM server: `provision 10000 accounts scim: ...
//! accounts/s`. It asserts that every account exists once.

use std::time::Instant;

use futures::StreamExt;

use anyhow::{bail, Context};
use app::api::{BatchRow, RowResult};
use app::domain::limits::{SUBMIT_CHUNKS_IN_FLIGHT, SUBMIT_CHUNK_ROWS};
use app::domain::{Email, Officer, RawAccount};
use app::server::batch;
use app::server::db::Db;
use std::sync::Arc;

use app::server::directory::{BuiltInDirectory, Directory};
use app::server::provisioning::{Provisioning, ProvisioningOptions};
use app::server::scim::{ScimDirectory, ScimSettings};
use app::server::settings::{Settings, SignInMode};
use sqlx::Connection;

const ROWS: usize = 10_000;

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: no tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("bench: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    // SUBMIT_BENCH_LOG=1: the instance's log on stderr (RUST_LOG filters it), to see where a
    // chunk's time goes (RUST_LOG=sqlx::query=debug times every statement).
    if std::env::var("SUBMIT_BENCH_LOG").is_ok_and(|v| v == "1") {
        server::telemetry::init_with_writer(server::config::LogFormat::Json, std::io::stderr);
    }
    // SUBMIT_BENCH_ONLY=postgres or sqlite: only that database's submit (to profile it).
    let only = std::env::var("SUBMIT_BENCH_ONLY").unwrap_or_default();
    let dir = tempfile::tempdir().context("a temporary folder for the SQLite file")?;
    if only == "sqlite" {
        return bench("sqlite", &sqlite_url(&dir, "bench.db")).await;
    }
    if only != "postgres" {
        sqlite_and_provisioning(&dir).await?;
    }
    postgres().await
}

async fn sqlite_and_provisioning(dir: &tempfile::TempDir) -> anyhow::Result<()> {
    bench("sqlite", &sqlite_url(dir, "bench.db")).await?;

    let db = Db::connect(&sqlite_url(dir, "provision-builtin.db"))
        .await
        .context("the provisioning bench's database")?;
    let builtin: Arc<dyn Directory> = Arc::new(BuiltInDirectory::new(db.clone()));
    provision_bench("built-in", db, builtin).await?;
    match (
        std::env::var("SCIM_BENCH_URL"),
        std::env::var("SCIM_BENCH_TOKEN"),
    ) {
        (Ok(base), Ok(token)) => {
            let db = Db::connect(&sqlite_url(dir, "provision-scim.db"))
                .await
                .context("the provisioning bench's database")?;
            let settings = ScimSettings::from_vars(|k| match k {
                "SCIM_BASE_URL" => Some(base.clone()),
                "SCIM_TOKEN" => Some(token.clone()),
                _ => None,
            })
            .map_err(anyhow::Error::msg)?;
            let scim: Arc<dyn Directory> =
                Arc::new(ScimDirectory::new(settings).map_err(anyhow::Error::msg)?);
            provision_bench("scim", db, scim).await?;
        }
        _ => eprintln!("bench: SCIM provisioning skipped: SCIM_BENCH_URL is not set"),
    }
    Ok(())
}

/// A new SQLite file's URL in the bench's temporary folder.
fn sqlite_url(dir: &tempfile::TempDir, file: &str) -> String {
    format!("sqlite://{}/{file}", dir.path().display())
}

async fn postgres() -> anyhow::Result<()> {
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        eprintln!("bench: PostgreSQL skipped: TEST_POSTGRES_URL is not set");
        return Ok(());
    };
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench: PostgreSQL skipped: cannot connect to TEST_POSTGRES_URL: {e}");
            return Ok(());
        }
    };
    let name = format!("techbiz_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .context("creating the benchmark database")?;
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    let result = bench("postgres", &format!("{base}/{name}")).await;
    if let Err(e) = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
    {
        eprintln!("bench: could not drop {name}: {e}");
    }
    result
}

/// 10,000 rows through the server function, as the page sends them: an instance on `url`
/// (development sign-in, its own provisioning worker and built-in directory), an officer's
/// session, and twenty `POST /api/submit_batch` calls of 500 rows, [`SUBMIT_CHUNKS_IN_FLIGHT`]
/// at a time as the page sends them. Then
/// the same rows again (the idempotent path), and how long after the last answer every
/// account had been made (the instance's maker makes them once the chunks pause; the worker
/// what it leaves).
async fn bench(backend: &str, url: &str) -> anyhow::Result<()> {
    // SUBMIT_BENCH_INLINE_MS: the deadline of the instance's maker of batch accounts (its
    // PROVISIONING_INLINE_MS; 0 leaves them all to the worker).
    let inline_ms = std::env::var("SUBMIT_BENCH_INLINE_MS").unwrap_or_else(|_| "5000".into());
    let vars = [
        ("PROVISIONING_INLINE_MS", inline_ms.as_str()),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
        ("DATABASE_URL", url),
        ("SIGN_IN_MODE", "dev"),
        ("SUPPORT_EMAIL", "help@tech.gov.sg"),
        ("INVITE_QUOTA_PER_HOUR", "1000000"),
    ];
    let config = server::config::Config::from_lookup(|k| {
        vars.iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.to_string())
    })
    .map_err(|e| anyhow::anyhow!("the bench's configuration: {e}"))?;
    // The instance runs on a runtime of its own (two worker threads, as on a 2-CPU host),
    // as it does beside a browser: the bench's client, on the runtime `main` made, does not
    // take the instance's worker threads while a chunk holds the write lock.
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let stop = tokio_util::sync::CancellationToken::new();
    let instance_stop = stop.clone();
    let label = backend.to_string();
    let serving = std::thread::spawn(move || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("the instance's runtime")?;
        runtime.block_on(async move {
            let app = match server::startup::Application::build(config).await {
                Ok(app) => app,
                Err(e) => {
                    let _ = started_tx.send(Err(anyhow::anyhow!(
                        "starting an instance on {label}: {e:#}"
                    )));
                    return Ok(());
                }
            };
            let address = app.local_addr().context("its address");
            let _ = started_tx.send(address.map(|a| (a, app.state().db.clone())));
            app.run_until(instance_stop.cancelled_owned())
                .await
                .context("the instance's shutdown")
        })
    });
    let (address, db) = started_rx.await.context("the instance's thread")??;
    let base = format!("http://{address}");

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .context("an HTTP client")?;
    let signed_in = browser
        .post(format!("{base}/api/sign_in"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", "bench.officer@tech.gov.sg")])
        .send()
        .await
        .context("signing in")?;
    if !(signed_in.status().is_success() || signed_in.status().is_redirection()) {
        bail!("{backend}: sign-in answered {}", signed_in.status());
    }
    let key = uuid::Uuid::new_v4().to_string();
    let rows = generate(ROWS);
    for pass in ["", " again (idempotent)"] {
        let started = Instant::now();
        let answers: Vec<anyhow::Result<usize>> =
            futures::stream::iter(rows.chunks(SUBMIT_CHUNK_ROWS))
                .map(|chunk| {
                    let browser = browser.clone();
                    let base = base.clone();
                    let key = key.clone();
                    async move {
                        let res = browser
                            .post(format!("{base}/api/submit_batch"))
                            .header("sec-fetch-site", "same-origin")
                            .json(&serde_json::json!({
                                "batch_key": key, "file_name": "bench.xlsx", "rows": chunk
                            }))
                            .send()
                            .await
                            .context("POST /api/submit_batch")?;
                        let status = res.status();
                        let body = res.text().await.context("the answer's body")?;
                        if !status.is_success() {
                            bail!("{backend}: submit_batch answered {status}: {body}");
                        }
                        let outcome: app::api::BatchOutcome =
                            serde_json::from_str(&body).context("a BatchOutcome")?;
                        Ok(outcome
                            .rows
                            .iter()
                            .filter(|o| matches!(o.result, RowResult::Invited { .. }))
                            .count())
                    }
                })
                .buffered(in_flight())
                .collect()
                .await;
        let mut invited = 0;
        for a in answers {
            invited += a?;
        }
        let secs = started.elapsed().as_secs_f64();
        if invited != ROWS {
            bail!("{backend}: {invited} of {ROWS} rows invited");
        }
        println!(
            "submit {ROWS} rows {backend}{pass}: {secs:.2} s, {:.0} rows/s \
             (20 calls to /api/submit_batch, {} at a time)",
            ROWS as f64 / secs,
            in_flight()
        );
        if pass.is_empty() {
            let made = Instant::now();
            loop {
                let (left,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM invitations WHERE status = 'provisioning'",
                )
                .fetch_one(db.pool())
                .await?;
                if left == 0 {
                    break;
                }
                if made.elapsed().as_secs() > 300 {
                    bail!("{backend}: {left} accounts still not made after 300 s");
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            println!(
                "submit {ROWS} rows {backend}: every account made {:.2} s after the last answer",
                made.elapsed().as_secs_f64()
            );
        }
    }
    // (`run_until` closes the instance's connections before its thread ends, so that the
    // PostgreSQL database can then be dropped.)
    stop.cancel();
    tokio::task::spawn_blocking(move || serving.join())
        .await
        .context("the instance's thread")?
        .map_err(|_| anyhow::anyhow!("the instance's thread panicked"))??;
    Ok(())
}

fn bench_settings() -> Settings {
    Settings {
        support_email: "help@tech.gov.sg".into(),
        sign_in_mode: SignInMode::Disabled,
        public_url: "http://127.0.0.1:3000".into(),
        smtp_url: None,
        invite_expiry_days: 14,
        reminder_days: vec![3, 7],
        seed_webhook_secret: None,
        link_secret: app::server::links::LinkSecret::new(*b"bench-link-secret-bench-link-secret"),
        invite_quota_per_hour: u32::MAX,
    }
}

/// Stores ROWS rows with their accounts left to the queue, then drains it with two workers
/// (as two instances would) and prints accounts per second.
async fn provision_bench(name: &str, db: Db, directory: Arc<dyn Directory>) -> anyhow::Result<()> {
    let settings = bench_settings();
    let inviter = Email::parse("bench.officer@tech.gov.sg").map_err(anyhow::Error::msg)?;
    let inviter = Officer::public_officer(inviter).context("a public officer")?;
    let queue_only = ProvisioningOptions {
        inline_deadline: std::time::Duration::ZERO,
        ..ProvisioningOptions::default()
    };
    let link = app::server::invites::accept_link(&settings);
    let store = Provisioning::new(
        db.clone(),
        directory.clone(),
        queue_only.clone(),
        link.clone(),
    );
    let key = uuid::Uuid::new_v4().to_string();
    // Its own addresses, so a SCIM server that served an earlier run does not refuse them.
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let rows: Vec<BatchRow> = generate(ROWS)
        .into_iter()
        .map(|mut r| {
            r.raw.email = r.raw.email.replacen('@', &format!(".{}@", &tag[..8]), 1);
            if !r.raw.username.is_empty() {
                r.raw.username = format!("{}.{}", r.raw.username, &tag[..8]);
            }
            r
        })
        .collect();
    for chunk in rows.chunks(SUBMIT_CHUNK_ROWS) {
        batch::submit(&db, &store, &settings, &inviter, &key, "bench.xlsx", chunk)
            .await
            .map_err(|e| anyhow::anyhow!("submit for the provisioning bench: {e}"))?;
    }
    let workers = [
        Provisioning::new(
            db.clone(),
            directory.clone(),
            queue_only.clone(),
            link.clone(),
        ),
        Provisioning::new(db.clone(), directory.clone(), queue_only, link),
    ];
    let started = Instant::now();
    let mut created = 0;
    loop {
        let (a, b) = tokio::join!(workers[0].run_once(200), workers[1].run_once(200));
        let (a, b) = (a?, b?);
        created += a.created + b.created;
        if a.failed + b.failed > 0 {
            bail!("{name}: the directory refused accounts");
        }
        if a.created + a.retrying + b.created + b.retrying == 0 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let (made,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM invitations WHERE status = 'created'")
            .fetch_one(db.pool())
            .await?;
    if created != ROWS || made != ROWS as i64 {
        bail!("{name}: {created} accounts made, {made} invitations Created, of {ROWS}");
    }
    println!(
        "provision {ROWS} accounts {name} (2 workers, 8 calls each at a time): {secs:.2} s, {:.0} accounts/s",
        ROWS as f64 / secs
    );
    db.close().await;
    Ok(())
}

/// Valid rows: four vendors (with a username) to every public officer.
fn generate(n: usize) -> Vec<BatchRow> {
    (0..n)
        .map(|i| {
            let vendor = i % 5 != 0;
            let raw = RawAccount {
                email: if vendor {
                    format!("dev.{i:06}@vendor{}.com.sg", i % 97)
                } else {
                    format!("officer.{i:06}@agency{}.gov.sg", i % 13)
                },
                username: if vendor {
                    format!("dev.{i:06}")
                } else {
                    String::new()
                },
                // Names of one to three words: a chunk's search terms vary in number, as a
                // real list's do.
                first_name: ["Mei Ling", "Wei", "Siti Nur Aisyah"][i % 3].into(),
                last_name: format!("Tan {}", (b'A' + (i % 26) as u8) as char),
                contact_number: format!("+65 9{:03} {:04}", i % 1000, i % 10_000),
                organisation: "Acme Pte Ltd".into(),
                department: if i % 2 == 0 {
                    "Digital Services".into()
                } else {
                    String::new()
                },
                seed_required: if i % 3 == 0 { "Yes" } else { "No" }.into(),
                reason: "Developer on the agency's new booking system".into(),
            };
            BatchRow {
                row_id: format!("row-{i}"),
                raw,
            }
        })
        .collect()
}

/// Calls in flight at once: the page's [`SUBMIT_CHUNKS_IN_FLIGHT`], or `SUBMIT_IN_FLIGHT` to
/// try another number.
fn in_flight() -> usize {
    std::env::var("SUBMIT_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(SUBMIT_CHUNKS_IN_FLIGHT)
}
