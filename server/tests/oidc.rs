//! Sign-in through a real OpenID provider (`oidc-provider`, started per test), on both
//! databases: the good path, and the callback driven with forged and replayed inputs.

use crate::support::oidc::{
    app_with_provider, app_with_provider_and, client_key, oidc_vars, ADMIN_GROUP,
};
use crate::support::*;

/// Where a failed sign-in lands: the sign-in page with the failure's code.
fn failure_of(done: &crate::support::oidc::Page) -> String {
    let location = done.location.clone().unwrap_or_default();
    assert!(
        location.starts_with("/sign-in?error="),
        "expected a failed sign-in, got {} {location} {}",
        done.status,
        done.body
    );
    let code = location["/sign-in?error=".len()..]
        .split('&')
        .next()
        .unwrap_or_default();
    assert!(
        location.contains("&trace="),
        "the Trace ID goes with it: {location}"
    );
    code.to_string()
}

both_databases!(
    an_officer_signs_in_invites_and_signs_out_of_both,
    |backend| async move {
        let (app, _provider) = app_with_provider(backend).await;
        let start = app.open("/invite-users/status?q=x").await;
        assert_eq!(
            start.location.as_deref(),
            Some("/auth/login?next=%2Finvite-users%2Fstatus%3Fq%3Dx"),
            "a signed-out visitor goes straight to the provider's sign-in"
        );

        let done = app
            .sign_in_answer("officer.one@tech.gov.sg", true, "/invite-users/status?q=x")
            .await;
        assert_eq!(
            done.location.as_deref(),
            Some("/invite-users/status?q=x"),
            "back where it began"
        );
        assert!(app.is_signed_in().await);
        let id = app.invite("new.colleague@tech.gov.sg").await;
        assert!(!id.is_empty());
        let signed_in = app
            .count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in' AND detail = 'provider'",
            )
            .await;
        assert_eq!(signed_in, 1);

        // Sign out: here, then at the provider (RP-initiated logout with id_token_hint).
        let out = app.sign_out().await;
        let to = header(&out, "location").expect("a redirect");
        assert!(
            to.contains("/session/end") || to.contains("end_session") || to.contains("logout"),
            "to the provider: {to}"
        );
        assert!(to.contains("id_token_hint="), "{to}");
        assert!(!app.is_signed_in().await, "the session here ended at once");
        let mut page = app.open(&to).await;
        page = app.follow_to_app(page).await;
        if page.location.is_none() {
            // The provider's confirmation form (its script submits it in a browser).
            let (action, mut fields) = page.form("op.logoutForm");
            fields.push(("logout".into(), "yes".into()));
            page = app.submit(&page.url.clone(), &action, &fields).await;
            page = app.follow_to_app(page).await;
        }
        let back = page.location.clone().unwrap_or_default();
        assert!(
            back.ends_with("/signed-out"),
            "back to the app's signed-out page: {back}"
        );
        let signed_out = app.open("/signed-out").await;
        assert_eq!(signed_out.status, reqwest::StatusCode::OK);
        assert!(signed_out.body.contains("You have signed out"));

        // The provider's session ended too: a new sign-in asks for the password again.
        let start = app.open("/auth/login").await;
        let at_provider = app.follow_to_app(start).await;
        assert!(
            at_provider.body.contains("name=password"),
            "the provider asks again: {}",
            at_provider.body
        );
    }
);

both_databases!(
    agencies_see_only_their_own_invitations,
    |backend| async move {
        let (first, _provider) = app_with_provider(backend).await;
        first.signs_in_through("officer.one@tech.gov.sg").await;
        first.invite("only.tech@tech.gov.sg").await;
        let second = first.another_browser();
        second.signs_in_through("officer.two@hdb.gov.sg").await;
        let theirs = second.status_list(app::api::StatusQuery::default()).await;
        assert!(
            theirs.rows.is_empty(),
            "another agency's officer sees none: {:?}",
            theirs.rows
        );
        let ours = first.status_list(app::api::StatusQuery::default()).await;
        assert_eq!(ours.rows.len(), 1);
    }
);

both_databases!(who_may_invite_comes_from_the_claims, |backend| async move {
    let (admin, _provider) = app_with_provider(backend).await;
    admin.signs_in_through("admin@partner.example.com").await;
    let session: app::api::SessionView = admin
        .post("get_session", &[])
        .await
        .json()
        .await
        .expect("SessionView");
    let user = session.user.expect("signed in");
    assert!(
        user.may_invite,
        "a Subscription Admin ({ADMIN_GROUP}) may invite"
    );
    admin.invite("colleague@tech.gov.sg").await;
    let agency: (String,) = sqlx::query_as("SELECT inviter_agency FROM invitations")
        .fetch_one(admin.app_state.db.pool())
        .await
        .expect("the invitation");
    assert_eq!(
        agency.0, "tech.gov.sg",
        "for the agency the agency claim names"
    );

    let vendor = admin.another_browser();
    vendor.signs_in_through("vendor@vendor.example.com").await;
    let refused = vendor
        .post_refused(
            "send_invite",
            &[
                ("email", "x@tech.gov.sg"),
                ("seed_required", "no"),
                ("reason", "r"),
            ],
        )
        .await;
    assert!(
        refused.to_string().contains("Only public officers"),
        "{refused}"
    );

    let unverified = admin.another_browser();
    let done = unverified
        .sign_in_answer("unverified@tech.gov.sg", true, "/")
        .await;
    assert_eq!(failure_of(&done), "unverified");
    assert!(!unverified.is_signed_in().await);
});

both_databases!(
    forged_and_replayed_answers_are_refused,
    |backend| async move {
        let (app, provider) = app_with_provider(backend).await;

        // The state must be this session's, and is good once.
        let back = app
            .provider_sign_in("officer.one@tech.gov.sg", true, "/")
            .await;
        let location = back.location.clone().expect("redirect back");
        let wrong_state = location.replace("state=", "state=x");
        let done = app.open(&wrong_state).await;
        assert_eq!(
            failure_of(&done),
            "expired",
            "a state this session never began"
        );
        let done = app.open(&location).await;
        assert_eq!(
            done.location.as_deref(),
            Some("/"),
            "the real answer still signs in"
        );
        let replay = app.open(&location).await;
        assert_eq!(failure_of(&replay), "expired", "the same answer twice");

        // The same code with a state of a sign-in begun afresh: the provider refuses the code.
        let code = location
            .split("code=")
            .nth(1)
            .expect("code")
            .split('&')
            .next()
            .expect("code")
            .to_string();
        let start = app.open("/auth/login").await;
        let authorize = start.location.expect("to the provider");
        let state = authorize
            .split("state=")
            .nth(1)
            .expect("state")
            .split('&')
            .next()
            .expect("state")
            .to_string();
        let replayed = app
            .open(&format!("/auth/callback?code={code}&state={state}"))
            .await;
        assert_eq!(failure_of(&replayed), "expired", "a replayed code");

        // Forged ID tokens, each refused, and nobody signed in by them.
        for (mode, expected, why) in [
            ("nonce", "refused", "nonce"),
            ("expired", "expired", "expired"),
            ("audience", "refused", "audience"),
            ("issuer", "refused", "issuer"),
            ("alg-none", "refused", "no signature"),
            ("hmac-public-key", "refused", "algorithm"),
            ("unsigned-kid", "refused", "no matching key"),
            ("future-iat", "clock", "clock skew"),
        ] {
            let browser = app.another_browser();
            provider.tamper(mode).await;
            let done = browser
                .sign_in_answer("officer.one@tech.gov.sg", true, "/")
                .await;
            assert_eq!(failure_of(&done), expected, "a token forged with {mode}");
            assert!(!browser.is_signed_in().await, "{mode} signed nobody in");
            // The log line under the page's Trace ID says why.
            let location = done.location.unwrap_or_default();
            let trace = location.split("trace=").nth(1).unwrap_or_default();
            let logged = logs().contents();
            let line = logged
                .lines()
                .find(|l| l.contains(trace) && l.contains("identity provider failed"))
                .unwrap_or_else(|| panic!("no log line for {mode} under {trace}"));
            assert!(line.to_lowercase().contains(why), "{mode}: {line}");
        }
    }
);

both_databases!(
    a_key_rotation_at_the_provider_needs_no_restart,
    |backend| async move {
        let (app, provider) = app_with_provider(backend).await;
        app.signs_in_through("officer.one@tech.gov.sg").await;
        provider.rotate_keys().await;
        let later = app.another_browser();
        later.signs_in_through("officer.two@hdb.gov.sg").await;
        assert!(later.is_signed_in().await);
    }
);

both_databases!(
    signing_out_elsewhere_ends_the_session_here,
    |backend| async move {
        let (app, provider) = app_with_provider(backend).await;
        app.signs_in_through("officer.one@tech.gov.sg").await;
        let other = app.another_browser();
        other.signs_in_through("officer.two@hdb.gov.sg").await;
        assert!(app.is_signed_in().await);

        // The first officer signs out at the provider itself (another app's Sign out, say).
        let mut page = app.open(&format!("{}/session/end", provider.issuer)).await;
        page = app.follow_to_app(page).await;
        let (action, mut fields) = page.form("op.logoutForm");
        fields.push(("logout".into(), "yes".into()));
        app.submit(&page.url.clone(), &action, &fields).await;
        // The provider posts its logout token to the app before it answers.
        let mut ended = false;
        for _ in 0..50 {
            if !app.is_signed_in().await {
                ended = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            ended,
            "the back-channel logout ended the first officer's session"
        );
        assert!(other.is_signed_in().await, "and only theirs");

        // A forged logout token ends nothing.
        let forged = app
            .client
            .post(app.url("/auth/backchannel-logout"))
            .form(&[("logout_token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")])
            .send()
            .await
            .expect("POST");
        assert_eq!(forged.status(), reqwest::StatusCode::BAD_REQUEST);
        assert!(other.is_signed_in().await);
    }
);

both_databases!(
    declined_consent_and_a_provider_that_is_down_are_explained,
    |backend| async move {
        let (app, _provider) = app_with_provider(backend).await;
        let done = app
            .sign_in_answer("officer.two@hdb.gov.sg", false, "/")
            .await;
        assert_eq!(failure_of(&done), "denied");
        let to = done.location.clone().expect("to sign-in");
        let trace = to
            .split("trace=")
            .nth(1)
            .expect("trace")
            .split('&')
            .next()
            .expect("trace");
        assert!(
            logs().contents().contains(trace),
            "the Trace ID {trace} is in the server log"
        );
        let page = app.open(&to).await;
        assert_eq!(page.status, reqwest::StatusCode::OK);
        assert_mentions(
            &page.body,
            &[
                "You did not allow TechBiz Invite to sign you in",
                "Try again",
                "Trace ID",
            ],
            "the sign-in page",
        );

        // Nobody listens where this app's provider should be.
        let port = free_port();
        // Port 9 (discard): nothing listens there, and no test server is ever given it.
        let vars = oidc_vars("http://127.0.0.1:9", port);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let lonely = spawn_with(backend, &vars).await;
        let done = lonely.open("/auth/login?next=/invite-users").await;
        assert_eq!(failure_of(&done), "provider-down");
        assert!(
            done.location
                .unwrap_or_default()
                .contains("next=%2Finvite-users"),
            "Try again comes back there"
        );
    }
);

both_databases!(
    claims_only_at_the_userinfo_endpoint_are_fetched_from_there,
    |backend| async move {
        let (admin, _provider) = app_with_provider_and(backend, &[], &["--userinfo-claims"]).await;
        admin.signs_in_through("admin@partner.example.com").await;
        let session: app::api::SessionView = admin
            .post("get_session", &[])
            .await
            .json()
            .await
            .expect("SessionView");
        let user = session.user.expect("signed in");
        assert_eq!(user.email, "admin@partner.example.com");
        assert!(
            user.may_invite,
            "the admin's groups and agency came from userinfo"
        );

        let unverified = admin.another_browser();
        let done = unverified
            .sign_in_answer("unverified@tech.gov.sg", true, "/")
            .await;
        assert_eq!(
            failure_of(&done),
            "unverified",
            "email_verified is read from userinfo too"
        );
    }
);

both_databases!(
    a_client_that_proves_itself_with_a_signed_assertion_signs_in,
    |backend| async move {
        let keys = tempfile::tempdir().expect("temp dir");
        let (key_file, jwks_file) = client_key(keys.path(), "techbiz-test-key").await;
        let (app, _provider) = app_with_provider_and(
            backend,
            &[
                ("OIDC_CLIENT_AUTH", "private_key_jwt"),
                ("OIDC_PRIVATE_KEY_FILE", &key_file),
                ("OIDC_PRIVATE_KEY_ID", "techbiz-test-key"),
            ],
            &[
                "--client-auth",
                "private_key_jwt",
                "--client-jwks",
                &jwks_file,
            ],
        )
        .await;
        app.signs_in_through("officer.one@tech.gov.sg").await;
        assert!(app.is_signed_in().await);
    }
);

both_databases!(
    only_paths_on_this_site_are_returned_to,
    |backend| async move {
        let (app, _provider) = app_with_provider(backend).await;
        let done = app
            .sign_in_answer("officer.one@tech.gov.sg", true, "//evil.example/x")
            .await;
        assert_eq!(done.location.as_deref(), Some("/"));
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_that_is_not_an_openid_provider_stops_start_up() {
    // Something answers there (an app of ours), but not as an OpenID provider.
    let not_a_provider = spawn(Backend::Sqlite).await;
    let (database_url, _dir) = fresh_database(Backend::Sqlite).await;
    let mut vars = oidc_vars(&not_a_provider.base, free_port());
    vars.push(("DATABASE_URL".into(), database_url));
    let config = server::config::Config::from_lookup(|k| {
        vars.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    })
    .expect("the settings themselves are good");
    let refused = server::startup::Application::build(config)
        .await
        .err()
        .expect("start-up stops");
    let message = format!("{refused:#}");
    assert!(message.contains("OIDC_ISSUER_URL"), "{message}");
}
