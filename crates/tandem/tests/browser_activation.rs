//! Self-activation in a real browser, both sides. The white-label administrator creates a
//! customer who pays for themselves. The customer, in a browser session of their own, opens
//! the link from the activation mail, corrects a rejected form, declines and then approves the
//! test payment, and lands signed in on their account. The administrator then finds the
//! customer active, with its ledger entries.
//!
//! Mail goes over SMTP to the test SMTP server on a loopback port. Needs Debian's `chromium`
//! and `chromium-driver` packages, which scripts/test.sh installs. Every page visited is saved
//! as a PNG under `target/screenshots/`, with a name starting `activation-`.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::smtp::{ReceivedMail, SmtpServer};
use support::webdriver::Browser;
use support::{create_white_label, fresh_store, test_settings, TestWhiteLabel};
use tandem::Server;
use tandem_app::access::PlatformAdmin;
use tandem_app::payments::GatewayInput;

const BRAND_NAME: &str = "harbour Telecom";
const LEGAL_NAME: &str = "Ōtautahi Café & Söhne Ltd";
const CONTACT_EMAIL: &str = "mereana@otautahi-cafe.example";
const GIVEN_NAME: &str = "Mereana";
const FAMILY_NAME: &str = "Ngāwhika-Åström";
const CUSTOMER_PASSWORD: &str = "kōwhai tree ladder 42";
const MISTYPED_PASSWORD: &str = "kōwhai tree ladder 24";
/// Above the plan's minimum opening credit (50.00) but below its opening charges (101.20), so
/// the activation page must reject it.
const TOO_SMALL_CREDIT: &str = "60.00";
const OPENING_CREDIT: &str = "150.00";

/// The text fields of the customer form and the values typed into them. The service address
/// differs from the billing address, so that every field of the form is filled in.
const TYPED_FIELDS: &[(&str, &str)] = &[
    ("business.legal_name", LEGAL_NAME),
    ("business.trading_name", "Café Ōtautahi"),
    ("business.business_number", "9429041234563"),
    ("business.tax_number", "49-091-850"),
    ("contact.given_name", GIVEN_NAME),
    ("contact.family_name", FAMILY_NAME),
    ("contact.email", CONTACT_EMAIL),
    ("contact.phone", "03 366 1234"),
    ("contact.job_title", "Kaiwhakahaere"),
    ("billing_address.line1", "45 Manchester Street"),
    ("billing_address.line2", "Unit 2"),
    ("billing_address.suburb", "Christchurch Central"),
    ("billing_address.city", "Christchurch"),
    ("billing_address.region", "Canterbury"),
    ("billing_address.postcode", "8011"),
    ("billing_address.country", "NZ"),
    ("service_address.line1", "7 Rātā Road"),
    ("service_address.line2", "Shop 1"),
    ("service_address.suburb", "Akaroa"),
    ("service_address.city", "Akaroa"),
    ("service_address.region", "Canterbury"),
    ("service_address.postcode", "7520"),
    ("service_address.country", "NZ"),
    ("time_zone", "Pacific/Auckland"),
];

/// A server whose mail goes to a test SMTP server, with the white label `harbour` on the
/// built-in test gateway and a balance of 1,000.00 NZD.
struct Activation {
    server: Server,
    smtp: SmtpServer,
    wl: TestWhiteLabel,
}

impl Drop for Activation {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Activation {
    async fn start() -> Activation {
        let smtp = SmtpServer::start().await;
        let mut settings = test_settings();
        settings.mail_transport = "smtp".into();
        settings.smtp_host = "127.0.0.1".into();
        settings.smtp_port = smtp.port();
        settings.smtp_tls = "none".into();
        settings.outbox_interval_ms = 50;
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
        let server = Server::start(app, &settings).await.expect("server starts");
        Activation { server, smtp, wl }
    }

    /// Returns the URL of the white label's portal, as the browser reaches it.
    fn base_url(&self) -> String {
        format!("http://{}:{}", self.wl.host, self.server.address.port())
    }

    /// Waits up to 10 seconds for the `n`th mail (1-based) to arrive, and returns it.
    async fn mail(&self, n: usize) -> ReceivedMail {
        for _ in 0..200 {
            let received = self.smtp.received();
            if received.len() >= n {
                return received[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "timed out after 10 seconds waiting for mail {n}; {} received",
            self.smtp.received().len()
        );
    }
}

/// Returns the subject and the text/plain parts of a raw mail.
fn subject_and_text(raw: &str) -> (String, String) {
    let parsed = mailparse::parse_mail(raw.as_bytes()).expect("mail parses");
    let subject = parsed
        .headers
        .iter()
        .find(|header| header.get_key().eq_ignore_ascii_case("subject"))
        .map(|header| header.get_value())
        .unwrap_or_default();
    let mut texts = Vec::new();
    collect_text(&parsed, &mut texts);
    (subject, texts.join("\n"))
}

fn collect_text(part: &mailparse::ParsedMail<'_>, texts: &mut Vec<String>) {
    if part.subparts.is_empty() {
        if part.ctype.mimetype == "text/plain" {
            texts.push(part.get_body().expect("text part decodes"));
        }
    } else {
        for subpart in &part.subparts {
            collect_text(subpart, texts);
        }
    }
}

/// Returns the first URL in `text` on `base`, which must be an activation link.
fn activation_link(text: &str, base: &str) -> String {
    let start = text
        .find(base)
        .unwrap_or_else(|| panic!("the mail has no link to {base}:\n{text}"));
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(
        link.starts_with(&format!("{base}/activate/")),
        "not an activation link: {link}"
    );
    link
}

/// Creates and returns the folder for screenshots: `screenshots/` in the workspace's target
/// folder.
fn screenshot_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // NOTE: a relative CARGO_TARGET_DIR is taken as relative to the workspace root, which is
    // where cargo puts it only when cargo runs from that root.
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("failed to create {}: {error}", dir.display()));
    dir
}

/// Saves a full-page screenshot as `activation-{name}.png`.
async fn save_screenshot(browser: &Browser, name: &str) {
    let path = screenshot_dir().join(format!("activation-{name}.png"));
    browser.screenshot_full_page(&path).await;
}

/// Returns a CSS selector for the element whose id is `id`. Form field ids contain dots, which
/// a `#id` selector would read as classes.
fn by_id(id: &str) -> String {
    format!("[id=\"{id}\"]")
}

/// Parses an amount shown on a page, such as `$1,000.00` or `-$0.10`, into cents.
fn cents(amount_text: &str) -> i64 {
    let negative = amount_text.trim_start().starts_with('-');
    let digits: String = amount_text.chars().filter(char::is_ascii_digit).collect();
    assert!(
        amount_text.contains('.') && digits.len() >= 3,
        "{amount_text:?} is not an amount with cents"
    );
    let value: i64 = digits.parse().expect("amount digits");
    if negative {
        -value
    } else {
        value
    }
}

async fn field_value(browser: &Browser, name: &str) -> String {
    browser
        .find(&by_id(name))
        .await
        .property("value")
        .await
        .unwrap_or_default()
}

/// Counts the elements matching `selector` without the implicit wait, which would otherwise
/// delay every check that expects none.
async fn count(browser: &Browser, selector: &str) -> u64 {
    let selector = serde_json::to_string(selector).expect("selector as JSON");
    browser
        .execute(&format!(
            "return document.querySelectorAll({selector}).length;"
        ))
        .await
        .as_u64()
        .expect("a count")
}

/// Returns the texts of the cells of each row of the first table matching `table`.
async fn table_rows(browser: &Browser, table: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for row in 1..=count(browser, &format!("{table} tbody tr")).await {
        let mut cells = Vec::new();
        for cell in browser
            .find_all(&format!("{table} tbody tr:nth-child({row}) td"))
            .await
        {
            cells.push(cell.text().await);
        }
        rows.push(cells);
    }
    rows
}

/// Returns the terms and descriptions of the first description list matching `list`, in order.
async fn description_list(browser: &Browser, list: &str) -> Vec<(String, String)> {
    let terms = browser.find_all(&format!("{list} > dt")).await;
    let descriptions = browser.find_all(&format!("{list} > dd")).await;
    assert_eq!(terms.len(), descriptions.len(), "{list}: dt and dd pair up");
    let mut pairs = Vec::new();
    for (term, description) in terms.iter().zip(&descriptions) {
        pairs.push((term.text().await, description.text().await));
    }
    pairs
}

/// Checks that every description in a card's description list ends inside the card, so none
/// is cut off or hidden under the next card.
async fn assert_descriptions_inside_cards(browser: &Browser) {
    let overflowing = browser
        .execute(
            "return [...document.querySelectorAll('.card dd')] \
               .filter(dd => dd.getBoundingClientRect().right \
                 > dd.closest('.card').getBoundingClientRect().right) \
               .map(dd => dd.textContent);",
        )
        .await;
    assert_eq!(
        overflowing,
        serde_json::json!([]),
        "descriptions that overflow their card"
    );
}

async fn assert_heading(browser: &Browser, expected: &str) {
    assert_eq!(browser.find("main h1").await.text().await, expected);
}

async fn assert_brand(browser: &Browser) {
    assert_eq!(browser.find(".brand-name").await.text().await, BRAND_NAME);
    let title = browser.title().await;
    assert!(title.ends_with(BRAND_NAME), "title: {title}");
}

/// Checks that the form field `name` is marked invalid and that its error, beside it, contains
/// `expected`.
async fn assert_field_error(browser: &Browser, name: &str, expected: &str) {
    let field = format!(".field.invalid:has(> {})", by_id(name));
    let error = browser
        .find(&format!("{field} > {}", by_id(&format!("{name}-error"))))
        .await
        .text()
        .await;
    assert!(
        error.contains(expected),
        "the error beside {name} should contain {expected:?}: {error}"
    );
    let input = browser.find(&by_id(name)).await;
    assert_eq!(
        input.attribute("aria-invalid").await.as_deref(),
        Some("true"),
        "{name} is marked invalid"
    );
    let described_by = input
        .attribute("aria-describedby")
        .await
        .unwrap_or_default();
    assert!(
        described_by
            .split(' ')
            .any(|id| id == format!("{name}-error")),
        "{name} is described by its error: {described_by:?}"
    );
}

/// Signs in on the white label's portal as its administrator, ending on the customers list.
async fn sign_in_admin(browser: &Browser, setup: &Activation) {
    let base = setup.base_url();
    browser.navigate(&format!("{base}/sign-in")).await;
    save_screenshot(browser, "01-admin-sign-in").await;
    assert_brand(browser).await;
    assert_heading(browser, &format!("Sign in to {BRAND_NAME}")).await;
    browser
        .find("#email")
        .await
        .send_keys(&setup.wl.admin_email)
        .await;
    browser
        .find("#password")
        .await
        .send_keys(support::PASSWORD)
        .await;
    browser
        .find("main button[type=submit]")
        .await
        .click_and_wait_for_page()
        .await;
    assert_eq!(browser.current_url().await, format!("{base}/customers"));
    assert_eq!(
        browser.find(".who").await.text().await,
        setup.wl.admin_email
    );
}

/// Creates the self-activating customer through the portal's form, and returns the URL of the
/// customer's page.
async fn create_customer(browser: &Browser, setup: &Activation) -> String {
    let base = setup.base_url();
    save_screenshot(browser, "02-customers-empty").await;
    assert_heading(browser, "Customers").await;
    browser
        .find("a[href=\"/customers/new\"]")
        .await
        .click_and_wait_for_page()
        .await;

    // Choice of who sets up and pays for the account.
    assert_eq!(browser.current_url().await, format!("{base}/customers/new"));
    save_screenshot(browser, "03-choose-payer").await;
    let choice = "a.choice[href=\"/customers/new/self-activation\"]";
    assert_eq!(
        browser.find(&format!("{choice} strong")).await.text().await,
        "The new customer"
    );
    browser.find(choice).await.click_and_wait_for_page().await;

    // The empty form.
    assert_eq!(
        browser.current_url().await,
        format!("{base}/customers/new/self-activation")
    );
    save_screenshot(browser, "04-form-empty").await;
    assert_heading(browser, "The new customer").await;
    assert_eq!(
        count(browser, ".notice.warning").await,
        0,
        "the white label has a payment gateway, so no warning"
    );
    assert_eq!(
        browser
            .find("input[type=hidden][name=mode]")
            .await
            .attribute("value")
            .await
            .as_deref(),
        Some("self_activation")
    );
    let intro = browser.find("main h1 + p").await.text().await;
    assert!(
        intro.starts_with("When you save, an activation email goes to"),
        "{intro}"
    );
    assert!(
        intro.contains("nothing is debited from your balance"),
        "{intro}"
    );
    assert_eq!(
        browser
            .find("form.wide button[type=submit]")
            .await
            .text()
            .await,
        "Create customer and send activation email"
    );

    // Every field, with the service address apart from the billing address.
    let plan = browser
        .find(&format!("#plan_id option[value=\"{}\"]", setup.wl.plan_id))
        .await;
    let plan_label = plan.text().await;
    assert!(plan_label.starts_with("Business: "), "{plan_label}");
    plan.click().await;
    let same_as_billing = browser
        .find(&by_id("service_address.same_as_billing"))
        .await;
    assert!(
        same_as_billing.is_selected().await,
        "same-as-billing starts ticked"
    );
    same_as_billing.click().await;
    assert!(
        !same_as_billing.is_selected().await,
        "same-as-billing untick"
    );
    for (name, value) in TYPED_FIELDS {
        let input = browser.find(&by_id(name)).await;
        // The country fields start filled in with the white label's country.
        input.clear().await;
        input.send_keys(value).await;
    }
    for (name, value) in TYPED_FIELDS {
        assert_eq!(field_value(browser, name).await, *value, "field {name}");
    }
    save_screenshot(browser, "05-form-filled").await;
    browser
        .find("form.wide button[type=submit]")
        .await
        .click_and_wait_for_page()
        .await;

    // The confirmation page, then the customer's own page.
    let created_url = browser.current_url().await;
    assert!(
        created_url.starts_with(&format!("{base}/customers/")) && created_url.ends_with("/created"),
        "{created_url}"
    );
    save_screenshot(browser, "06-created").await;
    assert_eq!(
        browser.find(".notice.success h1").await.text().await,
        format!("{LEGAL_NAME} is waiting for activation")
    );
    let created = browser.find(".notice.success p").await.text().await;
    assert!(created.contains(CONTACT_EMAIL), "{created}");
    assert!(created.contains("Your balance is not charged"), "{created}");
    let customer_url = created_url.trim_end_matches("/created").to_string();
    let customer_path = customer_url.trim_start_matches(&base).to_string();
    browser
        .find(&format!("main a[href=\"{customer_path}\"]"))
        .await
        .click_and_wait_for_page()
        .await;
    assert_eq!(browser.current_url().await, customer_url);
    save_screenshot(browser, "07-customer-pending").await;
    assert_descriptions_inside_cards(browser).await;
    assert_eq!(browser.find(".page-head h1").await.text().await, LEGAL_NAME);
    assert_eq!(
        browser
            .find(".page-head .badge.pending_activation")
            .await
            .text()
            .await,
        "Pending activation"
    );
    let activation_state = browser.find("#activation-state").await.text().await;
    assert!(
        ["Activation email queued", "Activation email sent"].contains(&activation_state.as_str()),
        "activation status: {activation_state}"
    );
    let activation = description_list(browser, "section.activation dl").await;
    assert!(
        activation.contains(&("Link sent to".to_string(), CONTACT_EMAIL.to_string())),
        "{activation:?}"
    );
    let account = description_list(browser, ".grid > section.card:first-child dl").await;
    assert!(
        account.contains(&("Payer".to_string(), "Customer".to_string())),
        "{account:?}"
    );
    assert!(
        account.contains(&("Customer's own balance".to_string(), "$0.00".to_string())),
        "{account:?}"
    );
    assert_eq!(
        browser.find("main > p.empty").await.text().await,
        "No ledger entries yet."
    );
    customer_url
}

/// Fills in the activation form: the passwords, the opening credit and the terms.
async fn fill_activation_form(browser: &Browser, confirmation: &str, credit: &str) {
    browser
        .find("#password")
        .await
        .send_keys(CUSTOMER_PASSWORD)
        .await;
    browser
        .find("#password_confirmation")
        .await
        .send_keys(confirmation)
        .await;
    let credit_input = browser.find("#opening_credit").await;
    credit_input.clear().await;
    credit_input.send_keys(credit).await;
    let terms = browser.find("#accept_terms").await;
    if !terms.is_selected().await {
        terms.click().await;
    }
    assert!(terms.is_selected().await, "the terms are accepted");
}

/// Checks the activation page: the white label's name, the account, the plan and its charges.
async fn assert_activation_page(browser: &Browser) {
    assert_brand(browser).await;
    assert_heading(browser, &format!("Activate your {BRAND_NAME} account")).await;
    let welcome = browser.find("main h1 + p").await.text().await;
    assert!(
        welcome.starts_with(&format!("Welcome, {LEGAL_NAME}.")),
        "{welcome}"
    );

    let plan = description_list(browser, "section.card:has(> h2) dl").await;
    let terms: Vec<&str> = plan.iter().map(|(term, _)| term.as_str()).collect();
    assert_eq!(
        terms,
        [
            "Account",
            "Plan",
            "Setup fee (incl. GST 15%)",
            "First month of the Business plan (incl. GST 15%)",
            "Charged when the account opens",
        ]
    );
    let account_number = &plan[0].1;
    let digits: String = account_number
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(digits.len(), 8, "account number {account_number}");
    assert_eq!(plan[1].1, "Business");
    // Setup 49.00 and monthly 39.00, each with 15 % GST: 56.35 + 44.85 = 101.20.
    assert_eq!(plan[2].1, "$56.35");
    assert_eq!(plan[3].1, "$44.85");
    assert_eq!(plan[4].1, "$101.20");
    assert_eq!(cents(&plan[2].1) + cents(&plan[3].1), cents(&plan[4].1));

    assert_eq!(
        browser.find("form p strong").await.text().await,
        CONTACT_EMAIL,
        "the page names the sign-in email"
    );
    let credit_hint = browser.find("#opening_credit-hint").await.text().await;
    assert_eq!(credit_hint, "At least $101.20");
    assert_descriptions_inside_cards(browser).await;
}

/// Activates the account as the customer, in a browser session of their own: from the
/// activation link to the account page.
async fn activate_as_customer(setup: &Activation, link: &str) {
    let base = setup.base_url();
    let browser = Browser::start().await;

    // The activation page, filled in by the link.
    browser.navigate(link).await;
    save_screenshot(&browser, "08-activation-page").await;
    assert_activation_page(&browser).await;
    assert_eq!(field_value(&browser, "given_name").await, GIVEN_NAME);
    assert_eq!(field_value(&browser, "family_name").await, FAMILY_NAME);
    assert_eq!(field_value(&browser, "opening_credit").await, "101.20");
    assert!(!browser.find("#accept_terms").await.is_selected().await);
    assert_eq!(
        count(&browser, ".notice.warning").await,
        0,
        "no payment has failed yet"
    );

    // A too-small opening credit and passwords that differ.
    fill_activation_form(&browser, MISTYPED_PASSWORD, TOO_SMALL_CREDIT).await;
    save_screenshot(&browser, "09-activation-filled-wrong").await;
    browser
        .find("main form button[type=submit]")
        .await
        .click_and_wait_for_page()
        .await;

    // The form again, with each error beside its field and the values kept.
    assert_eq!(browser.current_url().await, link);
    save_screenshot(&browser, "10-activation-errors").await;
    assert_eq!(count(&browser, ".field.invalid").await, 2);
    assert_field_error(
        &browser,
        "password_confirmation",
        "the two passwords differ",
    )
    .await;
    assert_field_error(
        &browser,
        "opening_credit",
        "the opening credit must be at least $101.20",
    )
    .await;
    assert_eq!(count(&browser, ".error-summary li a").await, 2);
    assert_eq!(field_value(&browser, "given_name").await, GIVEN_NAME);
    assert_eq!(field_value(&browser, "family_name").await, FAMILY_NAME);
    assert_eq!(
        field_value(&browser, "opening_credit").await,
        TOO_SMALL_CREDIT
    );
    assert!(
        browser.find("#accept_terms").await.is_selected().await,
        "the terms stay accepted"
    );
    assert_eq!(field_value(&browser, "password").await, "");
    assert_eq!(field_value(&browser, "password_confirmation").await, "");
    let password_hint = browser.find("#password-hint").await.text().await;
    assert!(
        password_hint.contains("type it again in both fields"),
        "the page asks for the password again: {password_hint}"
    );
    let html = browser
        .execute("return document.documentElement.outerHTML;")
        .await;
    let html = html.as_str().expect("the page's HTML");
    assert!(
        !html.contains(CUSTOMER_PASSWORD) && !html.contains(MISTYPED_PASSWORD),
        "the passwords must not be sent back in the page"
    );
    assert_activation_page(&browser).await;

    // Corrected, on to the test payment page, where the payment is declined.
    fill_activation_form(&browser, CUSTOMER_PASSWORD, OPENING_CREDIT).await;
    browser
        .find("main form button[type=submit]")
        .await
        .click_and_wait_for_page()
        .await;
    let payment_url = browser.current_url().await;
    assert!(
        payment_url.starts_with(&format!("{base}/pay/test/")),
        "{payment_url}"
    );
    save_screenshot(&browser, "11-test-payment").await;
    assert_test_payment_page(&browser).await;
    browser
        .find("#decline")
        .await
        .click_and_wait_for_page()
        .await;

    // The payment did not go through.
    let payment_id = payment_url.trim_start_matches(&format!("{base}/pay/test/"));
    assert_eq!(
        browser.current_url().await,
        format!("{base}/activate/return/{payment_id}")
    );
    save_screenshot(&browser, "12-payment-declined").await;
    assert_brand(&browser).await;
    assert_heading(&browser, "The payment did not go through").await;
    let message = browser.find("main h1 + p").await.text().await;
    assert!(message.contains("Nothing was charged"), "{message}");
    assert!(
        message.contains("activation email"),
        "the page says how to retry: {message}"
    );

    // Back to the link, which reports that the last payment failed, and on to pay again.
    browser.navigate(link).await;
    save_screenshot(&browser, "13-activation-after-decline").await;
    assert_activation_page(&browser).await;
    let warning = browser.find(".notice.warning").await.text().await;
    assert!(
        warning.starts_with("Your last payment did not go through"),
        "{warning}"
    );
    fill_activation_form(&browser, CUSTOMER_PASSWORD, OPENING_CREDIT).await;
    browser
        .find("main form button[type=submit]")
        .await
        .click_and_wait_for_page()
        .await;
    let second_payment_url = browser.current_url().await;
    assert!(
        second_payment_url.starts_with(&format!("{base}/pay/test/")),
        "{second_payment_url}"
    );
    assert_ne!(second_payment_url, payment_url, "a new payment");
    save_screenshot(&browser, "14-test-payment-again").await;
    assert_test_payment_page(&browser).await;
    browser
        .find("#approve")
        .await
        .click_and_wait_for_page()
        .await;

    // Signed in, on the account page.
    assert_eq!(
        browser.current_url().await,
        format!("{base}/account?welcome=1")
    );
    save_screenshot(&browser, "15-account-welcome").await;
    assert_brand(&browser).await;
    assert_eq!(browser.find(".who").await.text().await, CONTACT_EMAIL);
    assert_eq!(
        browser.find(".notice.success h1").await.text().await,
        "Welcome to your account"
    );
    let welcome = browser.find(".notice.success p").await.text().await;
    assert!(welcome.contains(LEGAL_NAME), "{welcome}");
    let balance = browser.find("#account-balance").await.text().await;
    // The opening credit less the setup fee and the first monthly fee, each with 15 % GST:
    // 150.00 - 56.35 - 44.85 = 48.80.
    assert_eq!(balance, "$48.80");
    assert_eq!(cents(&balance), 15_000 - 5_635 - 4_485);
    let account = description_list(&browser, ".grid > section.card:not(.stat) dl").await;
    assert!(
        account.contains(&("Plan".to_string(), "Business".to_string())),
        "{account:?}"
    );
    assert!(
        account.contains(&("Your role".to_string(), "Account Administrator".to_string())),
        "{account:?}"
    );
    assert_ledger(&browser, "main table", &balance).await;

    browser.quit().await;
}

async fn assert_test_payment_page(browser: &Browser) {
    assert_brand(browser).await;
    let banner = browser.find(".test-mode .test-banner").await.text().await;
    assert!(banner.starts_with("TEST MODE"), "{banner}");
    assert_eq!(
        browser.find("#amount").await.text().await,
        "$150.00",
        "the opening credit is the amount to pay"
    );
    assert_heading(browser, &format!("Pay {BRAND_NAME}")).await;
}

/// Checks a ledger table after activation: the opening credit and the two charges, each row's
/// total, and a final balance of `balance`.
async fn assert_ledger(browser: &Browser, table: &str, balance: &str) {
    let rows = table_rows(browser, table).await;
    assert_eq!(
        rows.len(),
        3,
        "opening credit, setup fee, monthly fee: {rows:?}"
    );
    // Columns: when, kind, description, paid by, amount, tax, total, balance after, by.
    // NOTE: the three entries are posted in one transaction with the same timestamp, and the
    // ledger lists such entries in the order of the random part of their ids, so the rows are
    // compared in sorted order.
    let mut kinds_and_totals: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| (row[1].as_str(), row[6].as_str()))
        .collect();
    kinds_and_totals.sort();
    assert_eq!(
        kinds_and_totals,
        [
            ("Charge", "-$44.85"),
            ("Charge", "-$56.35"),
            ("Top-up", "$150.00"),
        ]
    );

    for row in &rows {
        assert_eq!(row[3], "Customer", "the customer pays: {row:?}");
        assert_eq!(
            cents(&row[4]) + cents(&row[5]),
            cents(&row[6]),
            "amount plus tax is the total: {row:?}"
        );
    }

    let setup_fee = rows
        .iter()
        .find(|row| row[2].starts_with("Setup fee"))
        .unwrap_or_else(|| panic!("no setup fee: {rows:?}"));
    assert_eq!(
        (setup_fee[4].as_str(), setup_fee[5].as_str()),
        ("-$49.00", "-$7.35")
    );
    let monthly_fee = rows
        .iter()
        .find(|row| row[2].starts_with("Monthly fee"))
        .unwrap_or_else(|| panic!("no monthly fee: {rows:?}"));
    assert_eq!(
        (monthly_fee[4].as_str(), monthly_fee[5].as_str()),
        ("-$39.00", "-$5.85")
    );

    let overflow = browser
        .execute(
            "const wrap = document.querySelector('.table-wrap'); \
             return wrap.scrollWidth - wrap.clientWidth;",
        )
        .await;
    assert_eq!(
        overflow.as_i64(),
        Some(0),
        "the ledger fits the page without scrolling sideways"
    );

    let total: i64 = rows.iter().map(|row| cents(&row[6])).sum();
    assert_eq!(total, cents(balance), "the entries add up to the balance");
    let balances_after: Vec<&str> = rows.iter().map(|row| row[7].as_str()).collect();
    assert!(
        balances_after.contains(&balance),
        "one entry leaves the balance at {balance}: {balances_after:?}"
    );
}

#[tokio::test]
async fn customer_activates_in_browser() {
    let setup = Activation::start().await;
    let base = setup.base_url();

    // The white-label administrator creates the customer.
    let admin = Browser::start().await;
    sign_in_admin(&admin, &setup).await;
    let customer_url = create_customer(&admin, &setup).await;

    // The activation mail, over SMTP.
    let mail = setup.mail(1).await;
    assert_eq!(mail.rcpt_to, [CONTACT_EMAIL]);
    let (subject, text) = subject_and_text(&mail.data);
    assert_eq!(subject, format!("Activate your {BRAND_NAME} account"));
    assert!(text.contains(LEGAL_NAME), "{text}");
    let link = activation_link(&text, &base);

    // The customer, in a browser of their own.
    activate_as_customer(&setup, &link).await;
    let receipt = setup.mail(2).await;
    assert_eq!(receipt.rcpt_to, [CONTACT_EMAIL]);
    let (receipt_subject, _) = subject_and_text(&receipt.data);
    assert_eq!(
        receipt_subject,
        format!("Payment received: $150.00 for {LEGAL_NAME}")
    );

    // The administrator finds the customer active, in the list and on its page.
    admin.navigate(&format!("{base}/customers")).await;
    save_screenshot(&admin, "16-customers-active").await;
    let rows = table_rows(&admin, "main table").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    // Columns: account, customer, plan, state, payer, created.
    assert!(rows[0][1].starts_with(LEGAL_NAME), "{rows:?}");
    assert_eq!(rows[0][2], "Business");
    assert_eq!(rows[0][3], "Active");
    assert_eq!(rows[0][4], "Customer");
    let customer_path = customer_url.trim_start_matches(&base);
    admin
        .find(&format!("main table a[href=\"{customer_path}\"]"))
        .await
        .click_and_wait_for_page()
        .await;
    assert_eq!(admin.current_url().await, customer_url);
    save_screenshot(&admin, "17-customer-active").await;
    assert_eq!(
        admin.find(".page-head .badge.active").await.text().await,
        "Active"
    );
    assert_eq!(
        count(&admin, "#activation-state").await,
        0,
        "an active customer has no activation section"
    );
    let account = description_list(&admin, ".grid > section.card:first-child dl").await;
    assert!(
        account.contains(&("Customer's own balance".to_string(), "$48.80".to_string())),
        "{account:?}"
    );
    assert_ledger(&admin, "main table", "$48.80").await;

    // The customer paid, so the white label's balance is untouched.
    admin
        .find("nav a[href=\"/billing\"]")
        .await
        .click_and_wait_for_page()
        .await;
    save_screenshot(&admin, "18-white-label-balance").await;
    assert_eq!(admin.find("#balance").await.text().await, "$1,000.00");

    admin.quit().await;
}
