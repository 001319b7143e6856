//! Email invitation and Create account through their server functions, on SQLite and
//! PostgreSQL: validation by the shared rules, duplicates refused, one transaction storing
//! the invitation, the account, the queued email and the audit record.

use crate::support;

use app::error::AppError;
use reqwest::StatusCode;
use support::{signed_in, signed_in_with, Backend};

const INVITE: &[(&str, &str)] = &[
    ("email", "New.Officer@Agency.gov.sg"),
    ("seed_required", "yes"),
    ("reason", "Joining the platform team"),
];

fn vendor(email: &'static str, username: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("email", email),
        ("username", username),
        ("first_name", "Mei Ling"),
        ("last_name", "Tan"),
        ("contact_number", "9123 4567"),
        ("organisation", "Acme Pte Ltd"),
        ("department", ""),
        ("seed_required", "no"),
        ("reason", "Vendor developer on the project"),
    ]
}

both_databases!(
    an_email_invitation_is_stored_with_its_email_and_audit,
    |b| async move {
        // The relay stays off, so the queued email is still pending when counted.
        let app = signed_in_with(b, &[("RELAY_ENABLED", "false")], "boss@agency.gov.sg").await;
        let res = app.post("send_invite", INVITE).await;
        assert_eq!(res.status(), StatusCode::OK);
        let sent: app::api::InviteSent = res.json().await.expect("InviteSent");
        assert_eq!(sent.email, "New.Officer@agency.gov.sg");
        let row: (String, String, String, String, i64) = sqlx::query_as(
        "SELECT status, inviter_email, inviter_agency, reason, seed_required FROM invitations WHERE id = $1",
    )
    .bind(&sent.invitation_id)
    .fetch_one(app.app_state.db.pool())
    .await
    .expect("invitation");
        assert_eq!(row.0, "invited");
        assert_eq!(row.1, "boss@agency.gov.sg");
        assert_eq!(row.2, "agency.gov.sg");
        assert_eq!(row.3, "Joining the platform team");
        assert_eq!(row.4, 1);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'send_invite'")
                .await,
            1
        );
    }
);

both_databases!(
    a_duplicate_invitation_is_refused_whatever_the_case,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        assert_eq!(
            app.post("send_invite", INVITE).await.status(),
            StatusCode::OK
        );
        let again = [
            ("email", "new.officer@AGENCY.GOV.SG"),
            ("seed_required", "no"),
            ("reason", "Again"),
        ];
        let err = app.post_refused("send_invite", &again).await;
        let msg = err.field_message("email").expect("on the email field");
        assert!(msg.contains("already has a pending invitation"), "{msg}");
        assert_eq!(app.count("SELECT COUNT(*) FROM invitations").await, 1);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox").await,
            1,
            "no second email"
        );
    }
);

both_databases!(every_bad_field_is_named_at_once, |b| async move {
    let app = signed_in(b, "boss@agency.gov.sg").await;
    let err = app
        .post_refused(
            "send_invite",
            &[("email", "vendor@example.com"), ("reason", "")],
        )
        .await;
    for field in ["email", "seed_required", "reason"] {
        assert!(err.field_message(field).is_some(), "{field} named: {err:?}");
    }
    assert!(err
        .field_message("email")
        .unwrap_or_default()
        .contains("Create account"));
    let mut bad = vendor("dev@acme.com", "");
    for (k, v) in bad.iter_mut() {
        if *k != "email" {
            *v = if *k == "contact_number" { "12ab" } else { "" };
        }
    }
    let err = app.post_refused("create_account", &bad).await;
    for field in [
        "username",
        "first_name",
        "last_name",
        "contact_number",
        "organisation",
        "seed_required",
        "reason",
    ] {
        assert!(err.field_message(field).is_some(), "{field} named: {err:?}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM invitations").await, 0);
});

both_databases!(
    create_account_for_a_vendor_then_refuse_a_taken_username,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let res = app
            .post("create_account", &vendor("dev@acme.com", "Mei.Tan"))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let row: (String, Option<String>, String, String) = sqlx::query_as(
        "SELECT status, username, contact_number, kind FROM accounts WHERE email_key = 'dev@acme.com'",
    )
    .fetch_one(app.app_state.db.pool())
    .await
    .expect("account");
        assert_eq!(row.0, "created");
        assert_eq!(row.1.as_deref(), Some("mei.tan"));
        assert_eq!(row.2, "+6591234567", "stored normalised");
        assert_eq!(row.3, "vendor");

        let err = app
            .post_refused("create_account", &vendor("other@acme.com", "mei.tan"))
            .await;
        assert!(
            err.field_message("username")
                .unwrap_or_default()
                .contains("taken"),
            "{err:?}"
        );
        let err = app
            .post_refused("create_account", &vendor("DEV@acme.com", "someone"))
            .await;
        assert!(err.field_message("email").is_some(), "{err:?}");
        assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
    }
);

both_databases!(
    officers_get_no_username_and_vendors_cannot_invite,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let mut officer = vendor("peer@tech.gov.sg", "");
        officer.retain(|(k, _)| *k != "username");
        assert_eq!(
            app.post("create_account", &officer).await.status(),
            StatusCode::OK
        );
        let mut with_name = vendor("peer2@tech.gov.sg", "peer2");
        with_name[0] = ("email", "peer2@tech.gov.sg");
        let err = app.post_refused("create_account", &with_name).await;
        assert!(err.field_message("username").is_some(), "{err:?}");

        let other = signed_in(b, "vendor@example.com").await;
        let err = other.post_refused("send_invite", INVITE).await;
        assert!(matches!(err, AppError::Forbidden { .. }), "{err:?}");
    }
);
