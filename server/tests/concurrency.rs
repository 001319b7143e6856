//! Officers working at the same moment: invitations, Resend and Revoke from several browsers at
//! once all succeed on SQLite (one writer at a time: a write transaction waits for the lock
//! instead of failing with "database is locked") and on PostgreSQL.

use crate::support;

use app::api::ActionOutcome;
use reqwest::StatusCode;
use support::{spawn, Backend, TestApp};

const OFFICERS: usize = 6;
const INVITES_EACH: usize = 8;

/// One officer's session: invites, then resends and revokes what they invited, each call
/// checked.
async fn busy_officer(app: TestApp, n: usize) -> usize {
    app.sign_in(&format!("officer{n}@agency{n}.gov.sg")).await;
    let mut ids = Vec::new();
    for i in 0..INVITES_EACH {
        ids.push(app.invite(&format!("person{i}@agency{n}.gov.sg")).await);
    }
    let mut done = 0;
    for (endpoint, chosen) in [
        ("resend_invitations", &ids[..INVITES_EACH / 2]),
        ("revoke_invitations", &ids[INVITES_EACH / 2..]),
    ] {
        let res = app
            .post_json(endpoint, &serde_json::json!({ "ids": chosen }))
            .await;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::OK, "{endpoint} by officer {n}: {body}");
        let out: ActionOutcome = serde_json::from_str(&body).expect("ActionOutcome");
        assert!(out.refused.is_empty(), "{endpoint} by officer {n}: {out:?}");
        done += out.done.len();
    }
    done
}

both_databases!(officers_at_the_same_moment_all_succeed, |b| async move {
    let app = spawn(b).await;
    let sessions: Vec<_> = (0..OFFICERS)
        .map(|n| tokio::spawn(busy_officer(app.another_browser(), n)))
        .collect();
    let mut done = 0;
    for s in sessions {
        done += s.await.expect("an officer's session");
    }
    assert_eq!(done, OFFICERS * INVITES_EACH);
    let invited = app.count("SELECT COUNT(*) FROM invitations").await;
    assert_eq!(invited, (OFFICERS * INVITES_EACH) as i64);
    let revoked = app
        .count("SELECT COUNT(*) FROM invitations WHERE status = 'revoked'")
        .await;
    assert_eq!(revoked, (OFFICERS * INVITES_EACH / 2) as i64);
});
