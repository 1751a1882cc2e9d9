//! Test support: a real server on a random loopback port over a fresh database.
//!
//! The database is a new SQLite file, or a new PostgreSQL database created on the server named
//! by `TEST_DATABASE_URL` when that is set, so the same tests prove both backends.

#![allow(dead_code)]

use std::sync::Arc;

use rand::Rng;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use tandem::config::Settings;
use tandem::Server;
use tandem_app::access::{PlatformAdmin, WhiteLabelAdmin};
use tandem_app::plans::PlanInput;
use tandem_app::white_labels::WhiteLabelInput;
use tandem_app::App;
use tandem_domain::{LedgerKind, Role, WhiteLabelId};
use tandem_store::{Store, StoreOptions};

pub mod smtp;
pub mod webdriver;

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

fn random_suffix() -> String {
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.gen_range(0..26)))
        .collect()
}

/// Opens a fresh, migrated database for one test.
pub async fn fresh_store() -> Store {
    let url = match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(admin_url) => create_postgres_database(&admin_url).await,
        None => {
            let dir = std::env::temp_dir().join(format!("tandem-test-{}", random_suffix()));
            std::fs::create_dir_all(&dir).expect("temporary folder");
            format!("sqlite://{}", dir.join("tandem.db").display())
        }
    };
    let store = Store::connect(&StoreOptions::new(url))
        .await
        .expect("database opens");
    store.migrate().await.expect("migrations apply");
    store
}

/// Returns the start of each test database's name: `TANDEM_TEST_DATABASE_PREFIX`, which
/// `scripts/test.sh` sets per run so that it can drop the run's databases at the end, or else
/// `tandem_test_`.
fn database_prefix() -> String {
    let prefix = std::env::var("TANDEM_TEST_DATABASE_PREFIX")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "tandem_test_".into());
    let valid = prefix.len() <= 40
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    assert!(
        valid,
        "TANDEM_TEST_DATABASE_PREFIX {prefix:?} is invalid: use up to 40 lower-case letters, \
         digits and underscores, starting with a letter"
    );
    prefix
}

async fn create_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("{}{}", database_prefix(), random_suffix());
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(admin_url)
        .await
        .expect("TEST_DATABASE_URL connects");
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("TEST_DATABASE_URL names a database");
    format!("{base}/{name}")
}

/// A white label made for a test, with its administrator and API key.
pub struct TestWhiteLabel {
    pub id: WhiteLabelId,
    pub host: String,
    pub admin_email: String,
    pub api_key: String,
    pub plan_id: String,
}

/// A running Tandem with one funded white label.
pub struct TestApp {
    pub address: String,
    pub app: App,
    pub server: Server,
    pub client: reqwest::Client,
    pub platform_admin_email: String,
    pub wl: TestWhiteLabel,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The settings of a test server: loopback, random port.
pub fn test_settings() -> Settings {
    let data_dir = std::env::temp_dir().join(format!("tandem-test-{}", random_suffix()));
    Settings {
        listen: "127.0.0.1:0".into(),
        log_level: "warn".into(),
        data_dir,
        // Test webhook receivers listen on 127.0.0.1.
        webhook_allow_private_targets: true,
        ..Settings::default()
    }
}

impl TestApp {
    /// Starts a server over a fresh database with a white label whose balance is 1,000.00 NZD.
    pub async fn spawn() -> TestApp {
        Self::spawn_with_balance("1000.00").await
    }

    /// Starts a server over a fresh database with a white label funded with `balance` NZD
    /// ("0" for none).
    pub async fn spawn_with_balance(balance: &str) -> TestApp {
        let store = fresh_store().await;
        let settings = test_settings();
        let app = tandem::build_app(store, &settings);
        let platform_admin_email = "root@platform.example".to_string();
        app.ensure_user_with_role(
            &platform_admin_email,
            "Root",
            PASSWORD,
            Role::PlatformAdministrator,
            None,
        )
        .await
        .expect("platform admin");
        let wl = create_white_label(&app, "harbour", balance).await;
        let server = Server::start(app.clone(), &settings)
            .await
            .expect("server starts");
        let address = format!("http://{}", server.address);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            address,
            app,
            server,
            client,
            platform_admin_email,
            wl,
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.server.address.port()
    }

    /// Sends a JSON request with an API key; returns the status and the parsed body.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.api_with_headers(method, path, key, body, HeaderMap::new())
            .await
    }

    /// Like [`TestApp::api`], with extra headers.
    pub async fn api_with_headers(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<Value>,
        headers: HeaderMap,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .headers(headers)
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body read");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// Creates another white label in the same platform.
    pub async fn other_white_label(&self, name: &str, balance: &str) -> TestWhiteLabel {
        create_white_label(&self.app, name, balance).await
    }
}

/// Creates a white label `<name>.localhost` with a plan, an administrator and an API key.
pub async fn create_white_label(app: &App, name: &str, balance: &str) -> TestWhiteLabel {
    let platform = PlatformAdmin::command_line();
    let host = format!("{name}.localhost");
    let row = app
        .create_white_label(
            &platform,
            &WhiteLabelInput {
                name: format!("{name} Telecom"),
                hosts: host.clone(),
                country: "NZ".into(),
                currency: "NZD".into(),
                support_email: format!("support@{name}.example"),
                primary_colour: "#0b6e4f".into(),
                tax_name: "GST".into(),
                tax_rate_percent: "15".into(),
                show_prices_with_tax: true,
                ..WhiteLabelInput::default()
            },
        )
        .await
        .expect("white label");
    if balance != "0" {
        app.post_white_label_balance(&platform, &row.id, LedgerKind::TopUp, balance, "test funds")
            .await
            .expect("top-up");
    }
    let admin: WhiteLabelAdmin = platform.for_white_label(&row.id);
    let plan = app
        .create_plan(
            &admin,
            &PlanInput {
                name: "Business".into(),
                description: "Ten extensions".into(),
                setup_fee: "49.00".into(),
                monthly_fee: "39.00".into(),
                included_extensions: "10".into(),
                extra_extension_fee: "5.00".into(),
                number_rental: "5.00".into(),
                min_opening_credit: "50.00".into(),
            },
        )
        .await
        .expect("plan");
    let admin_email = format!("admin@{name}.example");
    app.ensure_user_with_role(
        &admin_email,
        "Admin",
        PASSWORD,
        Role::WhiteLabel,
        Some(&row.id),
    )
    .await
    .expect("white-label admin");
    let key = app.create_api_key(&admin, "tests").await.expect("api key");
    TestWhiteLabel {
        id: row.id,
        host,
        admin_email,
        api_key: key.secret,
        plan_id: plan.id.to_string(),
    }
}

/// A valid mode 2 creation request for `plan_id`.
pub fn customer_body(plan_id: &str, legal_name: &str) -> Value {
    json!({
        "mode": "white_label_managed",
        "plan_id": plan_id,
        "business": {"legal_name": legal_name, "trading_name": format!("{legal_name} Trading")},
        "contact": {"given_name": "Aroha", "family_name": "Ngata", "email": "aroha@kauri.example",
                    "phone": "021 123 4567", "job_title": "Director"},
        "billing_address": {"line1": "12 Queen Street", "suburb": "Auckland Central",
                            "city": "Auckland", "postcode": "1010", "country": "NZ"},
        "service_address": {"same_as_billing": true},
        "time_zone": "Pacific/Auckland"
    })
}

/// Shares one value across tasks in concurrency tests.
pub fn shared<T>(value: T) -> Arc<T> {
    Arc::new(value)
}

/// Creates an Account Administrator API key of `customer` through a member's session.
pub async fn account_key(app: &TestApp, customer: &str, email: &str) -> String {
    let customer_id = tandem_domain::CustomerId::parse(customer).unwrap();
    let hash = tandem_app::auth::hash_password(PASSWORD.into())
        .await
        .unwrap();
    let mut conn = app.app.store().conn().await.unwrap();
    let user_id = tandem_domain::UserId::new();
    tandem_store::users::insert(&mut conn, &user_id, email, email, "Member", Some(&hash), 1)
        .await
        .unwrap();
    tandem_store::memberships::insert_if_absent(
        &mut conn,
        &tandem_domain::MembershipId::new(),
        &user_id,
        Role::AccountAdministrator.as_str(),
        tandem_store::memberships::Scope::Customer(&app.wl.id, &customer_id),
        1,
    )
    .await
    .unwrap();
    drop(conn);
    let session = app.app.sign_in(email, PASSWORD, None).await.unwrap();
    let principal = app
        .app
        .session(&session.token, None)
        .await
        .unwrap()
        .unwrap()
        .principal;
    let member = principal.account_member(&app.wl.id, &customer_id).unwrap();
    app.app
        .create_account_api_key(&member, "tests", "account_administrator")
        .await
        .unwrap()
        .secret
}
