//! Numbers and PBX settings through the API over real HTTP, on SQLite or (with
//! `TEST_DATABASE_URL`) PostgreSQL: assignment and its charges, the short-number namespace,
//! references, loops, versioned edits, tenant isolation, recordings, port orders and the
//! routing table.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::{account_key, TestApp};

/// Loads numbers into the platform's pool from the command line's guard.
async fn load(app: &TestApp, numbers: &[&str]) {
    let lines: Vec<_> = numbers
        .iter()
        .enumerate()
        .map(|(index, number)| tandem_app::numbers::NumberLine {
            line: index + 1,
            number: number.to_string(),
            country: "NZ".into(),
        })
        .collect();
    let report = app
        .app
        .load_numbers(
            &tandem_app::access::PlatformAdmin::command_line(),
            &lines,
            None,
            &|_| {},
        )
        .await
        .expect("numbers load");
    assert_eq!(report.loaded, numbers.len(), "{report:?}");
}

async fn customer(app: &TestApp, name: &str) -> String {
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(support::customer_body(&app.wl.plan_id, name)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.api(Method::POST, path, &app.wl.api_key, Some(body))
        .await
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    app.api(Method::GET, path, &app.wl.api_key, None).await
}

async fn extension(app: &TestApp, customer: &str, number: &str, name: &str) -> Value {
    let (status, body) = post(
        app,
        &format!("/api/v1/customers/{customer}/extensions"),
        json!({"number": number, "name": name}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn balance(app: &TestApp) -> i64 {
    let (_, wl) = get(app, "/api/v1/white-label").await;
    wl["balance"]["amount_minor"].as_i64().expect("balance")
}

#[tokio::test]
async fn number_stored_and_assigned_once() {
    let app = TestApp::spawn().await;
    load(&app, &["+6494001234", "09 400 1235"]).await;
    let a = customer(&app, "Kauri Joinery").await;
    let b = customer(&app, "Totara Builders").await;

    let before = balance(&app).await;
    let (status, preview) = post(
        &app,
        &format!("/api/v1/customers/{a}/numbers?dry_run=true"),
        json!({"number": "+64 9 400 1234"}),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["charges"]["payer"], "white_label");
    // The plan's rental is 5.00 plus 15 % GST.
    assert_eq!(preview["charges"]["total_minor"], 575);
    assert_eq!(balance(&app).await, before, "a dry run charges nothing");

    let (status, assigned) = post(
        &app,
        &format!("/api/v1/customers/{a}/numbers"),
        json!({"number": "+6494001234"}),
    )
    .await;
    assert_eq!(status, 201, "{assigned}");
    assert_eq!(assigned["number"]["number"], "+6494001234");
    assert_eq!(assigned["number"]["state"], "assigned");
    assert_eq!(balance(&app).await, before - 575);
    let (_, ledger) = get(&app, &format!("/api/v1/customers/{a}/ledger")).await;
    assert!(
        ledger.to_string().contains("Number rental, +64 9 400 1234"),
        "{ledger}"
    );

    for typed in ["09 400 1234", "6494001234", "+64 9 400 1234"] {
        let (status, problem) = post(
            &app,
            &format!("/api/v1/customers/{b}/numbers"),
            json!({"number": typed}),
        )
        .await;
        assert_eq!(status, 409, "{typed}: {problem}");
        assert_eq!(problem["code"], "number_in_use", "{typed}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("+64 9 400 1234"),
            "{problem}"
        );
    }
    let (status, problem) = post(
        &app,
        &format!("/api/v1/customers/{b}/numbers"),
        json!({"number": "09 400 9999"}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "number_not_in_inventory");
}

#[tokio::test]
async fn number_concurrent_assignments_one_wins() {
    let app = TestApp::spawn().await;
    load(&app, &["+6494005555"]).await;
    let a = customer(&app, "Kauri Joinery").await;
    let b = customer(&app, "Totara Builders").await;
    let (path_a, path_b) = (
        format!("/api/v1/customers/{a}/numbers"),
        format!("/api/v1/customers/{b}/numbers"),
    );
    let (first, second) = tokio::join!(
        post(&app, &path_a, json!({"number": "094005555"})),
        post(&app, &path_b, json!({"number": "094005555"})),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{first:?} {second:?}");
    let (_, a_numbers) = get(&app, &format!("/api/v1/customers/{a}/numbers")).await;
    let (_, b_numbers) = get(&app, &format!("/api/v1/customers/{b}/numbers")).await;
    let assigned =
        a_numbers["items"].as_array().unwrap().len() + b_numbers["items"].as_array().unwrap().len();
    assert_eq!(assigned, 1);
}

#[tokio::test]
async fn short_numbers_one_namespace_per_account() {
    let app = TestApp::spawn().await;
    let a = customer(&app, "Kauri Joinery").await;
    let b = customer(&app, "Totara Builders").await;
    extension(&app, &a, "200", "Reception").await;

    for (path, body) in [
        (
            "ring-groups",
            json!({"number": "200", "name": "Sales", "members": ["200"]}),
        ),
        (
            "ivr-menus",
            json!({"number": "200", "name": "Main menu", "greeting_text": "Hello", "options": {"1": "200"}}),
        ),
    ] {
        let (status, problem) = post(&app, &format!("/api/v1/customers/{a}/{path}"), body).await;
        assert_eq!(status, 409, "{path}: {problem}");
        assert_eq!(problem["code"], "short_number_taken");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("extension 200 \"Reception\""),
            "{problem}"
        );
    }
    for reserved in ["111", "000", "911", "112", "*97"] {
        let (status, problem) = post(
            &app,
            &format!("/api/v1/customers/{a}/extensions"),
            json!({"number": reserved, "name": "Nope"}),
        )
        .await;
        assert_eq!(status, 422, "{reserved}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "number");
    }
    let created = extension(&app, &b, "200", "Front desk").await;
    assert_eq!(created["object"]["short_number"], "200");
    let password = created["sip_password"]
        .as_str()
        .expect("password shown once");
    assert!(password.len() >= 20);
    let (_, read) = get(
        &app,
        &format!(
            "/api/v1/customers/{b}/extensions/{}",
            created["object"]["id"].as_str().unwrap()
        ),
    )
    .await;
    assert!(
        read.get("sip_password").is_none(),
        "the password is shown only once"
    );
    assert!(!read.to_string().contains(password));
}

#[tokio::test]
async fn object_in_use_delete_rejected() {
    let app = TestApp::spawn().await;
    load(&app, &["+6494001234"]).await;
    let a = customer(&app, "Kauri Joinery").await;
    let ext = extension(&app, &a, "101", "Ann").await;
    let ext_id = ext["object"]["id"].as_str().unwrap().to_string();
    let (status, sales) = post(
        &app,
        &format!("/api/v1/customers/{a}/ring-groups"),
        json!({"number": "600", "name": "Sales", "members": ["101"], "strategy": "simultaneous"}),
    )
    .await;
    assert_eq!(status, 201, "{sales}");
    let sales_id = sales["object"]["id"].as_str().unwrap().to_string();
    let (status, menu) = post(
        &app,
        &format!("/api/v1/customers/{a}/ivr-menus"),
        json!({"number": "700", "name": "Main menu", "greeting_text": "Press 1 for sales",
               "options": {"1": sales_id}}),
    )
    .await;
    assert_eq!(status, 201, "{menu}");
    let menu_id = menu["object"]["id"].as_str().unwrap().to_string();
    post(
        &app,
        &format!("/api/v1/customers/{a}/numbers"),
        json!({"number": "+6494001234"}),
    )
    .await;
    let (status, routed) = app
        .api(
            Method::PUT,
            &format!("/api/v1/customers/{a}/numbers/+6494001234/destination"),
            &app.wl.api_key,
            Some(json!({"destination": sales_id, "version": 2})),
        )
        .await;
    assert_eq!(status, 200, "{routed}");

    let delete = |id: String| {
        let app = &app;
        let a = a.clone();
        async move {
            app.api(
                Method::DELETE,
                &format!("/api/v1/customers/{a}/ring-groups/{id}"),
                &app.wl.api_key,
                None,
            )
            .await
        }
    };
    let (status, problem) = delete(sales_id.clone()).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "in_use");
    let details = problem["details"].to_string();
    assert!(
        details.contains("Main menu") && details.contains("option 1"),
        "{details}"
    );
    assert!(details.contains("+64 9 400 1234"), "{details}");
    let (status, _) = get(
        &app,
        &format!("/api/v1/customers/{a}/ring-groups/{sales_id}"),
    )
    .await;
    assert_eq!(status, 200, "nothing was deleted");

    // Move both references, then the delete succeeds.
    let (status, body) = app
        .api(
            Method::PUT,
            &format!("/api/v1/customers/{a}/ivr-menus/{menu_id}"),
            &app.wl.api_key,
            Some(
                json!({"number": "700", "name": "Main menu", "greeting_text": "Press 1 for Ann",
                        "options": {"1": ext_id}, "version": 1}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .api(
            Method::PUT,
            &format!("/api/v1/customers/{a}/numbers/+6494001234/destination"),
            &app.wl.api_key,
            Some(json!({"destination": "700", "version": 3})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = delete(sales_id).await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn forwarding_loop_rejected_with_path() {
    let app = TestApp::spawn().await;
    let a = customer(&app, "Kauri Joinery").await;
    extension(&app, &a, "101", "Ann").await;
    let bob = extension(&app, &a, "102", "Bob").await;
    let bob_id = bob["object"]["id"].as_str().unwrap();
    let (status, _) = app
        .api(
            Method::PUT,
            &format!("/api/v1/customers/{a}/extensions/{bob_id}"),
            &app.wl.api_key,
            Some(json!({"number": "102", "name": "Bob", "forward_always": "101", "version": 1})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, list) = get(&app, &format!("/api/v1/customers/{a}/extensions")).await;
    let ann = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["short_number"] == "101")
        .unwrap()
        .clone();
    let (status, problem) = app
        .api(
            Method::PUT,
            &format!(
                "/api/v1/customers/{a}/extensions/{}",
                ann["id"].as_str().unwrap()
            ),
            &app.wl.api_key,
            Some(json!({"number": "101", "name": "Ann", "forward_no_answer": "102", "version": 1})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "routing_loop");
    let path: Vec<String> = problem["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(path.len(), 3, "{path:?}");
    assert_eq!(path.first(), path.last());
    assert!(
        problem["detail"].as_str().unwrap().contains("101"),
        "{problem}"
    );
}

#[tokio::test]
async fn stale_edit_rejected_with_version() {
    let app = TestApp::spawn().await;
    let a = customer(&app, "Kauri Joinery").await;
    extension(&app, &a, "101", "Ann").await;
    let (_, menu) = post(
        &app,
        &format!("/api/v1/customers/{a}/ivr-menus"),
        json!({"number": "700", "name": "Main menu", "greeting_text": "Welcome", "options": {"1": "101"}}),
    )
    .await;
    let path = format!(
        "/api/v1/customers/{a}/ivr-menus/{}",
        menu["object"]["id"].as_str().unwrap()
    );
    let edit = |greeting: &'static str| {
        json!({"number": "700", "name": "Main menu", "greeting_text": greeting,
               "options": {"1": "101"}, "version": 1})
    };
    let (first, saved) = app
        .api(
            Method::PUT,
            &path,
            &app.wl.api_key,
            Some(edit("First change")),
        )
        .await;
    let (second, problem) = app
        .api(
            Method::PUT,
            &path,
            &app.wl.api_key,
            Some(edit("Second change")),
        )
        .await;
    assert_eq!(first, 200, "{saved}");
    assert_eq!(saved["object"]["version"], 2);
    assert_eq!(second, 409, "{problem}");
    assert_eq!(problem["code"], "edit_conflict");
    assert_eq!(problem["current_version"], 2);
    let (_, read) = get(&app, &path).await;
    assert_eq!(read["settings"]["greeting"]["text"], "First change");
    let (status, problem) = app
        .api(
            Method::PUT,
            &path,
            &app.wl.api_key,
            Some(json!({"number": "700", "name": "Main menu", "greeting_text": "x", "options": {"1": "101"}})),
        )
        .await;
    assert_eq!(
        status, 422,
        "an edit without a version is refused: {problem}"
    );
}

#[tokio::test]
async fn account_isolated_from_other_accounts() {
    let app = TestApp::spawn().await;
    let a = customer(&app, "Kauri Joinery").await;
    let b = customer(&app, "Totara Builders").await;
    let a_key = account_key(&app, &a, "ann@kauri.example").await;
    let ext = extension(&app, &b, "101", "Bob").await;
    let ext_id = ext["object"]["id"].as_str().unwrap();
    let (status, voicemail) = post(
        &app,
        &format!("/api/v1/customers/{b}/voicemail-boxes"),
        json!({"number": "800", "name": "Office", "pin": "4821"}),
    )
    .await;
    assert_eq!(status, 201, "{voicemail}");
    let vm_id = voicemail["object"]["id"].as_str().unwrap();

    // The account's own key works on its own account.
    let (status, _) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{a}/extensions"),
            &a_key,
            None,
        )
        .await;
    assert_eq!(status, 200);
    for path in [
        format!("/api/v1/customers/{b}/extensions/{ext_id}"),
        format!("/api/v1/customers/{b}/voicemail-boxes/{vm_id}"),
        format!("/api/v1/customers/{b}/routing"),
        format!("/api/v1/customers/{b}/numbers"),
        // Another account's object through the caller's own account.
        format!("/api/v1/customers/{a}/extensions/{ext_id}"),
        format!("/api/v1/customers/{a}/voicemail-boxes/{vm_id}"),
    ] {
        let (status, body) = app.api(Method::GET, &path, &a_key, None).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/customers/{a}/extensions/{ext_id}"),
            &a_key,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Another white label gets none of it either.
    let other = app.other_white_label("southern", "100.00").await;
    let (status, _) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{b}/routing"),
            &other.api_key,
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn greeting_must_be_audio_within_limit() {
    let app = TestApp::spawn().await;
    let a = customer(&app, "Kauri Joinery").await;
    let url = app.url(&format!("/api/v1/customers/{a}/recordings"));
    let send = |body: Vec<u8>, content_type: &'static str| {
        let request = app
            .client
            .post(url.clone())
            .bearer_auth(&app.wl.api_key)
            .header("content-type", content_type)
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, problem) = send(b"%PDF-1.7 not audio".to_vec(), "audio/wav").await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "not_audio");
    let (status, problem) = send(vec![0u8; 6 * 1024 * 1024], "audio/wav").await;
    assert_eq!(status, 422, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("5 MB"), "{problem}");
    let mut wav = b"RIFF\x24\0\0\0WAVEfmt ".to_vec();
    wav.extend_from_slice(&[0u8; 64]);
    let (status, created) = send(wav, "audio/wav").await;
    assert_eq!(status, 201, "{created}");
    let media = created["id"].as_str().unwrap();
    extension(&app, &a, "101", "Ann").await;
    let (status, menu) = post(
        &app,
        &format!("/api/v1/customers/{a}/ivr-menus"),
        json!({"number": "700", "name": "Main menu", "greeting_recording": media, "options": {"1": "101"}}),
    )
    .await;
    assert_eq!(status, 201, "{menu}");
    assert_eq!(menu["object"]["settings"]["greeting"]["recording"], media);
}

#[tokio::test]
async fn routing_table_and_trace_show_path() {
    let app = TestApp::spawn().await;
    load(&app, &["+6494001234"]).await;
    let a = customer(&app, "Kauri Joinery").await;
    extension(&app, &a, "101", "Ann").await;
    extension(&app, &a, "102", "Bob").await;
    let (_, vm) = post(
        &app,
        &format!("/api/v1/customers/{a}/voicemail-boxes"),
        json!({"number": "800", "name": "Sales voicemail", "pin": "4821"}),
    )
    .await;
    let (status, group) = post(
        &app,
        &format!("/api/v1/customers/{a}/ring-groups"),
        json!({"number": "600", "name": "Sales", "members": ["101", "102"], "ring_seconds": 25,
               "no_answer": vm["object"]["id"]}),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let (status, hours) = post(
        &app,
        &format!("/api/v1/customers/{a}/time-conditions"),
        json!({"name": "Office hours",
               "weekly": [{"day": "mon", "open": "08:30", "close": "17:00"},
                          {"day": "fri", "open": "08:30", "close": "17:00"}],
               "exceptions": [{"date": "2026-12-25", "name": "Christmas Day"}],
               "open": "600", "closed": "800"}),
    )
    .await;
    assert_eq!(status, 201, "{hours}");
    post(
        &app,
        &format!("/api/v1/customers/{a}/numbers"),
        json!({"number": "094001234"}),
    )
    .await;
    app.api(
        Method::PUT,
        &format!("/api/v1/customers/{a}/numbers/+6494001234/destination"),
        &app.wl.api_key,
        Some(json!({"destination": hours["object"]["id"], "version": 2})),
    )
    .await;

    let (status, table) = get(&app, &format!("/api/v1/customers/{a}/routing")).await;
    assert_eq!(status, 200, "{table}");
    let emergency: Vec<&str> = table["emergency"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["dialled"].as_str().unwrap())
        .collect();
    assert!(emergency.contains(&"111"), "{emergency:?}");
    let number = table["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["dialled"] == "+6494001234")
        .expect("the number has an entry");
    assert_eq!(number["start"]["id"], hours["object"]["id"]);

    // Friday 4 December 2026, 10:00 in Auckland: open, so the ring group rings.
    let (status, open) = get(
        &app,
        &format!("/api/v1/customers/{a}/routing/trace?number=09%20400%201234&at=2026-12-04T10:00:00%2B13:00"),
    )
    .await;
    assert_eq!(status, 200, "{open}");
    let text = open["steps"].to_string();
    assert!(text.contains("Sales"), "{text}");
    assert!(text.contains("25"), "{text}");
    // Christmas Day: closed, straight to voicemail.
    let (_, closed) = get(
        &app,
        &format!("/api/v1/customers/{a}/routing/trace?number=%2B6494001234&at=2026-12-25T10:00:00%2B13:00"),
    )
    .await;
    let text = closed["steps"].to_string();
    assert!(text.contains("Christmas Day"), "{text}");
    // The same instant as a local time of the account's zone.
    let (status, local) = get(
        &app,
        &format!("/api/v1/customers/{a}/routing/trace?number=%2B6494001234&at=2026-12-25T10:00"),
    )
    .await;
    assert_eq!(status, 200, "{local}");
    assert_eq!(local["steps"], closed["steps"]);
    assert!(text.contains("Sales voicemail"), "{text}");
    let (_, emergency) = get(
        &app,
        &format!("/api/v1/customers/{a}/routing/trace?number=111"),
    )
    .await;
    assert!(
        emergency["steps"]
            .to_string()
            .to_lowercase()
            .contains("emergency"),
        "{emergency}"
    );
}

#[tokio::test]
async fn dial_rule_capturing_emergency_warns() {
    let app = TestApp::spawn().await;
    let a = customer(&app, "Kauri Joinery").await;
    let (status, policy) = get(&app, &format!("/api/v1/customers/{a}/outbound-policy")).await;
    assert_eq!(status, 200);
    assert_eq!(policy["version"], 0);
    let allowed = policy["allowed"].to_string();
    assert!(
        !allowed.contains("international"),
        "international is off by default: {allowed}"
    );
    let (status, saved) = app
        .api(
            Method::PUT,
            &format!("/api/v1/customers/{a}/outbound-policy"),
            &app.wl.api_key,
            Some(
                json!({"allowed": ["national", "mobile"], "concurrent_calls": 4,
                        "dial_rules": [{"prefix": "1", "strip": 1, "prepend": ""}], "version": 0}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["policy"]["version"], 1);
    assert!(saved["warnings"].to_string().contains("111"), "{saved}");
    let (_, trace) = get(
        &app,
        &format!("/api/v1/customers/{a}/routing/trace?number=111"),
    )
    .await;
    assert!(
        trace["steps"]
            .to_string()
            .to_lowercase()
            .contains("emergency"),
        "{trace}"
    );
}

#[tokio::test]
async fn extension_import_charges_beyond_plan() {
    let app = TestApp::spawn().await;
    let a = customer(&app, "Kauri Joinery").await;
    let mut csv = String::from("number,name,sip_password\n");
    for n in 0..10 {
        csv.push_str(&format!("{},Person {n},\n", 101 + n));
    }
    csv.push_str("111,Emergency,\n201,Moved phone,Harbour2026moved\n202,Weak,short\n");
    let response = app
        .client
        .post(app.url(&format!("/api/v1/customers/{a}/extensions/import")))
        .bearer_auth(&app.wl.api_key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["created"].as_array().unwrap().len(), 11, "{report}");
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{report}");
    assert_eq!(rejected[0]["line"], 12);
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("emergency"),
        "{report}"
    );
    assert_eq!(rejected[1]["line"], 14);
    let moved = report["created"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["number"] == "201")
        .unwrap();
    assert!(
        moved.get("sip_password").is_none(),
        "a given password is not echoed"
    );
    assert_eq!(
        moved["charged_minor"], 575,
        "the eleventh extension is charged"
    );
    let first = &report["created"][0];
    assert_eq!(
        first["charged_minor"], 0,
        "extensions within the plan are free"
    );

    // The eleventh extension went past the plan's ten and was charged 5.00 plus GST.
    let (_, ledger) = get(&app, &format!("/api/v1/customers/{a}/ledger")).await;
    assert!(
        ledger.to_string().contains("Extra extension 201"),
        "{ledger}"
    );
    let (status, preview) = post(
        &app,
        &format!("/api/v1/customers/{a}/extensions?dry_run=true"),
        json!({"number": "300", "name": "Next"}),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["charges"]["total_minor"], 575);
    assert_eq!(preview["charges"]["payer"], "white_label");
    let (_, list) = get(&app, &format!("/api/v1/customers/{a}/extensions")).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        11,
        "the dry run created nothing"
    );
}

#[tokio::test]
async fn port_order_state_transitions() {
    let app = TestApp::spawn().await;
    let a = customer(&app, "Kauri Joinery").await;
    let (status, order) = post(
        &app,
        &format!("/api/v1/customers/{a}/port-orders"),
        json!({"numbers": ["09 300 1234", "09 300 1235"], "losing_carrier": "Spark"}),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["state"], "draft");
    let id = order["id"].as_str().unwrap();
    let (_, numbers) = get(&app, &format!("/api/v1/customers/{a}/numbers")).await;
    assert_eq!(numbers["items"][0]["state"], "porting");
    assert_eq!(numbers["items"][0]["live"], false);

    let step = |to: &'static str, extra: Value| {
        let mut body = json!({"to": to});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let path = format!("/api/v1/customers/{a}/port-orders/{id}/transitions");
        let app = &app;
        async move { post(app, &path, body).await }
    };
    let (status, problem) = step("completed", json!({})).await;
    assert_eq!(status, 409, "a draft cannot complete: {problem}");
    assert_eq!(step("submitted", json!({})).await.0, 200);
    let (status, problem) = step("scheduled", json!({})).await;
    assert_eq!(status, 422, "a schedule needs a date: {problem}");
    assert_eq!(
        step("scheduled", json!({"date": "2099-12-14"})).await.0,
        200
    );
    // The carrier moved the date: the order is scheduled again, not refused.
    let (status, moved) = step("scheduled", json!({"date": "2099-12-21"})).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["scheduled_date"], "2099-12-21");
    let (status, problem) = step("scheduled", json!({"date": "2020-01-01"})).await;
    assert_eq!(status, 422, "a date that has passed: {problem}");
    let (status, done) = step("completed", json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "completed");
    let (_, numbers) = get(&app, &format!("/api/v1/customers/{a}/numbers")).await;
    for number in numbers["items"].as_array().unwrap() {
        assert_eq!(number["state"], "assigned");
        assert_eq!(number["live"], true);
    }
    assert_eq!(
        step("cancelled", json!({})).await.0,
        409,
        "a completed order stays completed"
    );

    // A cancelled order takes its numbers away from the account.
    let (_, second) = post(
        &app,
        &format!("/api/v1/customers/{a}/port-orders"),
        json!({"numbers": ["09 300 2000"], "losing_carrier": "One NZ"}),
    )
    .await;
    let path = format!(
        "/api/v1/customers/{a}/port-orders/{}/transitions",
        second["id"].as_str().unwrap()
    );
    assert_eq!(post(&app, &path, json!({"to": "cancelled"})).await.0, 200);
    let (_, numbers) = get(&app, &format!("/api/v1/customers/{a}/numbers")).await;
    assert!(!numbers.to_string().contains("+6493002000"), "{numbers}");
    let (status, problem) = post(
        &app,
        &format!("/api/v1/customers/{a}/port-orders"),
        json!({"numbers": ["+61 2 9876 5432"], "losing_carrier": "Telstra"}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
}

#[tokio::test]
async fn released_number_enters_quarantine() {
    let app = TestApp::spawn().await;
    load(&app, &["+6494007777"]).await;
    let a = customer(&app, "Kauri Joinery").await;
    let b = customer(&app, "Totara Builders").await;
    post(
        &app,
        &format!("/api/v1/customers/{a}/numbers"),
        json!({"number": "+6494007777"}),
    )
    .await;
    let (status, released) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/customers/{a}/numbers/+6494007777"),
            &app.wl.api_key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["state"], "ageing");
    let until = released["ageing_until_us"].as_i64().unwrap();
    let days = (until - jiff::Timestamp::now().as_microsecond()) / 86_400_000_000;
    assert_eq!(days, 89, "held for the default 90 days");
    let (status, problem) = post(
        &app,
        &format!("/api/v1/customers/{b}/numbers"),
        json!({"number": "+6494007777"}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "number_in_quarantine");
    // The quarantine job leaves it alone until its time has come.
    assert_eq!(app.app.end_number_quarantine().await.unwrap(), 0);
}

#[tokio::test]
async fn number_moves_within_white_label() {
    let app = TestApp::spawn().await;
    load(&app, &["+6494008888"]).await;
    let a = customer(&app, "Kauri Joinery").await;
    let b = customer(&app, "Totara Builders").await;
    post(
        &app,
        &format!("/api/v1/customers/{a}/numbers"),
        json!({"number": "+6494008888"}),
    )
    .await;
    let (status, moved) = post(
        &app,
        &format!("/api/v1/customers/{a}/numbers/+6494008888/move"),
        json!({"to": b}),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["customer_id"], b.as_str());
    let (_, audit) = get(&app, "/api/v1/audit").await;
    assert!(audit.to_string().contains("number.moved"), "{audit}");

    let other = app.other_white_label("southern", "1000.00").await;
    let (status, foreign) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &other.api_key,
            Some(support::customer_body(&other.plan_id, "Southern Client")),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = post(
        &app,
        &format!("/api/v1/customers/{b}/numbers/+6494008888/move"),
        json!({"to": foreign["id"]}),
    )
    .await;
    assert_eq!(
        status, 404,
        "a number cannot move to another white label's account"
    );
}

#[tokio::test]
async fn porting_number_not_caller_id_nor_movable() {
    let app = TestApp::spawn().await;
    let a = customer(&app, "Kauri Joinery").await;
    let b = customer(&app, "Totara Builders").await;
    let (_, order) = post(
        &app,
        &format!("/api/v1/customers/{a}/port-orders"),
        json!({"numbers": ["09 302 1234"], "losing_carrier": "Spark"}),
    )
    .await;
    assert_eq!(order["state"], "draft");

    let (status, problem) = post(
        &app,
        &format!("/api/v1/customers/{a}/extensions"),
        json!({"number": "110", "name": "Front", "caller_id": "09 302 1234"}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "not_an_account_number");

    let (status, problem) = post(
        &app,
        &format!("/api/v1/customers/{a}/numbers/+6493021234/move"),
        json!({"to": b}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "number_porting");

    let (status, problem) = post(
        &app,
        &format!("/api/v1/customers/{a}/port-orders"),
        json!({"numbers": ["0900 12345"], "losing_carrier": "Spark"}),
    )
    .await;
    assert_eq!(status, 422, "premium numbers are not ported: {problem}");
}

#[tokio::test]
async fn own_number_and_unknown_recording_rejected() {
    let app = TestApp::spawn().await;
    load(&app, &["+6494001002"]).await;
    let a = customer(&app, "Kauri Joinery").await;
    post(
        &app,
        &format!("/api/v1/customers/{a}/numbers"),
        json!({"number": "+6494001002"}),
    )
    .await;
    let (status, problem) = post(
        &app,
        &format!("/api/v1/customers/{a}/extensions"),
        json!({"number": "101", "name": "Ann", "forward_always": "09 400 1002"}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "own_number");

    extension(&app, &a, "102", "Bob").await;
    let (status, problem) = post(
        &app,
        &format!("/api/v1/customers/{a}/ivr-menus"),
        json!({"number": "700", "name": "Main", "greeting_recording": "med_01jb0000000000000000000000",
               "options": {"1": "102"}}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "unknown_recording");
}

#[tokio::test]
async fn managed_account_member_cannot_charge() {
    let app = TestApp::spawn().await;
    load(&app, &["+6494006000"]).await;
    let a = customer(&app, "Kauri Joinery").await;
    let key = account_key(&app, &a, "ann@kauri.example").await;
    let call = |method: Method, path: String, body: Value| {
        let app = &app;
        let key = key.clone();
        async move { app.api(method, &path, &key, Some(body)).await }
    };
    let before = balance(&app).await;
    let (status, preview) = call(
        Method::POST,
        format!("/api/v1/customers/{a}/numbers?dry_run=true"),
        json!({"number": "+6494006000"}),
    )
    .await;
    assert_eq!(status, 200, "a member may see the price: {preview}");
    let (status, problem) = call(
        Method::POST,
        format!("/api/v1/customers/{a}/numbers"),
        json!({"number": "+6494006000"}),
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(balance(&app).await, before);
    // Free changes stay open to the account's own administrator, up to the plan's ten
    // extensions; the eleventh would cost the white label money.
    for n in 0..10 {
        let (status, body) = call(
            Method::POST,
            format!("/api/v1/customers/{a}/extensions"),
            json!({"number": format!("{}", 101 + n), "name": "Person"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, problem) = call(
        Method::POST,
        format!("/api/v1/customers/{a}/extensions"),
        json!({"number": "201", "name": "Eleventh"}),
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(balance(&app).await, before);
}
