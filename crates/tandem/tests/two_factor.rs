//! Two-factor sign-in over real HTTP. The tests cover enrolling an authenticator from the
//! profile page, the second sign-in step bound to the browser, codes accepted once, recovery
//! codes, turning it off, the failure limits and audit. They also cover a white label that
//! requires it of its administrators and its customers' Account Administrators.

mod support;

use std::time::Duration;

use reqwest::{Client, Method};
use serde_json::Value;
use support::{
    create_white_label, customer_body, fresh_store, test_settings, TestWhiteLabel, PASSWORD,
};
use tandem::Server;
use tandem_app::two_factor::{base32_decode, totp, DIGITS, STEP_SECS};
use tandem_app::App;
use tandem_domain::{CustomerId, MembershipId, Role, UserId};
use tandem_store::memberships::{self, Scope};
use tandem_store::users;

struct Setup {
    app: App,
    server: Server,
    wl: TestWhiteLabel,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Setup {
    async fn start() -> Setup {
        let settings = test_settings();
        let app = tandem::build_app(fresh_store().await, &settings);
        let wl = create_white_label(&app, "harbour", "1000.00").await;
        let server = Server::start(app.clone(), &settings).await.expect("server");
        Setup { app, server, wl }
    }

    /// A browser with its own cookies that does not follow redirects, and the portal's base URL.
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

    async fn audit_count(&self, action: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(self.app.store().pool())
            .await
            .unwrap()
    }

    /// Creates a customer account through the API and a user who is its Account
    /// Administrator (or another customer role), signing in with [`PASSWORD`].
    async fn account_user(&self, email: &str, role: Role) -> CustomerId {
        let url = format!("http://{}/api/v1/customers", self.server.address);
        let response = Client::new()
            .post(url)
            .bearer_auth(&self.wl.api_key)
            .json(&customer_body(&self.wl.plan_id, "Kauri Joinery Ltd"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let customer: Value = response.json().await.unwrap();
        let customer_id = CustomerId::parse(customer["id"].as_str().unwrap()).unwrap();
        let hash = tandem_app::auth::hash_password(PASSWORD.into())
            .await
            .unwrap();
        let mut conn = self.app.store().conn().await.unwrap();
        let user_id = UserId::new();
        users::insert(&mut conn, &user_id, email, email, "Mere", Some(&hash), 1)
            .await
            .unwrap();
        memberships::insert_if_absent(
            &mut conn,
            &MembershipId::new(),
            &user_id,
            role.as_str(),
            Scope::Customer(&self.wl.id, &customer_id),
            1,
        )
        .await
        .unwrap();
        customer_id
    }
}

fn csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The text between `start` and the next `end` in `html`.
fn between(html: &str, start: &str, end: &str) -> String {
    let from = html.find(start).expect("marker") + start.len();
    html[from..].split(end).next().unwrap().to_string()
}

fn recovery_codes(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .map(|part| part.split('<').next().unwrap().to_string())
        .collect()
}

/// The current TOTP step, after waiting until at least 8 seconds of it remain, so that a test
/// can use the codes of this step and the next one without racing the clock.
async fn steady_step() -> i64 {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        if now % STEP_SECS < STEP_SECS - 8 {
            return now / STEP_SECS;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn code(secret: &str, step: i64) -> String {
    totp(&base32_decode(secret).unwrap(), step, DIGITS)
}

async fn get(client: &Client, url: String) -> reqwest::Response {
    client.get(url).send().await.unwrap()
}

async fn text(client: &Client, url: String) -> String {
    get(client, url).await.text().await.unwrap()
}

async fn post(client: &Client, url: String, form: &[(&str, &str)]) -> reqwest::Response {
    client.post(url).form(form).send().await.unwrap()
}

/// Submits the sign-in form; returns the response (a redirect on success).
async fn sign_in(client: &Client, base: &str, email: &str, password: &str) -> reqwest::Response {
    let page = text(client, format!("{base}/sign-in")).await;
    post(
        client,
        format!("{base}/sign-in"),
        &[
            ("_csrf", csrf(&page).as_str()),
            ("email", email),
            ("password", password),
            ("next", "/customers"),
        ],
    )
    .await
}

/// Submits the second sign-in step with `code`.
async fn submit_code(client: &Client, base: &str, code: &str) -> reqwest::Response {
    let page = text(client, format!("{base}/sign-in/code?next=/customers")).await;
    post(
        client,
        format!("{base}/sign-in/code"),
        &[
            ("_csrf", csrf(&page).as_str()),
            ("code", code),
            ("next", "/customers"),
        ],
    )
    .await
}

/// Starts enrolment on the profile page and returns the secret and the page.
async fn start_enrolment(client: &Client, base: &str) -> (String, String) {
    let profile = text(client, format!("{base}/profile")).await;
    let page = post(
        client,
        format!("{base}/profile/two-factor"),
        &[("_csrf", csrf(&profile).as_str())],
    )
    .await
    .text()
    .await
    .unwrap();
    (between(&page, "<code class=\"secret\">", "<"), page)
}

/// Confirms enrolment with `code`; returns the response.
async fn confirm(client: &Client, base: &str, code: &str) -> reqwest::Response {
    let profile = text(client, format!("{base}/profile")).await;
    post(
        client,
        format!("{base}/profile/two-factor/confirm"),
        &[("_csrf", csrf(&profile).as_str()), ("code", code)],
    )
    .await
}

/// Signs in without two-factor, enrols an authenticator with the code of `step - 1` and
/// signs out. Returns the secret and the recovery codes.
async fn enrolled(setup: &Setup, email: &str, step: i64) -> (String, Vec<String>) {
    let (client, base) = setup.browser();
    assert_eq!(
        sign_in(&client, &base, email, PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    let (secret, _) = start_enrolment(&client, &base).await;
    let confirmed = confirm(&client, &base, &code(&secret, step - 1)).await;
    assert_eq!(confirmed.status().as_u16(), 200);
    let codes = recovery_codes(&confirmed.text().await.unwrap());
    (secret, codes)
}

#[tokio::test]
async fn enrolment_needs_valid_code_and_shows_recovery_codes() {
    let setup = Setup::start().await;
    let (client, base) = setup.browser();
    sign_in(&client, &base, &setup.wl.admin_email, PASSWORD).await;
    let step = steady_step().await;

    let (secret, page) = start_enrolment(&client, &base).await;
    let wrong = confirm(&client, &base, &code(&secret, step + 3)).await;
    let right = confirm(&client, &base, &code(&secret, step)).await;

    assert_eq!(base32_decode(&secret).unwrap().len(), 20);
    assert!(page.contains(&format!(
        "otpauth://totp/harbour%20Telecom:admin%40harbour.example?secret={secret}"
    )));
    assert!(page.contains("issuer=harbour%20Telecom"));
    assert_eq!(wrong.status().as_u16(), 422);
    assert_eq!(right.status().as_u16(), 200);
    let codes = recovery_codes(&right.text().await.unwrap());
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 11));
    let later = text(&client, format!("{base}/profile")).await;
    assert!(later.contains("10 unused recovery code(s)"));
    assert!(!later.contains(&codes[0]));
    assert_eq!(setup.audit_count("two_factor.enabled").await, 1);
    assert_eq!(setup.audit_count("two_factor.failed").await, 1);
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM two_factor_recovery_codes")
        .fetch_all(setup.app.store().pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(!stored.iter().any(|hash| codes.contains(hash)));
}

#[tokio::test]
async fn platform_host_issuer_is_platform_name() {
    let setup = Setup::start().await;
    setup
        .app
        .ensure_user_with_role(
            "root@platform.example",
            "Root",
            PASSWORD,
            Role::PlatformAdministrator,
            None,
        )
        .await
        .unwrap();
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", setup.server.address);

    sign_in(&client, &base, "root@platform.example", PASSWORD).await;
    let (_, page) = start_enrolment(&client, &base).await;

    assert!(page.contains("otpauth://totp/Tandem:root%40platform.example?"));
    assert!(page.contains("issuer=Tandem&"));
}

#[tokio::test]
async fn sign_in_waits_for_code_before_session() {
    let setup = Setup::start().await;
    let step = steady_step().await;
    let (secret, _) = enrolled(&setup, &setup.wl.admin_email, step).await;
    let (client, base) = setup.browser();

    let first = sign_in(&client, &base, &setup.wl.admin_email, PASSWORD).await;
    let before_code = get(&client, format!("{base}/customers")).await;
    let passed = submit_code(&client, &base, &code(&secret, step)).await;
    let after_code = get(&client, format!("{base}/customers")).await;

    assert_eq!(first.status().as_u16(), 303);
    assert!(first.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/sign-in/code"));
    assert_eq!(before_code.status().as_u16(), 303);
    assert!(before_code.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/sign-in?"));
    assert_eq!(passed.status().as_u16(), 303);
    assert_eq!(passed.headers()["location"], "/customers");
    assert_eq!(after_code.status().as_u16(), 200);
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(setup.app.store().pool())
        .await
        .unwrap();
    assert_eq!(
        sessions, 2,
        "one session from enrolment and one from this sign-in"
    );
}

#[tokio::test]
async fn code_accepted_only_once() {
    let setup = Setup::start().await;
    let step = steady_step().await;
    let (secret, _) = enrolled(&setup, &setup.wl.admin_email, step).await;
    let used = code(&secret, step);

    let (first, base) = setup.browser();
    sign_in(&first, &base, &setup.wl.admin_email, PASSWORD).await;
    let accepted = submit_code(&first, &base, &used).await;
    let (second, _) = setup.browser();
    sign_in(&second, &base, &setup.wl.admin_email, PASSWORD).await;
    let replayed = submit_code(&second, &base, &used).await;
    let enrolment_code = submit_code(&second, &base, &code(&secret, step - 1)).await;
    let next_code = submit_code(&second, &base, &code(&secret, step + 1)).await;

    assert_eq!(accepted.status().as_u16(), 303);
    assert_eq!(replayed.status().as_u16(), 401);
    assert_eq!(enrolment_code.status().as_u16(), 401);
    assert_eq!(next_code.status().as_u16(), 303);
}

#[tokio::test]
async fn recovery_code_works_once_and_is_audited() {
    let setup = Setup::start().await;
    let step = steady_step().await;
    let (_, codes) = enrolled(&setup, &setup.wl.admin_email, step).await;
    let (first, base) = setup.browser();
    sign_in(&first, &base, &setup.wl.admin_email, PASSWORD).await;
    let typed = codes[3].to_uppercase().replace('-', " ");

    let accepted = submit_code(&first, &base, &typed).await;
    let (second, _) = setup.browser();
    sign_in(&second, &base, &setup.wl.admin_email, PASSWORD).await;
    let reused = submit_code(&second, &base, &codes[3]).await;
    let profile = text(&first, format!("{base}/profile")).await;

    assert_eq!(accepted.status().as_u16(), 303);
    assert_eq!(reused.status().as_u16(), 401);
    assert!(profile.contains("9 unused recovery code(s)"));
    assert_eq!(setup.audit_count("two_factor.recovery_code_used").await, 1);
}

#[tokio::test]
async fn challenge_is_bound_to_browser() {
    let setup = Setup::start().await;
    let step = steady_step().await;
    let (secret, _) = enrolled(&setup, &setup.wl.admin_email, step).await;
    let (signed, base) = setup.browser();
    sign_in(&signed, &base, &setup.wl.admin_email, PASSWORD).await;
    let (other, _) = setup.browser();

    let sign_in_page = text(&other, format!("{base}/sign-in")).await;
    let forged = post(
        &other,
        format!("{base}/sign-in/code"),
        &[
            ("_csrf", csrf(&sign_in_page).as_str()),
            ("code", &code(&secret, step)),
        ],
    )
    .await;
    let code_page = get(&other, format!("{base}/sign-in/code")).await;
    let customers = get(&other, format!("{base}/customers")).await;

    assert_eq!(forged.status().as_u16(), 303);
    assert_eq!(forged.headers()["location"], "/sign-in");
    assert_eq!(code_page.status().as_u16(), 303);
    assert_eq!(customers.status().as_u16(), 303);
    assert_eq!(
        submit_code(&signed, &base, &code(&secret, step))
            .await
            .status()
            .as_u16(),
        303
    );
}

#[tokio::test]
async fn wrong_codes_drop_challenge_and_are_audited() {
    let setup = Setup::start().await;
    let step = steady_step().await;
    let (secret, codes) = enrolled(&setup, &setup.wl.admin_email, step).await;
    let (client, base) = setup.browser();
    sign_in(&client, &base, &setup.wl.admin_email, PASSWORD).await;

    let mut statuses = Vec::new();
    for wrong in ["000000", "111111", "not-a-code", "222222", "333333"] {
        statuses.push(submit_code(&client, &base, wrong).await.status().as_u16());
    }
    let after_drop = submit_code(&client, &base, &code(&secret, step)).await;

    assert_eq!(statuses, [401, 401, 401, 401, 401]);
    assert_eq!(after_drop.status().as_u16(), 401);
    let page = after_drop.text().await.unwrap();
    assert!(page.contains("Enter your email and password"));
    assert_eq!(setup.audit_count("two_factor.failed").await, 5);
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT COALESCE(before_json, '') || COALESCE(after_json, '') || COALESCE(reason, '') \
         FROM audit_log",
    )
    .fetch_all(setup.app.store().pool())
    .await
    .unwrap();
    let audit = audit.join("\n");
    assert!(!audit.contains(&secret));
    assert!(!audit.contains(&codes[0]));
    assert!(!audit.contains("000000"));
}

#[tokio::test]
async fn wrong_codes_count_in_sign_in_lockout() {
    let setup = Setup::start().await;
    let step = steady_step().await;
    enrolled(&setup, &setup.wl.admin_email, step).await;
    let (client, base) = setup.browser();

    for _ in 0..2 {
        sign_in(&client, &base, &setup.wl.admin_email, PASSWORD).await;
        for _ in 0..5 {
            submit_code(&client, &base, "000000").await;
        }
    }
    let locked = sign_in(&client, &base, &setup.wl.admin_email, PASSWORD).await;

    assert_eq!(locked.status().as_u16(), 429);
    assert!(get(&client, format!("{base}/customers"))
        .await
        .status()
        .is_redirection());
}

#[tokio::test]
async fn turning_off_needs_password_and_code() {
    let setup = Setup::start().await;
    let step = steady_step().await;
    let (secret, codes) = enrolled(&setup, &setup.wl.admin_email, step).await;
    let (client, base) = setup.browser();
    sign_in(&client, &base, &setup.wl.admin_email, PASSWORD).await;
    submit_code(&client, &base, &code(&secret, step)).await;
    let profile = text(&client, format!("{base}/profile")).await;
    let token = csrf(&profile);
    let url = format!("{base}/profile/two-factor/disable");

    let wrong_password = post(
        &client,
        url.clone(),
        &[
            ("_csrf", &token),
            ("password", "not my password"),
            ("code", &codes[0]),
        ],
    )
    .await;
    let wrong_code = post(
        &client,
        url.clone(),
        &[
            ("_csrf", &token),
            ("password", PASSWORD),
            ("code", "123456"),
        ],
    )
    .await;
    let turned_off = post(
        &client,
        url,
        &[
            ("_csrf", &token),
            ("password", PASSWORD),
            ("code", &codes[0]),
        ],
    )
    .await;
    let (again, _) = setup.browser();
    let plain_sign_in = sign_in(&again, &base, &setup.wl.admin_email, PASSWORD).await;

    assert_eq!(wrong_password.status().as_u16(), 422);
    assert_eq!(wrong_code.status().as_u16(), 422);
    assert_eq!(turned_off.status().as_u16(), 200);
    assert_eq!(plain_sign_in.headers()["location"], "/customers");
    assert_eq!(setup.audit_count("two_factor.disabled").await, 1);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM two_factor_recovery_codes")
        .fetch_one(setup.app.store().pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn required_two_factor_sends_admin_to_enrol() {
    let setup = Setup::start().await;
    let (admin, base) = setup.browser();
    sign_in(&admin, &base, &setup.wl.admin_email, PASSWORD).await;
    let settings = text(&admin, format!("{base}/settings")).await;
    let saved = post(
        &admin,
        format!("{base}/settings/two-factor"),
        &[
            ("_csrf", csrf(&settings).as_str()),
            ("require_two_factor", "on"),
        ],
    )
    .await;

    let blocked = get(&admin, format!("{base}/customers")).await;
    let api = admin
        .get(format!("{base}/api/v1/customers"))
        .send()
        .await
        .unwrap();
    let profile = text(&admin, format!("{base}/profile")).await;
    let step = steady_step().await;
    let (secret, _) = start_enrolment(&admin, &base).await;
    let confirmed = confirm(&admin, &base, &code(&secret, step)).await;
    let open = get(&admin, format!("{base}/customers")).await;

    assert_eq!(saved.status().as_u16(), 303);
    assert_eq!(blocked.status().as_u16(), 303);
    assert_eq!(blocked.headers()["location"], "/profile");
    assert_eq!(api.status().as_u16(), 403);
    assert!(profile.contains("Set up two-factor sign-in"));
    assert_eq!(confirmed.status().as_u16(), 200);
    assert_eq!(open.status().as_u16(), 200);
    assert_eq!(
        setup
            .audit_count("white_label.two_factor_requirement_changed")
            .await,
        1
    );
}

#[tokio::test]
async fn requirement_covers_account_administrators_only() {
    let setup = Setup::start().await;
    setup
        .account_user("mere@kauri.example", Role::AccountAdministrator)
        .await;
    setup.account_user("tech@kauri.example", Role::Tech).await;
    let guard = tandem_app::access::PlatformAdmin::command_line().for_white_label(&setup.wl.id);
    setup
        .app
        .set_two_factor_requirement(&guard, true)
        .await
        .unwrap();

    let (account_admin, base) = setup.browser();
    sign_in(&account_admin, &base, "mere@kauri.example", PASSWORD).await;
    let (tech, _) = setup.browser();
    sign_in(&tech, &base, "tech@kauri.example", PASSWORD).await;

    let blocked = get(&account_admin, format!("{base}/account")).await;
    let allowed = get(&tech, format!("{base}/account")).await;

    assert_eq!(blocked.status().as_u16(), 303);
    assert_eq!(blocked.headers()["location"], "/profile");
    assert_eq!(allowed.status().as_u16(), 200);
}

#[tokio::test]
async fn api_key_is_not_asked_for_two_factor() {
    let setup = Setup::start().await;
    let guard = tandem_app::access::PlatformAdmin::command_line().for_white_label(&setup.wl.id);
    setup
        .app
        .set_two_factor_requirement(&guard, true)
        .await
        .unwrap();

    let response = Client::new()
        .request(
            Method::GET,
            format!("http://{}/api/v1/customers", setup.server.address),
        )
        .bearer_auth(&setup.wl.api_key)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn invitation_accepted_by_enrolled_user_needs_code() {
    let setup = Setup::start().await;
    let step = steady_step().await;
    let (secret, _) = enrolled(&setup, &setup.wl.admin_email, step).await;
    let customer_id = setup.account_user("mere@kauri.example", Role::Tech).await;
    let token = tandem_app::auth::random_token();
    let mut conn = setup.app.store().conn().await.unwrap();
    tandem_store::invitations::insert(
        &mut conn,
        &tandem_store::invitations::NewInvitation {
            id: &tandem_domain::InvitationId::new(),
            token_hash: &tandem_app::auth::token_hash(&token),
            white_label_id: &setup.wl.id,
            customer_id: Some(&customer_id),
            email: &setup.wl.admin_email,
            email_key: &setup.wl.admin_email,
            role: "tech",
            invited_by: "tests",
            expires_us: i64::MAX / 2,
        },
        1,
    )
    .await
    .unwrap();
    drop(conn);
    let (client, base) = setup.browser();
    let link = format!("{base}/invitations/{token}");
    let page = text(&client, link.clone()).await;

    let accepted = post(
        &client,
        link,
        &[
            ("_csrf", csrf(&page).as_str()),
            ("name", "Admin"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let before_code = get(&client, format!("{base}/customers")).await;
    let passed = submit_code(&client, &base, &code(&secret, step)).await;
    let after_code = get(&client, format!("{base}/customers")).await;

    assert_eq!(accepted.status().as_u16(), 303);
    assert!(accepted.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/sign-in/code"));
    assert_eq!(before_code.status().as_u16(), 303);
    assert_eq!(passed.status().as_u16(), 303);
    assert_eq!(after_code.status().as_u16(), 200);
}
