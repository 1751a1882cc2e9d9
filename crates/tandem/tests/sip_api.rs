//! SIP settings and blocks through the API over real HTTP, on SQLite or (with
//! `TEST_DATABASE_URL`) PostgreSQL. The tests cover account domains, the passwords a realm
//! change deletes and who may change what. They also cover blocks scoped to their tenant and
//! lifted through the change feed.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::{account_key, TestApp};
use tandem_domain::{CustomerId, PbxObjectId, SipBlockId};
use tandem_store::sip::{self as store_sip, change, BlockRow};

async fn customer(app: &TestApp, key: &str, plan: &str, name: &str) -> String {
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            key,
            Some(support::customer_body(plan, name)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn sip(app: &TestApp, key: &str, customer: &str) -> Value {
    let (status, body) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{customer}/sip"),
            key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn put_sip(app: &TestApp, key: &str, customer: &str, body: Value) -> (u16, Value) {
    app.api(
        Method::PUT,
        &format!("/api/v1/customers/{customer}/sip"),
        key,
        Some(body),
    )
    .await
}

async fn stored_realm(app: &TestApp, customer: &str, extension: &str) -> Option<String> {
    let mut conn = app.app.store().conn().await.unwrap();
    tandem_store::pbx::credentials(
        &mut conn,
        &CustomerId::parse(customer).unwrap(),
        &PbxObjectId::parse(extension).unwrap(),
    )
    .await
    .unwrap()
    .map(|c| c.realm)
}

#[tokio::test]
async fn realm_change_clears_passwords() {
    let app = TestApp::spawn().await;
    let key = app.wl.api_key.clone();
    let kauri = customer(&app, &key, &app.wl.plan_id, "Kauri Joinery").await;
    let other = customer(&app, &key, &app.wl.plan_id, "Totara Timber").await;
    // Another white label cannot take this one's SIP domain, even while it is the default.
    let southern = app.other_white_label("southern", "100.00").await;
    let (status, body) = app
        .api(
            Method::PUT,
            "/api/v1/white-label/sip",
            &southern.api_key,
            Some(json!({"sip_domain": "sip.harbour.localhost"})),
        )
        .await;
    assert_eq!(status, 409, "a default domain is taken too: {body}");

    let start = sip(&app, &key, &kauri).await;
    let number = start["label"].as_str().unwrap().to_string();
    assert_eq!(start["label_is_default"], true);
    assert_eq!(start["white_label_domain"], "sip.harbour.localhost");
    assert_eq!(start["domain"], format!("{number}.sip.harbour.localhost"));
    assert_eq!(start["sha256"], false);

    let (status, body) = app
        .api(
            Method::POST,
            &format!("/api/v1/customers/{kauri}/extensions"),
            &key,
            Some(json!({"number": "101", "name": "Reception"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let extension = body["object"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        stored_realm(&app, &kauri, &extension).await.as_deref(),
        start["domain"].as_str()
    );

    // A new label is a new realm: the stored digest no longer fits and is deleted.
    let (status, body) = put_sip(&app, &key, &kauri, json!({"label": " Kauri-Joinery "})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["settings"]["domain"],
        "kauri-joinery.sip.harbour.localhost"
    );
    assert_eq!(body["passwords_cleared"], 1);
    assert_eq!(stored_realm(&app, &kauri, &extension).await, None);
    let now = sip(&app, &key, &kauri).await;
    assert_eq!(now["extensions_without_password"], json!(["101"]));

    let (status, body) = app
        .api(
            Method::POST,
            &format!("/api/v1/customers/{kauri}/extensions/{extension}/sip-password"),
            &key,
            None,
        )
        .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    assert_eq!(
        stored_realm(&app, &kauri, &extension).await.as_deref(),
        Some("kauri-joinery.sip.harbour.localhost")
    );
    assert_eq!(
        sip(&app, &key, &kauri).await["extensions_without_password"],
        json!([])
    );

    // Saving the same label again deletes nothing.
    let (_, body) = put_sip(&app, &key, &kauri, json!({"label": "kauri-joinery"})).await;
    assert_eq!(body["passwords_cleared"], 0);

    // Labels are one DNS label, unique within the white label.
    let (status, body) = put_sip(&app, &key, &other, json!({"label": "kauri-joinery"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "sip_label_taken");
    let (status, body) = put_sip(&app, &key, &other, json!({"label": "totara timber"})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("label"), "{body}");
    // Digits alone would take another account's default label, its account number.
    let (status, body) = put_sip(&app, &key, &other, json!({"label": number})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("reserved_sip_label"), "{body}");

    // The white label's domain moves every account's domain, and deletes their passwords.
    let (status, body) = app
        .api(
            Method::PUT,
            "/api/v1/white-label/sip",
            &key,
            Some(json!({"sip_domain": "SIP.Harbour.Example"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sip_domain"], "sip.harbour.example");
    assert_eq!(body["passwords_cleared"], 1);
    assert_eq!(
        sip(&app, &key, &kauri).await["domain"],
        "kauri-joinery.sip.harbour.example"
    );
    assert_eq!(stored_realm(&app, &kauri, &extension).await, None);

    // Another white label cannot take the same domain.
    let (status, body) = app
        .api(
            Method::PUT,
            "/api/v1/white-label/sip",
            &southern.api_key,
            Some(json!({"sip_domain": "sip.harbour.example"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app
        .api(
            Method::PUT,
            "/api/v1/white-label/sip",
            &key,
            Some(json!({"sip_domain": "sip.harbour.example:5060"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // The account's own administrator may turn SHA-256 on, but not rename the domain.
    let member = account_key(&app, &kauri, "owner@kauri.example").await;
    let (status, body) = put_sip(&app, &member, &kauri, json!({"label": "kauri"})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = put_sip(&app, &member, &kauri, json!({"sha256": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["sha256"], true);
    assert_eq!(body["passwords_cleared"], 0);

    // Another white label's key does not find the account.
    let (status, _) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{kauri}/sip"),
            &southern.api_key,
            None,
        )
        .await;
    assert_eq!(status, 404);
}

fn block(
    subject: &str,
    value: &str,
    customer: &str,
    white_label: &tandem_domain::WhiteLabelId,
) -> BlockRow {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    BlockRow {
        id: SipBlockId::new(),
        subject: subject.into(),
        value: value.into(),
        aor: "sip:101@a.example".into(),
        customer_id: Some(CustomerId::parse(customer).unwrap()),
        white_label_id: Some(white_label.clone()),
        blocked_until_us: now + 600_000_000,
        created_us: now,
    }
}

#[tokio::test]
async fn blocks_stay_in_their_tenant() {
    let app = TestApp::spawn().await;
    let southern = app.other_white_label("southern", "1000.00").await;
    let kauri = customer(&app, &app.wl.api_key, &app.wl.plan_id, "Kauri Joinery").await;
    let wattle = customer(&app, &southern.api_key, &southern.plan_id, "Wattle Works").await;
    let ours = block("source", "192.0.2.7", &kauri, &app.wl.id);
    let theirs = block("aor", "sip:101@b.example", &wattle, &southern.id);
    {
        let mut conn = app.app.store().conn().await.unwrap();
        store_sip::upsert_block(&mut conn, &ours).await.unwrap();
        store_sip::upsert_block(&mut conn, &theirs).await.unwrap();
    }

    let list = |key: String, path: String| {
        let app = &app;
        async move {
            let (status, body) = app.api(Method::GET, &path, &key, None).await;
            assert_eq!(status, 200, "{body}");
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let account_path = format!("/api/v1/customers/{kauri}/sip/blocks");
    assert_eq!(
        list(app.wl.api_key.clone(), account_path.clone()).await,
        vec![ours.id.to_string()]
    );
    assert_eq!(
        list(app.wl.api_key.clone(), "/api/v1/sip/blocks".into()).await,
        vec![ours.id.to_string()]
    );
    assert_eq!(
        list(southern.api_key.clone(), "/api/v1/sip/blocks".into()).await,
        vec![theirs.id.to_string()]
    );

    // Neither tenant can lift the other's block, by either route.
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/sip/blocks/{}", ours.id),
            &southern.api_key,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/customers/{kauri}/sip/blocks/{}", theirs.id),
            &app.wl.api_key,
            None,
        )
        .await;
    assert_eq!(status, 404);

    let mut conn = app.app.store().conn().await.unwrap();
    let before = store_sip::last_change(&mut conn).await.unwrap();
    drop(conn);
    let (status, body) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/customers/{kauri}/sip/blocks/{}", ours.id),
            &app.wl.api_key,
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert!(list(app.wl.api_key.clone(), account_path).await.is_empty());
    let mut conn = app.app.store().conn().await.unwrap();
    let changes = store_sip::changes_after(&mut conn, before, 10)
        .await
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].kind, change::UNBLOCK);
    assert_eq!(changes[0].subject, "source 192.0.2.7");
    // The other tenant's block is still there.
    let scope = store_sip::BlockScope::WhiteLabel(&southern.id);
    let left = store_sip::blocks(&mut conn, scope, 0).await.unwrap();
    assert_eq!(left.len(), 1);
}
