//! Email delivery through the outbox and a real SMTP server process, and the invitee's
//! sign-up from the mailed link; on SQLite and PostgreSQL.

use crate::support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use app::domain::Email;
use app::error::AppError;
use app::server::db::Db;
use app::server::outbox::{self, OutgoingEmail};
use app::server::relay::{Relay, RelayOptions, SmtpMailer};
use reqwest::StatusCode;
use support::{
    free_port, fresh_database, signed_in_with, spawn_with, test_links, token_in, Backend, SmtpSink,
    TestApp,
};

async fn scalar(db: &Db, sql: &str) -> String {
    let row: (String,) = sqlx::query_as(sql).fetch_one(db.pool()).await.expect(sql);
    row.0
}

/// An app whose relay mails through a real SMTP server (the sink) every 100 ms, with an
/// officer signed in.
async fn mailing_app(b: Backend) -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start().await;
    let vars = [
        ("SMTP_URL", sink.url()),
        ("RELAY_INTERVAL_MS", "100".into()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = signed_in_with(b, &vars, "boss@agency.gov.sg").await;
    (sink, app)
}

/// Calls a server function as the invitee's browser does: signed out, no cookies.
async fn as_invitee(app: &TestApp, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let call = reqwest::Client::new().post(app.url(&format!("/api/{endpoint}")));
    call.form(form).send().await.expect(endpoint)
}

/// Queues `n` invitation emails to `to`, with the subjects `<subject> 0`, `<subject> 1`, ...
async fn queue_mail(db: &Db, to: &str, n: usize, subject: &str) {
    let to = Email::parse(to).expect("email");
    let by = Email::parse("boss@agency.gov.sg").expect("email");
    let mut conn = db.pool().acquire().await.expect("conn");
    for i in 0..n {
        let mut mail =
            OutgoingEmail::invitation(&to, &by, "http://x/invitations/accept?token=t", 14);
        mail.subject = format!("{subject} {i}");
        outbox::enqueue(&mut conn, None, &mail)
            .await
            .expect("enqueue");
    }
}

/// A relay on `db` that sends through the mail server at `smtp`, giving up on a send after
/// `timeout`.
fn relay_through(smtp: &str, timeout: Duration, db: Db, options: RelayOptions) -> Relay {
    let mailer = SmtpMailer::new(smtp, "TechBiz <no-reply@tech.gov.sg>", timeout).expect("mailer");
    Relay::new(db, Arc::new(mailer), options, test_links())
}

both_databases!(
    an_invitee_gets_the_mail_and_signs_up_from_its_link,
    |b| async move {
        let (sink, app) = mailing_app(b).await;
        let res = app
            .send_invite("new.officer@agency.gov.sg", "no", "Joins the team")
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let mail = sink.wait_for(1).await.remove(0);
        assert!(mail.contains("To: new.officer@agency.gov.sg"), "{mail}");
        assert!(mail.contains("You are invited to create a TechPass account"));
        let token = token_in(&mail);
        assert_eq!(token.len(), 43, "the whole token is in the link");

        // Opening the link (as a mail scanner would) changes nothing.
        let page = reqwest::Client::new()
            .get(app.url(&format!("/invitations/accept?token={token}")))
            .send()
            .await
            .expect("GET link");
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.expect("page").contains("Continue"));
        let status = scalar(&app.app_state.db, "SELECT status FROM invitations").await;
        assert_eq!(status, "invited");

        let open = as_invitee(&app, "open_invitation", &[("token", token.as_str())]).await;
        let view: app::api::InvitationView = open.json().await.expect("InvitationView");
        assert_eq!(view.email, "new.officer@agency.gov.sg");
        assert!(!view.create_account);

        let details = [
            ("token", token.as_str()),
            ("first_name", "Wei Ming"),
            ("last_name", "Lim"),
            ("contact_number", "+65 8123 4567"),
            ("organisation", "GovTech"),
        ];
        let bad: AppError = as_invitee(
            &app,
            "complete_sign_up",
            &[
                ("token", token.as_str()),
                ("first_name", ""),
                ("last_name", "Lim"),
                ("contact_number", "x"),
                ("organisation", "GovTech"),
            ],
        )
        .await
        .json()
        .await
        .expect("AppError");
        assert!(
            bad.field_message("first_name").is_some()
                && bad.field_message("contact_number").is_some()
        );
        let done = as_invitee(&app, "complete_sign_up", &details).await;
        assert_eq!(done.status(), StatusCode::OK);
        let row: (String, String, String) = sqlx::query_as(
        "SELECT status, first_name, contact_number FROM accounts WHERE email_key = 'new.officer@agency.gov.sg'",
    )
    .fetch_one(app.app_state.db.pool())
    .await
    .expect("account");
        assert_eq!(
            row,
            ("active".into(), "Wei Ming".into(), "+6581234567".into())
        );
        assert_eq!(
            scalar(&app.app_state.db, "SELECT status FROM invitations").await,
            "active"
        );
        // The status list finds and names the person by what they gave at sign-up.
        let found = app
            .status_list(app::api::StatusQuery {
                search: "LIM wei".into(),
                ..app::api::StatusQuery::default()
            })
            .await;
        assert_eq!(found.total, 1);
        assert_eq!(found.rows[0].name().as_deref(), Some("Wei Ming Lim"));

        // The link works once.
        let again: AppError = as_invitee(&app, "complete_sign_up", &details)
            .await
            .json()
            .await
            .expect("AppError");
        assert!(again.to_string().contains("already been used"), "{again}");
    }
);

both_databases!(
    a_created_account_is_activated_from_its_mail,
    |b| async move {
        let (sink, app) = mailing_app(b).await;
        let res = app
            .post(
                "create_account",
                &[
                    ("email", "dev@acme.com"),
                    ("username", "acme.dev"),
                    ("first_name", "Ana"),
                    ("last_name", "Cruz"),
                    ("contact_number", "+63 917 123 4567"),
                    ("organisation", "Acme"),
                    ("seed_required", "yes"),
                    ("reason", "Builds the app"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let mail = sink.wait_for(1).await.remove(0);
        assert!(support::decode_qp(&mail).contains("Your TechPass username is acme.dev"));
        let token = token_in(&mail);
        let done = as_invitee(&app, "activate_account", &[("token", token.as_str())]).await;
        assert_eq!(done.status(), StatusCode::OK);
        assert_eq!(
            scalar(&app.app_state.db, "SELECT status FROM accounts").await,
            "active"
        );
    }
);

/// Starts the server binary on `port` against `db_url` (with the relay running or held back)
/// and waits until it is ready.
async fn start_server(
    db_url: &str,
    port: u16,
    smtp: &str,
    relay: bool,
    vars: &[(&str, &str)],
) -> Child {
    let server = Command::new(env!("CARGO_BIN_EXE_techbiz-invite"))
        .envs(vars.iter().copied())
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", db_url)
        .env("SIGN_IN_MODE", "dev")
        .env("SMTP_URL", smtp)
        .env("RELAY_ENABLED", if relay { "true" } else { "false" })
        .env("RELAY_INTERVAL_MS", "100")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary");
    support::wait_ready(port).await;
    server
}

/// Kills the server at once, as a crash would (std's kill is SIGKILL on Unix).
fn kill(mut server: Child) {
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
}

/// Signs in to the server on `port` as an officer and sends an email invitation to `email`.
async fn invite_through(port: u16, email: &str) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let base = format!("http://127.0.0.1:{port}");
    client
        .post(format!("{base}/api/sign_in"))
        .form(&[("email", "boss@agency.gov.sg")])
        .send()
        .await
        .expect("sign in");
    let res = client
        .post(format!("{base}/api/send_invite"))
        .form(&[("email", email), ("seed_required", "no"), ("reason", "r")])
        .send()
        .await
        .expect("send_invite");
    assert_eq!(res.status(), StatusCode::OK);
}

both_databases!(
    a_server_killed_before_sending_sends_exactly_once_after_restart,
    |b| async move {
        let sink = SmtpSink::start().await;
        let (db_url, _dir) = fresh_database(b).await;
        let port = free_port();
        // First life: the relay is held back, so the kill lands after the commit, before sending.
        let first = start_server(&db_url, port, &sink.url(), false, &[]).await;
        invite_through(port, "kill.test@agency.gov.sg").await;
        kill(first);
        assert!(
            sink.messages().is_empty(),
            "nothing was sent before the kill"
        );

        let second = start_server(&db_url, port, &sink.url(), true, &[]).await;
        let mails = sink.wait_for(1).await;
        tokio::time::sleep(Duration::from_secs(2)).await; // time for a wrongful second send
        let mails_after = sink.messages();
        kill(second);
        assert_eq!(mails_after.len(), 1, "sent exactly once");
        assert!(mails[0].contains("kill.test@agency.gov.sg"));
    }
);

both_databases!(
    two_relays_on_one_database_send_each_mail_once,
    |b| async move {
        let sink = SmtpSink::start().await;
        let (url, _dir) = fresh_database(b).await;
        let db = Db::connect(&url).await.expect("db");
        queue_mail(&db, "many@agency.gov.sg", 30, "mail").await;
        let options = RelayOptions {
            batch: 4,
            ..RelayOptions::default()
        };
        let relay = |db| relay_through(&sink.url(), Duration::from_secs(20), db, options.clone());
        let (a, b2) = (
            relay(db.clone()),
            relay(Db::connect(&url).await.expect("second pool")),
        );
        let run = |r: Relay| async move {
            let mut sent = 0;
            loop {
                let round = r.run_once().await.expect("round");
                if round.sent + round.failed == 0 {
                    return sent;
                }
                sent += round.sent;
            }
        };
        let (x, y) = tokio::join!(run(a), run(b2));
        assert_eq!(x + y, 30, "{x} + {y}");
        let mails = sink.wait_for(30).await;
        let mut subjects: Vec<String> = mails
            .iter()
            .filter_map(|m| {
                m.lines()
                    .find(|l| l.starts_with("Subject: "))
                    .map(str::to_string)
            })
            .collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), 30, "each mail once");
        let sent = scalar(
            &db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM outbox WHERE status = 'sent'",
        )
        .await;
        assert_eq!(sent, "30");
    }
);

both_databases!(
    a_failed_send_is_retried_later_then_given_up,
    |b| async move {
        let (url, _dir) = fresh_database(b).await;
        let db = Db::connect(&url).await.expect("db");
        queue_mail(&db, "x@agency.gov.sg", 1, "mail").await;
        // Nothing listens on this port: every send fails.
        let nowhere = format!("smtp://127.0.0.1:{}", free_port());
        let options = RelayOptions {
            max_attempts: 2,
            retry_base: Duration::from_millis(200),
            ..RelayOptions::default()
        };
        let relay = relay_through(&nowhere, Duration::from_secs(20), db.clone(), options);
        assert_eq!(relay.run_once().await.expect("round").failed, 1);
        assert_eq!(
            relay.run_once().await.expect("round").failed,
            0,
            "not due again yet"
        );
        assert_eq!(scalar(&db, "SELECT status FROM outbox").await, "pending");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(relay.run_once().await.expect("round").failed, 1);
        assert_eq!(scalar(&db, "SELECT status FROM outbox").await, "failed");
        let err = scalar(&db, "SELECT last_error FROM outbox").await;
        assert!(!err.is_empty());
        assert!(relay.backoff(3) == Duration::from_millis(800));
    }
);

both_databases!(
    without_smtp_mail_goes_to_the_development_mailbox,
    |b| async move {
        let app = signed_in_with(b, &[("RELAY_INTERVAL_MS", "100")], "boss@agency.gov.sg").await;
        let res = app
            .post(
                "send_invite",
                &[
                    ("email", "dev.box@agency.gov.sg"),
                    ("seed_required", "no"),
                    ("reason", "Trying it out"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let mut mail = Vec::new();
        for _ in 0..100 {
            mail = app
                .post("list_dev_mail", &[])
                .await
                .json::<Vec<app::api::DevMail>>()
                .await
                .expect("DevMail list");
            if !mail.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].to, "dev.box@agency.gov.sg");
        let link = mail[0].link.clone().expect("the sign-up link");
        assert!(link.contains("/invitations/accept?token="), "{link}");
        app.get_expecting("/dev/mailbox", StatusCode::OK).await;

        // Outside development sign-in there is no mailbox.
        let prod = spawn_with(b, &support::PRODUCTION).await;
        let err = prod.post_refused("list_dev_mail", &[]).await;
        assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
    }
);

both_databases!(
    a_slow_mail_server_never_lets_two_relays_send_one_message,
    |b| async move {
        // Each message takes 300 ms to be accepted, and a lease lasts 1 s: a relay that claimed
        // several at once would still be sending when the others' leases ran out.
        let sink = SmtpSink::start_slow(300).await;
        let (url, _dir) = fresh_database(b).await;
        let db = Db::connect(&url).await.expect("db");
        queue_mail(&db, "slow@agency.gov.sg", 8, "slow").await;
        let options = RelayOptions {
            batch: 20,
            lease: Duration::from_secs(1),
            ..RelayOptions::default()
        };
        let relay =
            |db| relay_through(&sink.url(), Duration::from_millis(900), db, options.clone());
        let (a, b2) = (
            relay(db.clone()),
            relay(Db::connect(&url).await.expect("second pool")),
        );
        let run = |r: Relay| async move {
            let mut sent = 0;
            for _ in 0..20 {
                let round = r.run_once().await.expect("round");
                sent += round.sent;
                if round.sent + round.failed == 0 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
            sent
        };
        let (x, y) = tokio::join!(run(a), run(b2));
        let mails = sink.wait_for(8).await;
        let mut ids: Vec<String> = mails.iter().map(|m| support::message_id(m)).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            (mails.len(), ids.len(), x + y),
            (8, 8, 8),
            "each message sent once (relays sent {x} and {y})"
        );
    }
);

both_databases!(
    a_relay_killed_after_the_mail_server_took_a_message_sends_it_again_with_the_same_message_id,
    |b| async move {
        // The message is stored by the mail server at once and accepted 3 s later: the kill
        // lands in between, after the send and before the row is marked sent.
        let sink = SmtpSink::start_slow(3000).await;
        let (db_url, _dir) = fresh_database(b).await;
        let port = free_port();
        let timing = [("SMTP_TIMEOUT_MS", "4000"), ("RELAY_LEASE_MS", "5000")];
        let first = start_server(&db_url, port, &sink.url(), true, &timing).await;
        invite_through(port, "window.test@agency.gov.sg").await;
        let arrived = sink.wait_for(1).await;
        kill(first);
        let db = Db::connect(&db_url).await.expect("db");
        assert_eq!(scalar(&db, "SELECT status FROM outbox").await, "pending");

        // Restarted, the relay sends it again once the lease has run out: not lost, and with
        // the same Message-ID, so the receiving side can tell it is one message.
        let second = start_server(&db_url, port, &sink.url(), true, &timing).await;
        let again = sink.wait_for(2).await;
        for _ in 0..100 {
            if scalar(&db, "SELECT status FROM outbox").await == "sent" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let all = sink.messages();
        kill(second);
        assert_eq!(all.len(), 2, "sent again once, not more");
        assert_eq!(
            support::message_id(&arrived[0]),
            support::message_id(&again[1])
        );
        assert_eq!(scalar(&db, "SELECT status FROM outbox").await, "sent");
        assert_eq!(token_in(&arrived[0]), token_in(&again[1]), "the same link");
    }
);

#[test]
fn a_server_without_a_mail_server_or_link_secret_refuses_to_start_and_says_why() {
    let bin = env!("CARGO_BIN_EXE_techbiz-invite");
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}/refused.db", dir.path().display());
    let run = |vars: &[(&str, &str)]| {
        let out = Command::new(bin)
            .env_clear()
            .env("DATABASE_URL", &db)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .envs(vars.iter().copied())
            .output()
            .expect("run the server");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&[("LINK_SECRET", "0123456789abcdef0123456789abcdef")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("SMTP_URL is not set"), "{stderr}");
    let (code, stderr) = run(&[("SMTP_URL", "smtps://mail.tech.gov.sg")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("LINK_SECRET is not set"), "{stderr}");
    let (code, stderr) = run(&[
        ("SIGN_IN_MODE", "dev"),
        ("PUBLIC_URL", "https://invite.tech.gov.sg"),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("PUBLIC_URL"), "{stderr}");
    assert!(
        !dir.path().join("refused.db").exists(),
        "refused before touching the database"
    );
}
