//! HTTP tests: the real server on port 0, each on a fresh SQLite and PostgreSQL database.

use crate::support;

use reqwest::StatusCode;
use support::{assert_mentions, header, signed_in, spawn, spawn_with, Backend};

fn location(res: &reqwest::Response) -> String {
    header(res, "location").unwrap_or_default()
}

both_databases!(
    signed_out_visitors_are_sent_to_sign_in_and_back,
    |b| async move {
        let app = spawn(b).await;
        let res = app
            .get_expecting("/invite-users?x=1", StatusCode::SEE_OTHER)
            .await;
        assert_eq!(location(&res), "/sign-in?next=%2Finvite-users%3Fx%3D1");
        let page = app.get_expecting("/sign-in", StatusCode::OK).await;
        let html = page.text().await.expect("body");
        assert!(html.contains("Email address") && html.contains("Sign in"));
    }
);

both_databases!(an_officer_signs_in_and_sees_the_overview, |b| async move {
    let app = spawn(b).await;
    let res = app.sign_in("Officer@Agency.gov.sg").await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("techbiz_session="))
        .expect("session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );

    let res = app.get_expecting("/", StatusCode::OK).await;
    assert!(res.headers().contains_key("x-trace-id"));
    let html = res.text().await.expect("body");
    assert!(html.contains("Overview"));
    assert!(
        html.contains("Officer@agency.gov.sg"),
        "signed-in address shown"
    );
    assert!(html.contains("Invite users"));

    let html = app.get("/invite-users").await.text().await.expect("body");
    // The three ways to invite, and when to use each.
    let ways = ["Email invitation", "Create account", "Batch upload"];
    assert_mentions(&html, &ways, "Invite users");
    assert_mentions(&html, &["When to use"], "Invite users");

    // The session is in the database: the audit log has the sign-in.
    let signed_in = "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in'";
    assert_eq!(app.count(signed_in).await, 1);
});

both_databases!(a_vendor_is_told_why_they_cannot_invite, |b| async move {
    let app = signed_in(b, "vendor@example.com").await;
    let res = app
        .get_expecting("/invite-users", StatusCode::FORBIDDEN)
        .await;
    let html = res.text().await.expect("body");
    assert!(html.contains("Only public officers can invite users"));
    assert!(html.contains("vendor@example.com"));
    assert!(
        !html.contains("Batch upload"),
        "the invitation types stay hidden"
    );
});

both_databases!(a_bad_address_is_refused_naming_the_field, |b| async move {
    let app = spawn(b).await;
    let res = app.sign_in("not an address").await;
    assert!(res.status().is_client_error() || res.status().is_server_error());
    let err: app::error::AppError = res.json().await.expect("AppError JSON");
    let msg = err.field_message("email").expect("names the email field");
    assert!(msg.contains("space"), "{msg}");
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "still signed out"
    );
});

both_databases!(cross_site_posts_are_refused, |b| async move {
    let app = spawn(b).await;
    for (k, v) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
    ] {
        let res = app
            .client
            .post(app.url("/api/sign_in"))
            .header(k, v)
            .form(&[("email", "officer@agency.gov.sg")])
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{k}: {v}");
        let err: app::error::AppError = res.json().await.expect("AppError JSON");
        assert!(matches!(err, app::error::AppError::Forbidden { .. }));
    }
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
    // The same request from the app's own origin goes through.
    let res = app
        .client
        .post(app.url("/api/sign_in"))
        .header("origin", app.base.clone())
        .form(&[("email", "officer@agency.gov.sg")])
        .send()
        .await
        .expect("POST");
    assert!(!res.status().is_client_error(), "{}", res.status());
    app.get_expecting("/", StatusCode::OK).await;
});

both_databases!(sign_out_ends_the_session, |b| async move {
    let app = signed_in(b, "officer@agency.gov.sg").await;
    app.get_expecting("/", StatusCode::OK).await;
    let res = app.sign_out().await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/sign-in");
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
});

both_databases!(
    development_routes_answer_404_outside_development,
    |b| async move {
        let app = spawn_with(b, &support::PRODUCTION).await;
        let mailbox = app.get("/dev/mailbox").await;
        assert_eq!(mailbox.status(), StatusCode::NOT_FOUND, "/dev/mailbox");
        let clock = app
            .same_origin_post("/dev/clock")
            .form(&[("advance_days", "30")])
            .send()
            .await
            .expect("POST /dev/clock");
        assert_eq!(clock.status(), StatusCode::NOT_FOUND, "/dev/clock");
        let list = app.post("list_dev_mail", &[]).await;
        assert_eq!(list.status(), StatusCode::NOT_FOUND, "list_dev_mail");
        // Under development sign-in they answer.
        let dev = spawn(b).await;
        assert_eq!(dev.get("/dev/mailbox").await.status(), StatusCode::OK);
        assert_eq!(
            dev.post("list_dev_mail", &[]).await.status(),
            StatusCode::OK
        );
    }
);

both_databases!(dev_sign_in_is_off_unless_configured, |b| async move {
    let app = spawn_with(b, &support::PRODUCTION).await;
    let res = app.sign_in("officer@agency.gov.sg").await;
    let err: app::error::AppError = res.json().await.expect("AppError JSON");
    assert!(
        matches!(err, app::error::AppError::Forbidden { .. }),
        "{err:?}"
    );
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
});

both_databases!(
    an_internal_error_shows_only_a_trace_id_that_is_in_the_log,
    |b| async move {
        let app = signed_in(b, "officer@agency.gov.sg").await;
        // Break the database under the running app.
        app.app_state.db.close().await;
        let res = app.sign_in("officer@agency.gov.sg").await;
        assert!(res.status().is_server_error(), "{}", res.status());
        let header = header(&res, "x-trace-id").expect("x-trace-id");
        let body = res.text().await.expect("body");
        assert!(
            !body.to_lowercase().contains("pool"),
            "no internals leak: {body}"
        );
        let err: app::error::AppError = serde_json::from_str(&body).expect("AppError JSON");
        assert_eq!(err.trace_id(), Some(header.as_str()));
        let log = support::logs().contents();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(&header)).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("internal error") && l.contains("closed")),
            "the detail is logged under the Trace ID: {lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("request finished")),
            "{lines:?}"
        );
    }
);

both_databases!(
    unknown_pages_are_a_clear_404_and_static_files_are_served,
    |b| async move {
        let app = signed_in(b, "officer@agency.gov.sg").await;
        let res = app
            .get_expecting("/no-such-page", StatusCode::NOT_FOUND)
            .await;
        assert!(res.text().await.expect("body").contains("Page not found"));
        app.get_expecting("/healthz", StatusCode::OK).await;
    }
);

both_databases!(exports_are_for_officers_and_one_at_a_time, |b| async move {
    let app = spawn(b).await;
    let path = format!("{}/export.csv", app::api::StatusQuery::PATH);
    // A vendor is told they may not (403), not shown an error page with no Trace ID.
    app.sign_in("vendor@acme.com").await;
    let res = app.get_expecting(&path, StatusCode::FORBIDDEN).await;
    assert!(res
        .text()
        .await
        .expect("body")
        .contains("Only public officers"));

    app.sign_in("boss@agency.gov.sg").await;
    assert_eq!(app.get(&path).await.status(), StatusCode::OK);
    // While one of their exports is being made, a second waits its turn.
    let held = app
        .app_state
        .exports
        .start("boss@agency.gov.sg")
        .expect("no export in flight");
    let res = app
        .get_expecting(&path, StatusCode::TOO_MANY_REQUESTS)
        .await;
    assert!(res.headers().contains_key("retry-after"));
    assert!(res
        .text()
        .await
        .expect("body")
        .contains("still being prepared"));
    drop(held);
    assert_eq!(app.get(&path).await.status(), StatusCode::OK);
});

both_databases!(
    a_session_ends_twelve_hours_after_sign_in_even_when_busy,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        assert_eq!(app.get("/").await.status(), StatusCode::OK);
        let everyone = app::api::StatusQuery::default();
        let res = app.list_invitations(&everyone).await;
        assert_eq!(res.status(), StatusCode::OK);
        // Move the sign-in time back 12 hours in the stored session.
        let pool = app.app_state.db.pool();
        let (id, data): (String, String) = sqlx::query_as("SELECT id, data FROM sessions")
            .fetch_one(pool)
            .await
            .expect("one session");
        let mut value: serde_json::Value = serde_json::from_str(&data).expect("json");
        let at = value["user"]["signed_in_at"]
            .as_i64()
            .expect("signed_in_at");
        value["user"]["signed_in_at"] = (at - 12 * 3600).into();
        sqlx::query("UPDATE sessions SET data = $1 WHERE id = $2")
            .bind(value.to_string())
            .bind(&id)
            .execute(pool)
            .await
            .expect("backdate");
        let res = app.get("/").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "sent to sign in again");
        let res = app.list_invitations(&everyone).await;
        let err: app::error::AppError = res.json().await.expect("AppError");
        assert_eq!(err, app::error::AppError::Unauthenticated);
    }
);
