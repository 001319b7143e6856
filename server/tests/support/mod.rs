//! Spawns the real application on port 0 against a fresh database: a new SQLite file, or a
//! new database on the test PostgreSQL server (`TEST_POSTGRES_URL`, started by `make test`).

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use server::config::{Config, LogFormat};
use server::startup::Application;
use sqlx::Connection;

pub mod oidc;
pub mod scim;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Everything the app logged during this test binary's run (JSON lines).
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = LogBuffer::default();
        let writer = buf.clone();
        server::telemetry::init_with_writer(LogFormat::Json, move || writer.clone());
        buf
    })
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app_state: app::server::state::AppState,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh database URL for `backend`. PostgreSQL is never skipped silently: without
/// `TEST_POSTGRES_URL` the test fails and says how to get one.
pub async fn fresh_database(backend: Backend) -> (String, Option<tempfile::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db", dir.path().display());
            (url, Some(dir))
        }
        Backend::Postgres => {
            let admin = std::env::var("TEST_POSTGRES_URL").expect(
                "TEST_POSTGRES_URL is not set: run `make test` (it starts PostgreSQL), \
                 or point it at a server where databases may be created",
            );
            let name = format!("techbiz_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to TEST_POSTGRES_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            (format!("{base}/{name}"), None)
        }
    }
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, &[]).await
}

/// A fresh app, and a browser on it signed in as `email` (through the development sign-in).
pub async fn signed_in(backend: Backend, email: &str) -> TestApp {
    signed_in_with(backend, &[], email).await
}

/// [`signed_in`] on an app configured with `vars`.
pub async fn signed_in_with(backend: Backend, vars: &[(&str, &str)], email: &str) -> TestApp {
    let app = spawn_with(backend, vars).await;
    app.assert_signs_in(email).await;
    app
}

/// An officer of one agency (boss@agency.gov.sg) and an officer of another
/// (chief@other.gov.sg), each signed in on a browser of their own, on one fresh app.
pub async fn two_agencies(backend: Backend) -> (TestApp, TestApp) {
    two_agencies_with(backend, &[]).await
}

/// [`two_agencies`] on an app configured with `vars`.
pub async fn two_agencies_with(backend: Backend, vars: &[(&str, &str)]) -> (TestApp, TestApp) {
    let ours = signed_in_with(backend, vars, "boss@agency.gov.sg").await;
    let theirs = ours.another_user("chief@other.gov.sg").await;
    (ours, theirs)
}

/// A browser: a cookie jar of its own, and redirects answered to the test rather than followed.
/// An answer that never comes fails the test after a minute, naming the request, rather than
/// holding up the run.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn spawn_with(backend: Backend, vars: &[(&str, &str)]) -> TestApp {
    let (app, test_app) = build_with(backend, vars).await;
    tokio::spawn(app.run_until_stopped());
    test_app
}

/// A fresh app configured with `vars`, built but not yet serving (the test runs it, e.g.
/// with `Application::run_until`), and a browser on it.
pub async fn build_with(backend: Backend, vars: &[(&str, &str)]) -> (Application, TestApp) {
    logs();
    println!("database tests ran on: {}", backend.name());
    let (url, dir) = fresh_database(backend).await;
    let mut all: Vec<(String, String)> = vec![
        ("LEPTOS_SITE_ADDR".into(), "127.0.0.1:0".into()),
        ("DATABASE_URL".into(), url),
        ("SIGN_IN_MODE".into(), "dev".into()),
        ("SUPPORT_EMAIL".into(), "help@tech.gov.sg".into()),
    ];
    for (k, v) in vars {
        all.retain(|(key, _)| key != k);
        all.push((k.to_string(), v.to_string()));
    }
    let config =
        Config::from_lookup(|k| all.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()))
            .expect("test config");
    let app = Application::build(config).await.expect("build app");
    let addr = app.local_addr().expect("addr");
    let app_state = app.state().clone();
    let test_app = TestApp {
        base: format!("http://{addr}"),
        client: browser(),
        app_state,
        _dir: dir,
    };
    (app, test_app)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GETs `path`, which must answer `status`.
    pub async fn get_expecting(
        &self,
        path: &str,
        status: reqwest::StatusCode,
    ) -> reqwest::Response {
        let res = self.get(path).await;
        if res.status() != status {
            // What the server logged for this request (its Trace ID), to tell a failure apart.
            let trace = header(&res, "x-trace-id").unwrap_or_default();
            let said: Vec<String> = logs()
                .contents()
                .lines()
                .filter(|l| !trace.is_empty() && l.contains(&trace))
                .map(str::to_string)
                .collect();
            panic!(
                "GET {path}: {} instead of {status}; the server logged:\n{}",
                res.status(),
                said.join("\n")
            );
        }
        res
    }

    /// A POST to `path` as the app's own pages send it (`Sec-Fetch-Site: same-origin`).
    pub fn same_origin_post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .header("sec-fetch-site", "same-origin")
    }

    /// Calls a server function with form fields, as the page's forms do.
    pub async fn post(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let call = self.same_origin_post(&format!("/api/{endpoint}"));
        call.form(form).send().await.expect("POST")
    }

    /// A second browser on the same server (a cookie jar of its own), for another user.
    pub fn another_browser(&self) -> TestApp {
        TestApp {
            base: self.base.clone(),
            client: browser(),
            app_state: self.app_state.clone(),
            _dir: None,
        }
    }

    /// The same browser (its cookies, so its session), for a request on another task.
    pub fn same_browser(&self) -> TestApp {
        TestApp {
            base: self.base.clone(),
            client: self.client.clone(),
            app_state: self.app_state.clone(),
            _dir: None,
        }
    }

    /// A second browser on the same server, signed in as `email`.
    pub async fn another_user(&self, email: &str) -> TestApp {
        let other = self.another_browser();
        other.assert_signs_in(email).await;
        other
    }

    /// Calls a server function that takes JSON (`input = Json`), as the batch upload page does.
    pub async fn post_json<T: serde::Serialize + ?Sized>(
        &self,
        endpoint: &str,
        body: &T,
    ) -> reqwest::Response {
        let call = self.same_origin_post(&format!("/api/{endpoint}"));
        call.json(body).send().await.expect("POST")
    }

    /// The status of a server function call that declares a JSON body of `len` bytes and
    /// sends none of it: an answer from the headers alone, as a limit on the declared length
    /// gives. (Sending the body as well races the server's refusal, which closes the
    /// connection, against the client still writing: reqwest then fails with a reset instead
    /// of reading the 413; a CI run did.)
    pub async fn status_of_call_declaring(&self, endpoint: &str, len: usize) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
        let head = format!(
            "POST /api/{endpoint} HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\n\
             Content-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(head.as_bytes())
            .await
            .expect("send the head");
        let mut answer = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut answer),
        )
        .await
        .expect("an answer to the head alone within 10 s")
        .expect("read the answer");
        let answer = String::from_utf8_lossy(&answer);
        answer
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
    }

    /// A transaction of the test's own on the app's database (to hold rows or locks while
    /// the app works).
    pub async fn transaction(&self) -> sqlx::Transaction<'static, sqlx::Any> {
        self.app_state
            .db
            .pool()
            .begin()
            .await
            .expect("a transaction")
    }

    /// The single number a `SELECT COUNT(*) ...` returns, on the app's own database.
    pub async fn count(&self, sql: &str) -> i64 {
        let row: (i64,) = sqlx::query_as(sql)
            .fetch_one(self.app_state.db.pool())
            .await
            .expect(sql);
        row.0
    }

    /// Calls a server function that must refuse the call; returns the error it gave.
    pub async fn post_refused(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> app::error::AppError {
        let res = self.post(endpoint, form).await;
        assert_ne!(
            res.status(),
            reqwest::StatusCode::OK,
            "{endpoint} was not refused"
        );
        res.json().await.expect("AppError")
    }

    /// Calls the email invitation's server function as its form does.
    pub async fn send_invite(
        &self,
        email: &str,
        seed_required: &str,
        reason: &str,
    ) -> reqwest::Response {
        let form = [
            ("email", email),
            ("seed_required", seed_required),
            ("reason", reason),
        ];
        self.post("send_invite", &form).await
    }

    /// Sends an email invitation (SEED requested) through its server function; returns the
    /// invitation's id.
    pub async fn invite(&self, email: &str) -> String {
        self.invite_with_seed(email, "yes").await
    }

    /// Sends an email invitation with SEED `seed_required` ("yes" or "no"); returns its id.
    pub async fn invite_with_seed(&self, email: &str, seed_required: &str) -> String {
        let form = [
            ("email", email),
            ("seed_required", seed_required),
            ("reason", "Platform team"),
        ];
        self.sent("send_invite", &form, email).await
    }

    /// Creates an account (SEED: No) for `email` through Create account; a public officer
    /// when `username` is empty, else a vendor. Returns the invitation's id.
    pub async fn create_account(&self, email: &str, username: &str, last_name: &str) -> String {
        let form = [
            ("email", email),
            ("username", username),
            ("first_name", "Mei Ling"),
            ("last_name", last_name),
            ("contact_number", "9123 4567"),
            ("organisation", "Acme Pte Ltd"),
            ("department", ""),
            ("seed_required", "no"),
            ("reason", "Developer"),
        ];
        self.sent("create_account", &form, email).await
    }

    async fn sent(&self, endpoint: &str, form: &[(&str, &str)], email: &str) -> String {
        let res = self.post(endpoint, form).await;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(
            status,
            reqwest::StatusCode::OK,
            "{endpoint} {email}: {body}"
        );
        let sent: app::api::InviteSent = serde_json::from_str(&body).expect("InviteSent");
        sent.invitation_id
    }

    /// Calls the status page's server function with `query`.
    pub async fn list_invitations(&self, query: &app::api::StatusQuery) -> reqwest::Response {
        let body = serde_json::json!({ "query": query });
        self.post_json("list_invitations", &body).await
    }

    /// A page of Invite user status, as the status page asks for it.
    pub async fn status_list(&self, query: app::api::StatusQuery) -> app::api::StatusPage {
        let res = self.list_invitations(&query).await;
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        res.json().await.expect("StatusPage")
    }

    /// Calls the development sign-in server function as the page's JavaScript does.
    pub async fn sign_in(&self, email: &str) -> reqwest::Response {
        self.post("sign_in", &[("email", email)]).await
    }

    /// Signs in as `email`, which must succeed.
    pub async fn assert_signs_in(&self, email: &str) {
        let res = self.sign_in(email).await;
        let status = res.status();
        assert!(
            status.is_success() || status.is_redirection(),
            "sign in as {email}: {status}"
        );
    }

    /// Signs out with the header's button (a same-origin form POST to `/sign-out`).
    pub async fn sign_out(&self) -> reqwest::Response {
        let call = self.same_origin_post("/sign-out");
        call.send().await.expect("POST /sign-out")
    }
}

/// A public officer by their gov.sg address, for tests that call the services directly.
pub fn officer(email: &str) -> app::domain::Officer {
    let email = app::domain::Email::parse(email).expect("an address");
    app::domain::Officer::public_officer(email).expect("a gov.sg address")
}

/// `text` (a page, a sheet's words) says each of `phrases`; `what` names it in a failure.
pub fn assert_mentions(text: &str, phrases: &[&str], what: &str) {
    let missing: Vec<&&str> = phrases.iter().filter(|p| !text.contains(**p)).collect();
    assert!(missing.is_empty(), "{what} does not mention {missing:?}");
}

/// The value of the response's header `name`, when it has one in plain text.
pub fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A production configuration (no development sign-in): a mail server on loopback that is
/// never reached, plain SMTP allowed for it, and a link secret.
pub const PRODUCTION: [(&str, &str); 4] = [
    ("SIGN_IN_MODE", "disabled"),
    ("SMTP_URL", "smtp://127.0.0.1:9"),
    ("SMTP_ALLOW_PLAINTEXT", "true"),
    (
        "LINK_SECRET",
        "test-link-secret-test-link-secret-0123456789",
    ),
];

/// The Message-ID header of a raw message.
pub fn message_id(raw: &str) -> String {
    raw.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .map(|l| l["message-id:".len()..].trim().to_string())
        .expect("a Message-ID")
}

/// Runs one async test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! both_databases {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(Backend::Postgres).await
            }
        }
    };
}

/// A real SMTP server process on loopback (npm's smtp-server, `end2end/smtp-sink.mjs`) that
/// writes each accepted message to a folder.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

/// Waits (up to 10 s) until the server on `port` answers `/readyz` with 200.
pub async fn wait_ready(port: u16) {
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the server on {port} did not become ready within 10 s");
}

/// A port nobody listens on now, for a process a test starts (the app, a provider, a mail or
/// SCIM server), which binds it a moment later.
///
/// The port comes from below the OS's ephemeral range (32768 and up on Linux), so no socket
/// bound to port 0 and no outgoing connection takes it in that moment: the OS's own pick,
/// probed and released, had been free again for exactly those, and a CI run lost the OpenID
/// provider to EADDRINUSE that way. Each test process starts at its own offset (its pid) and
/// never hands out a port twice; a port something already holds is skipped.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 10_000;
    const SPAN: u32 = 22_000; // up to 31,999
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7_919) % SPAN,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::Relaxed) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {LOW}..{}", LOW + SPAN);
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_slow(0).await
    }

    /// A slow mail server: each message is stored at once and accepted `delay_ms` later.
    pub async fn start_slow(delay_ms: u64) -> SmtpSink {
        let dir = tempfile::tempdir().expect("mail dir");
        let port = free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/smtp-sink.mjs");
        let child = std::process::Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .arg(delay_ms.to_string())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the SMTP sink (node end2end/smtp-sink.mjs; run scripts/setup.sh)");
        // Owned from here on: dropping it (also on a panic) stops the process.
        let sink = SmtpSink { port, dir, child };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return sink;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the SMTP sink did not start on port {port}");
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, oldest first, raw.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("read mail dir")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("read message"))
            .collect()
    }

    /// Waits (up to 15 s) until at least `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..150 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("expected {n} messages, got {}", self.messages().len());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a message with quoted-printable soft breaks and escapes undone.
pub fn decode_qp(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The link secret the test servers run with (development sign-in's).
pub fn test_links() -> app::server::links::LinkSecret {
    app::server::links::LinkSecret::new(server::config::DEV_LINK_SECRET)
}

impl TestApp {
    /// One round of the provisioning worker, as an instance runs it (this app's tests run no
    /// worker of their own): up to 50 rows claimed and settled.
    pub async fn provisioning_round(&self) -> app::server::provisioning::ProvisioningRound {
        self.app_state
            .provisioning
            .run_once(50)
            .await
            .expect("a provisioning round")
    }

    /// The tokens of the links queued for `email`, oldest first, as the relay will render
    /// them (the outbox holds none: see `app::server::links`).
    pub async fn tokens_to(&self, email: &str) -> Vec<String> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, body_text FROM outbox WHERE recipient = $1 ORDER BY created_at, id",
        )
        .bind(email)
        .fetch_all(self.app_state.db.pool())
        .await
        .expect("outbox");
        rows.iter()
            .filter(|(_, text)| text.contains(app::server::links::TOKEN_PLACEHOLDER))
            .map(|(id, _)| self.app_state.settings.link_secret.token_for(id))
            .collect()
    }
}

/// The sign-up token in an invitation message as mailed (quoted-printable).
pub fn token_in(message: &str) -> String {
    token_in_text(&decode_qp(message))
}

/// The sign-up token in an invitation's plain text (the outbox's `body_text`). Not
/// [`token_in`]: decoding plain text as quoted-printable turns `token=` followed by two hex
/// digits into one byte.
pub fn token_in_text(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The queries of the test database that wait for a lock and contain `part`, once there
/// are at least `n` (within 10 s).
pub async fn waiting_queries(app: &TestApp, part: &str, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let found: Vec<(String,)> = sqlx::query_as(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'",
        )
        .bind(part)
        .fetch_all(app.app_state.db.pool())
        .await
        .expect("pg_stat_activity");
        if found.len() >= n {
            return found.into_iter().map(|(q,)| q).collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} queries wait for a lock with {part:?}");
}

/// The first query that waits for a lock and contains `part` (within 10 s).
pub async fn waiting_query(app: &TestApp, part: &str) -> String {
    waiting_queries(app, part, 1).await.remove(0)
}
