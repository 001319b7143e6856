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

/// PostgreSQL: two officers giving one vendor username at the same moment. Each write looks
/// the username up first, and neither sees the other's until it commits; the database keeps
/// it to one open invitation, and the second officer is told it is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_username_written_twice_at_once_is_held_once() {
    let app = signed_in(Backend::Postgres, "boss@agency.gov.sg").await;
    // The other officer's invitation, written and not yet committed.
    let mut other = app.transaction().await;
    sqlx::query(
        "INSERT INTO invitations (id, email, email_key, kind, invitation_type, inviter_email, \
         inviter_agency, reason, seed_required, username, status, token_hash, expires_at, \
         created_at, updated_at) VALUES ('race-1', 'first@acme.com', 'first@acme.com', \
         'vendor', 'create', 'lead@other.gov.sg', 'other.gov.sg', 'Vendor', 0, 'race.name', \
         'provisioning', 'race-hash', 9999999999999, 1, 1)",
    )
    .execute(&mut *other)
    .await
    .expect("the other officer's invitation");
    let mine = tokio::spawn({
        let app = app.same_browser();
        async move {
            let res = app
                .post("create_account", &vendor("second@acme.com", "race.name"))
                .await;
            (res.status(), res.text().await.unwrap_or_default())
        }
    });
    // Create account has looked the username up (not seeing the other's) and its write
    // waits for the other's: the index holds it. (Without it, the write would not wait, and
    // this fails after 10 s.)
    support::waiting_query(&app, "INSERT INTO invitations").await;
    other.commit().await.expect("the other officer's commit");
    let (status, body) = mine.await.expect("Create account");
    assert_ne!(status, StatusCode::OK, "both stored the username: {body}");
    let err: AppError = serde_json::from_str(&body).expect("AppError");
    assert!(
        err.field_message("username")
            .unwrap_or_default()
            .contains("race.name is taken"),
        "{err:?}"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM invitations WHERE username = 'race.name' \
             AND status IN ('invited', 'created', 'provisioning')"
        )
        .await,
        1
    );
}

/// Retry on a Create account whose account the directory refused, after another open
/// invitation has been written with `since` (the values of its columns `SINCE_COLUMNS`,
/// selected from the failed invitation `i`): the answer, and the row's status after it.
async fn retry_after(
    b: Backend,
    email: &str,
    username: &str,
    since: &str,
) -> (app::api::ActionOutcome, String) {
    let since = format!(
        "INSERT INTO invitations ({SINCE_COLUMNS}) SELECT {since} FROM invitations i \
         WHERE i.id = $1"
    );
    let app = signed_in(b, "boss@agency.gov.sg").await;
    let db = app.app_state.db.pool();
    let failed = app.create_account(email, username, "Tan").await;
    sqlx::query("UPDATE invitations SET status = 'provisioning_failed' WHERE id = $1")
        .bind(&failed)
        .execute(db)
        .await
        .expect("failed");
    sqlx::query(&since)
        .bind(&failed)
        .execute(db)
        .await
        .expect(&since);
    let res = app
        .post_json(
            "retry_provisioning",
            &serde_json::json!({ "ids": [failed] }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let out: app::api::ActionOutcome = res.json().await.expect("ActionOutcome");
    let (status,): (String,) = sqlx::query_as("SELECT status FROM invitations WHERE id = $1")
        .bind(&failed)
        .fetch_one(db)
        .await
        .expect("status");
    (out, status)
}

/// The columns [`retry_after`]'s other invitation is written with.
const SINCE_COLUMNS: &str = "id, email, email_key, kind, invitation_type, inviter_email, \
     inviter_agency, reason, seed_required, username, status, token_hash, expires_at, \
     created_at, updated_at";

/// The one refusal of a Retry, which must contain `reason`, the row left as it was.
fn refused_for(out: &app::api::ActionOutcome, status: &str, reason: &str) {
    assert!(out.done.is_empty(), "{out:?}");
    assert_eq!(out.refused.len(), 1, "{out:?}");
    assert!(out.refused[0].reason.contains(reason), "{out:?}");
    assert_eq!(status, "provisioning_failed");
}

both_databases!(
    a_failed_account_whose_username_was_given_again_is_not_retried,
    |b| async move {
        // A failed invitation holds no username: another officer's took it since.
        let (out, status) = retry_after(
            b,
            "held@acme.com",
            "held.name",
            "'since-1', 'since@acme.com', 'since@acme.com', kind, invitation_type, \
             'lead@other.gov.sg', 'other.gov.sg', reason, seed_required, username, \
             'provisioning', 'since-hash', expires_at, created_at, updated_at",
        )
        .await;
        refused_for(
            &out,
            &status,
            "TechPass username that another open invitation now holds",
        );
    }
);

both_databases!(
    a_failed_account_invited_again_is_not_retried,
    |b| async move {
        // The agency invites the person again, address and username the same: both unique
        // indexes would refuse the Retry, and the officer hears of the newer invitation on
        // either database (each checks its indexes in its own order).
        let (out, status) = retry_after(
            b,
            "again@acme.com",
            "again.name",
            "'again-1', email, email_key, kind, invitation_type, inviter_email, \
             inviter_agency, reason, seed_required, username, 'provisioning', 'again-hash', \
             expires_at, created_at, updated_at",
        )
        .await;
        refused_for(&out, &status, "has a newer invitation from your agency");
    }
);

/// The invitation's emails in the outbox: id, status and subject.
async fn emails(app: &support::TestApp, id: &str) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT id, status, subject FROM outbox WHERE invitation_id = $1")
        .bind(id)
        .fetch_all(app.app_state.db.pool())
        .await
        .expect("outbox")
}

/// An invitation as older code stored it (no mail id, its email held in the outbox under
/// `mail_id`; `failed`: the directory refused the account, and the email was cancelled),
/// from one this code stored; gives the mail id.
async fn as_older_code_stored_it(app: &support::TestApp, id: &str, failed: bool) -> String {
    let db = app.app_state.db.pool();
    let (mail_id, email): (String, String) =
        sqlx::query_as("SELECT mail_id, email FROM invitations WHERE id = $1")
            .bind(id)
            .fetch_one(db)
            .await
            .expect("mail id");
    sqlx::query("UPDATE invitations SET mail_id = NULL WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .expect("no mail id");
    if failed {
        for sql in [
            "UPDATE invitations SET status = 'provisioning_failed', \
             provision_error = 'already has a TechPass account' WHERE id = $1",
            "UPDATE provisioning SET status = 'failed' WHERE invitation_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(db).await.expect(sql);
        }
    }
    sqlx::query(
        "INSERT INTO outbox (id, invitation_id, recipient, subject, body_text, body_html, \
         status, attempts, next_attempt_at, locked_until, created_at) \
         VALUES ($1, $2, $3, 'Held by older code', $4, '<p>held</p>', $5, 0, 0, 0, 0)",
    )
    .bind(&mail_id)
    .bind(id)
    .bind(&email)
    .bind(format!(
        "Activate: http://x/invitations/accept?token={}",
        app::server::links::TOKEN_PLACEHOLDER
    ))
    .bind(if failed { "cancelled" } else { "held" })
    .execute(db)
    .await
    .expect("held email");
    mail_id
}

both_databases!(
    emails_held_by_older_code_keep_their_links_through_the_upgrade,
    |b| async move {
        let app = signed_in_with(
            b,
            &[
                ("PROVISIONING_INLINE_MS", "0"),
                ("PROVISIONING_ENABLED", "false"),
                ("RELAY_ENABLED", "false"),
            ],
            "boss@agency.gov.sg",
        )
        .await;
        let db = app.app_state.db.pool();
        let mut made = Vec::new();
        for (email, username) in [
            ("migrated@acme.com", "migrated.user"),
            ("released@acme.com", "released.user"),
            ("failed@acme.com", "failed.user"),
            ("failed.later@acme.com", "failed.later"),
        ] {
            made.push(app.create_account(email, username, "Tan").await);
        }
        let [migrated, released, failed, failed_later]: [String; 4] =
            made.try_into().expect("four invitations");
        assert!(
            emails(&app, &migrated).await.is_empty(),
            "none before the account"
        );
        let migrated_mail = as_older_code_stored_it(&app, &migrated, false).await;
        let released_mail = as_older_code_stored_it(&app, &released, false).await;
        let failed_mail = as_older_code_stored_it(&app, &failed, true).await;

        // The upgrade's migration moves the held email's id to its invitation and drops
        // the email (it is written again once the account exists).
        let upgrade = app::server::db::MIGRATOR
            .iter()
            .find(|m| m.version == 20261205000004)
            .expect("the migration");
        let sql: String = upgrade
            .sql
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        for statement in sql.split(';').map(str::trim) {
            if statement.is_empty() || statement.starts_with("ALTER TABLE") {
                continue;
            }
            sqlx::query(statement).execute(db).await.expect(statement);
        }
        for (id, mail) in [(&migrated, &migrated_mail), (&failed, &failed_mail)] {
            let (kept,): (Option<String>,) =
                sqlx::query_as("SELECT mail_id FROM invitations WHERE id = $1")
                    .bind(id)
                    .fetch_one(db)
                    .await
                    .expect("mail id");
            assert_eq!(kept.as_deref(), Some(mail.as_str()));
            assert!(emails(&app, id).await.is_empty());
        }

        // One left as an instance of older code would leave it during a rolling upgrade:
        // its held email is released, not written a second time.
        as_older_code_stored_it(&app, &released, false).await;
        let failed_later_mail = as_older_code_stored_it(&app, &failed_later, true).await;
        // Both refused accounts are tried again (Retry on Invite user status).
        let res = app
            .post_json(
                "retry_provisioning",
                &serde_json::json!({ "ids": [failed, failed_later] }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let round = app.provisioning_round().await;
        assert_eq!(round.created, 4, "{round:?}");
        // Written now, under the id its link was made from; or, stored by older code, its
        // own email released (held, or cancelled by the refusal before the Retry).
        let written = "Your TechPass account is ready to activate";
        for (id, mail, subject) in [
            (&migrated, &migrated_mail, written),
            (&failed, &failed_mail, written),
            (&released, &released_mail, "Held by older code"),
            (&failed_later, &failed_later_mail, "Held by older code"),
        ] {
            assert_eq!(
                emails(&app, id).await,
                [(mail.clone(), "pending".to_string(), subject.to_string())],
                "{id}"
            );
        }
        // Either way the link's token is the one the invitation was stored with.
        for (id, email) in [
            (&migrated, "migrated@acme.com"),
            (&released, "released@acme.com"),
            (&failed, "failed@acme.com"),
            (&failed_later, "failed.later@acme.com"),
        ] {
            let tokens = app.tokens_to(email).await;
            assert_eq!(tokens.len(), 1, "{email}");
            let (hash,): (String,) =
                sqlx::query_as("SELECT token_hash FROM invitations WHERE id = $1")
                    .bind(id)
                    .fetch_one(db)
                    .await
                    .expect("hash");
            assert_eq!(app::server::links::hash_token(&tokens[0]), hash, "{email}");
        }
    }
);
