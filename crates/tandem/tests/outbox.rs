//! Durable outgoing mail and webhooks against real servers on 127.0.0.1: a test SMTP server, a
//! folder of `.eml` files and an HTTP receiver, with a clock the tests move by hand.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use mailparse::MailHeaderMap;
use serde_json::{json, Value};
use sha2::Sha256;
use support::smtp::SmtpServer;
use tandem::config::Settings;
use tandem_app::access::{PlatformAdmin, WhiteLabelAdmin};
use tandem_app::mail::{enqueue_mail, MailTemplate, TemplateSource};
use tandem_app::outbox::{enqueue_webhook, MailTransport, OutboxSettings, OutboxWorker};
use tandem_app::{App, AppError, Clock};
use tandem_domain::EmailAddress;
use tandem_outbound::{
    FolderTransport, HttpWebhookSender, SmtpSecurity, SmtpSettings, SmtpTransport,
};
use tandem_store::outbox::{self as store_outbox, OutboxItem, RetryPolicy};
use tandem_store::white_labels::{self as store_wl, WhiteLabelRow};
use tandem_store::Store;

/// A clock that moves only when the test says so.
struct TestClock(AtomicI64);

impl TestClock {
    fn new() -> Arc<TestClock> {
        Arc::new(TestClock(AtomicI64::new(1_800_000_000_000_000)))
    }

    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_micros() as i64, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_us(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A fresh database with one white label, and the pieces the tests drive by hand.
struct Fixture {
    app: App,
    store: Store,
    clock: Arc<TestClock>,
    white_label: WhiteLabelRow,
    admin: WhiteLabelAdmin,
}

impl Fixture {
    async fn new() -> Fixture {
        let store = support::fresh_store().await;
        let app = tandem::build_app(store.clone(), &support::test_settings());
        let created = support::create_white_label(&app, "harbour", "0").await;
        let admin = PlatformAdmin::command_line().for_white_label(&created.id);
        let fixture = Fixture {
            app,
            store,
            clock: TestClock::new(),
            white_label: placeholder_row(),
            admin,
        };
        let white_label = fixture.reload(&created.id).await;
        Fixture {
            white_label,
            ..fixture
        }
    }

    async fn reload(&self, id: &tandem_domain::WhiteLabelId) -> WhiteLabelRow {
        let mut conn = self.store.conn().await.unwrap();
        store_wl::get(&mut conn, id)
            .await
            .unwrap()
            .expect("white label")
    }

    fn worker(&self, mail: Arc<dyn MailTransport>, max_attempts: i64) -> OutboxWorker {
        OutboxWorker::new(
            self.store.clone(),
            self.clock.clone(),
            mail,
            Arc::new(HttpWebhookSender::new(Duration::from_secs(5)).unwrap()),
            OutboxSettings {
                platform_from_address: "mail@platform.example".into(),
                retry: RetryPolicy {
                    max_attempts,
                    ..RetryPolicy::default()
                },
                batch_size: 5,
                lease: Duration::from_secs(600),
            },
        )
    }

    async fn enqueue_activation(&self, white_label: &WhiteLabelRow, to: &str) -> String {
        let portal_url = self.app.portal_url(white_label);
        let mut tx = self.store.begin().await.unwrap();
        let id = enqueue_mail(
            &mut tx,
            self.clock.now_us(),
            &portal_url,
            white_label,
            None,
            MailTemplate::Activation,
            &EmailAddress::parse(to).unwrap(),
            activation_vars(),
        )
        .await
        .expect("mail queued");
        tx.commit().await.unwrap();
        id
    }

    async fn item(&self, white_label: &WhiteLabelRow, id: &str) -> OutboxItem {
        let mut conn = self.store.conn().await.unwrap();
        store_outbox::get(&mut conn, &white_label.id, id)
            .await
            .unwrap()
            .expect("outbox item")
    }
}

/// A row to fill the fixture before the real one is read back.
fn placeholder_row() -> WhiteLabelRow {
    WhiteLabelRow {
        id: tandem_domain::WhiteLabelId::new(),
        name: String::new(),
        country: String::new(),
        currency: String::new(),
        support_email: String::new(),
        support_phone: None,
        primary_colour: String::new(),
        terms_url: None,
        has_logo: false,
        logo_version: 0,
        tax_name: String::new(),
        tax_rate_bp: 0,
        show_prices_with_tax: false,
        status: String::new(),
        balance_minor: 0,
        credit_limit_minor: 0,
        version: 0,
        created_us: 0,
        updated_us: 0,
        hosts: Vec::new(),
        mail_from_name: None,
        mail_from_address: None,
        webhook_url: None,
    }
}

fn activation_vars() -> Value {
    json!({
        "contact_name": "Aroha",
        "legal_name": "Kauri Plumbing Limited",
        "plan_name": "Business",
        "activation_url": "https://activate.example/token-123",
        "expires_at": "Friday 11 December 2026, 9:30 am",
    })
}

fn smtp(server: &SmtpServer) -> Arc<dyn MailTransport> {
    Arc::new(
        SmtpTransport::new(&SmtpSettings {
            host: "127.0.0.1".into(),
            port: server.port(),
            security: SmtpSecurity::None,
            credentials: None,
            timeout: Duration::from_secs(5),
        })
        .unwrap(),
    )
}

/// The text and HTML parts of a parsed message, decoded.
fn parts(message: &mailparse::ParsedMail<'_>) -> (String, String) {
    let mut text = String::new();
    let mut html = String::new();
    for part in &message.subparts {
        match part.ctype.mimetype.as_str() {
            "text/plain" => text = part.get_body().unwrap(),
            "text/html" => html = part.get_body().unwrap(),
            _ => {}
        }
    }
    (text, html)
}

#[tokio::test]
async fn smtp_delivers_branded_mail() {
    let fixture = Fixture::new().await;
    fixture
        .app
        .set_mail_sender(&fixture.admin, "Harbour Sales", "sales@harbour.example")
        .await
        .unwrap();
    let white_label = fixture.reload(&fixture.white_label.id).await;
    let server = SmtpServer::start().await;
    let worker = fixture.worker(smtp(&server), 12);
    let id = fixture
        .enqueue_activation(&white_label, "aroha@kauri.example")
        .await;

    let claimed = worker.run_once().await.unwrap();

    assert_eq!(claimed, 1);
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mail_from, "sales@harbour.example");
    assert_eq!(received[0].rcpt_to, ["aroha@kauri.example"]);
    let message = mailparse::parse_mail(received[0].data.as_bytes()).unwrap();
    let from = message.headers.get_first_value("From").unwrap();
    assert_eq!(from, "\"Harbour Sales\" <sales@harbour.example>");
    let reply_to = message.headers.get_first_value("Reply-To").unwrap();
    assert_eq!(reply_to, "support@harbour.example");
    let subject = message.headers.get_first_value("Subject").unwrap();
    assert_eq!(subject, "Activate your harbour Telecom account");
    let message_id = message.headers.get_first_value("Message-ID").unwrap();
    assert_eq!(message_id, format!("<{id}@harbour.example>"));
    assert_eq!(message.ctype.mimetype, "multipart/alternative");
    let (text, html) = parts(&message);
    for part in [&text, &html] {
        assert!(part.contains("harbour Telecom"), "{part}");
        assert!(part.contains("support@harbour.example"), "{part}");
        assert!(part.contains("Kauri Plumbing Limited"), "{part}");
    }
    assert!(text.contains("https://activate.example/token-123"));
    assert!(html.contains("background-color:#0b6e4f"));
    let item = fixture.item(&white_label, &id).await;
    assert_eq!(item.row.state, "delivered");
    assert_eq!(item.row.attempts, 1);
    assert_eq!(item.row.delivered_us, Some(fixture.clock.now_us()));
    assert_eq!(item.attempts.len(), 1);
    assert_eq!(item.attempts[0].outcome, "delivered");
}

#[tokio::test]
async fn platform_sender_fills_missing_address() {
    let fixture = Fixture::new().await;
    let server = SmtpServer::start().await;
    let worker = fixture.worker(smtp(&server), 12);
    fixture
        .enqueue_activation(&fixture.white_label, "aroha@kauri.example")
        .await;

    worker.run_once().await.unwrap();

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mail_from, "mail@platform.example");
    let message = mailparse::parse_mail(received[0].data.as_bytes()).unwrap();
    let from = message.headers.get_first_value("From").unwrap();
    assert_eq!(from, "\"harbour Telecom\" <mail@platform.example>");
}

#[tokio::test]
async fn smtp_down_keeps_mail_queued_then_delivers_once() {
    let fixture = Fixture::new().await;
    let mut server = SmtpServer::start().await;
    let worker = fixture.worker(smtp(&server), 12);
    server.stop().await;
    let id = fixture
        .enqueue_activation(&fixture.white_label, "aroha@kauri.example")
        .await;
    let queued_at = fixture.clock.now_us();

    assert_eq!(worker.run_once().await.unwrap(), 1);

    let item = fixture.item(&fixture.white_label, &id).await;
    assert_eq!(item.row.state, "queued");
    assert_eq!(item.row.attempts, 1);
    let error = item.row.last_error.clone().expect("last error recorded");
    assert!(
        error.contains(&format!("127.0.0.1:{}", server.port())),
        "{error}"
    );
    assert!(item.row.next_attempt_us >= queued_at + 15_000_000);
    assert!(item.row.next_attempt_us <= queued_at + 30_000_000);
    assert_eq!(item.row.lease_until_us, None);
    assert_eq!(item.attempts.len(), 1);
    assert_eq!(item.attempts[0].outcome, "retry");
    assert_eq!(item.attempts[0].detail.as_deref(), Some(error.as_str()));

    server.restart().await;
    assert_eq!(worker.run_once().await.unwrap(), 0, "not due yet");
    assert!(server.received().is_empty());

    fixture.clock.advance(Duration::from_secs(31));
    assert_eq!(worker.run_once().await.unwrap(), 1);
    fixture.clock.advance(Duration::from_secs(7200));
    assert_eq!(
        worker.run_once().await.unwrap(),
        0,
        "delivered mail is not claimed"
    );

    assert_eq!(server.received().len(), 1);
    let item = fixture.item(&fixture.white_label, &id).await;
    assert_eq!(item.row.state, "delivered");
    assert_eq!(item.row.attempts, 2);
    assert_eq!(item.row.last_error, None);
    let outcomes: Vec<_> = item.attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "delivered"]);
}

#[tokio::test]
async fn attempts_run_out_marks_failed() {
    let fixture = Fixture::new().await;
    let mut server = SmtpServer::start().await;
    let worker = fixture.worker(smtp(&server), 2);
    server.stop().await;
    let id = fixture
        .enqueue_activation(&fixture.white_label, "aroha@kauri.example")
        .await;

    worker.run_once().await.unwrap();
    fixture.clock.advance(Duration::from_secs(3600));
    worker.run_once().await.unwrap();
    fixture.clock.advance(Duration::from_secs(3600));
    let claimed_after_failure = worker.run_once().await.unwrap();

    assert_eq!(claimed_after_failure, 0);
    let item = fixture.item(&fixture.white_label, &id).await;
    assert_eq!(item.row.state, "failed");
    assert_eq!(item.row.attempts, 2);
    let outcomes: Vec<_> = item.attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "failed"]);
}

#[tokio::test]
async fn smtp_rejection_5xx_fails_at_once() {
    let fixture = Fixture::new().await;
    let server = SmtpServer::start().await;
    server.reply_to_data_with(Some("550 5.1.1 mailbox unavailable"));
    let worker = fixture.worker(smtp(&server), 12);
    let id = fixture
        .enqueue_activation(&fixture.white_label, "nobody@kauri.example")
        .await;

    worker.run_once().await.unwrap();

    let item = fixture.item(&fixture.white_label, &id).await;
    assert_eq!(item.row.state, "failed");
    assert_eq!(item.row.attempts, 1);
    let error = item.row.last_error.unwrap();
    assert!(error.contains("mailbox unavailable"), "{error}");
}

#[tokio::test]
async fn smtp_rejection_4xx_is_retried() {
    let fixture = Fixture::new().await;
    let server = SmtpServer::start().await;
    server.reply_to_data_with(Some("451 4.3.0 try again later"));
    let worker = fixture.worker(smtp(&server), 12);
    let id = fixture
        .enqueue_activation(&fixture.white_label, "aroha@kauri.example")
        .await;

    worker.run_once().await.unwrap();
    let item = fixture.item(&fixture.white_label, &id).await;
    assert_eq!(item.row.state, "queued");
    server.reply_to_data_with(None);
    fixture.clock.advance(Duration::from_secs(60));
    worker.run_once().await.unwrap();

    let item = fixture.item(&fixture.white_label, &id).await;
    assert_eq!(item.row.state, "delivered");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn concurrent_workers_deliver_each_mail_once() {
    let fixture = Fixture::new().await;
    let server = SmtpServer::start().await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let to = format!("person{n}@kauri.example");
        ids.push(fixture.enqueue_activation(&fixture.white_label, &to).await);
    }
    let first = fixture.worker(smtp(&server), 12);
    let second = fixture.worker(smtp(&server), 12);

    let run = |worker: OutboxWorker| {
        tokio::spawn(async move {
            let mut claimed = 0;
            for _ in 0..20 {
                claimed += worker.run_once().await.expect("worker round");
            }
            claimed
        })
    };
    let (a, b) = tokio::join!(run(first), run(second));

    assert_eq!(a.unwrap() + b.unwrap(), 20, "each item claimed once");
    let received = server.received();
    assert_eq!(received.len(), 20);
    let recipients: HashSet<_> = received.iter().map(|m| m.rcpt_to[0].clone()).collect();
    assert_eq!(recipients.len(), 20);
    for id in &ids {
        let item = fixture.item(&fixture.white_label, id).await;
        assert_eq!(item.row.state, "delivered", "{id}");
        assert_eq!(item.row.attempts, 1, "{id}");
    }
}

#[tokio::test]
async fn folder_transport_writes_parseable_eml() {
    let fixture = Fixture::new().await;
    let folder = std::env::temp_dir().join(format!("tandem-outbox-{}", rand::random::<u64>()));
    let worker = fixture.worker(Arc::new(FolderTransport::new(&folder)), 12);
    let id = fixture
        .enqueue_activation(&fixture.white_label, "aroha@kauri.example")
        .await;

    worker.run_once().await.unwrap();

    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [format!("{id}.eml")]);
    let bytes = std::fs::read(folder.join(format!("{id}.eml"))).unwrap();
    let message = mailparse::parse_mail(&bytes).unwrap();
    let to = message.headers.get_first_value("To").unwrap();
    assert_eq!(to, "aroha@kauri.example");
    assert!(message.headers.get_first_value("Date").is_some());
    let (text, html) = parts(&message);
    assert!(text.contains("Welcome, Aroha"), "{text}");
    assert!(html.contains("Welcome, Aroha"), "{html}");
    assert_eq!(
        fixture.item(&fixture.white_label, &id).await.row.state,
        "delivered"
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

#[tokio::test]
async fn bad_template_rejected_when_saved() {
    let fixture = Fixture::new().await;
    let source = TemplateSource {
        subject: "Welcome {{ contact_name }}".into(),
        body_html: "<p>Hello</p>\n<p>{{ activation_link }}</p>".into(),
        body_text: "{% for x in %}".into(),
    };

    let error = fixture
        .app
        .save_email_template(&fixture.admin, MailTemplate::Activation, &source)
        .await
        .unwrap_err();

    let AppError::Invalid(errors) = error else {
        panic!("expected invalid input, got {error:?}");
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["body_html", "body_text"]);
    assert!(
        errors[0].message.starts_with("line 2:"),
        "{}",
        errors[0].message
    );
    assert!(
        errors[0].message.contains("undefined"),
        "{}",
        errors[0].message
    );
    assert!(
        errors[1].message.contains("syntax error"),
        "{}",
        errors[1].message
    );
    let editable = fixture
        .app
        .email_template(&fixture.admin, MailTemplate::Activation)
        .await
        .unwrap();
    assert!(!editable.customised, "a rejected template is not stored");
}

#[tokio::test]
async fn saved_template_is_used_for_new_mail() {
    let fixture = Fixture::new().await;
    let server = SmtpServer::start().await;
    let worker = fixture.worker(smtp(&server), 12);
    let source = TemplateSource {
        subject: "Kia ora {{ contact_name }} from {{ brand.name }}".into(),
        body_html: "{% extends \"layout.html\" %}{% block content %}<p>Custom {{ plan_name }}</p>\
                    {% endblock %}"
            .into(),
        body_text: "Custom {{ plan_name }}: {{ activation_url }}".into(),
    };
    fixture
        .app
        .save_email_template(&fixture.admin, MailTemplate::Activation, &source)
        .await
        .unwrap();

    fixture
        .enqueue_activation(&fixture.white_label, "aroha@kauri.example")
        .await;
    worker.run_once().await.unwrap();

    let received = server.received();
    let message = mailparse::parse_mail(received[0].data.as_bytes()).unwrap();
    let subject = message.headers.get_first_value("Subject").unwrap();
    assert_eq!(subject, "Kia ora Aroha from harbour Telecom");
    let (text, html) = parts(&message);
    assert_eq!(
        text.trim_end(),
        "Custom Business: https://activate.example/token-123"
    );
    assert!(html.contains("<p>Custom Business</p>"));
    assert!(html.contains("support@harbour.example"), "layout applied");
}

#[tokio::test]
async fn each_white_label_mail_carries_own_brand() {
    let fixture = Fixture::new().await;
    let other = support::create_white_label(&fixture.app, "lighthouse", "0").await;
    let other = fixture.reload(&other.id).await;
    let server = SmtpServer::start().await;
    let worker = fixture.worker(smtp(&server), 12);
    fixture
        .enqueue_activation(&fixture.white_label, "one@kauri.example")
        .await;
    fixture
        .enqueue_activation(&other, "two@kauri.example")
        .await;

    worker.run_once().await.unwrap();

    let received = server.received();
    assert_eq!(received.len(), 2);
    for mail in &received {
        let message = mailparse::parse_mail(mail.data.as_bytes()).unwrap();
        let (text, html) = parts(&message);
        let (own, foreign) = if mail.rcpt_to[0] == "one@kauri.example" {
            ("harbour", "lighthouse")
        } else {
            ("lighthouse", "harbour")
        };
        for part in [&text, &html] {
            assert!(part.contains(&format!("{own} Telecom")), "{part}");
            assert!(part.contains(&format!("support@{own}.example")), "{part}");
            assert!(!part.contains(foreign), "{own}'s mail mentions {foreign}");
        }
    }
}

/// A request the webhook receiver got.
#[derive(Debug, Clone)]
struct Hook {
    headers: HeaderMap,
    body: String,
}

/// An HTTP receiver on 127.0.0.1 that answers each request with the next status in `statuses`
/// (200 once they run out) and keeps every request.
async fn webhook_receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<Hook>>>) {
    let hooks: Arc<Mutex<Vec<Hook>>> = Arc::default();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    let recorded = hooks.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let recorded = recorded.clone();
            let statuses = statuses.clone();
            async move {
                recorded.lock().unwrap().push(Hook { headers, body });
                let status = statuses.lock().unwrap().next().unwrap_or(200);
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, hooks)
}

fn verify_signature(secret: &str, header: &str, body: &str) -> bool {
    let Some((t, v1)) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

#[tokio::test]
async fn webhook_signed_and_retried_after_500() {
    let fixture = Fixture::new().await;
    let (url, hooks) = webhook_receiver(vec![500]).await;
    let secret = fixture
        .app
        .set_webhook_url(&fixture.admin, &url)
        .await
        .unwrap()
        .expect("a first secret is generated");
    let white_label = fixture.reload(&fixture.white_label.id).await;
    let server = SmtpServer::start().await;
    let worker = fixture.worker(smtp(&server), 12);
    let mut tx = fixture.store.begin().await.unwrap();
    let id = enqueue_webhook(
        &mut tx,
        fixture.clock.now_us(),
        &white_label,
        None,
        "customer.created",
        json!({"customer": {"id": "cus_1"}}),
    )
    .await
    .unwrap()
    .expect("queued");
    tx.commit().await.unwrap();

    worker.run_once().await.unwrap();
    let item = fixture.item(&white_label, &id).await;
    assert_eq!(item.row.state, "queued");
    assert!(item
        .row
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("HTTP 500"));
    fixture.clock.advance(Duration::from_secs(31));
    worker.run_once().await.unwrap();

    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 2);
    let item = fixture.item(&white_label, &id).await;
    assert_eq!(item.row.state, "delivered");
    assert_eq!(item.row.attempts, 2);
    for hook in &hooks {
        let signature = hook.headers["tandem-signature"].to_str().unwrap();
        assert!(
            verify_signature(&secret, signature, &hook.body),
            "{signature}"
        );
        assert!(!verify_signature("whsec_other", signature, &hook.body));
        assert_eq!(hook.headers["tandem-event"], "customer.created");
        assert_eq!(hook.headers["tandem-delivery"], id.as_str());
        assert_eq!(hook.headers["content-type"], "application/json");
    }
    let second_t = hooks[1].headers["tandem-signature"].to_str().unwrap();
    let expected_t = fixture.clock.now_us() / 1_000_000;
    assert!(
        second_t.starts_with(&format!("t={expected_t},")),
        "{second_t}"
    );
    assert_eq!(
        hooks[0].body, hooks[1].body,
        "the body is the same on every attempt"
    );
    let body: Value = serde_json::from_str(&hooks[1].body).unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(body["type"], "customer.created");
    assert_eq!(body["created"], json!(1_800_000_000));
    assert_eq!(body["data"]["customer"]["id"], "cus_1");
}

#[tokio::test]
async fn webhook_rotated_secret_signs_queued_items() {
    let fixture = Fixture::new().await;
    let (url, hooks) = webhook_receiver(vec![]).await;
    let first = fixture
        .app
        .set_webhook_url(&fixture.admin, &url)
        .await
        .unwrap()
        .unwrap();
    let white_label = fixture.reload(&fixture.white_label.id).await;
    let mut tx = fixture.store.begin().await.unwrap();
    enqueue_webhook(
        &mut tx,
        fixture.clock.now_us(),
        &white_label,
        None,
        "webhook.test",
        json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let rotated = fixture
        .app
        .rotate_webhook_secret(&fixture.admin)
        .await
        .unwrap();
    let server = SmtpServer::start().await;

    fixture.worker(smtp(&server), 12).run_once().await.unwrap();

    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1);
    let signature = hooks[0].headers["tandem-signature"].to_str().unwrap();
    assert!(verify_signature(&rotated, signature, &hooks[0].body));
    assert!(!verify_signature(&first, signature, &hooks[0].body));
}

#[tokio::test]
async fn webhook_without_url_is_not_queued() {
    let fixture = Fixture::new().await;
    let mut tx = fixture.store.begin().await.unwrap();

    let id = enqueue_webhook(
        &mut tx,
        fixture.clock.now_us(),
        &fixture.white_label,
        None,
        "customer.created",
        json!({}),
    )
    .await
    .unwrap();

    assert_eq!(id, None);
}

#[tokio::test]
async fn rolled_back_change_leaves_no_mail() {
    let fixture = Fixture::new().await;
    let portal_url = fixture.app.portal_url(&fixture.white_label);
    let mut tx = fixture.store.begin().await.unwrap();
    let id = enqueue_mail(
        &mut tx,
        fixture.clock.now_us(),
        &portal_url,
        &fixture.white_label,
        None,
        MailTemplate::Activation,
        &EmailAddress::parse("aroha@kauri.example").unwrap(),
        activation_vars(),
    )
    .await
    .unwrap();
    drop(tx);

    let mut conn = fixture.store.conn().await.unwrap();
    let state = store_outbox::state_of(&mut conn, &fixture.white_label.id, &id)
        .await
        .unwrap();
    assert_eq!(state, None);
}

#[tokio::test]
async fn other_white_label_cannot_read_item() {
    let fixture = Fixture::new().await;
    let other = support::create_white_label(&fixture.app, "lighthouse", "0").await;
    let other_admin = PlatformAdmin::command_line().for_white_label(&other.id);
    let id = fixture
        .enqueue_activation(&fixture.white_label, "aroha@kauri.example")
        .await;

    let own = fixture.app.outbox_item(&fixture.admin, &id).await;
    let foreign = fixture.app.outbox_item(&other_admin, &id).await;

    assert!(own.is_ok());
    assert!(matches!(foreign, Err(AppError::NotFound(_))), "{foreign:?}");
}

// The portal pages, over real HTTP with the outbox worker off.

/// Starts a server whose outbox worker is off, and signs in as the white label's
/// administrator on a cookie-keeping client.
async fn portal() -> (Fixture, tandem::Server, reqwest::Client, String, String) {
    let fixture = Fixture::new().await;
    let settings = Settings {
        outbox_interval_ms: 0,
        ..support::test_settings()
    };
    let server = tandem::Server::start(fixture.app.clone(), &settings)
        .await
        .unwrap();
    let host = "harbour.localhost";
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(host, server.address)
        .build()
        .unwrap();
    let base = format!("http://{host}:{}", server.address.port());
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
            ("email", "admin@harbour.example"),
            ("password", support::PASSWORD),
            ("next", "/outbox"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303, "signed in");
    let csrf_token = csrf(
        &client
            .get(format!("{base}/outbox"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    (fixture, server, client, base, csrf_token)
}

fn csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn portal_outbox_lists_mail() {
    let (fixture, server, client, base, _) = portal().await;
    fixture
        .enqueue_activation(&fixture.white_label, "aroha@kauri.example")
        .await;

    let response = client.get(format!("{base}/outbox")).send().await.unwrap();

    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("aroha@kauri.example"));
    assert!(html.contains("Account activation"));
    assert!(html.contains("queued"));
    assert!(html.contains("href=\"/outbox\" aria-current=\"page\">Mail<"));
    server.abort();
}

#[tokio::test]
async fn portal_template_preview_is_sandboxed() {
    let (_fixture, server, client, base, csrf) = portal().await;
    let source = tandem_app::mail::MailTemplate::Activation.default_source();

    let response = client
        .post(format!("{base}/email-templates/activation"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("action", "preview"),
            ("subject", source.subject.as_str()),
            ("body_html", source.body_html.as_str()),
            ("body_text", source.body_text.as_str()),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'none'"), "{policy}");
    assert!(
        policy.contains("style-src 'self' 'unsafe-inline'"),
        "{policy}"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<iframe class=\"mail-preview\" sandbox=\"\""),
        "sandboxed"
    );
    assert!(
        html.contains("srcdoc=\"&#60;!doctype html&#62;")
            || html.contains("srcdoc=\"&lt;!doctype html&gt;")
    );
    assert!(html.contains("Activate your harbour Telecom account"));
    assert!(html.contains("Welcome, Aroha"));
    server.abort();
}

#[tokio::test]
async fn portal_rejects_bad_template_beside_field() {
    let (fixture, server, client, base, csrf) = portal().await;

    let response = client
        .post(format!("{base}/email-templates/activation"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("action", "save"),
            ("subject", "Hello"),
            ("body_html", "<p>{% if contact_name %}unclosed</p>"),
            ("body_text", "Hi {{ contact_name }}"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"body_html-error\">line 1: syntax error"),
        "{html}"
    );
    assert!(!html.contains("id=\"body_text-error\""));
    let editable = fixture
        .app
        .email_template(&fixture.admin, MailTemplate::Activation)
        .await
        .unwrap();
    assert!(!editable.customised);
    server.abort();
}

#[tokio::test]
async fn portal_saves_and_resets_template() {
    let (fixture, server, client, base, csrf) = portal().await;

    let saved = client
        .post(format!("{base}/email-templates/low_balance"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("action", "save"),
            ("subject", "Top up {{ legal_name }}"),
            ("body_html", "<p>{{ balance }}</p>"),
            ("body_text", "{{ balance }}"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status().as_u16(), 303);
    let list = client
        .get(format!("{base}/email-templates"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Yours"));
    let reset = client
        .post(format!("{base}/email-templates/low_balance/reset"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(reset.status().as_u16(), 303);
    let editable = fixture
        .app
        .email_template(&fixture.admin, MailTemplate::LowBalance)
        .await
        .unwrap();
    assert!(!editable.customised);
    server.abort();
}

#[tokio::test]
async fn portal_webhook_secret_shown_once() {
    let (_fixture, server, client, base, csrf) = portal().await;
    let (url, _hooks) = webhook_receiver(vec![]).await;

    let saved = client
        .post(format!("{base}/webhooks"))
        .form(&[("_csrf", csrf.as_str()), ("webhook_url", url.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(saved.status().as_u16(), 200);
    assert_eq!(saved.headers()["cache-control"], "no-store");
    let html = saved.text().await.unwrap();
    assert!(html.contains("id=\"new-webhook-secret\">whsec_"), "{html}");
    let again = client
        .get(format!("{base}/webhooks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains("whsec_"));
    assert!(again.contains(&url));
    let bad = client
        .post(format!("{base}/webhooks"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("webhook_url", "http://169.254.169.254/latest"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);
    server.abort();
}
