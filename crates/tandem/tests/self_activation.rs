//! Self-activation end to end, over real HTTP with mail delivered to a real SMTP server on a
//! loopback port and the built-in test gateway's payment page.

mod support;

use std::time::Duration;

use reqwest::{Client, Method};
use serde_json::{json, Value};
use support::smtp::SmtpServer;
use support::{create_white_label, customer_body, fresh_store, test_settings, TestWhiteLabel};
use tandem::Server;
use tandem_app::access::PlatformAdmin;
use tandem_app::payments::GatewayInput;
use tandem_app::App;

/// A server whose mail goes to a test SMTP server, with a white label on the test gateway.
struct Activation {
    app: App,
    server: Server,
    smtp: SmtpServer,
    wl: TestWhiteLabel,
    api: Client,
}

impl Drop for Activation {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Activation {
    async fn start() -> Activation {
        Self::start_with("http://127.0.0.1:9").await
    }

    /// Starts with Stripe's API expected at `stripe_api_base`.
    async fn start_with(stripe_api_base: &str) -> Activation {
        let smtp = SmtpServer::start().await;
        let mut settings = test_settings();
        settings.stripe_api_base = stripe_api_base.to_string();
        settings.mail_transport = "smtp".into();
        settings.smtp_host = "127.0.0.1".into();
        settings.smtp_port = smtp.port();
        settings.smtp_tls = "none".into();
        settings.outbox_interval_ms = 50;
        // The tests run the expiry job themselves. The server's own run at start-up could
        // otherwise cancel an account first, on a loaded machine after the test expired its link.
        settings.activation_expiry_interval_secs = 0;
        let app = tandem::build_app(fresh_store().await, &settings);
        let wl = create_white_label(&app, "harbour", "1000.00").await;
        let admin = PlatformAdmin::command_line().for_white_label(&wl.id);
        app.configure_gateway(
            &admin,
            &GatewayInput {
                kind: "test".into(),
                ..Default::default()
            },
        )
        .await
        .expect("test gateway");
        let server = Server::start(app.clone(), &settings).await.expect("server");
        Activation {
            app,
            server,
            smtp,
            wl,
            api: Client::new(),
        }
    }

    /// A browser-like client for the white label's host.
    fn browser(&self) -> (Client, String) {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&self.wl.host, self.server.address)
            .build()
            .expect("client");
        (
            client,
            format!("http://{}:{}", self.wl.host, self.server.address.port()),
        )
    }

    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("http://{}{path}", self.server.address);
        let mut request = self.api.request(method, url).bearer_auth(&self.wl.api_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn create_pending(&self, legal_name: &str) -> Value {
        let mut body = customer_body(&self.wl.plan_id, legal_name);
        body["mode"] = json!("self_activation");
        let (status, customer) = self
            .api(Method::POST, "/api/v1/customers", Some(body))
            .await;
        assert_eq!(status, 201, "{customer}");
        customer
    }

    /// Waits for the `n`th mail (1-based) to arrive, and returns its text part.
    async fn mail(&self, n: usize) -> String {
        for _ in 0..200 {
            let received = self.smtp.received();
            if received.len() >= n {
                return text_part(&received[n - 1].data);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "mail {n} did not arrive; received {}",
            self.smtp.received().len()
        );
    }
}

fn text_part(raw: &str) -> String {
    let parsed = mailparse::parse_mail(raw.as_bytes()).expect("mail parses");
    let mut texts = Vec::new();
    collect_text(&parsed, &mut texts);
    texts.join("\n")
}

fn collect_text(part: &mailparse::ParsedMail<'_>, out: &mut Vec<String>) {
    if part.subparts.is_empty() {
        if part.ctype.mimetype == "text/plain" {
            out.push(part.get_body().expect("body"));
        }
    } else {
        for sub in &part.subparts {
            collect_text(sub, out);
        }
    }
}

fn activation_link(text: &str) -> String {
    let start = text.find("http://").expect("mail has a link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(link.contains("/activate/"), "{link}");
    link
}

fn csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

fn activation_form(csrf: &str, credit: &str) -> Vec<(&'static str, String)> {
    vec![
        ("_csrf", csrf.to_string()),
        ("given_name", "Aroha".into()),
        ("family_name", "Ngata".into()),
        ("password", "correct horse battery".into()),
        ("password_confirmation", "correct horse battery".into()),
        ("accept_terms", "on".into()),
        ("opening_credit", credit.into()),
    ]
}

/// Opens the link, submits the activation form, and returns the test payment page's path.
async fn start_payment(client: &Client, link: &str, credit: &str) -> reqwest::Response {
    let page = client.get(link).send().await.unwrap().text().await.unwrap();
    client
        .post(link)
        .form(&activation_form(&csrf(&page), credit))
        .send()
        .await
        .unwrap()
}

async fn decide(
    client: &Client,
    base: &str,
    payment_path: &str,
    decision: &str,
) -> reqwest::Response {
    let page = client
        .get(format!("{base}{payment_path}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("TEST MODE"));
    client
        .post(format!("{base}{payment_path}"))
        .form(&[("_csrf", csrf(&page).as_str()), ("decision", decision)])
        .send()
        .await
        .unwrap()
}

async fn balance_and_ledger(setup: &Activation, customer_id: &str) -> (i64, i64) {
    let (_, customer) = setup
        .api(
            Method::GET,
            &format!("/api/v1/customers/{customer_id}"),
            None,
        )
        .await;
    let balance = customer["balance"]["amount_minor"].as_i64().unwrap();
    let mut conn = setup.app.store().conn().await.unwrap();
    let sum = tandem_store::ledger::sum_for_account(&mut conn, customer_id)
        .await
        .unwrap();
    (balance, sum)
}

#[tokio::test]
async fn activation_end_to_end() {
    let setup = Activation::start().await;
    let customer = setup.create_pending("Kauri Joinery Ltd").await;
    let id = customer["id"].as_str().unwrap().to_string();
    assert_eq!(customer["status"], "pending_activation");
    assert_eq!(customer["payer"], "customer");

    let mail = setup.mail(1).await;
    assert!(mail.contains("harbour Telecom"), "{mail}");
    let link = activation_link(&mail);
    let (client, base) = setup.browser();
    let started = start_payment(&client, &link, "150.00").await;
    assert_eq!(started.status().as_u16(), 303);
    let payment_path = started.headers()["location"]
        .to_str()
        .unwrap()
        .replace(&base, "");
    assert!(payment_path.starts_with("/pay/test/"), "{payment_path}");

    let decided = decide(&client, &base, &payment_path, "approve").await;
    let back = client
        .get(format!(
            "{base}{}",
            decided.headers()["location"].to_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(back.headers()["location"], "/account?welcome=1");
    let account = client
        .get(format!("{base}/account?welcome=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(account.status().as_u16(), 200);
    assert!(account
        .text()
        .await
        .unwrap()
        .contains("Welcome to your account"));

    let (_, active) = setup
        .api(Method::GET, &format!("/api/v1/customers/{id}"), None)
        .await;
    assert_eq!(active["status"], "active");
    let (balance, sum) = balance_and_ledger(&setup, &id).await;
    assert_eq!(balance, 15_000 - 10_120);
    assert_eq!(sum, balance);
    let receipt = setup.mail(2).await;
    assert!(receipt.contains("$150.00"), "{receipt}");
    let reused = client.get(&link).send().await.unwrap();
    assert_eq!(reused.status().as_u16(), 410);
    assert!(reused.text().await.unwrap().contains("already been used"));
}

#[tokio::test]
async fn declined_payment_can_be_retried() {
    let setup = Activation::start().await;
    let id = setup.create_pending("Retry Ltd").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let link = activation_link(&setup.mail(1).await);
    let (client, base) = setup.browser();

    let first = start_payment(&client, &link, "120.00").await;
    let first_path = first.headers()["location"]
        .to_str()
        .unwrap()
        .replace(&base, "");
    decide(&client, &base, &first_path, "decline").await;
    let after_decline = client
        .get(format!(
            "{base}{}",
            first_path.replace("/pay/test/", "/activate/return/")
        ))
        .send()
        .await
        .unwrap();
    assert!(after_decline
        .text()
        .await
        .unwrap()
        .contains("did not go through"));
    let (_, pending) = setup
        .api(Method::GET, &format!("/api/v1/customers/{id}"), None)
        .await;
    assert_eq!(pending["status"], "pending_activation");
    let page = client
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("did not go through"));

    let second = start_payment(&client, &link, "120.00").await;
    let second_path = second.headers()["location"]
        .to_str()
        .unwrap()
        .replace(&base, "");
    decide(&client, &base, &second_path, "approve").await;

    let (_, active) = setup
        .api(Method::GET, &format!("/api/v1/customers/{id}"), None)
        .await;
    assert_eq!(active["status"], "active");
    assert_eq!(balance_and_ledger(&setup, &id).await.0, 12_000 - 10_120);
}

#[tokio::test]
async fn concurrent_activations_start_one_payment() {
    let setup = Activation::start().await;
    setup.create_pending("Race Ltd").await;
    let link = activation_link(&setup.mail(1).await);
    let (first, _) = setup.browser();
    let (second, _) = setup.browser();
    let first_page = first.get(&link).send().await.unwrap().text().await.unwrap();
    let second_page = second
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let (a, b) = tokio::join!(
        first
            .post(&link)
            .form(&activation_form(&csrf(&first_page), "150.00"))
            .send(),
        second
            .post(&link)
            .form(&activation_form(&csrf(&second_page), "150.00"))
            .send(),
    );

    let statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409 || **s == 422).count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn opening_credit_below_minimum_rejected() {
    let setup = Activation::start().await;
    setup.create_pending("Thrifty Ltd").await;
    let link = activation_link(&setup.mail(1).await);
    let (client, _) = setup.browser();

    let response = start_payment(&client, &link, "20.00").await;

    assert_eq!(response.status().as_u16(), 422);
    assert!(response.text().await.unwrap().contains("at least $101.20"));
}

#[tokio::test]
async fn expired_link_explains_how_to_get_another() {
    let setup = Activation::start().await;
    setup.create_pending("Late Ltd").await;
    let link = activation_link(&setup.mail(1).await);
    let mut conn = setup.app.store().conn().await.unwrap();
    sqlx::query("UPDATE activation_tokens SET expires_us = 1")
        .execute(&mut *conn)
        .await
        .unwrap();
    let (client, _) = setup.browser();

    let response = client.get(&link).send().await.unwrap();
    let unknown = client.get(format!("{}x", link)).send().await.unwrap();

    assert_eq!(response.status().as_u16(), 410);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("support@harbour.example"));
    assert_eq!(unknown.status().as_u16(), 404);
}

async fn signed_event(setup: &Activation, body: &[u8]) -> reqwest::Response {
    let mut conn = setup.app.store().conn().await.unwrap();
    let gateway = tandem_store::gateways::get(&mut conn, &setup.wl.id)
        .await
        .unwrap()
        .unwrap();
    let signature = tandem_payments::stripe::sign(
        body,
        &gateway.webhook_secret,
        jiff::Timestamp::now().as_second(),
    );
    setup
        .api
        .post(format!(
            "http://{}/webhooks/test/{}",
            setup.server.address, setup.wl.id
        ))
        .header("Stripe-Signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

/// Starts a payment; returns the customer id, the payment id and the checkout reference.
async fn pending_payment(setup: &Activation) -> (String, String, String) {
    let customer = setup.create_pending("Webhook Ltd").await;
    let link = activation_link(&setup.mail(1).await);
    let (client, base) = setup.browser();
    let started = start_payment(&client, &link, "150.00").await;
    let path = started.headers()["location"]
        .to_str()
        .unwrap()
        .replace(&base, "");
    let payment_id = path.trim_start_matches("/pay/test/").to_string();
    let mut conn = setup.app.store().conn().await.unwrap();
    let reference: String =
        sqlx::query_scalar("SELECT gateway_reference FROM payments WHERE id = $1")
            .bind(&payment_id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    (
        customer["id"].as_str().unwrap().to_string(),
        payment_id,
        reference,
    )
}

#[tokio::test]
async fn same_webhook_event_credits_once() {
    let setup = Activation::start().await;
    let (customer_id, payment_id, reference) = pending_payment(&setup).await;
    let body = tandem_payments::test_gateway::event_body(
        "evt_test_once",
        true,
        &reference,
        &payment_id,
        15_000,
        "NZD",
    );

    let (first, second) = tokio::join!(signed_event(&setup, &body), signed_event(&setup, &body));
    let third = signed_event(&setup, &body).await;

    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(second.status().as_u16(), 200);
    assert_eq!(third.status().as_u16(), 200);
    let (balance, sum) = balance_and_ledger(&setup, &customer_id).await;
    assert_eq!(balance, 15_000 - 10_120);
    assert_eq!(sum, balance);
}

#[tokio::test]
async fn wrong_currency_payment_held_for_review() {
    let setup = Activation::start().await;
    let (customer_id, payment_id, reference) = pending_payment(&setup).await;
    let body = tandem_payments::test_gateway::event_body(
        "evt_test_usd",
        true,
        &reference,
        &payment_id,
        15_000,
        "USD",
    );

    let response = signed_event(&setup, &body).await;

    assert_eq!(response.status().as_u16(), 200);
    let (_, customer) = setup
        .api(
            Method::GET,
            &format!("/api/v1/customers/{customer_id}"),
            None,
        )
        .await;
    assert_eq!(customer["status"], "pending_activation");
    assert_eq!(customer["balance"]["amount_minor"], 0);
    let (_, held) = setup
        .api(Method::GET, "/api/v1/payments?state=held", None)
        .await;
    assert_eq!(held[0]["id"], payment_id.as_str());
}

#[tokio::test]
async fn unsigned_or_forged_webhook_rejected() {
    let setup = Activation::start().await;
    let (customer_id, payment_id, reference) = pending_payment(&setup).await;
    let body = tandem_payments::test_gateway::event_body(
        "evt_test_forged",
        true,
        &reference,
        &payment_id,
        15_000,
        "NZD",
    );
    let url = format!(
        "http://{}/webhooks/test/{}",
        setup.server.address, setup.wl.id
    );

    let unsigned = setup
        .api
        .post(&url)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let forged = setup
        .api
        .post(&url)
        .header(
            "Stripe-Signature",
            tandem_payments::stripe::sign(&body, "whsec_guess", jiff::Timestamp::now().as_second()),
        )
        .body(body)
        .send()
        .await
        .unwrap();

    assert_eq!(unsigned.status().as_u16(), 400);
    assert_eq!(forged.status().as_u16(), 400);
    let (_, customer) = setup
        .api(
            Method::GET,
            &format!("/api/v1/customers/{customer_id}"),
            None,
        )
        .await;
    assert_eq!(customer["status"], "pending_activation");
}

#[tokio::test]
async fn white_label_converts_pending_to_managed() {
    let setup = Activation::start().await;
    let id = setup.create_pending("Convert Ltd").await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, customer) = setup
        .api(
            Method::POST,
            &format!("/api/v1/customers/{id}/convert"),
            None,
        )
        .await;

    assert_eq!(status, 200, "{customer}");
    assert_eq!(customer["status"], "active");
    assert_eq!(customer["payer"], "white_label");
    let (_, wl) = setup.api(Method::GET, "/api/v1/white-label", None).await;
    assert_eq!(wl["balance"]["amount_minor"], 100_000 - 10_120);
    let link = activation_link(&setup.mail(1).await);
    let (client, _) = setup.browser();
    assert_eq!(
        client.get(&link).send().await.unwrap().status().as_u16(),
        410
    );
}

#[tokio::test]
async fn resend_replaces_link_and_cancel_ends_it() {
    let setup = Activation::start().await;
    let id = setup.create_pending("Resend Ltd").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let first = activation_link(&setup.mail(1).await);

    let (resent, _) = setup
        .api(
            Method::POST,
            &format!("/api/v1/customers/{id}/activation/resend"),
            None,
        )
        .await;
    let second = activation_link(&setup.mail(2).await);
    let (client, _) = setup.browser();
    let old = client.get(&first).send().await.unwrap().status().as_u16();
    let new = client.get(&second).send().await.unwrap().status().as_u16();
    let (cancelled, customer) = setup
        .api(
            Method::POST,
            &format!("/api/v1/customers/{id}/cancel"),
            Some(json!({"reason": "duplicate"})),
        )
        .await;
    let after = client.get(&second).send().await.unwrap().status().as_u16();

    assert_eq!(resent, 204);
    assert_ne!(first, second);
    assert_eq!(old, 410);
    assert_eq!(new, 200);
    assert_eq!(cancelled, 200);
    assert_eq!(customer["status"], "cancelled");
    assert_eq!(after, 410);
}

#[tokio::test]
async fn expiry_job_cancels_unused_accounts() {
    let setup = Activation::start().await;
    let id = setup.create_pending("Forgotten Ltd").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut conn = setup.app.store().conn().await.unwrap();
    sqlx::query("UPDATE activation_tokens SET expires_us = 1")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let cancelled = setup.app.expire_activations().await.unwrap();

    assert_eq!(cancelled, 1);
    let (_, customer) = setup
        .api(Method::GET, &format!("/api/v1/customers/{id}"), None)
        .await;
    assert_eq!(customer["status"], "cancelled");
    let (_, activation) = setup
        .api(
            Method::GET,
            &format!("/api/v1/customers/{id}/activation"),
            None,
        )
        .await;
    assert_eq!(activation["state"], "expired");
}

#[tokio::test]
async fn self_activation_needs_gateway_configured() {
    let setup = Activation::start().await;
    let admin = PlatformAdmin::command_line().for_white_label(&setup.wl.id);
    setup
        .app
        .configure_gateway(
            &admin,
            &GatewayInput {
                kind: "none".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut body = customer_body(&setup.wl.plan_id, "No Gateway Ltd");
    body["mode"] = json!("self_activation");

    let (status, problem) = setup
        .api(Method::POST, "/api/v1/customers", Some(body))
        .await;

    assert_eq!(status, 409);
    assert_eq!(problem["code"], "payment_gateway_required");
}

/// A stand-in for Stripe's API that records checkout requests and answers in Stripe's format.
async fn fake_stripe() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
) {
    use axum::http::HeaderMap;
    let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> = Default::default();
    let recorded = seen.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let page = format!("{base}/c/pay/cs_test_fake");
    let app = axum::Router::new().route(
        "/v1/checkout/sessions",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let recorded = recorded.clone();
            let page = page.clone();
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                recorded.lock().unwrap().push((key, body));
                axum::Json(json!({"id": "cs_test_fake", "object": "checkout.session", "url": page}))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

#[tokio::test]
async fn stripe_checkout_then_webhook_activates() {
    let (stripe_base, seen) = fake_stripe().await;
    let setup = Activation::start_with(&stripe_base).await;
    let admin = PlatformAdmin::command_line().for_white_label(&setup.wl.id);
    let gateway = GatewayInput {
        kind: "stripe".into(),
        secret_key: Some("sk_test_0123456789abcdef".into()),
        webhook_secret: Some("whsec_test_secret".into()),
        publishable_key: None,
    };
    setup
        .app
        .configure_gateway(&admin, &gateway)
        .await
        .expect("stripe gateway");
    let id = setup.create_pending("Stripe Ltd").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let link = activation_link(&setup.mail(1).await);
    let (client, _) = setup.browser();

    let started = start_payment(&client, &link, "150.00").await;

    assert_eq!(started.status().as_u16(), 303);
    assert_eq!(
        started.headers()["location"].to_str().unwrap(),
        format!("{stripe_base}/c/pay/cs_test_fake")
    );
    let (idempotency_key, form) = seen.lock().unwrap()[0].clone();
    assert!(idempotency_key.starts_with("pay_"));
    let fields: std::collections::HashMap<String, String> = form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fields["line_items[0][price_data][unit_amount]"], "15000");
    assert_eq!(fields["line_items[0][price_data][currency]"], "nzd");
    assert_eq!(fields["client_reference_id"], idempotency_key);

    let body = json!({
        "id": "evt_stripe_1", "object": "event", "type": "checkout.session.completed",
        "created": jiff::Timestamp::now().as_second(),
        "data": {"object": {"id": "cs_test_fake", "object": "checkout.session", "amount_total": 15000,
            "currency": "nzd", "payment_status": "paid", "client_reference_id": idempotency_key,
            "metadata": {"payment_id": idempotency_key}}}
    })
    .to_string();
    let signature = tandem_payments::stripe::sign(
        body.as_bytes(),
        "whsec_test_secret",
        jiff::Timestamp::now().as_second(),
    );
    let response = setup
        .api
        .post(format!(
            "http://{}/webhooks/stripe/{}",
            setup.server.address, setup.wl.id
        ))
        .header("Stripe-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
    let (_, customer) = setup
        .api(Method::GET, &format!("/api/v1/customers/{id}"), None)
        .await;
    assert_eq!(customer["status"], "active");
    assert_eq!(customer["balance"]["amount_minor"], 15_000 - 10_120);
}

#[tokio::test]
async fn stripe_secret_key_never_shown_back() {
    let setup = Activation::start().await;
    let body = json!({"kind": "stripe", "secret_key": "sk_test_0123456789abcdef", "webhook_secret": "whsec_abc"});

    let (status, saved) = setup
        .api(
            Method::PUT,
            "/api/v1/white-label/payment-gateway",
            Some(body),
        )
        .await;
    let (_, read) = setup
        .api(Method::GET, "/api/v1/white-label/payment-gateway", None)
        .await;

    assert_eq!(status, 200, "{saved}");
    for shown in [saved.to_string(), read.to_string()] {
        assert!(!shown.contains("sk_test_0123456789abcdef"));
        assert!(!shown.contains("whsec_abc"));
    }
    assert_eq!(read["secret_key_hint"], "…cdef");
}

#[tokio::test]
async fn return_page_never_signs_in_existing_user() {
    let setup = Activation::start().await;
    setup
        .app
        .ensure_user_with_role(
            "victim@platform.example",
            "Victim",
            "victim's own password",
            tandem_domain::Role::PlatformAdministrator,
            None,
        )
        .await
        .unwrap();
    let mut body = customer_body(&setup.wl.plan_id, "Trap Ltd");
    body["mode"] = json!("self_activation");
    body["contact"]["email"] = json!("Victim@Platform.example");
    let (_, customer) = setup
        .api(Method::POST, "/api/v1/customers", Some(body))
        .await;
    let link = activation_link(&setup.mail(1).await);
    let (client, base) = setup.browser();

    let started = start_payment(&client, &link, "150.00").await;
    let path = started.headers()["location"]
        .to_str()
        .unwrap()
        .replace(&base, "");
    let decided = decide(&client, &base, &path, "approve").await;
    let back = client
        .get(format!(
            "{base}{}",
            decided.headers()["location"].to_str().unwrap()
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(back.status().as_u16(), 200);
    assert!(back.headers().get("set-cookie").is_none());
    let (_, active) = setup
        .api(
            Method::GET,
            &format!("/api/v1/customers/{}", customer["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(active["status"], "active");
    assert!(setup
        .app
        .sign_in("victim@platform.example", "correct horse battery", None)
        .await
        .is_err());
}

#[tokio::test]
async fn payment_before_email_change_does_not_activate() {
    let setup = Activation::start().await;
    let id = setup.create_pending("Typo Ltd").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let link = activation_link(&setup.mail(1).await);
    let (client, base) = setup.browser();
    let started = start_payment(&client, &link, "150.00").await;
    let path = started.headers()["location"]
        .to_str()
        .unwrap()
        .replace(&base, "");

    let (changed, _) = setup
        .api(
            Method::PUT,
            &format!("/api/v1/customers/{id}/contact-email"),
            Some(json!({"email": "right@kauri.example"})),
        )
        .await;
    decide(&client, &base, &path, "approve").await;

    assert_eq!(changed, 204);
    let (_, customer) = setup
        .api(Method::GET, &format!("/api/v1/customers/{id}"), None)
        .await;
    assert_eq!(customer["status"], "pending_activation");
    assert_eq!(customer["balance"]["amount_minor"], 15_000);
    assert!(setup
        .app
        .sign_in("right@kauri.example", "correct horse battery", None)
        .await
        .is_err());
}
