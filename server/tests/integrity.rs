//! The promises at the edges, on SQLite and PostgreSQL: every invitee can finish (batch
//! invitees activate), the database holds no live link, and two things at once never undo
//! each other (a sign-up racing a revoke, two sign-ups of one link, two Resends at once, the
//! resend limits under concurrency).

use crate::support;

use app::api::{ActionOutcome, StatusQuery};
use app::domain::AccountState;
use app::server::clock::now_millis;
use app::server::lifecycle::{self, Action, RESENDS_PER_INVITEE_PER_DAY};
use app::server::signup::{self, RawSignUp, SignUpError};
use reqwest::StatusCode;
use serde_json::json;
use support::{signed_in, signed_in_with, two_agencies, Backend, TestApp};

const KEY: &str = "6d1f4a8e-2b3c-4d5e-8f90-a1b2c3d4e5f6";

fn officer() -> app::domain::Officer {
    support::officer("boss@agency.gov.sg")
}

fn details() -> RawSignUp {
    RawSignUp {
        first_name: "Wei Ming".into(),
        last_name: "Lim".into(),
        contact_number: "8123 4567".into(),
        organisation: "GovTech".into(),
        department: String::new(),
    }
}

/// Submits one batch row for `email` (a vendor with `username`) and returns its invitation id.
async fn batch_invite(app: &TestApp, email: &str, username: &str) -> String {
    let res = app
        .post_json(
            "submit_batch",
            &json!({
                "batch_key": KEY,
                "file_name": "staff.csv",
                "rows": [{
                    "row_id": "r1",
                    "raw": {
                        "email": email,
                        "username": username,
                        "first_name": "Siew Ling",
                        "last_name": "Goh",
                        "contact_number": "+65 9123 4567",
                        "organisation": "Acme Pte Ltd",
                        "department": "",
                        "seed_required": "No",
                        "reason": "Vendor developer"
                    }
                }]
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let outcome: app::api::BatchOutcome = res.json().await.expect("BatchOutcome");
    let id = match &outcome.rows[0].result {
        app::api::RowResult::Invited { invitation_id, .. } => invitation_id.clone(),
        other => panic!("not invited: {other:?}"),
    };
    // The chunk answers once the row is stored; its account is made right after.
    for _ in 0..600 {
        let made = app
            .count(&format!(
                "SELECT COUNT(*) FROM invitations WHERE id = '{id}' AND status <> 'provisioning'"
            ))
            .await;
        if made == 1 {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the batch invitee's account was not made within 60 s");
}

both_databases!(
    a_batch_invitee_activates_from_the_mailed_link,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        batch_invite(&app, "siew.ling@acme.com", "siew.ling").await;
        let token = app.tokens_to("siew.ling@acme.com").await.remove(0);

        // The link leads to activation, not to the email invitation's sign-up form.
        let anon = app.another_browser();
        let view: app::api::InvitationView = anon
            .post("open_invitation", &[("token", &token)])
            .await
            .json()
            .await
            .expect("InvitationView");
        assert!(view.create_account, "a batch invitee activates: {view:?}");
        let res = anon.post("activate_account", &[("token", &token)]).await;
        let body = res.text().await.expect("body");
        assert_eq!(body.trim_matches('"'), "siew.ling@acme.com", "{body}");

        let page = app.status_list(StatusQuery::default()).await;
        let row = &page.rows[0];
        assert_eq!(row.account, AccountState::Active);
        assert_eq!(row.name().as_deref(), Some("Siew Ling Goh"));
    }
);

/// Every text value of every table of the app's database.
async fn every_text_value(app: &TestApp, b: Backend) -> Vec<String> {
    let pool = app.app_state.db.pool();
    let columns: Vec<(String, String)> = match b {
        // Every column but SQLite's BLOBs (sqlx's migration checksums), which hold no text.
        Backend::Sqlite => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.type <> 'BLOB'",
        ),
        Backend::Postgres => sqlx::query_as(
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) \
             FROM information_schema.columns WHERE table_schema = current_schema()",
        ),
    }
    .fetch_all(pool)
    .await
    .expect("columns");
    assert!(columns.len() > 20, "found the tables: {columns:?}");
    let mut values = Vec::new();
    for (table, column) in columns {
        let sql = format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\"");
        let found: Vec<(Option<String>,)> = sqlx::query_as(&sql)
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        values.extend(found.into_iter().filter_map(|(v,)| v));
    }
    values
}

both_databases!(
    no_table_holds_a_token_that_opens_an_invitation,
    |b| async move {
        // The relay stays off: a delivered message sits in the development mailbox, which is
        // the inbox (the links are meant to be there), not the queue this test looks at.
        let app = signed_in_with(b, &[("RELAY_ENABLED", "false")], "boss@agency.gov.sg").await;
        let emailed = app.invite("new.officer@agency.gov.sg").await;
        app.create_account("mei.ling@acme.com.sg", "mei.ling", "Tan")
            .await;
        batch_invite(&app, "siew.ling@acme.com", "siew.ling").await;
        let res = app
            .post_json("resend_invitations", &json!({ "ids": [emailed] }))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let mut tokens = Vec::new();
        for to in [
            "new.officer@agency.gov.sg",
            "mei.ling@acme.com.sg",
            "siew.ling@acme.com",
        ] {
            tokens.extend(app.tokens_to(to).await);
        }
        assert_eq!(tokens.len(), 4, "three invitations and a Resend");
        // The newest link of each works: the tokens are the real ones.
        let last = tokens.last().expect("a token");
        signup::open(&app.app_state.db, last)
            .await
            .expect("the batch invitee's link opens");

        let values = every_text_value(&app, b).await;
        for token in &tokens {
            let holders: Vec<&String> = values.iter().filter(|v| v.contains(token)).collect();
            assert!(holders.is_empty(), "a live token at rest: {holders:?}");
        }
    }
);

/// Runs `n` rounds of `race` and checks each with `verdict`.
const ROUNDS: usize = 12;

both_databases!(
    a_sign_up_racing_a_revoke_never_leaves_a_revoked_invitation_active,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let db = app.app_state.db.clone();
        let boss = officer();
        let directory = app.app_state.provisioning.clone();
        let settings = app.app_state.settings.clone();
        let (mut signed_up, mut revoked) = (0, 0);
        for i in 0..ROUNDS {
            // An email invitation (sign-up) and a created account (activation) each round.
            let email = format!("race{i}@agency.gov.sg");
            let id = app.invite(&email).await;
            let vendor = format!("v{i}@acme.com");
            let made = app
                .create_account(&vendor, &format!("v.race{i}"), "Tan")
                .await;
            let token = app.tokens_to(&email).await.remove(0);
            let vtoken = app.tokens_to(&vendor).await.remove(0);
            let ids = vec![id.clone(), made.clone()];
            let (up, act, revoke) = tokio::join!(
                signup::sign_up(&db, directory.directory(), &token, details()),
                signup::activate(&db, directory.directory(), &vtoken),
                lifecycle::act(&db, &settings, &boss, Action::Revoke, &ids, now_millis()),
            );
            let revoke: ActionOutcome = revoke.expect("revoke never fails");
            for (who, result, invitation) in [
                (&email, up.map(|e| e.to_string()), &id),
                (&vendor, act, &made),
            ] {
                let status: String =
                    sqlx::query_scalar("SELECT status FROM invitations WHERE id = $1")
                        .bind(invitation)
                        .fetch_one(db.pool())
                        .await
                        .expect("status");
                let revoke_says_done = revoke.done.contains(who);
                match result {
                    Ok(_) => {
                        signed_up += 1;
                        assert_eq!(status, "active", "{who}");
                        assert!(
                            !revoke_says_done,
                            "{who}: revoke reported an active account revoked"
                        );
                    }
                    Err(SignUpError::Revoked) => {
                        revoked += 1;
                        assert_eq!(status, "revoked", "{who}");
                        assert!(revoke_says_done, "{who}");
                    }
                    Err(e) => panic!("{who}: {e:?}"),
                }
            }
        }
        println!("signed up first {signed_up}, revoked first {revoked}");
    }
);

both_databases!(two_sign_ups_of_one_link_make_one_account, |b| async move {
    let app = signed_in(b, "boss@agency.gov.sg").await;
    let db = app.app_state.db.clone();
    let directory = app.app_state.provisioning.clone();
    for i in 0..ROUNDS {
        let email = format!("twice{i}@agency.gov.sg");
        app.invite(&email).await;
        let token = app.tokens_to(&email).await.remove(0);
        let (a, b2) = tokio::join!(
            signup::sign_up(&db, directory.directory(), &token, details()),
            signup::sign_up(&db, directory.directory(), &token, details()),
        );
        let results = [a, b2];
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results.iter().any(|r| matches!(r, Err(SignUpError::Used))),
            "the other is told the link was used: {results:?}"
        );
    }
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(db.pool())
        .await
        .expect("count");
    assert_eq!(accounts, ROUNDS as i64);
});

both_databases!(two_resends_at_once_give_one_new_link, |b| async move {
    let app = signed_in(b, "boss@agency.gov.sg").await;
    let db = app.app_state.db.clone();
    let boss = officer();
    let settings = app.app_state.settings.clone();
    for i in 0..ROUNDS {
        let email = format!("again{i}@agency.gov.sg");
        let id = app.invite(&email).await;
        let ids = vec![id];
        let (x, y) = tokio::join!(
            lifecycle::act(&db, &settings, &boss, Action::Resend, &ids, now_millis()),
            lifecycle::act(&db, &settings, &boss, Action::Resend, &ids, now_millis()),
        );
        let (x, y) = (x.expect("no error"), y.expect("no error"));
        assert_eq!(x.done.len() + y.done.len(), 1, "{x:?} {y:?}");
        assert_eq!(x.refused.len() + y.refused.len(), 1, "{x:?} {y:?}");
        assert_eq!(
            app.tokens_to(&email).await.len(),
            2,
            "the first link and one new one"
        );
    }
    // Through HTTP too: two Resends at once both answer 200.
    let id = app.invite("http.again@agency.gov.sg").await;
    let body = json!({ "ids": [id] });
    let (r1, r2) = tokio::join!(
        app.post_json("resend_invitations", &body),
        app.post_json("resend_invitations", &body),
    );
    assert_eq!((r1.status(), r2.status()), (StatusCode::OK, StatusCode::OK));
});

both_databases!(the_resend_limit_holds_under_concurrency, |b| async move {
    let app = signed_in(b, "boss@agency.gov.sg").await;
    let db = app.app_state.db.clone();
    let boss = officer();
    let settings = app.app_state.settings.clone();
    let id = app.invite("limit@agency.gov.sg").await;
    let ids = vec![id];
    let mut done = 0;
    for _ in 0..3 {
        // Each wave a moment after the last (resends are timed to the millisecond).
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let calls = (0..6)
            .map(|_| lifecycle::act(&db, &settings, &boss, Action::Resend, &ids, now_millis()));
        for outcome in futures::future::join_all(calls).await {
            done += outcome.expect("no error").done.len();
        }
    }
    assert_eq!(
        done as i64, RESENDS_PER_INVITEE_PER_DAY,
        "the daily limit, exactly"
    );
    assert_eq!(
        app.tokens_to("limit@agency.gov.sg").await.len() as i64,
        1 + RESENDS_PER_INVITEE_PER_DAY
    );
});

async fn precheck(app: &TestApp, emails: &[&str]) -> reqwest::Response {
    let rows: Vec<serde_json::Value> = emails
        .iter()
        .enumerate()
        .map(|(i, e)| json!({ "row_id": format!("r{i}"), "email": e, "username": "" }))
        .collect();
    app.post_json("precheck_batch", &json!({ "rows": rows }))
        .await
}

both_databases!(
    no_call_learns_another_agencys_pending_invitations,
    |b| async move {
        let (app, other) = two_agencies(b).await;
        let first = app.invite("shared.person@tech.gov.sg").await;
        app.create_account("has.account@acme.com", "has.account", "Tan")
            .await;

        // The pre-check says "has an account" (the officer needs that) and nothing about the
        // other agency's invitation.
        let issues: Vec<app::api::RowIssue> = precheck(
            &other,
            &["shared.person@tech.gov.sg", "has.account@acme.com"],
        )
        .await
        .json()
        .await
        .expect("issues");
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].row_id, "r1");
        assert!(issues[0].message.contains("already has a TechPass account"));
        // The other agency may invite the same person; its own second invitation is refused.
        let second = other.invite("shared.person@tech.gov.sg").await;
        let again = other
            .send_invite("shared.person@tech.gov.sg", "no", "r")
            .await;
        assert_ne!(again.status(), StatusCode::OK);
        // In its own agency the pre-check says so.
        let issues: Vec<app::api::RowIssue> = precheck(&other, &["shared.person@tech.gov.sg"])
            .await
            .json()
            .await
            .expect("issues");
        assert!(
            issues[0].message.contains("pending invitation"),
            "{issues:?}"
        );

        // The person signs up through the second agency's link: both invitations are done.
        let tokens = app.tokens_to("shared.person@tech.gov.sg").await;
        assert_eq!(tokens.len(), 2);
        let db = &app.app_state.db;
        signup::sign_up(
            db,
            app.app_state.provisioning.directory(),
            &tokens[1],
            details(),
        )
        .await
        .expect("signed up");
        for (who, id) in [(&app, &first), (&other, &second)] {
            let page = who.status_list(StatusQuery::default()).await;
            let row = page.rows.iter().find(|r| &r.id == id).expect("their row");
            assert_eq!(row.account, AccountState::Active, "{id}");
            assert_eq!(row.name().as_deref(), Some("Wei Ming Lim"));
        }
        let err = signup::sign_up(
            db,
            app.app_state.provisioning.directory(),
            &tokens[0],
            details(),
        )
        .await
        .expect_err("the first agency's link is used up");
        assert!(matches!(err, SignUpError::Used), "{err:?}");
    }
);

both_databases!(
    a_created_account_answers_another_agencys_email_invitee,
    |b| async move {
        let (app, other) = two_agencies(b).await;
        app.invite("both.ways@tech.gov.sg").await;
        other
            .create_account("both.ways@tech.gov.sg", "", "Ong")
            .await;
        let token = app.tokens_to("both.ways@tech.gov.sg").await.remove(0);
        let err = signup::sign_up(
            &app.app_state.db,
            app.app_state.provisioning.directory(),
            &token,
            details(),
        )
        .await
        .expect_err("an account exists");
        assert!(matches!(err, SignUpError::HasAccount), "{err:?}");
        assert!(err.to_string().contains("already have a TechPass account"));
    }
);

both_databases!(the_precheck_is_rate_limited_per_officer, |b| async move {
    let app = signed_in_with(
        b,
        &[("PRECHECK_ADDRESSES_PER_HOUR", "10")],
        "boss@agency.gov.sg",
    )
    .await;
    let eight: Vec<String> = (0..8).map(|i| format!("p{i}@agency.gov.sg")).collect();
    let eight: Vec<&str> = eight.iter().map(String::as_str).collect();
    assert_eq!(precheck(&app, &eight).await.status(), StatusCode::OK);
    let res = precheck(&app, &eight[..3]).await;
    let err: app::error::AppError = res.json().await.expect("AppError");
    assert!(
        err.to_string()
            .contains("checked 8 addresses against TechPass in the last hour"),
        "{err}"
    );
    // Another officer has their own allowance.
    let other = app.another_user("lead@agency.gov.sg").await;
    assert_eq!(precheck(&other, &eight).await.status(), StatusCode::OK);
});
