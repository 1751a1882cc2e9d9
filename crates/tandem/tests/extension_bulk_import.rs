//! Bulk extension imports into one account, on SQLite or (with `TEST_DATABASE_URL`)
//! PostgreSQL: rows, credentials, charges, per-row rejections, weak passwords and the SIP
//! change feed.

mod support;

use reqwest::Method;
use serde_json::json;
use support::TestApp;
use tandem_app::access::{AccountOperator, PlatformAdmin};
use tandem_app::pbx_bulk::WeakPasswords;
use tandem_domain::CustomerId;
use tandem_store::sip as store_sip;

async fn customer(app: &TestApp, name: &str) -> CustomerId {
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(support::customer_body(&app.wl.plan_id, name)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    CustomerId::parse(body["id"].as_str().unwrap()).unwrap()
}

fn operator(app: &TestApp, customer: &CustomerId) -> AccountOperator {
    PlatformAdmin::command_line()
        .for_white_label(&app.wl.id)
        .account_operator(customer)
}

/// `count` rows from 1000 up with the passwords `pw<number>`, as a phone platform export.
fn harness_csv(count: u32) -> String {
    let mut csv = String::from("number,name,sip_password\n");
    for user in 1000..1000 + count {
        csv.push_str(&format!("{user},User {user},pw{user}\n"));
    }
    csv
}

#[tokio::test]
async fn bulk_import_writes_rows_credentials_and_charges() {
    let app = TestApp::spawn_with_balance("100000.00").await;
    let account = customer(&app, "Kauri Joinery").await;
    let op = operator(&app, &account);
    let admin = PlatformAdmin::command_line();
    for (path, body) in [
        (
            "/api/v1/white-label/sip".to_owned(),
            json!({"sip_domain": "example"}),
        ),
        (
            format!("/api/v1/customers/{account}/sip"),
            json!({"label": "tenant1"}),
        ),
    ] {
        let (status, body) = app
            .api(Method::PUT, &path, &app.wl.api_key, Some(body))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let seq_before = {
        let mut conn = app.app.store().conn().await.unwrap();
        store_sip::last_change(&mut conn).await.unwrap()
    };

    let done = std::sync::Mutex::new(Vec::new());
    let progress = |n: usize, total: usize| done.lock().unwrap().push((n, total));
    let report = app
        .app
        .bulk_import_extensions(
            &op,
            &harness_csv(1200),
            WeakPasswords::Accept(&admin),
            &progress,
        )
        .await
        .expect("bulk import");

    assert_eq!(report.created.len(), 1200, "{:?}", report.rejected);
    assert!(report.rejected.is_empty());
    assert_eq!(report.weak_passwords, 1200);
    // The plan includes 10 extensions; each further one costs 5.00 plus 15 % GST.
    assert_eq!(report.charged_minor, 1190 * 575);
    assert_eq!(report.created[9].charged_minor, 0);
    assert_eq!(report.created[10].charged_minor, 575);
    assert!(report.created.iter().all(|row| row.sip_password.is_none()));
    assert_eq!(done.lock().unwrap().last(), Some(&(1200, 1200)));

    let mut conn = app.app.store().conn().await.unwrap();
    let credentials = store_sip::credentials_of_customer(&mut conn, &account)
        .await
        .unwrap();
    assert_eq!(credentials.len(), 1200);
    let first = credentials.iter().find(|c| c.username == "1000").unwrap();
    assert_eq!(first.realm, "tenant1.example");
    // MD5 of "1000:tenant1.example:pw1000".
    assert_eq!(first.ha1_md5, "d06efcae42a323c5b214e0a2189e759b");

    let changes = store_sip::changes_after(&mut conn, seq_before, 10)
        .await
        .unwrap();
    assert_eq!(changes.len(), 1, "one change for the whole account");
    assert_eq!(changes[0].kind, store_sip::change::ACCOUNT);
    assert_eq!(changes[0].subject, account.as_str());
    drop(conn);

    let (_, ledger) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{account}/ledger"),
            &app.wl.api_key,
            None,
        )
        .await;
    // The ledger lists the newest entries first, one page at a time.
    let newest = ledger["data"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        newest.starts_with("Extra extension 2199 (1200 of 10 included)"),
        "{newest}"
    );
}

#[tokio::test]
async fn bulk_import_reports_bad_rows() {
    let app = TestApp::spawn_with_balance("100000.00").await;
    let account = customer(&app, "Kauri Joinery").await;
    let op = operator(&app, &account);
    let admin = PlatformAdmin::command_line();
    app.app
        .bulk_import_extensions(
            &op,
            "500,Reception,Harbour2026desk\n",
            WeakPasswords::Reject,
            &|_, _| {},
        )
        .await
        .expect("first import");

    let csv = "number,name,sip_password\n\
               501,Ana,Harbour2026ana\n\
               500,Taken,Harbour2026taken\n\
               501,Twice,Harbour2026twice\n\
               111,Emergency,Harbour2026sos\n\
               502,Colon,pw:502\n\
               503,Generated,\n\
               504,,Harbour2026noname\n";
    let report = app
        .app
        .bulk_import_extensions(&op, csv, WeakPasswords::Accept(&admin), &|_, _| {})
        .await
        .expect("second import");

    let created: Vec<&str> = report.created.iter().map(|r| r.number.as_str()).collect();
    assert_eq!(created, ["501", "503"]);
    let generated = &report.created[1];
    assert_eq!(generated.sip_password.as_ref().map(String::len), Some(20));
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 5, 6, 8], "{:?}", report.rejected);
    assert!(report.rejected[0].reason.contains("Reception"));
    assert!(report.rejected[1].reason.contains("Ana"));
    assert!(report.rejected[2].reason.contains("emergency"));
    assert!(report.rejected[3].reason.contains("colons"));
    assert!(report.rejected[4].reason.starts_with("name"));
}

#[tokio::test]
async fn bulk_import_rejects_weak_passwords_by_default() {
    let app = TestApp::spawn_with_balance("100000.00").await;
    let account = customer(&app, "Kauri Joinery").await;
    let op = operator(&app, &account);

    let report = app
        .app
        .bulk_import_extensions(&op, &harness_csv(3), WeakPasswords::Reject, &|_, _| {})
        .await
        .expect("bulk import");

    assert!(report.created.is_empty());
    assert_eq!(report.rejected.len(), 3);
    assert_eq!(report.weak_passwords, 0);
    assert!(report.rejected[0].reason.contains("at least 10 characters"));
}

#[tokio::test]
async fn bulk_import_writes_nothing_when_unpaid() {
    // 200.00 pays the account's opening charges (101.20) but not 40 extra extensions (230.00).
    let app = TestApp::spawn_with_balance("200.00").await;
    let account = customer(&app, "Kauri Joinery").await;
    let op = operator(&app, &account);
    let admin = PlatformAdmin::command_line();

    let outcome = app
        .app
        .bulk_import_extensions(
            &op,
            &harness_csv(50),
            WeakPasswords::Accept(&admin),
            &|_, _| {},
        )
        .await;

    assert!(outcome.is_err(), "40 extra extensions cannot be paid");
    let mut conn = app.app.store().conn().await.unwrap();
    let credentials = store_sip::credentials_of_customer(&mut conn, &account)
        .await
        .unwrap();
    assert!(credentials.is_empty());
}
