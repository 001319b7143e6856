//! Batch upload on SQLite and PostgreSQL: the templates, the pre-check, and the submit that is
//! idempotent per (batch key, row id) even when the same rows arrive twice at once.

use crate::support;

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use app::api::{BatchOutcome, BatchRow, PrecheckRow, RowIssue, RowResult};
use app::domain::RawAccount;
use app::error::AppError;
use app::import::COLUMNS;
use calamine::{Data, Reader, Xlsx};
use reqwest::StatusCode;
use serde_json::json;
use support::{
    assert_mentions, header, signed_in, signed_in_with, spawn, waiting_queries, waiting_query,
    Backend, TestApp,
};

const KEY: &str = "0b7c8a52-3f1e-4d8a-9c5b-1a2b3c4d5e6f";

const CSV_TEMPLATE: &str = "/templates/techbiz-invite-users.csv";

fn vendor(email: &str, username: &str) -> RawAccount {
    RawAccount {
        email: email.into(),
        username: username.into(),
        first_name: "Mei Ling".into(),
        last_name: "Tan".into(),
        contact_number: "+65 9123 4567".into(),
        organisation: "Acme Pte Ltd".into(),
        department: String::new(),
        seed_required: "No".into(),
        reason: "Vendor developer on the project".into(),
    }
}

fn officer(email: &str) -> RawAccount {
    RawAccount {
        organisation: "GovTech".into(),
        seed_required: "Yes".into(),
        ..vendor(email, "")
    }
}

fn row(id: &str, raw: RawAccount) -> BatchRow {
    BatchRow {
        row_id: id.into(),
        raw,
    }
}

/// `n` valid vendor rows, row ids `r1`..
fn vendors(n: usize, tag: &str) -> Vec<BatchRow> {
    (1..=n)
        .map(|i| {
            row(
                &format!("r{i}"),
                vendor(&format!("{tag}{i}@acme.com"), &format!("{tag}.user{i}")),
            )
        })
        .collect()
}

async fn try_submit(app: &TestApp, key: &str, rows: &[BatchRow]) -> reqwest::Response {
    app.post_json(
        "submit_batch",
        &json!({ "batch_key": key, "file_name": "staff.xlsx", "rows": rows }),
    )
    .await
}

async fn submit(app: &TestApp, key: &str, rows: &[BatchRow]) -> BatchOutcome {
    let res = try_submit(app, key, rows).await;
    let status = res.status();
    let trace = header(&res, "x-trace-id").unwrap_or_default();
    let body = res.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "{body}");
    let outcome: BatchOutcome = serde_json::from_str(&body).expect("BatchOutcome");
    assert_eq!(outcome.trace_id, trace, "the call's own Trace ID");
    outcome
}

async fn submit_err(app: &TestApp, key: &str, rows: &[BatchRow]) -> AppError {
    let res = try_submit(app, key, rows).await;
    assert_ne!(res.status(), StatusCode::OK);
    res.json().await.expect("AppError")
}

async fn precheck(app: &TestApp, rows: &[PrecheckRow]) -> Vec<RowIssue> {
    let res = app
        .post_json("precheck_batch", &json!({ "rows": rows }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("issues")
}

fn check(id: &str, email: &str, username: &str) -> PrecheckRow {
    PrecheckRow {
        row_id: id.into(),
        email: email.into(),
        username: username.into(),
    }
}

/// Row id → invitation id of the invited rows.
fn invited(outcome: &BatchOutcome) -> HashMap<String, String> {
    outcome
        .rows
        .iter()
        .filter_map(|r| match &r.result {
            RowResult::Invited { invitation_id, .. } => {
                Some((r.row_id.clone(), invitation_id.clone()))
            }
            RowResult::Rejected { .. } => None,
        })
        .collect()
}

/// The rejected field names and messages of row `id`.
fn rejected<'a>(outcome: &'a BatchOutcome, id: &str) -> Vec<(&'a str, &'a str)> {
    let found = outcome
        .rows
        .iter()
        .find(|r| r.row_id == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"));
    match &found.result {
        RowResult::Rejected { fields } => fields
            .iter()
            .map(|f| (f.field.as_str(), f.message.as_str()))
            .collect(),
        other => panic!("{id} should be rejected: {other:?}"),
    }
}

/// [`totals`] (invitations, outbox emails, accounts and batch lines) once they are `want` and
/// no account is still being made, waiting up to 60 s: a chunk answers once its rows are
/// stored, and their accounts are made right after (on a loaded machine a directory call
/// that found SQLite busy is tried again seconds later).
async fn settled_totals(app: &TestApp, want: [i64; 4]) -> [i64; 4] {
    let mut now = totals(app).await;
    for _ in 0..600 {
        if now == want && provisioning_left(app).await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        now = totals(app).await;
    }
    now
}

async fn provisioning_left(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM invitations WHERE status = 'provisioning'")
        .await
}

/// Waits up to 60 s for every account of the stored rows to be made (or to fail).
async fn provisioned(app: &TestApp) {
    for _ in 0..600 {
        if provisioning_left(app).await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("accounts were still being made after 60 s");
}

async fn totals(app: &TestApp) -> [i64; 4] {
    [
        app.count("SELECT COUNT(*) FROM invitations").await,
        app.count("SELECT COUNT(*) FROM outbox").await,
        app.count("SELECT COUNT(*) FROM accounts").await,
        app.count("SELECT COUNT(*) FROM batch_rows").await,
    ]
}

/// The answer is the file `file_name` to save, of `content_type`, which the browser asks for
/// again each time (a template is never stale).
fn assert_download(res: &reqwest::Response, content_type: &str, file_name: &str) {
    let header = |name: &str| header(res, name).unwrap_or_default();
    assert_eq!(header("content-type"), content_type);
    assert_eq!(
        header("content-disposition"),
        format!("attachment; filename=\"{file_name}\"")
    );
    assert_eq!(header("cache-control"), "no-cache");
}

fn zip_part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("an xlsx is a zip");
    let mut part = archive.by_name(name).expect(name);
    let mut xml = String::new();
    part.read_to_string(&mut xml).expect("utf-8 xml");
    xml
}

both_databases!(
    the_xlsx_template_has_the_columns_and_helps_fill_them,
    |b| async move {
        let app = spawn(b).await;
        let res = app.get("/templates/techbiz-invite-users.xlsx").await;
        assert_eq!(res.status(), StatusCode::OK, "public: nobody signed in");
        assert_download(
            &res,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "techbiz-invite-users.xlsx",
        );
        let bytes = res.bytes().await.expect("body").to_vec();

        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(Cursor::new(bytes.clone())).expect("an xlsx");
        assert_eq!(book.sheet_names(), vec!["Users", "Instructions"]);
        let users = book.worksheet_range("Users").expect("Users sheet");
        let headers: Vec<String> = users
            .rows()
            .next()
            .expect("a header row")
            .iter()
            .map(|c| c.to_string())
            .collect();
        let expected: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
        assert_eq!(headers, expected);
        assert_eq!(users.height(), 1, "no example row to invite by mistake");
        let help = book.worksheet_range("Instructions").expect("Instructions");
        let text: Vec<String> = help
            .cells()
            .filter_map(|(_, _, c)| match c {
                Data::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let all = text.join("\n");
        // The limits, the number format, what may stay empty.
        let advice = [
            "100,000",
            "+65 9123 4567",
            "leave it blank",
            "500 characters",
        ];
        assert_mentions(&all, &advice, "Instructions");
        for c in COLUMNS.iter() {
            assert!(text.iter().any(|t| t == c.header), "{} explained", c.header);
        }

        // What calamine does not show: the text format, the Yes/No list and the frozen header.
        let sheet = zip_part(&bytes, "xl/worksheets/sheet1.xml");
        let styles = zip_part(&bytes, "xl/styles.xml");
        let contact = COLUMNS
            .iter()
            .position(|c| c.field == "contact_number")
            .expect("contact column")
            + 1;
        let col = sheet
            .split("<col ")
            .skip(1)
            .find(|c| c.starts_with(&format!("min=\"{contact}\" max=\"{contact}\"")))
            .expect("a <col> entry for Contact number");
        let style: usize = col
            .split("style=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .expect("Contact number has a column style");
        let xfs = styles
            .split("<cellXfs")
            .nth(1)
            .and_then(|s| s.split("</cellXfs>").next())
            .expect("cellXfs");
        let xf = xfs.split("<xf ").nth(style + 1).expect("the column's xf");
        let num_fmt = xf
            .split("numFmtId=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a number format");
        // Text is Excel's built-in format 49, or a custom format whose code is "@".
        assert!(
            num_fmt == "49"
                || styles.contains(&format!("<numFmt numFmtId=\"{num_fmt}\" formatCode=\"@\"")),
            "Contact number is text (@): {xf}"
        );
        assert!(sheet.contains("<dataValidation type=\"list\""), "{sheet}");
        assert!(
            sheet.contains("sqref=\"H2:H100001\""),
            "SEED list on rows 2..=100001"
        );
        assert!(sheet.contains("&quot;Yes,No&quot;") || sheet.contains("\"Yes,No\""));
        assert!(sheet.contains("ySplit=\"1\""), "header row frozen");
    }
);

both_databases!(
    the_csv_template_is_the_header_line_in_utf8,
    |b| async move {
        let app = spawn(b).await;
        let res = app.get_expecting(CSV_TEMPLATE, StatusCode::OK).await;
        assert_download(&res, "text/csv; charset=utf-8", "techbiz-invite-users.csv");
        let bytes = res.bytes().await.expect("body");
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 byte order mark");
        let text = std::str::from_utf8(&bytes[3..]).expect("utf-8");
        let expected: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
        assert_eq!(text, format!("{}\r\n", expected.join(",")));
    }
);

both_databases!(
    precheck_flags_accounts_invitations_and_taken_usernames_whatever_the_case,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let existing = vendor("dev@acme.com", "mei.tan");
        let form = [
            ("email", existing.email.as_str()),
            ("username", existing.username.as_str()),
            ("first_name", "Mei Ling"),
            ("last_name", "Tan"),
            ("contact_number", "9123 4567"),
            ("organisation", "Acme Pte Ltd"),
            ("seed_required", "no"),
            ("reason", "Vendor"),
        ];
        assert_eq!(
            app.post("create_account", &form).await.status(),
            StatusCode::OK
        );
        let invite = [
            ("email", "New.Officer@Agency.gov.sg"),
            ("seed_required", "yes"),
            ("reason", "Joining"),
        ];
        assert_eq!(
            app.post("send_invite", &invite).await.status(),
            StatusCode::OK
        );

        let issues = precheck(
            &app,
            &[
                check("1", "DEV@ACME.COM", "someone"),
                check("2", "new.officer@AGENCY.gov.sg", ""),
                check("3", "fresh@acme.com", "Mei.Tan"),
                check("4", "clean@acme.com", "clean.user"),
                check("5", "not an email", "mei.tan"),
                check("6", "peer@tech.gov.sg", ""),
            ],
        )
        .await;
        let got: Vec<(&str, &str)> = issues
            .iter()
            .map(|i| (i.row_id.as_str(), i.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("1", "email"), ("2", "email"), ("3", "username")],
            "{issues:?}"
        );
        // Named as that row spells it (the domain in lower case), as Create account does.
        assert_eq!(
            issues[0].message,
            "DEV@acme.com already has a TechPass account, so there is nothing to send"
        );
        assert_eq!(
            issues[1].message,
            "new.officer@agency.gov.sg already has a pending invitation. See Invite user \
             status to follow it up"
        );
        assert_eq!(
            issues[2].message,
            "The TechPass username mei.tan is taken. Choose another"
        );
        assert!(precheck(&app, &[]).await.is_empty());
    }
);

both_databases!(
    a_precheck_of_10000_rows_fits_the_body_limit,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let rows: Vec<PrecheckRow> = (0..10_000)
            .map(|i| {
                // Long but valid: a 64-character local part, a long domain.
                check(
                    &format!("{i:08}-0000-4000-8000-000000000000"),
                    &format!(
                        "firstname.middlename.lastname.of.a.vendor.developer.{i:011}\
                         @subsidiary.vendor-company-with-a-long-name.example.com.sg"
                    ),
                    &format!("vendor.developer.user.{i:05}"),
                )
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "rows": rows })).expect("json");
        assert!(
            body.len() > 2 * 1024 * 1024,
            "over axum's default limit: {} bytes",
            body.len()
        );
        assert!(precheck(&app, &rows).await.is_empty());

        // Other server functions keep the 2 MB default: a valid call (unknown fields are
        // ignored) answers at 1 MB, and a call of 3 MB is refused by the limit on its
        // declared length, before a byte of its body is read.
        let call = |padding: usize| json!({ "query": app::api::StatusQuery::default(), "padding": "x".repeat(padding) });
        let res = app.post_json("list_invitations", &call(1024 * 1024)).await;
        assert_eq!(res.status(), StatusCode::OK, "a valid call under the limit");
        let refused = app
            .status_of_call_declaring("list_invitations", 3 * 1024 * 1024)
            .await;
        assert_eq!(refused, StatusCode::PAYLOAD_TOO_LARGE.as_u16());
        assert_eq!(app.count("SELECT COUNT(*) FROM invitations").await, 0);
    }
);

both_databases!(
    submit_invites_valid_rows_and_names_what_is_wrong_with_the_others,
    |b| async move {
        // The relay stays off, so each row's email is still pending when it is read.
        let app = signed_in_with(b, &[("RELAY_ENABLED", "false")], "boss@agency.gov.sg").await;
        // Already there: an account (and open invitation) for dev@acme.com, username mei.tan.
        let first = submit(
            &app,
            "7d0c1f7e-0000-4000-8000-000000000001",
            &[row("x", vendor("dev@acme.com", "mei.tan"))],
        )
        .await;
        assert_eq!(invited(&first).len(), 1);
        let before = settled_totals(&app, [1; 4]).await;
        assert_eq!(before, [1, 1, 1, 1]);

        let mut bad_phone = vendor("c@acme.com", "vendor.c");
        bad_phone.contact_number = "12ab".into();
        let mut no_reason = officer("h@tech.gov.sg");
        no_reason.reason = String::new();
        no_reason.first_name = String::new();
        let rows = vec![
            row("a", vendor("a@acme.com", "Vendor.A")),
            row("b", officer("b@tech.gov.sg")),
            row("c", bad_phone),
            row("d", vendor("DEV@acme.com", "another")),
            row("e", vendor("e@acme.com", "mei.tan")),
            row("f", vendor("A@ACME.COM", "vendor.f")),
            row("g", vendor("g@acme.com", "vendor.a")),
            row("h", no_reason),
        ];
        let out = submit(&app, KEY, &rows).await;
        let ids: Vec<&str> = out.rows.iter().map(|r| r.row_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d", "e", "f", "g", "h"], "in order");
        let done = invited(&out);
        assert_eq!(done.len(), 2, "{out:?}");
        assert!(done.contains_key("a") && done.contains_key("b"));
        assert!(matches!(
            &out.rows[0].result,
            RowResult::Invited { email, .. } if email == "a@acme.com"
        ));
        assert_eq!(rejected(&out, "c")[0].0, "contact_number");
        let d = rejected(&out, "d");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].0, "email");
        assert!(d[0].1.contains("already has a TechPass account"), "{d:?}");
        assert_eq!(
            rejected(&out, "e"),
            vec![(
                "username",
                "The TechPass username mei.tan is taken. Choose another"
            )]
        );
        let f = rejected(&out, "f");
        assert_eq!(f[0].0, "email");
        assert!(f[0].1.contains("more than once"), "{f:?}");
        let g = rejected(&out, "g");
        assert_eq!(g[0].0, "username");
        assert!(g[0].1.contains("more than once"), "{g:?}");
        let h: Vec<&str> = rejected(&out, "h").iter().map(|f| f.0).collect();
        assert_eq!(
            h,
            ["first_name", "reason"],
            "every bad field, in form order"
        );

        assert_eq!(
            settled_totals(&app, [3; 4]).await,
            [3, 3, 3, 3],
            "two more of each, exactly"
        );
        // The rows the checks left (d to g parse, but are refused inside the transaction)
        // are stored under their own row ids, invitations and addresses.
        let lines: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT b.row_id, b.invitation_id, i.email FROM batch_rows b \
             JOIN invitations i ON i.id = b.invitation_id WHERE b.batch_id = $1 ORDER BY b.row_id",
        )
        .bind(KEY)
        .fetch_all(app.app_state.db.pool())
        .await
        .expect("the batch's lines");
        assert_eq!(
            lines,
            [
                ("a".to_string(), done["a"].clone(), "a@acme.com".to_string()),
                (
                    "b".to_string(),
                    done["b"].clone(),
                    "b@tech.gov.sg".to_string()
                ),
            ]
        );
        let stored: (String, String, Option<String>, Option<String>, String) = sqlx::query_as(
            "SELECT i.invitation_type, i.status, i.username, a.username, a.status \
             FROM invitations i JOIN accounts a ON a.id = i.account_id WHERE i.id = $1",
        )
        .bind(&done["a"])
        .fetch_one(app.app_state.db.pool())
        .await
        .expect("invitation a");
        assert_eq!(
            stored,
            (
                "batch".into(),
                "created".into(),
                Some("vendor.a".into()),
                Some("vendor.a".into()),
                "created".into()
            )
        );
        let mail: (String, String) = sqlx::query_as(
            "SELECT recipient, subject FROM outbox WHERE invitation_id = $1 AND status IN ('pending', 'sent')",
        )
        .bind(&done["a"])
        .fetch_one(app.app_state.db.pool())
        .await
        .expect("queued email");
        assert_eq!(mail.0, "a@acme.com");
        assert_eq!(mail.1, "Your TechPass account is ready to activate");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'batch_create_account'")
                .await,
            3
        );
        let batch: (String, String, String, i64, i64) = sqlx::query_as(
            "SELECT inviter_email, inviter_agency, file_name, invited_count, rejected_count \
             FROM batches WHERE id = $1",
        )
        .bind(KEY)
        .fetch_one(app.app_state.db.pool())
        .await
        .expect("batch");
        assert_eq!(
            batch,
            (
                "boss@agency.gov.sg".into(),
                "agency.gov.sg".into(),
                "staff.xlsx".into(),
                2,
                6
            )
        );
    }
);

both_databases!(
    resubmitting_returns_the_same_invitations_and_writes_nothing,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let mut rows = vendors(5, "v");
        rows[2].raw.contact_number = "not a number".into();
        let first = submit(&app, KEY, &rows).await;
        assert_eq!(invited(&first).len(), 4);
        let after_first = settled_totals(&app, [4; 4]).await;
        assert_eq!(after_first, [4, 4, 4, 4]);
        let audit = "SELECT COUNT(*) FROM audit_log WHERE action = 'batch_create_account'";
        assert_eq!(app.count(audit).await, 4);

        // A double click, a retry after a lost response, the key in another spelling.
        let again = submit(&app, KEY, &rows).await;
        assert_eq!(invited(&again), invited(&first));
        assert_eq!(again.rows, first.rows);
        let upper = submit(&app, &KEY.to_uppercase(), &rows).await;
        assert_eq!(invited(&upper), invited(&first));
        assert_eq!(totals(&app).await, after_first, "nothing new written");
        assert_eq!(app.count(audit).await, 4);

        // The rejected row, fixed, sent alone: invited; the others are still the same.
        let mut fixed = rows[2].clone();
        fixed.raw.contact_number = "+65 8123 4567".into();
        let alone = submit(&app, KEY, std::slice::from_ref(&fixed)).await;
        let r3 = invited(&alone);
        assert!(r3.contains_key("r3"), "{alone:?}");
        rows[2] = fixed;
        let whole = submit(&app, KEY, &rows).await;
        let mut expected = invited(&first);
        expected.extend(r3);
        assert_eq!(invited(&whole), expected);
        assert_eq!(settled_totals(&app, [5; 4]).await, [5, 5, 5, 5]);
    }
);

both_databases!(
    concurrent_submits_of_the_same_rows_invite_each_person_once,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let rows = vendors(500, "c");
        let (one, two) = tokio::join!(submit(&app, KEY, &rows), submit(&app, KEY, &rows));
        let (one, two) = (invited(&one), invited(&two));
        assert_eq!(one.len(), 500, "every row invited");
        assert_eq!(one, two, "both calls answer with the same invitations");
        assert_eq!(settled_totals(&app, [500; 4]).await, [500, 500, 500, 500]);
        assert_eq!(
            app.count("SELECT COUNT(DISTINCT recipient) FROM outbox")
                .await,
            500,
            "one email per person"
        );
    }
);

both_databases!(
    two_officers_uploading_the_same_people_at_once_invite_each_once,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let other = app.another_user("peer@agency.gov.sg").await;
        let rows = vendors(300, "p");
        let mut reversed = rows.clone();
        reversed.reverse();
        let (mine, theirs) = tokio::join!(
            submit(&app, KEY, &rows),
            submit(&other, "1b7c8a52-3f1e-4d8a-9c5b-1a2b3c4d5e6f", &reversed)
        );
        let (mine, theirs) = (invited(&mine), invited(&theirs));
        assert_eq!(
            mine.len() + theirs.len(),
            300,
            "each person invited by one of them"
        );
        let both: HashSet<&String> = mine.keys().filter(|k| theirs.contains_key(*k)).collect();
        assert!(both.is_empty(), "{both:?}");
        assert_eq!(settled_totals(&app, [300; 4]).await, [300, 300, 300, 300]);
    }
);

both_databases!(
    the_same_person_twice_in_one_list_is_invited_once,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let out = submit(
            &app,
            KEY,
            &[
                row("1", officer("twin@tech.gov.sg")),
                row("2", officer("Twin@Tech.gov.sg")),
            ],
        )
        .await;
        assert!(invited(&out).contains_key("1"));
        let second = rejected(&out, "2");
        assert_eq!(second[0].0, "email");
        assert!(second[0].1.contains("more than once"), "{second:?}");
        // In a later chunk of the same list, too.
        let later = submit(&app, KEY, &[row("3", officer("TWIN@tech.gov.sg"))]).await;
        let third = rejected(&later, "3");
        assert!(third[0].1.contains("more than once"), "{third:?}");
        assert_eq!(settled_totals(&app, [1; 4]).await, [1, 1, 1, 1]);
    }
);

/// `rows` as the page sends a list: in two chunks at once (split in half). Their outcomes, in
/// order. On PostgreSQL the chunks are made to overlap whatever the machine's load: a
/// transaction of the test's own makes the list's batch row and holds it uncommitted until
/// both chunks wait for a lock (both stored, at their batch row; or one there and the other
/// at a row the first stored), then rolls it back. SQLite stores one after the other. The
/// batch's count of invited rows is its lines'.
async fn two_chunks_at_once(app: &TestApp, b: Backend, rows: &[BatchRow]) -> BatchOutcome {
    let holder = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(
            holding(
                app,
                "INSERT INTO batches (id, inviter_email, inviter_agency, file_name, \
                 invited_count, rejected_count, created_at, updated_at) \
                 VALUES ($1, 'boss@agency.gov.sg', 'agency.gov.sg', 'held.csv', 0, 0, 0, 0)",
            )
            .await,
        ),
    };
    let (one, two) = rows.split_at(rows.len() / 2);
    let send = |rows: &[BatchRow]| {
        let app = app.same_browser();
        let rows = rows.to_vec();
        tokio::spawn(async move { submit(&app, KEY, &rows).await })
    };
    let (one, two) = (send(one), send(two));
    if let Some(holder) = holder {
        waiting_queries(app, "", 2).await;
        holder.rollback().await.expect("rollback");
    }
    let (one, two) = (one.await.expect("a chunk"), two.await.expect("a chunk"));
    let counted: (i64, i64) = sqlx::query_as(
        "SELECT invited_count, (SELECT COUNT(*) FROM batch_rows WHERE batch_id = $1) \
         FROM batches WHERE id = $1",
    )
    .bind(KEY)
    .fetch_one(app.app_state.db.pool())
    .await
    .expect("the batch");
    assert_eq!(counted.0, counted.1, "the batch's count and its lines");
    BatchOutcome {
        trace_id: String::new(),
        rows: [one.rows, two.rows].concat(),
    }
}

both_databases!(chunks_stored_at_once_keep_the_quota, |b| async move {
    let app = signed_in_with(b, &[("INVITE_QUOTA_PER_HOUR", "700")], "boss@agency.gov.sg").await;
    let out = two_chunks_at_once(&app, b, &vendors(1_000, "q")).await;
    assert_eq!(
        invited(&out).len(),
        700,
        "the quota, whichever rows it took"
    );
    let over: Vec<&str> = out
        .rows
        .iter()
        .filter(|r| matches!(r.result, RowResult::Rejected { .. }))
        .map(|r| r.row_id.as_str())
        .collect();
    assert_eq!(over.len(), 300);
    for id in over {
        assert!(rejected(&out, id)[0].1.contains("in the last hour"), "{id}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM invitations").await, 700);
});

/// Two people with `field` the same in both chunks of a list stored at once: one invited,
/// the other refused for that field, all others invited.
async fn one_of_two_across_chunks(b: Backend, field: &str) {
    let app = signed_in(b, "boss@agency.gov.sg").await;
    let mut rows = vendors(500, "d");
    match field {
        "username" => {
            rows[100].raw.username = "shared.name".into();
            rows[350].raw.username = "Shared.Name".into();
        }
        _ => {
            rows[100].raw.email = "twin@acme.com".into();
            rows[350].raw.email = "Twin@Acme.com".into();
        }
    }
    let out = two_chunks_at_once(&app, b, &rows).await;
    let invited = invited(&out);
    assert_eq!(invited.len(), 499);
    let (loser, winner) = if invited.contains_key("r101") {
        ("r351", "r101")
    } else {
        ("r101", "r351")
    };
    assert!(invited.contains_key(winner), "one of r101 and r351");
    let fields = rejected(&out, loser);
    assert_eq!(fields[0].0, field, "{loser}: {fields:?}");
    assert_eq!(settled_totals(&app, [499; 4]).await, [499, 499, 499, 499]);
}

both_databases!(chunks_stored_at_once_invite_a_person_once, |b| async move {
    one_of_two_across_chunks(b, "email").await
});

both_databases!(chunks_stored_at_once_give_a_username_once, |b| async move {
    one_of_two_across_chunks(b, "username").await
});

/// A transaction of the test's own that has run `sql` (its `$1` the batch key `KEY`) and
/// holds what that locked until it ends.
async fn holding(app: &TestApp, sql: &str) -> sqlx::Transaction<'static, sqlx::Any> {
    let mut holder = app.transaction().await;
    sqlx::query(sql)
        .bind(KEY)
        .execute(&mut *holder)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    holder
}

/// Holds batch `KEY`'s row (`FOR UPDATE`) until the transaction ends.
async fn hold_the_batch_s_row(app: &TestApp) -> sqlx::Transaction<'static, sqlx::Any> {
    holding(app, "SELECT 1 FROM batches WHERE id = $1 FOR UPDATE").await
}

/// PostgreSQL: a chunk stores its rows while another transaction holds its batch's row, and
/// waits for that row only to add its counts, just before its commit (so chunks of one list
/// sent together overlap).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_chunk_takes_its_batch_s_row_only_to_add_its_counts() {
    let app = signed_in(Backend::Postgres, "boss@agency.gov.sg").await;
    let rows = vendors(20, "h");
    assert_eq!(invited(&submit(&app, KEY, &rows[..10]).await).len(), 10);
    let holder = hold_the_batch_s_row(&app).await;
    let second = tokio::spawn({
        let app = app.same_browser();
        let rows = rows[10..].to_vec();
        async move { submit(&app, KEY, &rows).await }
    });
    let query = waiting_query(&app, "batches").await;
    assert!(
        query.contains("DO UPDATE SET invited_count"),
        "it waits only to add its counts, not before storing its rows: {query}"
    );
    holder.commit().await.expect("commit");
    let out = second.await.expect("the second chunk");
    assert_eq!(invited(&out).len(), 10);
    assert_eq!(app.count("SELECT COUNT(*) FROM batch_rows").await, 20);
}

/// PostgreSQL: an Email invitation sent while a chunk of the officer's list stores the same
/// person. The invitation holds the officer's quota lock and waits for the chunk's row; the
/// chunk waits for that lock to commit. PostgreSQL gives up the one whose wait began a second
/// (`deadlock_timeout`) before the other's check: usually the invitation, which runs once more
/// and is told the person has a pending invitation (it answered 500 before); on a slow
/// machine the chunk, whose row is then refused for it. Never a server error, and the person
/// has one invitation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_invitation_sent_while_a_chunk_stores_the_same_person_gives_way() {
    let app = signed_in(Backend::Postgres, "boss@agency.gov.sg").await;
    let person = "same.person@tech.gov.sg";
    assert_eq!(
        invited(&submit(&app, KEY, &vendors(1, "pre")).await).len(),
        1
    );
    let holder = hold_the_batch_s_row(&app).await;
    let chunk = tokio::spawn({
        let app = app.same_browser();
        async move { submit(&app, KEY, &[row("x1", officer(person))]).await }
    });
    // The chunk has stored its row and waits for the batch's.
    waiting_query(&app, "DO UPDATE SET invited_count").await;
    let single = tokio::spawn({
        let app = app.same_browser();
        async move {
            let res = app
                .post(
                    "send_invite",
                    &[("email", person), ("seed_required", "no"), ("reason", "r")],
                )
                .await;
            (res.status(), res.text().await.unwrap_or_default())
        }
    });
    // The invitation holds the quota lock and waits for the chunk's row.
    waiting_query(&app, "INSERT INTO invitations").await;
    holder.commit().await.expect("commit");
    let (status, body) = single.await.expect("the invitation");
    let out = chunk.await.expect("the chunk");
    if status.is_success() {
        let fields = rejected(&out, "x1");
        assert!(
            fields[0].0 == "email" && fields[0].1.contains("pending invitation"),
            "{fields:?}"
        );
    } else {
        assert!(
            status.is_client_error() && body.contains("already has a pending invitation"),
            "{status}: {body}"
        );
        assert_eq!(invited(&out).len(), 1);
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM invitations WHERE email_key = '{person}'"
        ))
        .await,
        1
    );
}

both_databases!(
    a_call_takes_at_most_one_chunk_of_500_rows_and_a_list_goes_in_chunks,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let mut rows = vendors(1_201, "big");
        rows[1_200].raw.email = "big1@acme.com".into(); // the first row's person, again
                                                        // More than a chunk in one call is refused, naming the limit, and stores nothing.
        let err = submit_err(&app, KEY, &rows[..501]).await;
        let message = err.field_message("rows").expect("a message about the rows");
        assert!(message.contains("at most 500 rows"), "{message}");
        assert_eq!(totals(&app).await, [0, 0, 0, 0]);
        // In chunks of 500, as the page sends them.
        let mut outcomes = Vec::new();
        for chunk in rows.chunks(500) {
            outcomes.extend(submit(&app, KEY, chunk).await.rows);
        }
        let out = BatchOutcome {
            trace_id: String::new(),
            rows: outcomes,
        };
        assert_eq!(out.rows.len(), 1_201);
        assert_eq!(invited(&out).len(), 1_200);
        assert!(rejected(&out, "r1201")[0].1.contains("more than once"));
        assert_eq!(
            settled_totals(&app, [1_200; 4]).await,
            [1_200, 1_200, 1_200, 1_200]
        );
        let counts: (i64, i64) =
            sqlx::query_as("SELECT invited_count, rejected_count FROM batches WHERE id = $1")
                .bind(KEY)
                .fetch_one(app.app_state.db.pool())
                .await
                .expect("batch");
        assert_eq!(counts, (1_200, 1));
    }
);

both_databases!(
    an_officer_sends_at_most_the_hourly_quota_even_all_at_once,
    |b| async move {
        let app = signed_in_with(b, &[("INVITE_QUOTA_PER_HOUR", "5")], "boss@agency.gov.sg").await;
        let calls = (0..8).map(|i| {
            let email = format!("quota{i}@agency.gov.sg");
            let app = &app;
            async move {
                app.post(
                    "send_invite",
                    &[("email", &email), ("seed_required", "no"), ("reason", "r")],
                )
                .await
            }
        });
        let mut refused = Vec::new();
        let mut sent = 0;
        for res in futures::future::join_all(calls).await {
            if res.status() == StatusCode::OK {
                sent += 1;
            } else {
                refused.push(res.json::<AppError>().await.expect("AppError"));
            }
        }
        assert_eq!(sent, 5, "{refused:?}");
        assert!(
            refused
                .iter()
                .all(|e| e.to_string().contains("5 invitations in the last hour")),
            "{refused:?}"
        );
        // A batch is held to it too, row by row, and the rows can be sent again later.
        let out = submit(&app, KEY, &vendors(2, "q")).await;
        assert!(
            rejected(&out, "r1")[0].1.contains("in the last hour"),
            "{out:?}"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM invitations").await, 5);
        // Another officer has a quota of their own.
        let other = app.another_user("colleague@agency.gov.sg").await;
        other.invite("someone.else@agency.gov.sg").await;
    }
);

both_databases!(
    a_row_refused_for_the_quota_is_told_of_its_pending_invitation_instead,
    |b| async move {
        let app = signed_in_with(b, &[("INVITE_QUOTA_PER_HOUR", "1")], "boss@agency.gov.sg").await;
        app.invite("held@agency.gov.sg").await;
        // The quota is spent. A row for the address already invited is told so (the message
        // that applies whatever the quota), as a new one is told of the quota; on PostgreSQL
        // a chunk stored before its locks does not look for open invitations, and got only
        // the quota's message for both.
        let out = submit(
            &app,
            KEY,
            &[
                row("r1", officer("held@agency.gov.sg")),
                row("r2", officer("new.person@agency.gov.sg")),
            ],
        )
        .await;
        assert_eq!(
            rejected(&out, "r1"),
            vec![(
                "email",
                "held@agency.gov.sg already has a pending invitation. See Invite user status \
                 to follow it up"
            )]
        );
        assert!(
            rejected(&out, "r2")[0]
                .1
                .starts_with("Not sent: you have sent 1 invitation in the last hour"),
            "{out:?}"
        );
    }
);

both_databases!(
    a_batch_key_is_a_uuid_and_belongs_to_its_officer,
    |b| async move {
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let rows = vendors(2, "k");
        let err = submit_err(&app, "not-a-uuid", &rows).await;
        assert!(err.field_message("batch_key").is_some(), "{err:?}");
        submit(&app, KEY, &rows).await;

        // Same server, another officer of the same agency.
        let thief = app.another_user("someone.else@agency.gov.sg").await;
        let err = submit_err(&thief, KEY, &rows).await;
        assert!(matches!(err, AppError::Forbidden { .. }), "{err:?}");
        let err = submit_err(&thief, KEY, &vendors(3, "new")).await;
        assert!(matches!(err, AppError::Forbidden { .. }), "{err:?}");
        assert_eq!(settled_totals(&app, [2; 4]).await, [2, 2, 2, 2]);
    }
);

both_databases!(
    batch_upload_needs_a_signed_in_public_officer,
    |b| async move {
        let app = spawn(b).await;
        let err = submit_err(&app, KEY, &vendors(1, "n")).await;
        assert_eq!(err, AppError::Unauthenticated);
        let res = app
            .post_json(
                "precheck_batch",
                &json!({ "rows": [check("1", "a@acme.com", "")] }),
            )
            .await;
        assert_ne!(res.status(), StatusCode::OK);
        let err: AppError = res.json().await.expect("AppError");
        assert_eq!(err, AppError::Unauthenticated);

        app.sign_in("vendor@example.com").await;
        let err = submit_err(&app, KEY, &vendors(1, "n")).await;
        assert!(matches!(err, AppError::Forbidden { .. }), "{err:?}");
        assert_eq!(totals(&app).await, [0, 0, 0, 0]);
    }
);

// ---------------------------------------------------------------------------------------------
// An account made elsewhere after the checks, on the service itself.

/// The built-in directory, counting its calls. With `victim`, that address's account is made
/// by someone else just before the provisioning queue makes it (after the batch's checks):
/// the directory's own unique index refuses the second, as a SCIM server answers 409. With
/// `bulk` off, it cannot make accounts together (as SCIM), so every row goes one by one.
#[derive(Debug)]
struct TestDirectory {
    inner: app::server::directory::BuiltInDirectory,
    victim: Option<String>,
    bulk: bool,
    fired: AtomicBool,
    creates: std::sync::atomic::AtomicUsize,
    bulk_creates: std::sync::atomic::AtomicUsize,
}

use app::server::directory::{Directory, DirectoryError, DirectoryUser, Existing, RemoteUser};

impl TestDirectory {
    fn new(app: &TestApp, victim: Option<&str>, bulk: bool) -> std::sync::Arc<TestDirectory> {
        std::sync::Arc::new(TestDirectory {
            inner: app::server::directory::BuiltInDirectory::new(app.app_state.db.clone()),
            victim: victim.map(str::to_string),
            bulk,
            fired: AtomicBool::new(false),
            creates: Default::default(),
            bulk_creates: Default::default(),
        })
    }

    /// Makes the victim's account elsewhere, once, if `user` is the victim.
    async fn race(&self, user: &DirectoryUser) -> Result<(), DirectoryError> {
        if self.victim.as_deref() == Some(user.email.to_lowercase().as_str())
            && !self.fired.swap(true, Ordering::SeqCst)
        {
            let elsewhere = DirectoryUser {
                external_id: "made-elsewhere".into(),
                user_name: "someone.else".into(),
                ..user.clone()
            };
            self.inner.create(&elsewhere).await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Directory for TestDirectory {
    async fn existing(&self, e: &[String], u: &[String]) -> Result<Existing, DirectoryError> {
        self.inner.existing(e, u).await
    }
    async fn create(&self, user: &DirectoryUser) -> Result<RemoteUser, DirectoryError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        self.race(user).await?;
        self.inner.create(user).await
    }
    async fn create_many(&self, users: &[DirectoryUser]) -> Option<Vec<RemoteUser>> {
        if !self.bulk {
            return None;
        }
        self.bulk_creates.fetch_add(1, Ordering::SeqCst);
        for user in users {
            self.race(user).await.ok()?;
        }
        self.inner.create_many(users).await
    }
    async fn find_by_external_id(&self, id: &str) -> Result<Option<RemoteUser>, DirectoryError> {
        self.inner.find_by_external_id(id).await
    }
    async fn get(&self, id: &str) -> Result<Option<RemoteUser>, DirectoryError> {
        self.inner.get(id).await
    }
    async fn set_active(&self, id: &str, active: bool) -> Result<(), DirectoryError> {
        self.inner.set_active(id, active).await
    }
}

/// Submits five vendors (t1..t5@acme.com) through `directory`; gives the outcome.
async fn submit_through(app: &TestApp, directory: std::sync::Arc<TestDirectory>) -> BatchOutcome {
    let state = app.app_state.clone();
    let provisioning = app::server::provisioning::Provisioning::new(
        state.db.clone(),
        directory,
        Default::default(),
        app::server::invites::accept_link(&state.settings),
    );
    let inviter = crate::support::officer("boss@agency.gov.sg");
    let out = app::server::batch::submit(
        &state.db,
        &provisioning,
        &state.settings,
        &inviter,
        KEY,
        "staff.csv",
        &vendors(5, "t"),
    )
    .await
    .expect("submitted");
    BatchOutcome {
        trace_id: String::new(),
        rows: out,
    }
}

/// After five rows where t3's account was made elsewhere: four made, t3's row failed.
async fn assert_only_the_victims_row_failed(app: &TestApp) {
    provisioned(app).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM invitations WHERE status = 'created'")
            .await,
        4
    );
    let (status, reason): (String, Option<String>) = sqlx::query_as(
        "SELECT status, provision_error FROM invitations WHERE email_key = 't3@acme.com'",
    )
    .fetch_one(app.app_state.db.pool())
    .await
    .expect("t3");
    assert_eq!(status, "provisioning_failed");
    assert_eq!(reason.as_deref(), Some("already has a TechPass account"));
    // Released to the relay (which may have sent them by now).
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sent')")
            .await,
        4
    );
    // None for the account the directory refused: its email is never written.
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 4);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts").await,
        5,
        "four and the racer's"
    );
}

both_databases!(
    an_account_made_elsewhere_after_the_checks_fails_only_its_row,
    |b| async move {
        let app = spawn(b).await;
        let directory = TestDirectory::new(&app, Some("t3@acme.com"), false);
        let outcome = submit_through(&app, directory.clone()).await;
        assert_eq!(
            invited(&outcome).len(),
            5,
            "every row was stored: {outcome:?}"
        );
        provisioned(&app).await;
        assert_eq!(directory.creates.load(Ordering::SeqCst), 5);
        assert_only_the_victims_row_failed(&app).await;
    }
);

both_databases!(
    a_chunks_accounts_are_made_together_and_recorded_with_their_emails_released,
    |b| async move {
        let app = spawn(b).await;
        let directory = TestDirectory::new(&app, None, true);
        let outcome = submit_through(&app, directory.clone()).await;
        assert_eq!(invited(&outcome).len(), 5, "{outcome:?}");
        // Made right after the answer, all in one call and none one by one.
        provisioned(&app).await;
        assert_eq!(directory.bulk_creates.load(Ordering::SeqCst), 1);
        assert_eq!(directory.creates.load(Ordering::SeqCst), 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE status = 'created' AND account_id IS NOT NULL")
                .await,
            5
        );
        // Each invitation has its own account, the one made for it.
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM invitations i JOIN accounts a ON a.id = i.account_id \
                 AND a.external_id = i.id AND a.email_key = i.email_key"
            )
            .await,
            5
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM provisioning WHERE status = 'done'")
                .await,
            5
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sent')")
                .await,
            5
        );
    }
);

both_databases!(
    when_the_accounts_cannot_be_made_together_each_row_gets_its_own_outcome,
    |b| async move {
        let app = spawn(b).await;
        let directory = TestDirectory::new(&app, Some("t3@acme.com"), true);
        let outcome = submit_through(&app, directory.clone()).await;
        assert_eq!(invited(&outcome).len(), 5, "{outcome:?}");
        // The bulk call failed as a whole; the rows were then made one by one.
        provisioned(&app).await;
        assert_eq!(directory.bulk_creates.load(Ordering::SeqCst), 1);
        assert_eq!(directory.creates.load(Ordering::SeqCst), 5);
        assert_only_the_victims_row_failed(&app).await;
    }
);

both_databases!(
    a_batch_stores_quotes_backslashes_braces_and_other_scripts_exactly_as_typed,
    |b| async move {
        // Each table of a chunk is written in one statement (PostgreSQL: one array per
        // column, in its text form; SQLite: a VALUES list), and looked up through one
        // parameter (a JSON array in SQLite): what a row holds must come back as typed.
        let app = signed_in(b, "boss@agency.gov.sg").await;
        let reason = r#"Needs "admin" \ {ops}, NULL; 日本語 \"x\" }{"#;
        let awkward = RawAccount {
            first_name: "Zoë-Ann".into(),
            last_name: "O'Brien".into(),
            organisation: r#"Acme "Asia" {SG}, Pte\Ltd"#.into(),
            department: "NULL".into(),
            reason: reason.into(),
            ..vendor("Zoe.OBrien@acme.com", "zoe.obrien")
        };
        let rows = [
            row("quoted \"1\" {a,b}", awkward),
            row(r"back\slash", vendor("plain@acme.com", "plain.user")),
        ];
        let outcome = submit(&app, KEY, &rows).await;
        let ids = invited(&outcome);
        assert_eq!(ids.len(), 2, "{:?}", outcome.rows);
        let id = &ids["quoted \"1\" {a,b}"];

        let stored = |sql: &'static str| {
            let pool = app.app_state.db.pool().clone();
            let id = id.clone();
            async move {
                let (value,): (String,) = sqlx::query_as(sql)
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .expect(sql);
                value
            }
        };
        for (sql, want) in [
            ("SELECT reason FROM invitations WHERE id = $1", reason),
            (
                "SELECT first_name FROM invitations WHERE id = $1",
                "Zoë-Ann",
            ),
            ("SELECT last_name FROM invitations WHERE id = $1", "O'Brien"),
            (
                "SELECT email FROM invitations WHERE id = $1",
                "Zoe.OBrien@acme.com",
            ),
        ] {
            assert_eq!(stored(sql).await, want, "{sql}");
        }
        // The queue's payload is JSON of the account, the email its text as rendered.
        let payload = stored("SELECT payload FROM provisioning WHERE invitation_id = $1").await;
        let account: serde_json::Value = serde_json::from_str(&payload).expect("JSON");
        let text = account.to_string();
        assert!(
            text.contains(r#"Acme \"Asia\" {SG}, Pte\\Ltd"#) && text.contains("\"NULL\""),
            "{text}"
        );
        // The email, written once the account is made, from the invitation's columns.
        provisioned(&app).await;
        let body = stored("SELECT body_text FROM outbox WHERE invitation_id = $1").await;
        assert!(body.starts_with("Hello Zoë-Ann,"), "{body}");
        assert!(body.contains("username is zoe.obrien."), "{body}");
        let days = app.app_state.settings.invite_expiry_days;
        assert!(body.contains(&format!("within {days} days")), "{body}");

        // The row ids with quotes, braces and a backslash are found again: the same rows
        // sent again answer with their invitations and write nothing.
        let again = submit(&app, KEY, &rows).await;
        assert_eq!(invited(&again), ids);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations").await,
            2,
            "nothing written twice"
        );
        // The search terms (bytes) of the other script and the apostrophe.
        for search in ["zoë", "o'b", "brien", "zoe.obrien@acme"] {
            let page = app
                .status_list(app::api::StatusQuery {
                    search: search.into(),
                    ..app::api::StatusQuery::default()
                })
                .await;
            assert_eq!(page.total, 1, "searching {search:?}");
        }
    }
);

both_databases!(
    a_batchs_invitations_are_found_by_a_search_before_their_terms_are_written,
    |b| async move {
        // No maker of batch accounts: nothing writes the terms but a search.
        let app = signed_in_with(
            b,
            &[("PROVISIONING_INLINE_MS", "0"), ("RELAY_ENABLED", "false")],
            "boss@agency.gov.sg",
        )
        .await;
        let db = app.app_state.db.clone();
        let outcome = submit(&app, KEY, &vendors(3, "idx")).await;
        assert_eq!(invited(&outcome).len(), 3);
        // The chunk stored the invitations without their terms: its answer did not wait.
        assert_eq!(app.count("SELECT COUNT(*) FROM invitation_terms").await, 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE terms_version = -1")
                .await,
            3
        );
        // Another agency's search leaves them be.
        let elsewhere = app::server::search::index_pending(&db, Some("other.gov.sg"))
            .await
            .expect("another agency's");
        assert_eq!(elsewhere, 0);
        // The officer's search writes the agency's first, and finds them.
        for (text, found) in [("idx2@acme", 1), ("mei ling", 3), ("tan", 3), ("idx9", 0)] {
            let page = app
                .status_list(app::api::StatusQuery {
                    search: text.into(),
                    ..app::api::StatusQuery::default()
                })
                .await;
            assert_eq!(page.total, found, "searching {text:?}");
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE terms_version = 1")
                .await,
            3
        );
        // Each has the terms a single invitation gets: address, its part after the dot,
        // domain, names.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitation_terms").await,
            3 * 5
        );
        assert_eq!(
            app::server::search::index_pending(&db, None)
                .await
                .expect("none left"),
            0
        );

        // Two at once (two instances, or a search beside the maker) write each term once:
        // on PostgreSQL the second waits for the first's rows and skips them.
        for (key, tag) in [
            ("1c7c8a52-3f1e-4d8a-9c5b-1a2b3c4d5e6f", "two"),
            ("2c7c8a52-3f1e-4d8a-9c5b-1a2b3c4d5e6f", "three"),
        ] {
            assert_eq!(
                invited(&submit(&app, key, &vendors(400, tag)).await).len(),
                400
            );
        }
        let (one, other) = tokio::join!(
            app::server::search::index_pending(&db, None),
            app::server::search::index_pending(&db, Some("agency.gov.sg")),
        );
        assert_eq!(one.expect("one") + other.expect("other"), 800);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE terms_version = 1")
                .await,
            803
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitation_terms").await,
            803 * 5
        );

        // On PostgreSQL a pending row that another transaction holds (a sign-up re-indexing
        // it) is skipped while held, and the indexing waits for it rather than return
        // without it: a search never misses it.
        if matches!(b, Backend::Postgres) {
            let held = submit(
                &app,
                "3c7c8a52-3f1e-4d8a-9c5b-1a2b3c4d5e6f",
                &vendors(2, "held"),
            )
            .await;
            let held = invited(&held).remove("r1").expect("r1 invited");
            let mut holder = db.pool().begin().await.expect("a transaction");
            sqlx::query("SELECT id FROM invitations WHERE id = $1 FOR UPDATE")
                .bind(&held)
                .fetch_one(&mut *holder)
                .await
                .expect("held");
            let indexing = tokio::spawn({
                let db = db.clone();
                async move { app::server::search::index_pending(&db, None).await }
            });
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert!(!indexing.is_finished(), "it waits for the held row");
            assert_eq!(
                app.count("SELECT COUNT(*) FROM invitations WHERE terms_version = -1")
                    .await,
                1,
                "the row not held is done"
            );
            holder.rollback().await.expect("released");
            assert_eq!(indexing.await.expect("joined").expect("indexed"), 2);
            assert_eq!(
                app.count("SELECT COUNT(*) FROM invitations WHERE terms_version = -1")
                    .await,
                0
            );
        }
    }
);

both_databases!(
    the_maker_of_a_batchs_accounts_writes_its_search_terms,
    |b| async move {
        let app = signed_in_with(b, &[("RELAY_ENABLED", "false")], "boss@agency.gov.sg").await;
        let outcome = submit(&app, KEY, &vendors(4, "made")).await;
        assert_eq!(invited(&outcome).len(), 4);
        provisioned(&app).await;
        // (The terms follow the accounts in the same round.)
        for _ in 0..100 {
            if app
                .count("SELECT COUNT(*) FROM invitations WHERE terms_version = 1")
                .await
                == 4
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitations WHERE terms_version = 1")
                .await,
            4,
            "indexed without a search"
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM invitation_terms").await,
            4 * 5
        );
    }
);
