//! Request SEED onboarding on SQLite and PostgreSQL: for someone who already has a TechPass
//! account (Created or Active) and no SEED request yet, the SEED licence becomes Pending and
//! one email says how to onboard (public officers: Onboard to SEED; vendors: a TechPass
//! service request). Anyone else is refused with the reason and sent nothing; another
//! agency's invitation is "not found" and left alone.

use crate::support;

use app::api::{ActionOutcome, StatusQuery, StatusRow};
use app::domain::UserKind;
use app::domain::{AccountState, SeedState};
use app::server::outbox::{OutgoingEmail, ONBOARD_TO_SEED_URL, TECHPASS_SERVICE_REQUEST_URL};
use app::server::signup;
use reqwest::StatusCode;
use support::{signed_in, two_agencies_with, Backend, TestApp};

async fn request(app: &TestApp, ids: &[&str]) -> ActionOutcome {
    let res = app
        .post_json("request_seed", &serde_json::json!({ "ids": ids }))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "request_seed");
    res.json().await.expect("ActionOutcome")
}

/// The text of every SEED onboarding email queued for `email`.
async fn seed_mails(app: &TestApp, email: &str) -> Vec<String> {
    let subject = OutgoingEmail::seed_requested(email, UserKind::Vendor, "x", true).subject;
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT body_text FROM outbox WHERE recipient = $1 AND subject = $2 ORDER BY created_at",
    )
    .bind(email)
    .bind(subject)
    .fetch_all(app.app_state.db.pool())
    .await
    .expect("outbox");
    rows.into_iter().map(|(t,)| t).collect()
}

/// Every invitation's id, SEED status, delivery and last change, in id order.
async fn invitations(app: &TestApp) -> Vec<(String, String, String, i64)> {
    sqlx::query_as("SELECT id, seed_status, delivery, updated_at FROM invitations ORDER BY id")
        .fetch_all(app.app_state.db.pool())
        .await
        .expect("invitations")
}

async fn row(app: &TestApp, email: &str) -> StatusRow {
    app.status_list(StatusQuery::default())
        .await
        .rows
        .into_iter()
        .find(|r| r.email == email)
        .expect("row")
}

both_databases!(
    an_account_holder_is_asked_to_onboard_to_seed_once,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let db = &app.app_state.db;

        // A public officer whose account was made for them (Created), and a vendor who has
        // activated theirs (Active).
        let officer = app
            .create_account("wei.ming@agency.gov.sg", "", "Tan")
            .await;
        let vendor = app
            .create_account("mei.ling@acme.com.sg", "mei.ling", "Tan")
            .await;
        let token = app.tokens_to("mei.ling@acme.com.sg").await.remove(0);
        signup::activate(db, app.app_state.provisioning.directory(), &token)
            .await
            .expect("activate");
        let before = row(&app, "mei.ling@acme.com.sg").await;
        assert_eq!(before.account, AccountState::Active);
        assert_eq!(before.seed, SeedState::NotRequested);
        assert!(before.can_request_seed());
        assert_eq!(
            row(&app, "wei.ming@agency.gov.sg").await.account,
            AccountState::Created
        );

        let version = app.status_list(StatusQuery::default()).await.version;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let out = request(&app, &[&officer, &vendor]).await;
        assert_eq!(out.done, ["wei.ming@agency.gov.sg", "mei.ling@acme.com.sg"]);
        assert!(out.refused.is_empty(), "{out:?}");

        let page = app.status_list(StatusQuery::default()).await;
        assert_ne!(page.version, version, "the status page will notice");
        for r in &page.rows {
            assert_eq!(r.seed, SeedState::Pending, "{}", r.email);
            assert!(!r.can_request_seed());
        }
        let officer_mail = seed_mails(&app, "wei.ming@agency.gov.sg").await;
        assert_eq!(officer_mail.len(), 1);
        assert!(officer_mail[0].contains(ONBOARD_TO_SEED_URL));
        assert!(!officer_mail[0].contains(TECHPASS_SERVICE_REQUEST_URL));
        assert!(officer_mail[0].contains("boss@agency.gov.sg"));
        let vendor_mail = seed_mails(&app, "mei.ling@acme.com.sg").await;
        assert_eq!(vendor_mail.len(), 1);
        assert!(vendor_mail[0].contains(TECHPASS_SERVICE_REQUEST_URL));
        assert!(!vendor_mail[0].contains(ONBOARD_TO_SEED_URL));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'request_seed'")
                .await,
            2
        );

        // Asking again (a double click, a second officer) is refused and sends nothing.
        let out = request(&app, &[&vendor]).await;
        assert!(out.done.is_empty());
        assert_eq!(out.refused[0].email, "mei.ling@acme.com.sg");
        assert_eq!(out.refused[0].reason, "already has SEED onboarding pending");
        assert_eq!(seed_mails(&app, "mei.ling@acme.com.sg").await.len(), 1);

        // SEED can then report the licence.
        let email = app::domain::Email::parse("mei.ling@acme.com.sg").expect("email");
        app::server::seed::apply(
            db,
            &[(email, SeedState::Licensed)],
            app::server::clock::now_millis(),
            app::server::clock::now_millis() / 1000,
        )
        .await
        .expect("report");
        let out = request(&app, &[&vendor]).await;
        assert_eq!(out.refused[0].reason, "already has a SEED licence");
        assert_eq!(seed_mails(&app, "mei.ling@acme.com.sg").await.len(), 1);
    }
);

both_databases!(two_requests_at_once_send_one_email, |b| async move {
    let app = signed_in(b, "boss@agency.gov.sg").await;
    let colleague = app.another_user("deputy@agency.gov.sg").await;
    let id = app.create_account("twice@agency.gov.sg", "", "Tan").await;
    let ids = [id.as_str()];
    let (a, b) = tokio::join!(request(&app, &ids), request(&colleague, &ids));
    assert_eq!(
        a.done.len() + b.done.len(),
        1,
        "exactly one of them did it: {a:?} {b:?}"
    );
    assert_eq!(seed_mails(&app, "twice@agency.gov.sg").await.len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'request_seed'")
            .await,
        1
    );
});

both_databases!(
    people_without_an_account_and_other_agencies_are_refused,
    |b| async move {
        // No relay: it would change the invitations' delivery while the test compares them.
        let (app, other) = two_agencies_with(b, &[("RELAY_ENABLED", "false")]).await;

        // Invited, not signed up yet: no account to onboard.
        let invited = app.invite_with_seed("new.joiner@agency.gov.sg", "no").await;
        // Revoked before it was used.
        let revoked = app.create_account("gone@agency.gov.sg", "", "Tan").await;
        let res = app
            .post_json(
                "revoke_invitations",
                &serde_json::json!({ "ids": [&revoked] }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        // Another agency's account holder.
        let theirs = other.create_account("theirs@other.gov.sg", "", "Tan").await;
        let outbox_before = app.count("SELECT COUNT(*) FROM outbox").await;
        let before = invitations(&app).await;

        let out = request(&app, &[&invited, &revoked, &theirs, "no-such-id"]).await;
        assert!(out.done.is_empty(), "{out:?}");
        let reasons: Vec<(&str, &str)> = out
            .refused
            .iter()
            .map(|r| (r.email.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 4);
        assert_eq!(reasons[0].0, "new.joiner@agency.gov.sg");
        assert!(
            reasons[0].1.starts_with("has no TechPass account yet"),
            "{reasons:?}"
        );
        assert_eq!(reasons[1].0, "gone@agency.gov.sg");
        assert!(reasons[1].1.starts_with("was revoked"), "{reasons:?}");
        // Another agency's id reads exactly like an id that does not exist.
        assert_eq!(out.refused[2].email, "", "nothing about it leaks");
        assert_eq!(out.refused[2].reason, out.refused[3].reason);
        assert!(out.refused[2].reason.contains("not found"));

        // Nothing changed: no email, no SEED status, not even a timestamp.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox").await,
            outbox_before
        );
        assert_eq!(invitations(&app).await, before);
        assert!(before.iter().all(|(_, seed, _, _)| seed == "not_requested"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'request_seed'")
                .await,
            0
        );
        // Their own officer can.
        assert_eq!(
            request(&other, &[&theirs]).await.done,
            ["theirs@other.gov.sg"]
        );
    }
);
