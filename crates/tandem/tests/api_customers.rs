//! The customer API over real HTTP: creation in the white-label-managed mode, validation,
//! idempotency, money and tenant isolation.

mod support;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde_json::{json, Value};
use support::{customer_body, TestApp};
use tandem_app::access::PlatformAdmin;
use tandem_store::customers::NewCustomer;

async fn white_label_balance(app: &TestApp) -> i64 {
    let (status, body) = app
        .api(Method::GET, "/api/v1/white-label", &app.wl.api_key, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["balance"]["amount_minor"].as_i64().expect("balance")
}

async fn ledger_sum(app: &TestApp, account_id: &str) -> i64 {
    let mut conn = app.app.store().conn().await.expect("connection");
    tandem_store::ledger::sum_for_account(&mut conn, account_id)
        .await
        .expect("sum")
}

#[tokio::test]
async fn mode2_creation_debits_white_label() {
    let app = TestApp::spawn().await;
    let before = white_label_balance(&app).await;

    let (status, customer) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Kauri Joinery Ltd")),
        )
        .await;

    assert_eq!(status, 201, "{customer}");
    assert_eq!(customer["status"], "active");
    assert_eq!(customer["payer"], "white_label");
    assert_eq!(customer["contact"]["phone"], "+64211234567");
    assert_eq!(customer["account_number"].as_str().unwrap().len(), 8);
    // Setup 49.00 and monthly 39.00, each with 15 % GST: 56.35 + 44.85.
    let after = white_label_balance(&app).await;
    assert_eq!(before - after, 10_120);
    assert_eq!(ledger_sum(&app, app.wl.id.as_str()).await, after);
}

#[tokio::test]
async fn mode2_charges_name_the_customer() {
    let app = TestApp::spawn().await;
    let (_, customer) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Kauri Joinery Ltd")),
        )
        .await;
    let id = customer["id"].as_str().unwrap();

    let (status, ledger) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{id}/ledger"),
            &app.wl.api_key,
            None,
        )
        .await;

    assert_eq!(status, 200);
    let entries = ledger["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for entry in entries {
        assert_eq!(entry["customer_id"], id);
        assert_eq!(entry["account_kind"], "white_label");
        assert_eq!(entry["kind"], "charge");
    }
    let amounts: Vec<i64> = entries
        .iter()
        .map(|e| e["amount"]["amount_minor"].as_i64().unwrap())
        .collect();
    assert!(amounts.contains(&-4900));
    assert!(amounts.contains(&-3900));
}

#[tokio::test]
async fn mode2_insufficient_funds_writes_nothing() {
    let app = TestApp::spawn_with_balance("100.00").await;

    let (status, problem) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Too Dear Ltd")),
        )
        .await;

    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "insufficient_funds");
    assert_eq!(white_label_balance(&app).await, 10_000);
    let (_, list) = app
        .api(Method::GET, "/api/v1/customers", &app.wl.api_key, None)
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let (_, audit) = app
        .api(Method::GET, "/api/v1/audit", &app.wl.api_key, None)
        .await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(!actions.contains(&"customer.created"));
}

#[tokio::test]
async fn mode2_credit_limit_covers_shortfall() {
    let app = TestApp::spawn_with_balance("100.00").await;
    app.app
        .set_white_label_credit_limit(&PlatformAdmin::command_line(), &app.wl.id, "50.00")
        .await
        .expect("credit limit");

    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "On Credit Ltd")),
        )
        .await;

    assert_eq!(status, 201, "{body}");
    assert_eq!(white_label_balance(&app).await, 10_000 - 10_120);
}

#[tokio::test]
async fn self_activation_needs_payment_gateway() {
    let app = TestApp::spawn().await;
    let mut body = customer_body(&app.wl.plan_id, "Self Starter Ltd");
    body["mode"] = json!("self_activation");

    let (status, problem) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(body),
        )
        .await;

    assert_eq!(status, 409);
    assert_eq!(problem["code"], "payment_gateway_required");
}

fn field_errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap().to_string(),
                        e["code"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn invalid_fields_rejected_by_name() {
    let app = TestApp::spawn().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "contact.phone",
            json!("+64 021 123 4567"),
            "national_prefix_after_country_code",
        ),
        ("contact.phone", json!("12"), "invalid_phone"),
        ("contact.email", json!("not-an-email"), "invalid_email"),
        (
            "business.business_number",
            json!("9429041234560"),
            "invalid_nzbn",
        ),
        (
            "billing_address.postcode",
            json!("12345"),
            "invalid_postcode",
        ),
        (
            "business.legal_name",
            json!("\u{200B}\u{202C}"),
            "invalid_text",
        ),
        ("time_zone", json!("Mars/Olympus"), "invalid_time_zone"),
        ("plan_id", json!("plan_nope"), "invalid_id"),
    ];
    for (field, value, code) in cases {
        let mut body = customer_body(&app.wl.plan_id, "Valid Name Ltd");
        let mut target = &mut body;
        let parts: Vec<&str> = field.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            target = &mut target[*part];
        }
        target[parts[parts.len() - 1]] = value.clone();

        let (status, problem) = app
            .api(
                Method::POST,
                "/api/v1/customers",
                &app.wl.api_key,
                Some(body),
            )
            .await;

        assert_eq!(status, 422, "{field}={value}: {problem}");
        assert!(
            field_errors(&problem).contains(&(field.to_string(), code.to_string())),
            "{field}={value}: {problem}"
        );
    }
    let (_, list) = app
        .api(Method::GET, "/api/v1/customers", &app.wl.api_key, None)
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn phone_formats_stored_as_e164() {
    let app = TestApp::spawn_with_balance("5000.00").await;
    let cases = [
        ("NZ", "1010", "021 123 4567", "+64211234567"),
        ("NZ", "1010", "(09) 300 1234", "+6493001234"),
        ("NZ", "1010", "0800 123 456", "+64800123456"),
        (
            "NZ",
            "1010",
            "09\u{200B}300\u{00A0}1234\u{202C}",
            "+6493001234",
        ),
        ("AU", "2000", "0491 570 156", "+61491570156"),
    ];
    for (country, postcode, input, expected) in cases {
        let mut body = customer_body(&app.wl.plan_id, "Phone Test Ltd");
        body["contact"]["phone"] = json!(input);
        body["billing_address"]["country"] = json!(country);
        body["billing_address"]["postcode"] = json!(postcode);
        body["time_zone"] = Value::Null;

        let (status, customer) = app
            .api(
                Method::POST,
                "/api/v1/customers",
                &app.wl.api_key,
                Some(body),
            )
            .await;

        assert_eq!(status, 201, "{input}: {customer}");
        assert_eq!(customer["contact"]["phone"], expected, "{input}");
    }
}

#[tokio::test]
async fn unicode_names_kept_and_markup_literal() {
    let app = TestApp::spawn().await;
    let legal_name = r#"<b>"Bold"</b> & Sons \ Co 🦜"#;
    let mut body = customer_body(&app.wl.plan_id, legal_name);
    body["contact"]["given_name"] = json!("Tāne");
    body["contact"]["family_name"] = json!("Müller-João");

    let (status, created) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, other) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Plain Names Ltd")),
        )
        .await;
    assert_eq!(status, 201, "{other}");

    // The stored row comes back through both reads: by id, and in a page of search results.
    let (status, read) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{id}"),
            &app.wl.api_key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{read}");
    let (status, page) = app
        .api(
            Method::GET,
            "/api/v1/customers?q=%3Cb%3E",
            &app.wl.api_key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["data"][0]["id"], id);
    for customer in [&created, &read, &page["data"][0]] {
        assert_eq!(customer["contact"]["given_name"], "Tāne");
        assert_eq!(customer["contact"]["family_name"], "Müller-João");
        assert_eq!(customer["business"]["legal_name"], legal_name);
    }
}

#[tokio::test]
async fn idempotency_key_concurrent_creates_one() {
    let app = TestApp::spawn().await;
    let body = customer_body(&app.wl.plan_id, "Once Only Ltd");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = app.client.clone();
        let url = app.url("/api/v1/customers");
        let key = app.wl.api_key.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .header("Idempotency-Key", "order-1001")
                .json(&body)
                .send()
                .await
                .expect("sent");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("task");
        assert!(status == 201 || status == 409, "{status}: {body}");
        if status == 201 {
            ids.push(body["id"].as_str().unwrap().to_string());
        } else {
            assert_eq!(body["code"], "request_in_progress");
        }
    }

    let (_, list) = app
        .api(Method::GET, "/api/v1/customers", &app.wl.api_key, None)
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let created = list["data"][0]["id"].as_str().unwrap();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| id == created));
    assert_eq!(white_label_balance(&app).await, 100_000 - 10_120);
}

#[tokio::test]
async fn idempotency_key_reused_with_other_body() {
    let app = TestApp::spawn().await;
    let mut headers = HeaderMap::new();
    headers.insert("Idempotency-Key", HeaderValue::from_static("order-7"));
    let (first, _) = app
        .api_with_headers(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "First Ltd")),
            headers.clone(),
        )
        .await;

    let (second, problem) = app
        .api_with_headers(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Second Ltd")),
            headers,
        )
        .await;

    assert_eq!(first, 201);
    assert_eq!(second, 422);
    assert_eq!(problem["code"], "idempotency_key_reused");
}

#[tokio::test]
async fn other_tenant_customer_is_not_found() {
    let app = TestApp::spawn().await;
    let other = app.other_white_label("southern", "1000.00").await;
    let (_, theirs) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &other.api_key,
            Some(customer_body(&other.plan_id, "Their Customer Ltd")),
        )
        .await;
    let their_id = theirs["id"].as_str().unwrap();

    let (status, problem) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{their_id}"),
            &app.wl.api_key,
            None,
        )
        .await;
    let (ledger_status, _) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{their_id}/ledger"),
            &app.wl.api_key,
            None,
        )
        .await;
    let (_, list) = app
        .api(
            Method::GET,
            "/api/v1/customers?q=Their",
            &app.wl.api_key,
            None,
        )
        .await;
    let (_, audit) = app
        .api(
            Method::GET,
            &format!("/api/v1/audit?customer_id={their_id}"),
            &app.wl.api_key,
            None,
        )
        .await;

    assert_eq!(status, 404);
    assert_eq!(problem["code"], "not_found");
    assert_eq!(ledger_status, 404);
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    assert_eq!(audit["data"].as_array().unwrap().len(), 0);
}

/// Creates customers named `<prefix> 0 Ltd`, `<prefix> 1 Ltd`… for a white label, and returns
/// their ids and names.
async fn create_customers(
    app: &TestApp,
    key: &str,
    plan_id: &str,
    prefix: &str,
    count: usize,
) -> Vec<(String, String)> {
    let mut created = Vec::new();
    for i in 0..count {
        let name = format!("{prefix} {i} Ltd");
        let (status, body) = app
            .api(
                Method::POST,
                "/api/v1/customers",
                key,
                Some(customer_body(plan_id, &name)),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        created.push((body["id"].as_str().unwrap().to_string(), name));
    }
    created
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_stay_in_tenant() {
    let app = support::shared(TestApp::spawn().await);
    let other = app.other_white_label("southern", "1000.00").await;
    let ours = create_customers(&app, &app.wl.api_key, &app.wl.plan_id, "Harbour", 3).await;
    let theirs = create_customers(&app, &other.api_key, &other.plan_id, "Southern", 3).await;
    let keys = [(app.wl.api_key.clone(), &ours), (other.api_key, &theirs)];

    // Every key reads every customer, many times over and all at once, so that reads of both
    // white labels, of their own customers and of each other's, can share statements.
    let mut reads = tokio::task::JoinSet::new();
    for round in 0..8 {
        for (reader, (key, own)) in keys.iter().enumerate() {
            for (id, name) in ours.iter().chain(theirs.iter()) {
                let expected = own
                    .iter()
                    .any(|(own_id, _)| own_id == id)
                    .then(|| name.clone());
                let (app, key, id) = (app.clone(), key.clone(), id.clone());
                reads.spawn(async move {
                    let (status, body) = app
                        .api(Method::GET, &format!("/api/v1/customers/{id}"), &key, None)
                        .await;
                    (round, reader, id, expected, status, body)
                });
            }
        }
    }
    let mut answered = 0;
    while let Some(read) = reads.join_next().await {
        let (round, reader, id, expected, status, body) = read.expect("read task");
        match expected {
            Some(name) => {
                assert_eq!(status, 200, "round {round}, reader {reader}, {id}: {body}");
                assert_eq!(body["id"], id.as_str());
                assert_eq!(body["business"]["legal_name"], name.as_str());
            }
            None => {
                assert_eq!(status, 404, "round {round}, reader {reader}, {id}: {body}");
                assert_eq!(body["code"], "not_found");
            }
        }
        answered += 1;
    }
    assert_eq!(answered, 8 * 2 * 6);
}

#[tokio::test]
async fn batched_read_scopes_each_pair() {
    let app = TestApp::spawn().await;
    let other = app.other_white_label("southern", "1000.00").await;
    let ours = create_customers(&app, &app.wl.api_key, &app.wl.plan_id, "Harbour", 4).await;
    let theirs = create_customers(&app, &other.api_key, &other.plan_id, "Southern", 2).await;
    let id = |raw: &str| tandem_domain::CustomerId::parse(raw).unwrap();
    let our: Vec<_> = ours.iter().map(|(raw, _)| id(raw)).collect();
    let their: Vec<_> = theirs.iter().map(|(raw, _)| id(raw)).collect();
    let unknown = tandem_domain::CustomerId::new();
    let (wl, other_wl) = (&app.wl.id, &other.id);
    let mut conn = app.app.store().conn().await.unwrap();
    let sorted_pairs = |rows: Vec<tandem_store::customers::CustomerRow>| -> Vec<(String, String)> {
        let mut found: Vec<_> = rows
            .iter()
            .map(|row| (row.white_label_id.to_string(), row.id.to_string()))
            .collect();
        found.sort();
        found
    };

    // Five pairs, padded to eight with the last pair: one of ours, one of ours requested by the
    // wrong white label, one of theirs, an id of no customer, and another of ours. The fourth
    // of ours and the second of theirs are not requested at all.
    let requested = [
        (wl, &our[0]),
        (other_wl, &our[1]),
        (other_wl, &their[0]),
        (wl, &unknown),
        (wl, &our[2]),
    ];
    let rows = tandem_store::customers::get_many(&mut conn, &requested)
        .await
        .unwrap();
    let second = rows.iter().find(|row| row.id == our[2]).unwrap();
    assert_eq!(second.legal_name, "Harbour 2 Ltd");
    assert_eq!(second.plan_name, "Business");
    let mut expected = vec![
        (wl.to_string(), our[0].to_string()),
        (other_wl.to_string(), their[0].to_string()),
    ];
    expected.extend(std::iter::repeat_n((wl.to_string(), our[2].to_string()), 4));
    expected.sort();
    assert_eq!(sorted_pairs(rows), expected);

    // One pair alone.
    let rows = tandem_store::customers::get_many(&mut conn, &[(other_wl, &their[1])])
        .await
        .unwrap();
    assert_eq!(
        sorted_pairs(rows),
        vec![(other_wl.to_string(), their[1].to_string())]
    );

    // The largest statement: every other pair names the wrong white label.
    let requested: Vec<_> = (0..tandem_store::customers::GET_MANY_MAX)
        .map(|i| (if i % 2 == 0 { wl } else { other_wl }, &our[3]))
        .collect();
    let rows = tandem_store::customers::get_many(&mut conn, &requested)
        .await
        .unwrap();
    assert_eq!(
        sorted_pairs(rows),
        vec![(wl.to_string(), our[3].to_string()); tandem_store::customers::GET_MANY_MAX / 2]
    );
}

/// Builds a customer to insert directly through the store, in the test white label.
fn new_customer(app: &TestApp, legal_name: &str, account_number: &str) -> NewCustomer {
    let address = tandem_store::customers::AddressRow {
        line1: "12 Queen Street".into(),
        line2: None,
        suburb: None,
        city: "Auckland".into(),
        region: None,
        postcode: "1010".into(),
        country: "NZ".into(),
    };
    NewCustomer {
        id: tandem_domain::CustomerId::new(),
        white_label_id: app.wl.id.clone(),
        account_number: account_number.into(),
        status: "active".into(),
        payer: "white_label".into(),
        creation_mode: "white_label_managed".into(),
        plan_id: tandem_domain::PlanId::parse(&app.wl.plan_id).unwrap(),
        legal_name: legal_name.into(),
        trading_name: None,
        business_number: None,
        tax_number: None,
        contact_given_name: "Aroha".into(),
        contact_family_name: "Ngata".into(),
        contact_email: "aroha@harbour.example".into(),
        contact_phone: "+6421234567".into(),
        contact_job_title: None,
        billing_address: address.clone(),
        service_same_as_billing: true,
        service_address: address,
        time_zone: "Pacific/Auckland".into(),
        currency: "NZD".into(),
        activation_state: None,
        created_by: None,
    }
}

#[tokio::test]
async fn insert_skips_taken_account_numbers() {
    let app = TestApp::spawn().await;
    let existing = create_customers(&app, &app.wl.api_key, &app.wl.plan_id, "Harbour", 1).await;
    let (existing_id, _) = &existing[0];
    let (status, body) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{existing_id}"),
            &app.wl.api_key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let taken_number = body["account_number"].as_str().unwrap().to_string();
    // Generated numbers all have one length, so a longer one is free.
    let free_number = format!("{taken_number}9");

    // The first row repeats an existing customer's number, the third repeats the second's.
    let rows = [
        new_customer(&app, "Taken Ltd", &taken_number),
        new_customer(&app, "Free Ltd", &free_number),
        new_customer(&app, "Repeat Ltd", &free_number),
    ];
    let now = 1_700_000_000_000_000;
    let timed: Vec<_> = rows.iter().map(|row| (row, now)).collect();
    let mut tx = app.app.store().begin().await.unwrap();
    let skipped = tandem_store::customers::insert_unless_number_taken(&mut tx, &timed)
        .await
        .unwrap();
    assert_eq!(skipped, vec![rows[0].id.clone(), rows[2].id.clone()]);
    tx.commit().await.unwrap();

    let wl = &app.wl.id;
    let mut conn = app.app.store().conn().await.unwrap();
    let mut stored = Vec::new();
    for row in &rows {
        let found = tandem_store::customers::get(&mut conn, wl, &row.id)
            .await
            .unwrap();
        stored.push(found.map(|customer| customer.account_number));
    }
    assert_eq!(stored, vec![None, Some(free_number.to_string()), None]);
    let existing_id = tandem_domain::CustomerId::parse(existing_id).unwrap();
    let existing = tandem_store::customers::get(&mut conn, wl, &existing_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(existing.legal_name, "Harbour 0 Ltd");
    assert_eq!(existing.account_number, taken_number);

    // The plain insert still rejects a taken number, naming the constraint.
    let error = tandem_store::customers::insert(&mut conn, &rows[0], now)
        .await
        .unwrap_err();
    assert!(
        error.is_conflict_on("uq_customers_account_number"),
        "{error}"
    );
}

#[tokio::test]
async fn other_tenant_plan_cannot_be_used() {
    let app = TestApp::spawn().await;
    let other = app.other_white_label("southern", "1000.00").await;

    let (status, problem) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&other.plan_id, "Sneaky Ltd")),
        )
        .await;
    let (plan_status, _) = app
        .api(
            Method::GET,
            &format!("/api/v1/plans/{}", other.plan_id),
            &app.wl.api_key,
            None,
        )
        .await;
    let (retire_status, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/plans/{}/retire", other.plan_id),
            &app.wl.api_key,
            None,
        )
        .await;

    assert_eq!(status, 422);
    assert!(field_errors(&problem).contains(&("plan_id".into(), "plan_not_found".into())));
    assert_eq!(plan_status, 404);
    assert_eq!(retire_status, 404);
}

#[tokio::test]
async fn retired_plan_keeps_customers_and_cannot_be_chosen() {
    let app = TestApp::spawn().await;
    let (_, customer) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Early Ltd")),
        )
        .await;

    let (retire, plan) = app
        .api(
            Method::POST,
            &format!("/api/v1/plans/{}/retire", app.wl.plan_id),
            &app.wl.api_key,
            None,
        )
        .await;
    let (status, problem) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Late Ltd")),
        )
        .await;
    let (_, kept) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{}", customer["id"].as_str().unwrap()),
            &app.wl.api_key,
            None,
        )
        .await;

    assert_eq!(retire, 200);
    assert_eq!(plan["status"], "retired");
    assert_eq!(status, 422);
    assert!(field_errors(&problem).contains(&("plan_id".into(), "plan_retired".into())));
    assert_eq!(kept["plan_id"], app.wl.plan_id.as_str());
}

#[tokio::test]
async fn list_pages_search_and_filter() {
    let app = TestApp::spawn_with_balance("5000.00").await;
    for name in [
        "Alpha Ltd",
        "Beta Ltd",
        "Alpine Ltd",
        "Gamma Ltd",
        "Delta Ltd",
    ] {
        let (status, _) = app
            .api(
                Method::POST,
                "/api/v1/customers",
                &app.wl.api_key,
                Some(customer_body(&app.wl.plan_id, name)),
            )
            .await;
        assert_eq!(status, 201);
    }

    let (_, first) = app
        .api(
            Method::GET,
            "/api/v1/customers?limit=2",
            &app.wl.api_key,
            None,
        )
        .await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, second) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers?limit=2&cursor={cursor}"),
            &app.wl.api_key,
            None,
        )
        .await;
    let (_, third) = app
        .api(
            Method::GET,
            &format!(
                "/api/v1/customers?limit=2&cursor={}",
                second["next_cursor"].as_str().unwrap()
            ),
            &app.wl.api_key,
            None,
        )
        .await;
    let (_, search) = app
        .api(
            Method::GET,
            "/api/v1/customers?q=alp",
            &app.wl.api_key,
            None,
        )
        .await;
    let (_, active) = app
        .api(
            Method::GET,
            "/api/v1/customers?status=active",
            &app.wl.api_key,
            None,
        )
        .await;
    let (_, suspended) = app
        .api(
            Method::GET,
            "/api/v1/customers?status=suspended",
            &app.wl.api_key,
            None,
        )
        .await;
    let (bad_status, _) = app
        .api(
            Method::GET,
            "/api/v1/customers?status=sleeping",
            &app.wl.api_key,
            None,
        )
        .await;

    let names = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["business"]["legal_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&first), ["Delta Ltd", "Gamma Ltd"]);
    assert_eq!(names(&second), ["Alpine Ltd", "Beta Ltd"]);
    assert_eq!(names(&third), ["Alpha Ltd"]);
    assert!(third["next_cursor"].is_null());
    assert_eq!(names(&search), ["Alpine Ltd", "Alpha Ltd"]);
    assert_eq!(active["data"].as_array().unwrap().len(), 5);
    assert_eq!(suspended["data"].as_array().unwrap().len(), 0);
    assert_eq!(bad_status, 422);
}

#[tokio::test]
async fn search_by_account_number() {
    let app = TestApp::spawn().await;
    let (_, customer) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Numbered Ltd")),
        )
        .await;
    let number = customer["account_number"].as_str().unwrap();

    let (_, found) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers?q={}-{}", &number[..4], &number[4..]),
            &app.wl.api_key,
            None,
        )
        .await;

    assert_eq!(found["data"][0]["id"], customer["id"]);
}

#[tokio::test]
async fn search_with_control_character_rejected() {
    let app = TestApp::spawn().await;
    for query in ["%00", "a%00", "1%00", "Kauri%09"] {
        let (status, problem) = app
            .api(
                Method::GET,
                &format!("/api/v1/customers?q={query}"),
                &app.wl.api_key,
                None,
            )
            .await;

        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "q", "{query}: {problem}");
    }
}

#[tokio::test]
async fn api_rejects_missing_and_wrong_keys() {
    let app = TestApp::spawn().await;

    let missing = app
        .client
        .get(app.url("/api/v1/customers"))
        .send()
        .await
        .unwrap();
    let (wrong, problem) = app
        .api(Method::GET, "/api/v1/customers", "tdm_not-a-real-key", None)
        .await;

    assert_eq!(missing.status().as_u16(), 401);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(wrong, 401);
    assert_eq!(problem["code"], "unauthenticated");
}

#[tokio::test]
async fn revoked_key_stops_working() {
    let app = TestApp::spawn().await;
    let (_, keys) = app
        .api(Method::GET, "/api/v1/api-keys", &app.wl.api_key, None)
        .await;
    let id = keys[0]["id"].as_str().unwrap().to_string();
    let (_, created) = app
        .api(
            Method::POST,
            "/api/v1/api-keys",
            &app.wl.api_key,
            Some(json!({"name": "second"})),
        )
        .await;
    let second = created["secret"].as_str().unwrap().to_string();

    let (revoked, _) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/api-keys/{id}"),
            &second,
            None,
        )
        .await;
    let (after, _) = app
        .api(Method::GET, "/api/v1/customers", &app.wl.api_key, None)
        .await;
    let (listed, keys) = app
        .api(Method::GET, "/api/v1/api-keys", &second, None)
        .await;

    assert_eq!(revoked, 204);
    assert_eq!(after, 401);
    assert_eq!(listed, 200);
    assert!(keys
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k.get("secret").is_none()));
}

#[tokio::test]
async fn white_label_key_cannot_use_platform_routes() {
    let app = TestApp::spawn().await;

    let (list, _) = app
        .api(Method::GET, "/api/v1/white-labels", &app.wl.api_key, None)
        .await;
    let (topup, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/white-labels/{}/balance-entries", app.wl.id),
            &app.wl.api_key,
            Some(json!({"kind": "top_up", "amount": "1000.00", "reason": "free money"})),
        )
        .await;

    assert_eq!(list, 403);
    assert_eq!(topup, 403);
    assert_eq!(white_label_balance(&app).await, 100_000);
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&app.wl.api_key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 400);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "malformed_request");
}

#[tokio::test]
async fn plan_update_requires_current_version() {
    let app = TestApp::spawn().await;
    let path = format!("/api/v1/plans/{}", app.wl.plan_id);
    let body = json!({"name": "Business Plus", "description": "", "setup_fee": "49.00", "monthly_fee": "45.00",
                      "included_extensions": 12, "extra_extension_fee": "5.00", "number_rental": "5.00", "min_opening_credit": "50.00"});
    let mut v1 = HeaderMap::new();
    v1.insert("If-Match", HeaderValue::from_static("\"1\""));

    let (missing, _) = app
        .api(Method::PUT, &path, &app.wl.api_key, Some(body.clone()))
        .await;
    let (first, updated) = app
        .api_with_headers(
            Method::PUT,
            &path,
            &app.wl.api_key,
            Some(body.clone()),
            v1.clone(),
        )
        .await;
    let (stale, problem) = app
        .api_with_headers(Method::PUT, &path, &app.wl.api_key, Some(body), v1)
        .await;

    assert_eq!(missing, 428);
    assert_eq!(first, 200);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["monthly_fee"]["amount_minor"], 4500);
    assert_eq!(stale, 412);
    assert_eq!(problem["current_version"], 2);
}

#[tokio::test]
async fn plan_money_input_rules() {
    let app = TestApp::spawn().await;
    let base = json!({"name": "Money", "description": "", "setup_fee": "0", "monthly_fee": "2557.68",
                      "included_extensions": 1, "extra_extension_fee": "0", "number_rental": "0", "min_opening_credit": "0"});
    let (ok, plan) = app
        .api(
            Method::POST,
            "/api/v1/plans",
            &app.wl.api_key,
            Some(base.clone()),
        )
        .await;
    assert_eq!(ok, 201, "{plan}");
    assert_eq!(plan["monthly_fee"]["amount_minor"], 255_768);

    for bad in ["-1.00", "1.005", "1e3", "abc", ""] {
        let mut body = base.clone();
        body["name"] = json!(format!("Bad {bad}"));
        body["monthly_fee"] = json!(bad);
        let (status, problem) = app
            .api(Method::POST, "/api/v1/plans", &app.wl.api_key, Some(body))
            .await;
        assert_eq!(status, 422, "{bad}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "monthly_fee", "{bad}");
    }
}

#[tokio::test]
async fn openapi_document_is_served() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/customers"]["post"].is_object());
    assert!(doc["components"]["schemas"]["CreateCustomerRequest"].is_object());

    // Every path parameter appears in its path, so query parameters are not described as part
    // of the path.
    let mut path_params = Vec::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for param in operation["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" {
                    let name = param["name"].as_str().unwrap();
                    path_params.push((format!("{method} {path}"), name.to_string()));
                }
            }
        }
    }
    let misplaced: Vec<_> = path_params
        .iter()
        .filter(|(operation, name)| !operation.contains(&format!("{{{name}}}")))
        .collect();
    assert!(!path_params.is_empty());
    assert_eq!(misplaced, Vec::<&(String, String)>::new());
    let list = &doc["paths"]["/api/v1/customers"]["get"]["parameters"];
    let limit = list
        .as_array()
        .unwrap()
        .iter()
        .find(|param| param["name"] == "limit")
        .unwrap();
    assert_eq!(limit["in"], "query");
    assert_ne!(limit["required"], true);
}

#[tokio::test]
async fn white_label_cannot_change_own_hosts() {
    let app = TestApp::spawn().await;
    let (_, current) = app
        .api(Method::GET, "/api/v1/white-label", &app.wl.api_key, None)
        .await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "If-Match",
        HeaderValue::from_str(&current["version"].to_string()).unwrap(),
    );
    let body = json!({"name": "harbour Telecom", "hosts": ["harbour.localhost", "127.0.0.1"], "country": "NZ",
                      "currency": "NZD", "support_email": "support@harbour.example", "primary_colour": "#0b6e4f",
                      "tax_name": "GST", "tax_rate_percent": "15", "show_prices_with_tax": true});

    let (status, _) = app
        .api_with_headers(
            Method::PUT,
            "/api/v1/white-label",
            &app.wl.api_key,
            Some(body),
            headers,
        )
        .await;

    assert_eq!(status, 403);
}

#[tokio::test]
async fn plan_amount_above_maximum_rejected() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "Mint", "description": "", "setup_fee": "92233720368547758.07", "monthly_fee": "0",
                      "included_extensions": 1, "extra_extension_fee": "0", "number_rental": "0", "min_opening_credit": "0"});

    let (status, problem) = app
        .api(Method::POST, "/api/v1/plans", &app.wl.api_key, Some(body))
        .await;

    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "setup_fee");
}

#[tokio::test]
async fn created_body_matches_stored_customer() {
    let app = TestApp::spawn().await;
    let (status, created) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Kauri Joinery Ltd")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();

    let (status, stored) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{id}"),
            &app.wl.api_key,
            None,
        )
        .await;

    assert_eq!(status, 200, "{stored}");
    assert_eq!(created, stored);
}

#[tokio::test]
async fn opening_charges_record_running_balance() {
    let app = TestApp::spawn().await;
    let before = white_label_balance(&app).await;
    let (_, customer) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, "Kauri Joinery Ltd")),
        )
        .await;
    let id = customer["id"].as_str().unwrap();

    let (_, ledger) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{id}/ledger"),
            &app.wl.api_key,
            None,
        )
        .await;

    // Setup fee 49.00 + 7.35 GST, then monthly fee 39.00 + 5.85 GST, newest first.
    let entries = ledger["data"].as_array().unwrap();
    let balances: Vec<i64> = entries
        .iter()
        .map(|e| e["balance_after"]["amount_minor"].as_i64().unwrap())
        .collect();
    assert_eq!(balances.len(), 2);
    assert!(balances.contains(&(before - 5_635)));
    assert!(balances.contains(&(before - 10_120)));
    assert_eq!(white_label_balance(&app).await, before - 10_120);
}

#[tokio::test]
async fn retry_replays_after_plan_retired() {
    let app = TestApp::spawn().await;
    let mut headers = HeaderMap::new();
    headers.insert("Idempotency-Key", HeaderValue::from_static("order-9"));
    let body = customer_body(&app.wl.plan_id, "Kauri Joinery Ltd");
    let (first, created) = app
        .api_with_headers(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(body.clone()),
            headers.clone(),
        )
        .await;
    let (retire, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/plans/{}/retire", app.wl.plan_id),
            &app.wl.api_key,
            None,
        )
        .await;

    let (retry, replayed) = app
        .api_with_headers(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(body),
            headers,
        )
        .await;

    assert_eq!(first, 201, "{created}");
    assert_eq!(retire, 200);
    assert_eq!(retry, 201, "{replayed}");
    assert_eq!(replayed, created);
}

/// Sends `count` creation requests at once and returns each response's status and body.
async fn create_at_once(app: &TestApp, count: usize) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for n in 0..count {
        let client = app.client.clone();
        let url = app.url("/api/v1/customers");
        let key = app.wl.api_key.clone();
        let body = customer_body(&app.wl.plan_id, &format!("Together {n} Ltd"));
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .expect("sent");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.expect("task"));
    }
    responses
}

/// Lists the white label's charges in the order they were posted, each as (customer id,
/// change, balance after). Charges only lower the balance, so that order is the order of falling
/// balances.
async fn white_label_charges(app: &TestApp) -> Vec<(String, i64, i64)> {
    let (status, ledger) = app
        .api(
            Method::GET,
            "/api/v1/white-label/ledger?limit=200",
            &app.wl.api_key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{ledger}");
    let minor = |entry: &Value, field: &str| entry[field]["amount_minor"].as_i64().unwrap();
    let mut charges: Vec<(String, i64, i64)> = ledger["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "charge")
        .map(|entry| {
            (
                entry["customer_id"].as_str().unwrap().to_string(),
                minor(entry, "amount") + minor(entry, "tax"),
                minor(entry, "balance_after"),
            )
        })
        .collect();
    charges.sort_by_key(|&(_, _, after)| std::cmp::Reverse(after));
    charges
}

#[tokio::test]
async fn concurrent_creations_each_record_their_charges() {
    let app = TestApp::spawn().await;
    let before = white_label_balance(&app).await;

    let responses = create_at_once(&app, 9).await;

    let mut ids: Vec<String> = Vec::new();
    for (status, body) in &responses {
        assert_eq!(*status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let after = white_label_balance(&app).await;
    assert_eq!(after, before - 9 * 10_120);
    assert_eq!(ledger_sum(&app, app.wl.id.as_str()).await, after);
    let charges = white_label_charges(&app).await;
    assert_eq!(charges.len(), 18);
    // Every charge records the balance it left, one after the other from the opening balance.
    let mut balance = before;
    for (customer, change, balance_after) in &charges {
        balance += change;
        assert_eq!(*balance_after, balance, "charge to {customer}");
    }
    assert_eq!(balance, after);
    for id in &ids {
        let own = charges.iter().filter(|(c, _, _)| c == id).count();
        assert_eq!(own, 2, "charges of {id}");
    }
}

#[tokio::test]
async fn concurrent_creations_stop_where_the_balance_runs_out() {
    // 500.00 pays for four accounts at 101.20 each, and not a fifth.
    let app = TestApp::spawn_with_balance("500.00").await;

    let responses = create_at_once(&app, 10).await;

    let created: Vec<&Value> = responses
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body)
        .collect();
    let refused: Vec<&Value> = responses
        .iter()
        .filter(|(status, _)| *status == 409)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(created.len(), 4, "{responses:?}");
    assert_eq!(refused.len(), 6, "{responses:?}");
    assert!(refused
        .iter()
        .all(|body| body["code"] == "insufficient_funds"));
    assert_eq!(white_label_balance(&app).await, 50_000 - 4 * 10_120);
    let (_, list) = app
        .api(Method::GET, "/api/v1/customers", &app.wl.api_key, None)
        .await;
    let mut listed: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = created.iter().map(|c| c["id"].as_str().unwrap()).collect();
    listed.sort_unstable();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    let (_, audit) = app
        .api(Method::GET, "/api/v1/audit", &app.wl.api_key, None)
        .await;
    let recorded = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "customer.created")
        .count();
    assert_eq!(recorded, 4);
    assert_eq!(white_label_charges(&app).await.len(), 8);
}

/// Two servers share one database. The first caches the plan with its first creation, and the
/// second raises the plan's setup fee and then retires it. The first server charges the new fee
/// and then rejects the retired plan, as it would without its cache.
#[tokio::test]
async fn plan_changes_on_other_server_apply() {
    let app = TestApp::spawn().await;
    let settings = support::test_settings();
    let second = tandem::Server::start(
        tandem::build_app(app.app.store().clone(), &settings),
        &settings,
    )
    .await
    .expect("second server starts");
    let second_url = format!("http://{}", second.address);
    let plan_path = format!("/api/v1/plans/{}", app.wl.plan_id);
    let create = |name: &'static str| {
        app.api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(customer_body(&app.wl.plan_id, name)),
        )
    };

    let (first, _) = create("Early Ltd").await;
    let dearer = json!({"name": "Business", "description": "", "setup_fee": "59.00",
                        "monthly_fee": "39.00", "included_extensions": 10,
                        "extra_extension_fee": "5.00", "number_rental": "5.00",
                        "min_opening_credit": "50.00"});
    let raised = app
        .client
        .put(format!("{second_url}{plan_path}"))
        .bearer_auth(&app.wl.api_key)
        .header("If-Match", "\"1\"")
        .json(&dearer)
        .send()
        .await
        .expect("second server answers");
    let raised = raised.status();
    let balance_before = white_label_balance(&app).await;
    let (charged, _) = create("Middle Ltd").await;
    let balance_after = white_label_balance(&app).await;
    let retired = app
        .client
        .post(format!("{second_url}{plan_path}/retire"))
        .bearer_auth(&app.wl.api_key)
        .send()
        .await
        .expect("second server answers")
        .status();
    let (rejected, problem) = create("Late Ltd").await;
    let (_, list) = app
        .api(Method::GET, "/api/v1/customers", &app.wl.api_key, None)
        .await;
    second.abort();

    assert_eq!(first, 201);
    assert_eq!(raised, 200);
    assert_eq!(charged, 201);
    // Setup fee 59.00 + 8.85 GST, then monthly fee 39.00 + 5.85 GST.
    assert_eq!(balance_before - balance_after, 11_270);
    assert_eq!(retired, 200);
    assert_eq!(rejected, 422, "{problem}");
    assert!(field_errors(&problem).contains(&("plan_id".into(), "plan_retired".into())));
    assert_eq!(list["data"].as_array().map(Vec::len), Some(2), "{list}");
}
