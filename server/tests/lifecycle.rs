//! The invitation lifecycle on SQLite and PostgreSQL: Resend replaces the link (the old one
//! says so), within its limits; Revoke withdraws it; neither reaches another agency's
//! invitations; reminders go once on each configured day; SEED's signed reports change the
//! SEED column and unsigned or stale ones are refused.

use crate::support;

use app::api::{ActionOutcome, StatusQuery};
use app::domain::SeedState;
use app::server::clock::now_millis;
use app::server::signup::{self, SignUpError};
use app::server::{lifecycle, seed};
use reqwest::StatusCode;
use support::{signed_in, signed_in_with, spawn_with, two_agencies, Backend, TestApp};

/// The links mailed to `email`, oldest first.
async fn tokens(app: &TestApp, email: &str) -> Vec<String> {
    app.tokens_to(email).await
}

async fn act(app: &TestApp, endpoint: &str, ids: &[&str]) -> ActionOutcome {
    // Mail is ordered by the millisecond it was queued: keep each action in one of its own.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let res = app
        .post_json(endpoint, &serde_json::json!({ "ids": ids }))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{endpoint}");
    res.json().await.expect("ActionOutcome")
}

both_databases!(
    resend_replaces_the_link_and_revoke_withdraws_it,
    |b| async move {
        let (app, other) = two_agencies(b).await;
        let db = &app.app_state.db;
        let id = app.invite("x@agency.gov.sg").await;
        let first = tokens(&app, "x@agency.gov.sg").await;
        assert_eq!(first.len(), 1);

        // Another agency cannot touch it, by id.
        for endpoint in ["resend_invitations", "revoke_invitations"] {
            let out = act(&other, endpoint, &[&id]).await;
            assert!(out.done.is_empty(), "{endpoint}: {out:?}");
            assert_eq!(out.refused.len(), 1);
            assert_eq!(
                out.refused[0].email, "",
                "nothing about the invitation leaks"
            );
        }
        assert_eq!(tokens(&app, "x@agency.gov.sg").await.len(), 1);

        let out = act(&app, "resend_invitations", &[&id]).await;
        assert_eq!(out.done, ["x@agency.gov.sg"]);
        let links = tokens(&app, "x@agency.gov.sg").await;
        assert_eq!(links.len(), 2);
        assert_ne!(links[0], links[1]);
        assert!(matches!(
            signup::open(db, &links[0]).await,
            Err(SignUpError::Replaced)
        ));
        assert!(signup::open(db, &links[1]).await.is_ok());

        // Two more resends are allowed in 24 hours; the fourth is refused and sends nothing.
        for _ in 0..2 {
            assert_eq!(act(&app, "resend_invitations", &[&id]).await.done.len(), 1);
        }
        let out = act(&app, "resend_invitations", &[&id]).await;
        assert!(out.done.is_empty());
        assert!(out.refused[0].reason.contains("most allowed"), "{out:?}");
        let links = tokens(&app, "x@agency.gov.sg").await;
        assert_eq!(links.len(), 4);
        let latest = links.last().unwrap().clone();

        let out = act(&app, "revoke_invitations", &[&id]).await;
        assert_eq!(out.done, ["x@agency.gov.sg"]);
        assert!(matches!(
            signup::open(db, &latest).await,
            Err(SignUpError::Revoked)
        ));
        assert_eq!(
            app.status_list(StatusQuery::default()).await.rows[0].account,
            app::domain::AccountState::Revoked
        );
        // Revoking again is harmless; resending a revoked invitation is refused.
        assert_eq!(act(&app, "revoke_invitations", &[&id]).await.done.len(), 1);
        let out = act(&app, "resend_invitations", &[&id]).await;
        assert!(out.refused[0].reason.starts_with("was revoked"), "{out:?}");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'revoke_invite'")
                .await,
            1
        );
    }
);

both_databases!(reminders_go_once_on_each_configured_day, |b| async move {
    let app = signed_in(b, "boss@agency.gov.sg").await;
    let db = &app.app_state.db;
    let settings = &app.app_state.settings;
    assert_eq!(settings.reminder_days, [3, 7]);
    app.invite("slow@agency.gov.sg").await;
    let day = 86_400_000;
    let start = now_millis();
    let mut sent = Vec::new();
    for at in [
        2 * day,
        3 * day + 60_000,
        3 * day + 120_000,
        6 * day,
        7 * day + 60_000,
        8 * day,
        15 * day,
    ] {
        sent.push(
            lifecycle::send_reminders(db, settings, start + at)
                .await
                .unwrap(),
        );
    }
    // Day 3 and day 7, once each; none once the link has expired (day 14).
    assert_eq!(sent, [0, 1, 0, 0, 1, 0, 0]);
    let subjects: Vec<(String,)> = sqlx::query_as(
        "SELECT subject FROM outbox WHERE recipient = 'slow@agency.gov.sg' ORDER BY created_at, id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(subjects.len(), 3);
    assert!(subjects[1].0.starts_with("Reminder"));
    // A relay that was down from day 2 to day 9 sends one reminder, not two.
    app.invite("later@agency.gov.sg").await;
    let start = now_millis();
    assert_eq!(
        lifecycle::send_reminders(db, settings, start + 9 * day)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        lifecycle::send_reminders(db, settings, start + 9 * day)
            .await
            .unwrap(),
        0
    );
});

both_databases!(
    seed_reports_must_be_signed_with_the_shared_secret,
    |b| async move {
        let app = signed_in_with(
            b,
            &[("SEED_WEBHOOK_SECRET", "s3cret")],
            "boss@agency.gov.sg",
        )
        .await;
        app.invite("seed.user@agency.gov.sg").await;
        assert_eq!(
            app.status_list(StatusQuery::default()).await.rows[0].seed,
            SeedState::Pending
        );
        let body = br#"{"reports":[{"email":"Seed.User@agency.gov.sg","status":"licensed"}]}"#;
        let post = |header: Option<String>, body: &'static [u8]| {
            let mut req = reqwest::Client::new()
                .post(app.url("/webhooks/seed"))
                .header("content-type", "application/json")
                .body(body);
            if let Some(h) = header {
                req = req.header(seed::SIGNATURE_HEADER, h);
            }
            req.send()
        };
        let now = now_millis() / 1000;
        for (why, header) in [
            ("no signature", None),
            ("wrong secret", Some(seed::sign(b"guess", now, body))),
            ("stale", Some(seed::sign(b"s3cret", now - 600, body))),
            (
                "another body",
                Some(seed::sign(b"s3cret", now, br#"{"reports":[]}"#)),
            ),
        ] {
            let res = post(header, body).await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{why}");
        }
        assert_eq!(
            app.status_list(StatusQuery::default()).await.rows[0].seed,
            SeedState::Pending
        );

        let before = app.status_list(StatusQuery::default()).await.version;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let res = post(Some(seed::sign(b"s3cret", now, body)), body)
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let page = app.status_list(StatusQuery::default()).await;
        assert_eq!(page.rows[0].seed, SeedState::Licensed);
        assert_ne!(page.version, before, "the status page will notice");

        // A replay of an older report (still within the tolerance) cannot move the licence
        // back, nor can the same request sent again.
        let older = br#"{"reports":[{"email":"seed.user@agency.gov.sg","status":"pending"}]}"#;
        for t in [now - 60, now] {
            let res = post(Some(seed::sign(b"s3cret", t, older)), older)
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(
                app.status_list(StatusQuery::default()).await.rows[0].seed,
                SeedState::Licensed,
                "a report signed at {t} after one signed at {now}"
            );
        }
        // A newer one does apply.
        let res = post(Some(seed::sign(b"s3cret", now + 1, older)), older)
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            app.status_list(StatusQuery::default()).await.rows[0].seed,
            SeedState::Pending
        );

        // A signed but malformed report is refused with the reason.
        let bad = br#"{"reports":[{"email":"x@agency.gov.sg","status":"gold"}]}"#;
        let res = post(Some(seed::sign(b"s3cret", now, bad)), bad)
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("status must be"));
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_seed_reports_are_refused() {
    let app = spawn_with(Backend::Sqlite, &support::PRODUCTION).await;
    let body = br#"{"reports":[]}"#;
    let res = reqwest::Client::new()
        .post(app.url("/webhooks/seed"))
        .header(
            seed::SIGNATURE_HEADER,
            seed::sign(b"", now_millis() / 1000, body),
        )
        .body(body.as_slice())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}
