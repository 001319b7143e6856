//! Invite user status through its server functions, on SQLite and PostgreSQL: one agency never
//! sees another's invitations; paging, sorting, search and the status filter on the server;
//! names once known; delivery and expiry shown; the change marker the page polls.

use crate::support;

use std::sync::Arc;

use app::api::{SortKey, StatusQuery};
use app::domain::{AccountState, Delivery, SeedState};
use app::server::relay::{DevMailbox, Relay, RelayOptions};
use app::server::status;
use reqwest::StatusCode;
use support::{signed_in_with, spawn, two_agencies, Backend};

/// Invitations made one after another can share a millisecond, and then "newest first" has
/// no one answer: tests that check that order wait a little between them.
async fn apart() {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
}

fn searching(text: &str) -> StatusQuery {
    StatusQuery {
        search: text.into(),
        ..StatusQuery::default()
    }
}

both_databases!(
    an_agency_never_sees_another_agencys_invitations,
    |b| async move {
        let (ours, theirs) = two_agencies(b).await;
        ours.invite("colleague@agency.gov.sg").await;
        theirs.invite("secret.person@other.gov.sg").await;
        theirs
            .create_account("vendor@acme.com", "acme.vendor", "Secretname")
            .await;

        let page = ours.status_list(StatusQuery::default()).await;
        let emails: Vec<&str> = page.rows.iter().map(|r| r.email.as_str()).collect();
        assert_eq!(emails, ["colleague@agency.gov.sg"]);
        assert_eq!(page.total, 1);
        for text in [
            "secret",
            "other.gov.sg",
            "vendor@acme.com",
            "Secretname",
            "%",
            "_",
        ] {
            let found = ours.status_list(searching(text)).await;
            assert!(
                found
                    .rows
                    .iter()
                    .all(|r| r.email == "colleague@agency.gov.sg"),
                "search {text:?} leaked {:?}",
                found.rows
            );
        }
        for state in AccountState::ALL {
            let found = ours
                .status_list(StatusQuery {
                    status: Some(state),
                    ..StatusQuery::default()
                })
                .await;
            assert!(found
                .rows
                .iter()
                .all(|r| r.email.ends_with("@agency.gov.sg")));
        }
        // The other agency sees its own, and a colleague in the same agency sees them too.
        assert_eq!(theirs.status_list(StatusQuery::default()).await.total, 2);
        let colleague = ours.another_user("deputy@other.gov.sg").await;
        assert_eq!(colleague.status_list(StatusQuery::default()).await.total, 2);
        // The change marker moves only for the agency whose invitations changed.
        let before = status::version(
            &ours.app_state.db,
            &crate::support::officer("x@agency.gov.sg"),
        )
        .await
        .unwrap();
        theirs.invite("another@other.gov.sg").await;
        let after = status::version(
            &ours.app_state.db,
            &crate::support::officer("x@agency.gov.sg"),
        )
        .await
        .unwrap();
        assert_eq!(before, after);
    }
);

both_databases!(only_signed_in_officers_see_the_list, |b| async move {
    let app = spawn(b).await;
    let everyone = StatusQuery::default();
    let res = app.list_invitations(&everyone).await;
    assert_ne!(res.status(), StatusCode::OK);
    app.sign_in("someone@acme.com").await;
    let res = app.list_invitations(&everyone).await;
    assert_ne!(res.status(), StatusCode::OK);
    let error: app::error::AppError = res.json().await.expect("AppError");
    assert!(
        matches!(error, app::error::AppError::Forbidden { .. }),
        "{error:?}"
    );
});

both_databases!(
    paging_sorting_search_and_filters_run_on_the_server,
    |b| async move {
        // This test runs the relay itself, when it wants the mail delivered.
        let app = signed_in_with(b, &[("RELAY_ENABLED", "false")], "boss@agency.gov.sg").await;
        // A millisecond or two apart, so that "newest first" has one answer.
        for i in 0..27 {
            app.invite(&format!("officer{i:02}@agency.gov.sg")).await;
            apart().await;
        }
        app.create_account("mei.ling@acme.com", "mei.ling", "Tan")
            .await;

        // 28 in all: a full first page, the rest on page 2, newest first by default.
        let first = app.status_list(StatusQuery::default()).await;
        assert_eq!((first.total, first.rows.len(), first.pages()), (28, 25, 2));
        assert_eq!(first.rows[0].email, "mei.ling@acme.com");
        let second = app.status_list(StatusQuery::default().at_page(2)).await;
        assert_eq!(second.rows.len(), 3);
        assert!(second.rows.iter().all(|r| !first.rows.contains(r)));
        // A page past the end shows the last page.
        let past = app.status_list(StatusQuery::default().at_page(99)).await;
        assert_eq!((past.query.page, past.rows.len()), (2, 3));

        let by_email = app
            .status_list(StatusQuery::default().sorted_by(SortKey::Email))
            .await;
        let emails: Vec<&str> = by_email.rows.iter().map(|r| r.email.as_str()).collect();
        let mut sorted = emails.clone();
        sorted.sort();
        assert_eq!(emails, sorted);
        assert_eq!(emails[0], "mei.ling@acme.com");
        // By status across pages: the 27 Invited, newest first, then the one Created.
        let by_status = StatusQuery::default().sorted_by(SortKey::Status);
        let status_1 = app.status_list(by_status.clone()).await;
        let status_2 = app.status_list(by_status.at_page(2)).await;
        assert_eq!((status_1.rows.len(), status_2.rows.len()), (25, 3));
        assert_eq!(status_1.rows[0].email, "officer26@agency.gov.sg");
        assert_eq!(status_2.rows[1].email, "officer00@agency.gov.sg");
        assert_eq!(status_2.rows[2].email, "mei.ling@acme.com");

        // Names: known for the account made on the vendor's behalf, not yet for invitees.
        let vendor = app.status_list(searching("tan")).await;
        assert_eq!(vendor.total, 1);
        let row = &vendor.rows[0];
        assert_eq!(row.name().as_deref(), Some("Mei Ling Tan"));
        assert_eq!(
            (
                row.account,
                row.seed,
                row.kind.as_str(),
                row.invitation_type.as_str()
            ),
            (
                AccountState::Created,
                SeedState::NotRequested,
                "vendor",
                "create"
            )
        );
        assert_eq!(app.status_list(searching("mei ling tan")).await.total, 1);
        assert_eq!(app.status_list(searching("OFFICER0")).await.total, 10);
        let invitee = &app.status_list(searching("officer00@")).await.rows[0];
        assert_eq!(invitee.name(), None);
        assert_eq!(
            (invitee.account, invitee.seed, invitee.delivery),
            (AccountState::Invited, SeedState::Pending, Delivery::Queued)
        );
        assert_eq!(invitee.invited_by, "boss@agency.gov.sg");

        let only = |state| StatusQuery {
            status: Some(state),
            ..StatusQuery::default()
        };
        assert_eq!(app.status_list(only(AccountState::Invited)).await.total, 27);
        assert_eq!(app.status_list(only(AccountState::Created)).await.total, 1);
        assert_eq!(app.status_list(only(AccountState::Active)).await.total, 0);

        // The relay delivers: the delivery column says so, and the change marker moves.
        let db = &app.app_state.db;
        let officer = crate::support::officer("boss@agency.gov.sg");
        let before = status::version(db, &officer).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let relay = Relay::new(
            db.clone(),
            Arc::new(DevMailbox::new(db.clone())),
            RelayOptions {
                batch: 100,
                ..RelayOptions::default()
            },
            app.app_state.settings.link_secret.clone(),
        );
        relay.run_once().await.expect("relay");
        assert_ne!(status::version(db, &officer).await.unwrap(), before);
        let page = app.status_list(StatusQuery::default()).await;
        assert!(page.rows.iter().all(|r| r.delivery == Delivery::Sent));

        // Expiry is decided at the time asked about: 15 days on, every open invitation has
        // expired (the default is 14 days), and the filter finds them.
        let later = app::server::clock::now_millis() + 15 * 86_400_000;
        let counts = &app.app_state.counts;
        let expired = status::list(db, counts, &officer, &only(AccountState::Expired), later)
            .await
            .unwrap();
        assert_eq!(expired.total, 28);
        assert!(expired
            .rows
            .iter()
            .all(|r| r.account == AccountState::Expired));
        let sql =
            "UPDATE invitations SET status = 'revoked' WHERE email_key = 'officer01@agency.gov.sg'";
        sqlx::query(sql).execute(db.pool()).await.expect(sql);
        assert_eq!(app.status_list(only(AccountState::Revoked)).await.total, 1);
    }
);

both_databases!(
    the_export_is_the_filtered_list_of_the_agency_with_formulas_defused,
    |b| async move {
        let (app, theirs) = two_agencies(b).await;
        theirs.invite("secret@other.gov.sg").await;
        app.invite("plain@agency.gov.sg").await;
        app.create_account("lee@acme.com", "lee.vendor", "-Lee")
            .await;

        // Signed out: sent to sign in.
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(app.url("/invite-users/status/export.csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);

        let res = app
            .get_expecting(
                "/invite-users/status/export.csv?sort=email&dir=asc",
                StatusCode::OK,
            )
            .await;
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv"));
        let body = res.bytes().await.unwrap();
        let body = body
            .strip_prefix(b"\xEF\xBB\xBF")
            .expect("a byte-order mark");
        let mut reader = csv::Reader::from_reader(body);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let column = |i: usize| records.iter().map(|r| r[i].to_string()).collect::<Vec<_>>();
        assert_eq!(column(0), ["lee@acme.com", "plain@agency.gov.sg"]);
        // The stored name stays as typed; the file's cell cannot run as a formula.
        assert_eq!(column(2), ["'-Lee", ""]);
        let listed = app.status_list(searching("lee@")).await;
        assert_eq!(listed.rows[0].last_name.as_deref(), Some("-Lee"));

        // The filter applies, and the workbook holds the same rows as text.
        let res = app
            .get_expecting(
                "/invite-users/status/export.xlsx?status=created",
                StatusCode::OK,
            )
            .await;
        let bytes = res.bytes().await.unwrap().to_vec();
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> =
            calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("a workbook");
        let sheet = book
            .worksheet_range("Invite user status")
            .expect("the sheet");
        let rows: Vec<Vec<String>> = sheet
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0][0], "Email address");
        assert_eq!(
            (rows[1][0].as_str(), rows[1][2].as_str()),
            ("lee@acme.com", "-Lee")
        );
    }
);

both_databases!(
    search_sorts_and_counts_come_from_the_indexes,
    |b| async move {
        let app = signed_in_with(b, &[("RELAY_ENABLED", "false")], "boss@agency.gov.sg").await;
        for email in [
            "first.officer@agency.gov.sg",
            "second.officer@agency.gov.sg",
        ] {
            app.invite(email).await;
            apart().await;
        }
        for (email, username, last) in [
            ("t.one@acme.com", "t.one", "Tan"),
            ("a.two@supplier.io", "a.two", "Abdullah"),
            ("n.three@acme.com", "n.three", "Ng"),
        ] {
            app.create_account(email, username, last).await;
            apart().await;
        }
        let last_names = |page: &app::api::StatusPage| -> Vec<Option<String>> {
            page.rows.iter().map(|r| r.last_name.clone()).collect()
        };

        // By name: last name, then first; the invitees whose names are unknown come first.
        let by_name = app
            .status_list(StatusQuery::default().sorted_by(SortKey::Name))
            .await;
        assert_eq!(
            last_names(&by_name),
            [
                None,
                None,
                Some("Abdullah".into()),
                Some("Ng".into()),
                Some("Tan".into())
            ]
        );

        // By status: Invited before Created (the order of the filter), newest first within
        // each; the other way round, Created first, still newest first within each.
        let by_status = app
            .status_list(StatusQuery::default().sorted_by(SortKey::Status))
            .await;
        let emails = |page: &app::api::StatusPage| -> Vec<String> {
            page.rows.iter().map(|r| r.email.clone()).collect()
        };
        assert_eq!(
            emails(&by_status),
            [
                "second.officer@agency.gov.sg",
                "first.officer@agency.gov.sg",
                "n.three@acme.com",
                "a.two@supplier.io",
                "t.one@acme.com",
            ]
        );
        let reversed = app
            .status_list(StatusQuery {
                descending: true,
                ..StatusQuery::default().sorted_by(SortKey::Status)
            })
            .await;
        assert_eq!(
            emails(&reversed),
            [
                "n.three@acme.com",
                "a.two@supplier.io",
                "t.one@acme.com",
                "second.officer@agency.gov.sg",
                "first.officer@agency.gov.sg",
            ]
        );

        // Search: every word must start a word of the address or the names.
        for (text, expected) in [
            ("officer", 2),
            ("second", 1),
            ("Mei Ling", 3),
            ("ling tan", 1),
            ("tan LING", 1),
            ("@acme.com", 2),
            ("supplier.io", 1),
            ("t.one@acme.com", 1),
            ("fficer", 0),
            ("an", 0),
            ("gov.sg", 0),
        ] {
            assert_eq!(
                app.status_list(searching(text)).await.total,
                expected,
                "{text}"
            );
        }

        // A count already made follows the list as it changes.
        assert_eq!(app.status_list(searching("tan")).await.total, 1);
        app.create_account("tanaka@acme.com", "tanaka", "Tanaka")
            .await;
        let tan = app.status_list(searching("tan")).await;
        assert_eq!((tan.total, tan.rows.len()), (2, 2));

        // Invitations from before the search terms existed are indexed at start-up.
        let db = &app.app_state.db;
        for sql in [
            "DELETE FROM invitation_terms",
            "UPDATE invitations SET terms_version = 0, name_key = ''",
        ] {
            sqlx::query(sql).execute(db.pool()).await.expect(sql);
        }
        assert_eq!(app.status_list(searching("abdullah")).await.total, 0);
        assert_eq!(
            app::server::search::backfill(db).await.expect("backfill"),
            6
        );
        assert_eq!(app::server::search::backfill(db).await.expect("again"), 0);
        assert_eq!(app.status_list(searching("ng mei")).await.total, 1);
        let by_name = app
            .status_list(StatusQuery::default().sorted_by(SortKey::Name))
            .await;
        assert_eq!(by_name.rows[2].last_name.as_deref(), Some("Abdullah"));
    }
);

both_databases!(counts_of_the_filters_follow_the_clock, |b| async move {
    let app = signed_in_with(b, &[("RELAY_ENABLED", "false")], "boss@agency.gov.sg").await;
    app.invite("soon@agency.gov.sg").await;
    let db = &app.app_state.db;
    let counts = &app.app_state.counts;
    let officer = &crate::support::officer("boss@agency.gov.sg");
    let at = |when: i64, state| {
        let query = StatusQuery {
            status: Some(state),
            ..StatusQuery::default()
        };
        async move {
            status::list(db, counts, officer, &query, when)
                .await
                .unwrap()
        }
    };
    let now = app::server::clock::now_millis();
    // Counted now (and kept), then asked again after the link has run out, with nothing
    // changed in the database: the kept counts are not used past the expiry.
    assert_eq!(at(now, AccountState::Invited).await.total, 1);
    assert_eq!(at(now, AccountState::Expired).await.total, 0);
    let later = now + 15 * 86_400_000;
    assert_eq!(at(later, AccountState::Invited).await.total, 0);
    let expired = at(later, AccountState::Expired).await;
    assert_eq!((expired.total, expired.rows.len()), (1, 1));
    // By status, the row shows in its state at the time asked about.
    let by_status = status::list(
        db,
        counts,
        officer,
        &StatusQuery::default().sorted_by(SortKey::Status),
        later,
    )
    .await
    .unwrap();
    assert_eq!(by_status.rows[0].account, AccountState::Expired);
});

/// The search terms stored for the invitation `id`, as text, in order.
async fn stored_terms(app: &support::TestApp, id: &str) -> Vec<String> {
    let rows: Vec<(Vec<u8>,)> =
        sqlx::query_as("SELECT term FROM invitation_terms WHERE invitation_id = $1")
            .bind(id)
            .fetch_all(app.app_state.db.pool())
            .await
            .expect("terms");
    let mut terms: Vec<String> = rows
        .into_iter()
        .map(|(t,)| String::from_utf8(t).expect("UTF-8"))
        .collect();
    terms.sort();
    terms
}

both_databases!(
    a_sign_up_replaces_the_terms_of_the_address_with_those_of_the_names,
    |b| async move {
        let app = signed_in_with(b, &[("RELAY_ENABLED", "false")], "boss@agency.gov.sg").await;
        let db = app.app_state.db.clone();
        let directory = app.app_state.provisioning.clone();
        let details = |first: &str| app::server::signup::RawSignUp {
            first_name: first.into(),
            last_name: "Lim".into(),
            contact_number: "8123 4567".into(),
            organisation: "GovTech".into(),
            department: String::new(),
        };
        // Terms of this code's version: deleted through the lookup index, as computed from
        // the invitation's columns. Terms of older code (version 0, as before an upgrade's
        // backfill): found among the agency's.
        // And a batch's invitation whose terms were not written yet (-1): none to delete.
        for (email, version) in [
            ("wei.lim@agency.gov.sg", 1),
            ("mei.lim@agency.gov.sg", 0),
            ("kim.lim@agency.gov.sg", -1),
        ] {
            let id = app.invite(email).await;
            let local = email.split_once('@').expect("address").0;
            let first = local.split_once('.').expect("first.last").0;
            assert_eq!(
                stored_terms(&app, &id).await,
                [email, "agency.gov.sg", &email[first.len() + 1..]]
                    .iter()
                    .copied()
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
            );
            // A term the invitation's columns give (it is known as Xavier Lim), and for the
            // older code's version one they cannot give: both must go.
            if version == -1 {
                sqlx::query("DELETE FROM invitation_terms WHERE invitation_id = $1")
                    .bind(&id)
                    .execute(db.pool())
                    .await
                    .expect("no terms");
            }
            let (sql, extra): (&str, &[&str]) = match version {
                0 => (
                    "UPDATE invitations SET terms_version = 0 WHERE id = $1",
                    &["obsolete"],
                ),
                -1 => (
                    "UPDATE invitations SET terms_version = -1 WHERE id = $1",
                    &[],
                ),
                _ => (
                    "UPDATE invitations SET first_name = 'Xavier', last_name = 'Lim' \
                     WHERE id = $1",
                    &["xavier", "lim"],
                ),
            };
            sqlx::query(sql)
                .bind(&id)
                .execute(db.pool())
                .await
                .expect(sql);
            for term in extra {
                sqlx::query(
                    "INSERT INTO invitation_terms (agency, term, invitation_id) \
                     SELECT inviter_agency, $1, id FROM invitations WHERE id = $2",
                )
                .bind(term.as_bytes().to_vec())
                .bind(&id)
                .execute(db.pool())
                .await
                .expect("a term");
            }
            let token = app.tokens_to(email).await.remove(0);
            app::server::signup::sign_up(&db, directory.directory(), &token, details("Ah Seng"))
                .await
                .expect("signed up");
            let mut want = vec![
                email.to_string(),
                "agency.gov.sg".to_string(),
                email[first.len() + 1..].to_string(),
                "ah".to_string(),
                "seng".to_string(),
                "lim".to_string(),
            ];
            want.sort();
            want.dedup();
            assert_eq!(stored_terms(&app, &id).await, want, "{email}");
            let found = app.status_list(searching("ah seng")).await;
            assert!(found.rows.iter().any(|r| r.email == email), "{email}");
        }
        // Nothing is left for the start-up backfill: all are of this code's version.
        assert_eq!(
            app::server::search::backfill(&db).await.expect("backfill"),
            0
        );
        let by_name = app
            .status_list(StatusQuery::default().sorted_by(SortKey::Name))
            .await;
        assert!(by_name
            .rows
            .iter()
            .all(|r| r.first_name.as_deref() == Some("Ah Seng")));
    }
);

both_databases!(
    the_status_page_is_rendered_from_one_load_of_its_list,
    |b| async move {
        // The browser hydrates the page with the first list the server's render loaded; were
        // the page built more than once there (a Suspense above the layout's Outlet walks it
        // again), each build would load the list again, the HTML would show the last load,
        // and a list that changed in between (an account made meanwhile) would break the
        // page's hydration. One load: one serialized list.
        let app = signed_in_with(b, &[("RELAY_ENABLED", "false")], "boss@agency.gov.sg").await;
        app.invite("colleague@agency.gov.sg").await;
        let html = app
            .get_expecting("/invite-users/status", StatusCode::OK)
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("colleague@agency.gov.sg"), "{html}");
        assert_eq!(
            html.matches(r#"\"rows\":["#).count(),
            1,
            "the list, serialized for the browser, once: {html}"
        );
    }
);
