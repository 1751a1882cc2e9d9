//! The portal over real HTTP: branding by host, sign-in with CSRF protection, the customer form
//! and tenant isolation of pages.

mod support;

use reqwest::Client;
use support::{TestApp, PASSWORD};

/// A browser-like client for `host`, which resolves to the test server's loopback address.
fn browser(app: &TestApp, host: &str) -> (Client, String) {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(host, app.server.address)
        .build()
        .expect("client");
    (client, format!("http://{host}:{}", app.port()))
}

/// Extracts the value of the first hidden `_csrf` field.
fn csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn sign_in(client: &Client, base: &str, email: &str) -> reqwest::Response {
    let page = client
        .get(format!("{base}/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    client
        .post(format!("{base}/sign-in"))
        .form(&[
            ("_csrf", csrf(&page).as_str()),
            ("email", email),
            ("password", PASSWORD),
            ("next", "/customers"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_page_carries_white_label_brand() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");

    let html = client
        .get(format!("{base}/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(html.contains("Sign in to harbour Telecom"));
    assert!(html.contains(&format!("/brand/{}/theme.css", app.wl.id)));
}

#[tokio::test]
async fn unknown_host_gets_platform_portal() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "nobody.localhost");

    let html = client
        .get(format!("{base}/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(html.contains("Sign in to Tandem"));
    assert!(!html.contains("harbour Telecom"));
}

#[tokio::test]
async fn sign_in_sets_protected_session_cookie() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");

    let response = sign_in(&client, &base, &app.wl.admin_email).await;

    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/customers");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("tandem_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    let customers = client
        .get(format!("{base}/customers"))
        .send()
        .await
        .unwrap();
    assert_eq!(customers.status().as_u16(), 200);
}

#[tokio::test]
async fn sign_in_without_csrf_is_rejected() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");

    let response = client
        .post(format!("{base}/sign-in"))
        .form(&[
            ("email", app.wl.admin_email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn wrong_password_shows_generic_error() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");
    let page = client
        .get(format!("{base}/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let response = client
        .post(format!("{base}/sign-in"))
        .form(&[
            ("_csrf", csrf(&page).as_str()),
            ("email", app.wl.admin_email.as_str()),
            ("password", "wrong password!"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 401);
    let html = response.text().await.unwrap();
    assert!(html.contains("The email or password is not right"));
    assert!(html.contains(&app.wl.admin_email));
    // The form comes back under the host's brand, which a sign-in looks up only to show a page.
    assert!(html.contains("Sign in to harbour Telecom"));
    assert!(html.contains(&format!("/brand/{}/theme.css", app.wl.id)));
}

#[tokio::test]
async fn pages_require_sign_in() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");

    let response = client
        .get(format!("{base}/customers?q=a"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        response.headers()["location"],
        "/sign-in?next=%2Fcustomers%3Fq%3Da"
    );
}

#[tokio::test]
async fn every_page_sends_security_headers() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");

    let response = client.get(format!("{base}/sign-in")).send().await.unwrap();

    let headers = response.headers();
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
}

#[tokio::test]
async fn unknown_path_sends_security_headers() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");

    let response = client
        .get(format!("{base}/no-such-page"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 404);
    let headers = response.headers();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.contains_key("x-request-id"));
}

fn customer_form(csrf: &str, plan_id: &str, phone: &str) -> Vec<(String, String)> {
    [
        ("_csrf", csrf),
        ("mode", "white_label_managed"),
        ("plan_id", plan_id),
        ("business.legal_name", "<script>alert(1)</script> Joinery"),
        ("contact.given_name", "Tāne"),
        ("contact.family_name", "Müller-João"),
        ("contact.email", "tane@kauri.example"),
        ("contact.phone", phone),
        ("billing_address.line1", "12 Queen Street"),
        ("billing_address.city", "Auckland"),
        ("billing_address.postcode", "1010"),
        ("billing_address.country", "NZ"),
        ("service_address.same_as_billing", "on"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test]
async fn customer_form_errors_keep_values() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");
    sign_in(&client, &base, &app.wl.admin_email).await;
    let page = client
        .get(format!("{base}/customers/new/managed"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let response = client
        .post(format!("{base}/customers"))
        .form(&customer_form(
            &csrf(&page),
            &app.wl.plan_id,
            "+64 021 123 4567",
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("drop the 0 after +64"));
    assert!(html.contains("value=\"Müller-João\""));
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; Joinery"));
    assert!(!html.contains("<script>alert(1)</script>"));
}

#[tokio::test]
async fn customer_form_creates_and_confirms() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");
    sign_in(&client, &base, &app.wl.admin_email).await;
    let page = client
        .get(format!("{base}/customers/new/managed"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let response = client
        .post(format!("{base}/customers"))
        .form(&customer_form(
            &csrf(&page),
            &app.wl.plan_id,
            "021 123 4567",
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.ends_with("/created"));
    let html = client
        .get(format!("{base}{location}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"account-number\""));
    assert!(html.contains("$898.80"));
    assert!(html.contains("&#60;script&#62;"));
    assert!(!html.contains("<script>"));
}

#[tokio::test]
async fn customer_form_without_csrf_is_rejected() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");
    sign_in(&client, &base, &app.wl.admin_email).await;

    let response = client
        .post(format!("{base}/customers"))
        .form(&customer_form("forged", &app.wl.plan_id, "021 123 4567"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 403);
    let (_, list) = app
        .api(
            reqwest::Method::GET,
            "/api/v1/customers",
            &app.wl.api_key,
            None,
        )
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn other_white_label_portal_is_refused() {
    let app = TestApp::spawn().await;
    let other = app.other_white_label("southern", "100.00").await;
    let (client, base) = browser(&app, "southern.localhost");
    sign_in(&client, &base, &app.wl.admin_email).await;

    let response = client
        .get(format!("{base}/customers"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 403);
    let html = response.text().await.unwrap();
    assert!(html.contains("not an administrator of southern Telecom"));
    assert!(!other.api_key.is_empty());
}

#[tokio::test]
async fn other_white_label_customer_page_is_not_found() {
    let app = TestApp::spawn().await;
    let other = app.other_white_label("southern", "1000.00").await;
    let (_, theirs) = app
        .api(
            reqwest::Method::POST,
            "/api/v1/customers",
            &other.api_key,
            Some(support::customer_body(&other.plan_id, "Theirs Ltd")),
        )
        .await;
    let (client, base) = browser(&app, "harbour.localhost");
    sign_in(&client, &base, &app.wl.admin_email).await;

    let response = client
        .get(format!(
            "{base}/customers/{}",
            theirs["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 404);
    assert!(!response.text().await.unwrap().contains("Theirs Ltd"));
}

#[tokio::test]
async fn platform_admin_tops_up_white_label() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "localhost");
    sign_in(&client, &base, &app.platform_admin_email).await;
    let page = client
        .get(format!("{base}/white-labels/{}", app.wl.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let response = client
        .post(format!("{base}/white-labels/{}/balance", app.wl.id))
        .form(&[
            ("_csrf", csrf(&page).as_str()),
            ("kind", "top_up"),
            ("amount", "250.00"),
            ("reason", "Invoice 42 paid"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 303);
    let html = client
        .get(format!("{base}/white-labels/{}", app.wl.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("$1,250.00"));
    assert!(html.contains("Invoice 42 paid"));
}

#[tokio::test]
async fn white_label_admin_cannot_open_platform_pages() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "localhost");
    sign_in(&client, &base, &app.wl.admin_email).await;

    let response = client
        .get(format!("{base}/white-labels"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn sign_out_ends_session() {
    let app = TestApp::spawn().await;
    let (client, base) = browser(&app, "harbour.localhost");
    sign_in(&client, &base, &app.wl.admin_email).await;
    let page = client
        .get(format!("{base}/customers"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let response = client
        .post(format!("{base}/sign-out"))
        .form(&[("_csrf", csrf(&page))])
        .send()
        .await
        .unwrap();
    let after = client
        .get(format!("{base}/customers"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(after.status().as_u16(), 303);
}
