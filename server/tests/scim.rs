//! TechPass accounts provisioned over SCIM 2.0 into a real SCIM server (scim2-server, started
//! per test by `support::scim`), through the provisioning queue, on SQLite and PostgreSQL:
//! the user as the directory gets it, the email only once the account exists, retries that
//! never make a second account (a lost answer, 503, 429 with Retry-After, the server killed
//! mid-batch), 409 and 400 shown on Invite user status with Retry, the pre-check asking the
//! directory, revoke deactivating, and the directory's `active` read back.

use std::time::Duration;

use crate::support;

use app::api::{BatchRow, PrecheckRow, RowIssue, StatusQuery};
use app::domain::{AccountState, RawAccount};
use serde_json::json;
use support::scim::ScimServer;
use support::{signed_in_with, Backend, TestApp};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Only the request makes accounts (no worker), and no email is sent: what a test reads is
/// the request's own outcome.
const REQUEST_ONLY: &[(&str, &str)] = &[
    ("RELAY_ENABLED", "false"),
    ("PROVISIONING_ENABLED", "false"),
];

/// Rows are only queued: nothing makes accounts until the test runs a worker's round.
const QUEUE_ONLY: &[(&str, &str)] = &[
    ("PROVISIONING_INLINE_MS", "0"),
    ("PROVISIONING_ENABLED", "false"),
    ("RELAY_ENABLED", "false"),
];

/// An app on `scim` with quick retries; `extra` on top.
async fn app_on(b: Backend, scim: &ScimServer, extra: &[(&str, &str)]) -> TestApp {
    let mut vars: Vec<(&str, String)> = scim.vars();
    vars.extend([
        ("PROVISIONING_RETRY_BASE_MS", "100".to_string()),
        ("PROVISIONING_INTERVAL_MS", "100".to_string()),
    ]);
    for (k, v) in extra {
        vars.retain(|(key, _)| key != k);
        vars.push((k, v.to_string()));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    signed_in_with(b, &vars, "boss@agency.gov.sg").await
}

async fn status_of(app: &TestApp, id: &str) -> (String, Option<String>, Option<String>) {
    sqlx::query_as("SELECT status, account_id, provision_error FROM invitations WHERE id = $1")
        .bind(id)
        .fetch_one(app.app_state.db.pool())
        .await
        .expect("invitation")
}

/// Waits (up to 20 s) until the invitation's stored status is `want`.
async fn wait_status(
    app: &TestApp,
    id: &str,
    want: &str,
) -> (String, Option<String>, Option<String>) {
    for _ in 0..200 {
        let now = status_of(app, id).await;
        if now.0 == want {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "invitation {id} is {:?}, not {want}",
        status_of(app, id).await
    );
}

/// The state of the invitation's email in the outbox; none before its account is made
/// (the email is written then).
async fn outbox_status(app: &TestApp, id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT status FROM outbox WHERE invitation_id = $1")
        .bind(id)
        .fetch_optional(app.app_state.db.pool())
        .await
        .expect("outbox")
}

fn vendor(email: &str, username: &str) -> RawAccount {
    RawAccount {
        email: email.into(),
        username: username.into(),
        first_name: "Mei Ling".into(),
        last_name: "Tan".into(),
        contact_number: "+65 9123 4567".into(),
        organisation: "Acme Pte Ltd".into(),
        department: "Platform".into(),
        seed_required: "No".into(),
        reason: "Vendor developer".into(),
    }
}

fn rows(n: usize, tag: &str) -> Vec<BatchRow> {
    (1..=n)
        .map(|i| BatchRow {
            row_id: format!("r{i}"),
            raw: vendor(&format!("{tag}{i}@acme.com"), &format!("{tag}.user{i}")),
        })
        .collect()
}

async fn submit(app: &TestApp, key: &str, rows: &[BatchRow]) -> reqwest::Response {
    app.post_json(
        "submit_batch",
        &json!({ "batch_key": key, "file_name": "staff.csv", "rows": rows }),
    )
    .await
}

both_databases!(
    create_account_makes_the_user_in_the_directory_then_queues_the_email,
    |b| async move {
        let scim = ScimServer::start().await;
        let app = app_on(b, &scim, REQUEST_ONLY).await;
        let id = app
            .create_account("Mei.Ling@Acme.com", "mltan", "Tan")
            .await;
        let (status, account_id, _) = status_of(&app, &id).await;
        assert_eq!(status, "created", "made by the request itself");
        let users = scim.users_for(&id).await;
        assert_eq!(users.len(), 1, "{users:?}");
        let u = &users[0];
        assert_eq!(account_id.as_deref(), u["id"].as_str());
        assert_eq!(u["userName"], "mltan");
        assert_eq!(u["emails"][0]["value"], "Mei.Ling@acme.com");
        assert_eq!(u["emails"][0]["primary"], true);
        assert_eq!(u["name"]["givenName"], "Mei Ling");
        assert_eq!(u["name"]["familyName"], "Tan");
        assert_eq!(u["phoneNumbers"][0]["value"], "+6591234567");
        assert_eq!(u[ENTERPRISE]["organization"], "Acme Pte Ltd");
        assert_eq!(
            u["active"], false,
            "not active until the person activates it"
        );
        assert_eq!(outbox_status(&app, &id).await.as_deref(), Some("pending"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM accounts").await,
            0,
            "not in the built-in table"
        );
        // An officer's username is their address.
        let officer = app.create_account("Wei.Jie@Agency.gov.sg", "", "Lim").await;
        assert_eq!(
            scim.users_for(&officer).await[0]["userName"],
            "wei.jie@agency.gov.sg"
        );
    }
);

both_databases!(
    a_lost_answer_is_found_by_external_id_and_makes_no_second_account,
    |b| async move {
        let scim = ScimServer::start().await;
        let app = app_on(b, &scim, &[("RELAY_ENABLED", "false")]).await;
        // The directory makes the user, and the answer never arrives (the request's own try
        // or the worker's, whichever claims the row first).
        scim.fault(json!("drop"), 1, None, &["POST"]).await;
        let id = app
            .create_account("lost@acme.com", "lost.answer", "Tan")
            .await;
        let (_, account_id, _) = wait_status(&app, &id, "created").await;
        assert_eq!(scim.faults_hit().await, 1);
        let users = scim.users_for(&id).await;
        assert_eq!(users.len(), 1, "one account, however many tries: {users:?}");
        assert_eq!(account_id.as_deref(), users[0]["id"].as_str());
        assert_eq!(
            scim.served("POST").await,
            1,
            "the retry found it rather than create again"
        );
        assert_eq!(outbox_status(&app, &id).await.as_deref(), Some("pending"));
    }
);

both_databases!(
    a_batch_chunk_answers_once_stored_and_its_accounts_are_made_right_after,
    |b| async move {
        // Every directory call takes a second: a chunk that waited for its accounts would
        // answer only once they were made.
        let scim = ScimServer::start_with(&[("SCIM_DELAY_MS", "1000")]).await;
        // No worker: what makes the accounts is the instance's maker of batch accounts.
        let app = app_on(b, &scim, REQUEST_ONLY).await;
        let res = submit(
            &app,
            "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
            &rows(3, "soon"),
        )
        .await;
        assert_eq!(res.status(), 200);
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM invitations WHERE status = 'provisioning' AND email_key LIKE 'soon%'",
        )
        .fetch_all(app.app_state.db.pool())
        .await
        .expect("invitations");
        assert_eq!(ids.len(), 3, "answered before the accounts were made");
        for id in &ids {
            assert_eq!(
                outbox_status(&app, id).await,
                None,
                "no email before the account"
            );
        }
        for id in &ids {
            let (_, account_id, _) = wait_status(&app, id, "created").await;
            let users = scim.users_for(id).await;
            assert_eq!(users.len(), 1, "{users:?}");
            assert_eq!(account_id.as_deref(), users[0]["id"].as_str());
            assert_eq!(outbox_status(&app, id).await.as_deref(), Some("pending"));
        }
    }
);

both_databases!(
    a_batchs_accounts_wait_while_another_chunk_is_being_stored,
    |b| async move {
        let scim = ScimServer::start().await;
        // No worker: what makes the accounts is the instance's maker of batch accounts.
        let app = app_on(b, &scim, REQUEST_ONLY).await;
        // Another chunk (the page sends three at a time) is being stored meanwhile.
        let storing = app.app_state.provisioning.storing_chunk();
        let res = submit(
            &app,
            "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
            &rows(2, "held"),
        )
        .await;
        assert_eq!(res.status(), 200);
        // Well past the maker's quiet time (100 ms), well inside its limit (2 s).
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            scim.served("POST").await,
            0,
            "no account is made while a chunk is being stored"
        );
        drop(storing);
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM invitations WHERE email_key LIKE 'held%'")
                .fetch_all(app.app_state.db.pool())
                .await
                .expect("invitations");
        assert_eq!(ids.len(), 2);
        for id in &ids {
            wait_status(&app, id, "created").await;
        }
    }
);

both_databases!(
    unavailable_and_429_are_retried_with_retry_after_honoured,
    |b| async move {
        let scim = ScimServer::start().await;
        let app = app_on(b, &scim, REQUEST_ONLY).await;
        scim.fault(json!(503), 1, None, &["POST"]).await;
        let id = app
            .create_account("busy@acme.com", "busy.user", "Tan")
            .await;
        // Held back: no account yet, and so no email to send.
        let (status, _, _) = status_of(&app, &id).await;
        assert_eq!(status, "provisioning");
        assert_eq!(outbox_status(&app, &id).await, None);
        let page = app.status_list(StatusQuery::default()).await;
        let row = page.rows.iter().find(|r| r.id == id).expect("row");
        assert_eq!(row.account, AccountState::Provisioning);
        // The worker's round (this instance runs none) after the 100 ms backoff.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let round = app.provisioning_round().await;
        assert_eq!(round.created, 1, "{round:?}");
        assert_eq!(status_of(&app, &id).await.0, "created");
        assert_eq!(outbox_status(&app, &id).await.as_deref(), Some("pending"));

        scim.fault(json!(429), 1, Some(2), &["POST"]).await;
        let id = app
            .create_account("slow@acme.com", "slow.user", "Tan")
            .await;
        let (next, last): (i64, i64) = sqlx::query_as(
            "SELECT next_attempt_at, created_at FROM provisioning WHERE invitation_id = $1",
        )
        .bind(&id)
        .fetch_one(app.app_state.db.pool())
        .await
        .expect("queue row");
        assert!(
            next - last >= 1_900,
            "Retry-After: 2 waits 2 s, not the 100 ms backoff ({} ms)",
            next - last
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let early = app.provisioning_round().await;
        assert_eq!(
            early.created + early.retrying,
            0,
            "not tried before Retry-After: {early:?}"
        );
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        let round = app.provisioning_round().await;
        assert_eq!(round.created, 1, "{round:?}");
        assert_eq!(scim.users_for(&id).await.len(), 1);
    }
);

both_databases!(
    an_account_made_elsewhere_fails_the_row_with_the_reason_and_retry_works,
    |b| async move {
        let scim = ScimServer::start().await;
        // Nothing is made by the request or a worker until the test says so.
        let app = app_on(
            b,
            &scim,
            &[
                ("PROVISIONING_INLINE_MS", "0"),
                ("PROVISIONING_ENABLED", "false"),
            ],
        )
        .await;
        let res = submit(
            &app,
            "6f1c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f",
            &rows(3, "race"),
        )
        .await;
        assert_eq!(
            res.status(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM invitations ORDER BY email")
            .fetch_all(app.app_state.db.pool())
            .await
            .expect("ids");
        assert_eq!(ids.len(), 3);
        // Between the pre-check and the queue, someone made race.user2 elsewhere.
        let other = scim.add_user("race.user2", "someone@else.com").await;
        let round = app.provisioning_round().await;
        assert_eq!((round.created, round.failed), (2, 1), "{round:?}");
        let (status, _, reason) = status_of(&app, &ids[1]).await;
        assert_eq!(status, "provisioning_failed");
        assert_eq!(reason.as_deref(), Some("already has a TechPass account"));
        assert_eq!(outbox_status(&app, &ids[1]).await, None, "no email for it");
        let page = app.status_list(StatusQuery::default()).await;
        let row = page.rows.iter().find(|r| r.id == ids[1]).expect("row");
        assert_eq!(row.account, AccountState::ProvisioningFailed);
        assert_eq!(
            row.problem.as_deref(),
            Some("already has a TechPass account")
        );

        // The cause is fixed in the directory; Retry makes it.
        scim.delete_user(other["id"].as_str().expect("id")).await;
        let res = app
            .post_json("retry_provisioning", &json!({ "ids": [ids[1]] }))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(status_of(&app, &ids[1]).await.0, "provisioning");
        let round = app.provisioning_round().await;
        assert_eq!(round.created, 1, "{round:?}");
        let (status, account_id, reason) = status_of(&app, &ids[1]).await;
        assert_eq!((status.as_str(), reason), ("created", None));
        assert_eq!(
            scim.users_for(&ids[1]).await[0]["id"].as_str(),
            account_id.as_deref()
        );
        assert_eq!(
            outbox_status(&app, &ids[1]).await.as_deref(),
            Some("pending")
        );
    }
);

both_databases!(
    a_400_fails_the_row_with_the_directory_s_detail,
    |b| async move {
        let scim = ScimServer::start().await;
        let app = app_on(b, &scim, REQUEST_ONLY).await;
        scim.fault(json!(400), 1, None, &["POST"]).await;
        let id = app.create_account("bad@acme.com", "bad.user", "Tan").await;
        let (status, _, reason) = status_of(&app, &id).await;
        assert_eq!(status, "provisioning_failed");
        assert_eq!(
            reason.as_deref(),
            Some("the TechPass directory refused it: injected fault")
        );
        assert!(scim.users_for(&id).await.is_empty());
    }
);

/// Create account for a vendor, which must be refused: the error, as text.
async fn refused_account(app: &TestApp, email: &str, username: &str) -> String {
    let form = [
        ("email", email),
        ("username", username),
        ("first_name", "A"),
        ("last_name", "B"),
        ("contact_number", "9123 4567"),
        ("organisation", "Acme"),
        ("seed_required", "no"),
        ("reason", "Developer"),
    ];
    format!("{:?}", app.post_refused("create_account", &form).await)
}

both_databases!(
    the_precheck_and_create_account_ask_the_directory,
    |b| async move {
        let scim = ScimServer::start().await;
        let app = app_on(b, &scim, &[]).await;
        scim.add_user("elsewhere", "Made.Elsewhere@acme.com").await;
        let rows = vec![
            PrecheckRow {
                row_id: "r1".into(),
                email: "made.elsewhere@acme.com".into(),
                username: "fresh.name".into(),
            },
            PrecheckRow {
                row_id: "r2".into(),
                email: "new@acme.com".into(),
                username: "Elsewhere".into(),
            },
        ];
        let res = app
            .post_json("precheck_batch", &json!({ "rows": rows }))
            .await;
        assert_eq!(res.status(), 200);
        let issues: Vec<RowIssue> = res.json().await.expect("issues");
        assert!(
            issues.iter().any(|i| i.row_id == "r1"
                && i.field == "email"
                && i.message.contains("already has a TechPass account")),
            "{issues:?}"
        );
        assert!(
            issues
                .iter()
                .any(|i| i.row_id == "r2" && i.field == "username"),
            "{issues:?}"
        );
        let refused = refused_account(&app, "made.elsewhere@acme.com", "another").await;
        assert!(
            refused.contains("already has a TechPass account"),
            "{refused:?}"
        );
        // The directory down: a clear refusal, nothing written.
        let mut scim = scim;
        scim.kill().await;
        let refused = refused_account(&app, "while.down@acme.com", "while.down").await;
        assert!(
            refused.contains("TechPass directory is not answering"),
            "{refused:?}"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM invitations").await, 0);
    }
);

both_databases!(
    revoke_deactivates_and_the_directory_s_active_is_read_back,
    |b| async move {
        let scim = ScimServer::start().await;
        let app = app_on(
            b,
            &scim,
            &[("RELAY_ENABLED", "false"), ("PROVISIONING_REFRESH_MS", "0")],
        )
        .await;
        let revoked = app
            .create_account("revoked@acme.com", "revoked.user", "Tan")
            .await;
        let kept = app
            .create_account("kept@acme.com", "kept.user", "Tan")
            .await;
        wait_status(&app, &revoked, "created").await;
        wait_status(&app, &kept, "created").await;
        let res = app
            .post_json("revoke_invitations", &json!({ "ids": [revoked] }))
            .await;
        assert_eq!(res.status(), 200);
        for _ in 0..100 {
            if scim.served("PATCH").await >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            scim.served("PATCH").await,
            1,
            "the revoked account was deactivated"
        );
        assert_eq!(scim.users_for(&revoked).await[0]["active"], false);

        // The person activates the other account in TechPass: the worker reads it back.
        let (_, account_id, _) = status_of(&app, &kept).await;
        scim.set_active(&account_id.expect("account"), true).await;
        wait_status(&app, &kept, "active").await;
        let page = app.status_list(StatusQuery::default()).await;
        let row = page.rows.iter().find(|r| r.id == kept).expect("row");
        assert_eq!(row.account, AccountState::Active);
        assert_eq!(row.name().as_deref(), Some("Mei Ling Tan"));
    }
);

both_databases!(
    a_revoke_before_the_account_is_made_calls_the_create_off,
    |b| async move {
        let scim = ScimServer::start().await;
        let app = app_on(b, &scim, QUEUE_ONLY).await;
        let id = app
            .create_account("called.off@acme.com", "called.off", "Tan")
            .await;
        assert_eq!(status_of(&app, &id).await.0, "provisioning");
        let res = app
            .post_json("revoke_invitations", &json!({ "ids": [id] }))
            .await;
        assert_eq!(res.status(), 200);
        let round = app.provisioning_round().await;
        assert_eq!((round.created, round.deactivated), (0, 0), "{round:?}");
        assert!(
            scim.users_for(&id).await.is_empty(),
            "no account for a revoked invitation"
        );
        assert_eq!(outbox_status(&app, &id).await, None, "no email for it");
        assert_eq!(status_of(&app, &id).await.0, "revoked");
    }
);

both_databases!(
    a_directory_killed_mid_batch_loses_and_duplicates_nothing,
    |b| async move {
        let mut scim = ScimServer::start_with(&[("SCIM_DELAY_MS", "15")]).await;
        let app = app_on(b, &scim, &[("RELAY_ENABLED", "false")]).await;
        let batch = rows(500, "kill");
        let submitting = {
            let app = app.same_browser();
            let batch = batch.clone();
            tokio::spawn(async move {
                submit(&app, "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", &batch)
                    .await
                    .status()
            })
        };
        // Kill it once the accounts are being made, start it again a moment later.
        for _ in 0..400 {
            if scim.served("POST").await >= 40 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        scim.kill().await;
        let status = submitting.await.expect("submit");
        assert_eq!(
            status, 200,
            "the rows are stored whatever the directory does"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        scim.restart().await;
        let restarted = std::time::Instant::now();
        for _ in 0..900 {
            if app
                .count("SELECT COUNT(*) FROM invitations WHERE status = 'created'")
                .await
                == 500
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "all accounts made {:?} after the restart",
            restarted.elapsed()
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_millis() as i64;
        let queue: Vec<(String, i32, i64, i64, i64)> = sqlx::query_as(
            "SELECT status, attempts, COUNT(*), MAX(locked_until) - $1, MAX(next_attempt_at) - $1 \
             FROM provisioning GROUP BY status, attempts ORDER BY status, attempts",
        )
        .bind(now)
        .fetch_all(app.app_state.db.pool())
        .await
        .expect("queue");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE status = 'created'")
                .await,
            500,
            "the queue by status and attempts: {queue:?}"
        );
        let users = scim.users().await;
        let mut external: Vec<&str> = users
            .iter()
            .filter_map(|u| u["externalId"].as_str())
            .collect();
        assert_eq!(external.len(), 500, "every row has exactly one account");
        external.sort_unstable();
        external.dedup();
        assert_eq!(external.len(), 500, "no account made twice");
        assert!(
            app.count("SELECT COUNT(*) FROM provisioning WHERE attempts > 1")
                .await
                > 0,
            "the kill interrupted the batch (some accounts needed a second try)"
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                .await,
            500
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations i JOIN provisioning p ON p.invitation_id = i.id AND p.status = 'done' AND i.account_id IS NOT NULL").await,
            500
        );
    }
);

both_databases!(
    two_workers_on_a_slow_directory_make_each_account_once,
    |b| async move {
        use app::server::provisioning::{Provisioning, ProvisioningOptions};
        use app::server::scim::{ScimDirectory, ScimSettings};
        use std::sync::Arc;
        let scim = ScimServer::start_with(&[("SCIM_DELAY_MS", "150")]).await;
        // This instance stores the rows and leaves them to the workers.
        let app = app_on(b, &scim, QUEUE_ONLY).await;
        let res = submit(
            &app,
            "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a",
            &rows(24, "slow"),
        )
        .await;
        assert_eq!(res.status(), 200);
        // Three lost answers among the creates.
        scim.fault(json!("drop"), 3, None, &["POST"]).await;
        let vars = scim.vars();
        let settings =
            ScimSettings::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
                .expect("settings");
        let worker = || {
            Provisioning::new(
                app.app_state.db.clone(),
                Arc::new(ScimDirectory::new(settings.clone()).expect("client")),
                ProvisioningOptions {
                    retry_base: Duration::from_millis(50),
                    concurrency: 4,
                    ..ProvisioningOptions::default()
                },
                app::server::invites::accept_link(&app.app_state.settings),
            )
        };
        let (first, second) = (worker(), worker());
        for _ in 0..40 {
            let (a, b) = tokio::join!(first.run_once(50), second.run_once(50));
            let (a, b) = (a.expect("first"), b.expect("second"));
            if a.created + b.created + a.retrying + b.retrying == 0
                && app
                    .count("SELECT COUNT(*) FROM provisioning WHERE status = 'pending'")
                    .await
                    == 0
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        assert_eq!(scim.faults_hit().await, 3);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE status = 'created'")
                .await,
            24
        );
        let users = scim.users().await;
        let mut external: Vec<&str> = users
            .iter()
            .filter_map(|u| u["externalId"].as_str())
            .collect();
        external.sort_unstable();
        let all = external.len();
        external.dedup();
        assert_eq!((all, external.len()), (24, 24), "each account once");
    }
);

#[tokio::test]
async fn bad_directory_settings_stop_start_up_naming_the_variable() {
    use server::config::Config;
    let config = |pairs: Vec<(&'static str, String)>| {
        Config::from_lookup(move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
    };
    let dev = || ("SIGN_IN_MODE", "dev".to_string());
    let e = config(vec![dev(), ("DIRECTORY", "ldap".into())])
        .unwrap_err()
        .to_string();
    assert!(e.contains("DIRECTORY must be builtin"), "{e}");
    let e = config(vec![dev(), ("DIRECTORY", "scim".into())])
        .unwrap_err()
        .to_string();
    assert!(e.contains("SCIM_BASE_URL is not set"), "{e}");
    // A real server that refuses the token.
    let scim = ScimServer::start().await;
    let mut vars = scim.vars();
    vars.retain(|(k, _)| *k != "SCIM_TOKEN");
    vars.push(("SCIM_TOKEN", "wrong".into()));
    vars.push(("LEPTOS_SITE_ADDR", "127.0.0.1:0".into()));
    vars.push(("SIGN_IN_MODE", "dev".into()));
    let dir = tempfile::tempdir().expect("dir");
    vars.push((
        "DATABASE_URL",
        format!("sqlite://{}/t.db", dir.path().display()),
    ));
    let e = match server::startup::Application::build(config(vars).expect("config")).await {
        Ok(_) => panic!("started with a token the directory refuses"),
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("SCIM_TOKEN"), "{e}");
}
