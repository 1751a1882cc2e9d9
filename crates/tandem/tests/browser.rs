//! The portal in a real browser: headless Chromium, driven over WebDriver, signs in as the
//! white-label administrator and creates a customer the white label pays for.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages, which scripts/test.sh installs.
//! Every page visited is saved as a PNG under `target/screenshots/`.

mod support;

use std::path::PathBuf;

use reqwest::Method;
use support::webdriver::{decode_base64, Browser};
use support::TestApp;

const LEGAL_NAME: &str = "Tāne Müller-João Joinery";
const VALID_PHONE: &str = "021 123 4567";
/// A New Zealand mobile number written with both the country code and the national prefix 0.
const INVALID_PHONE: &str = "+64 021 123 4567";

/// The text fields of the managed-customer form and the values typed into them, phone aside.
/// The service address fields stay empty because the service address is the billing address.
const TYPED_FIELDS: &[(&str, &str)] = &[
    ("business.legal_name", LEGAL_NAME),
    ("business.trading_name", "Müller Joinery"),
    ("business.business_number", "9429041234563"),
    ("business.tax_number", "49-091-850"),
    ("contact.given_name", "Tāne"),
    ("contact.family_name", "Müller-João"),
    ("contact.email", "tane@muller-joinery.example"),
    ("contact.job_title", "Director"),
    ("billing_address.line1", "12 Queen Street"),
    ("billing_address.line2", "Level 3"),
    ("billing_address.suburb", "Auckland Central"),
    ("billing_address.city", "Auckland"),
    ("billing_address.region", "Auckland"),
    ("billing_address.postcode", "1010"),
    ("billing_address.country", "NZ"),
    ("time_zone", "Pacific/Auckland"),
];

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

async fn save_screenshot(browser: &Browser, name: &str) {
    let path = screenshot_dir().join(format!("{name}.png"));
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

#[test]
fn cents_parse_amounts() {
    assert_eq!(cents("$1,000.00"), 100_000);
    assert_eq!(cents("$898.80"), 89_880);
    assert_eq!(cents("-$0.10"), -10);
}

#[test]
fn base64_decodes_padding() {
    assert_eq!(decode_base64("TWFu").as_deref(), Some(&b"Man"[..]));
    assert_eq!(decode_base64("TWE=").as_deref(), Some(&b"Ma"[..]));
    assert_eq!(decode_base64("TQ==").as_deref(), Some(&b"M"[..]));
    assert_eq!(decode_base64("TQ="), None);
    assert_eq!(decode_base64("T*=="), None);
}

#[tokio::test]
async fn browser_reaches_only_loopback() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await;

    // 127.0.0.1 itself is mapped, and with no white label on that host the platform's own
    // portal serves the page.
    browser
        .navigate(&format!("http://127.0.0.1:{}/sign-in", app.port()))
        .await;
    save_screenshot(&browser, "loopback-platform-sign-in").await;
    let heading = browser.find("h1").await.text().await;
    assert!(heading.starts_with("Sign in to "), "{heading}");

    // Any other address falls to the catch-all rule. 127.0.0.2 is loopback too, so even a
    // broken rule would send nothing off this machine.
    let error = browser
        .try_navigate(&format!("http://127.0.0.2:{}/sign-in", app.port()))
        .await
        .expect_err("127.0.0.2 must not resolve");
    assert!(
        error.message.contains("ERR_NAME_NOT_RESOLVED"),
        "unexpected error: {error}"
    );

    browser.quit().await;
}

#[tokio::test]
async fn portal_creates_managed_customer() {
    let app = TestApp::spawn().await;
    let base = format!("http://{}:{}", app.wl.host, app.port());
    let brand_name = "harbour Telecom";
    let browser = Browser::start().await;

    // Sign-in page, branded by the host name.
    browser.navigate(&format!("{base}/sign-in")).await;
    save_screenshot(&browser, "customer-create-01-sign-in").await;
    let title = browser.title().await;
    assert!(title.contains(brand_name), "title: {title}");
    assert_eq!(browser.find(".brand-name").await.text().await, brand_name);
    assert_eq!(
        browser.find("h1").await.text().await,
        format!("Sign in to {brand_name}")
    );

    browser
        .find("#email")
        .await
        .send_keys(&app.wl.admin_email)
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

    // Customers list.
    let url = browser.current_url().await;
    assert_eq!(url, format!("{base}/customers"));
    save_screenshot(&browser, "customer-create-02-customers").await;
    assert_eq!(browser.find(".who").await.text().await, app.wl.admin_email);
    let create = browser.find("a[href=\"/customers/new\"]").await;
    assert_eq!(create.text().await, "Create New Customer");
    create.click_and_wait_for_page().await;

    // Choice of who sets up and pays for the account.
    assert_eq!(browser.current_url().await, format!("{base}/customers/new"));
    save_screenshot(&browser, "customer-create-03-choose-payer").await;
    let managed = browser
        .find("a.choice[href=\"/customers/new/managed\"]")
        .await;
    let managed_label = managed.text().await;
    assert!(
        managed_label.starts_with("Me, the white-label administrator"),
        "{managed_label}"
    );
    managed.click_and_wait_for_page().await;

    // The form, with the balance before any charge.
    assert_eq!(
        browser.current_url().await,
        format!("{base}/customers/new/managed")
    );
    save_screenshot(&browser, "customer-create-04-form-empty").await;
    assert_eq!(
        browser.find("h1").await.text().await,
        "Me, the white-label administrator"
    );
    let balance_before = browser.find("h1 + p > strong").await.text().await;
    assert_eq!(balance_before, "$1,000.00");

    let plan = browser
        .find(&format!("#plan_id option[value=\"{}\"]", app.wl.plan_id))
        .await;
    let plan_label = plan.text().await;
    assert!(plan_label.starts_with("Business: "), "{plan_label}");
    plan.click().await;
    for (name, value) in TYPED_FIELDS {
        let input = browser.find(&by_id(name)).await;
        // The country fields start filled in with the white label's country.
        input.clear().await;
        input.send_keys(value).await;
    }
    browser
        .find(&by_id("contact.phone"))
        .await
        .send_keys(INVALID_PHONE)
        .await;
    let same_as_billing = browser
        .find(&by_id("service_address.same_as_billing"))
        .await;
    assert!(
        same_as_billing.is_selected().await,
        "same-as-billing starts ticked"
    );
    save_screenshot(&browser, "customer-create-05-form-filled").await;
    browser
        .find("form.wide button[type=submit]")
        .await
        .click_and_wait_for_page()
        .await;

    // The form again, with the phone error beside the phone field and every value kept.
    save_screenshot(&browser, "customer-create-06-form-phone-error").await;
    let invalid_fields = browser.find_all(".field.invalid").await;
    assert_eq!(invalid_fields.len(), 1, "only the phone field is invalid");
    let phone_field = ".field.invalid:has(> [id=\"contact.phone\"])";
    let phone_error = browser
        .find(&format!("{phone_field} > {}", by_id("contact.phone-error")))
        .await
        .text()
        .await;
    assert!(
        phone_error.contains(INVALID_PHONE),
        "the error names the number: {phone_error}"
    );
    let phone = browser.find(&by_id("contact.phone")).await;
    assert_eq!(
        phone.attribute("aria-invalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        phone.attribute("aria-describedby").await.as_deref(),
        Some("contact.phone-error contact.phone-hint")
    );
    assert_eq!(
        phone.property("value").await.as_deref(),
        Some(INVALID_PHONE)
    );
    let summary = browser.find(".error-summary a").await;
    assert_eq!(
        summary.attribute("href").await.as_deref(),
        Some("#contact.phone")
    );
    for (name, value) in TYPED_FIELDS {
        assert_eq!(field_value(&browser, name).await, *value, "field {name}");
    }
    let plan = browser
        .find(&format!("#plan_id option[value=\"{}\"]", app.wl.plan_id))
        .await;
    assert!(plan.is_selected().await, "the plan stays chosen");
    let same_as_billing = browser
        .find(&by_id("service_address.same_as_billing"))
        .await;
    assert!(
        same_as_billing.is_selected().await,
        "same-as-billing stays ticked"
    );
    assert_eq!(
        browser.find("h1 + p > strong").await.text().await,
        balance_before,
        "a rejected form charges nothing"
    );

    phone.clear().await;
    phone.send_keys(VALID_PHONE).await;
    browser
        .find("form.wide button[type=submit]")
        .await
        .click_and_wait_for_page()
        .await;

    // The confirmation page.
    let url = browser.current_url().await;
    assert!(
        url.starts_with(&format!("{base}/customers/")) && url.ends_with("/created"),
        "{url}"
    );
    save_screenshot(&browser, "customer-create-07-created").await;
    assert_eq!(
        browser.find(".notice.success h1").await.text().await,
        format!("{LEGAL_NAME} is active")
    );
    let account_number = browser.find("#account-number").await.text().await;
    let digits: String = account_number
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(digits.len(), 8, "account number {account_number}");
    assert_eq!(account_number, format!("{}-{}", &digits[..4], &digits[4..]));
    let balance_after = browser.find("#white-label-balance").await.text().await;
    // Setup 49.00 and monthly 39.00, each with 15 % GST: 56.35 + 44.85 = 101.20.
    assert_eq!(cents(&balance_before) - cents(&balance_after), 10_120);
    assert_eq!(balance_after, "$898.80");
    let charges = browser.find_all("main table tbody tr").await;
    assert_eq!(charges.len(), 2, "setup fee and first monthly fee");

    // The same customer through the API: the Unicode name and the phone in E.164 form.
    let (status, list) = app
        .api(Method::GET, "/api/v1/customers", &app.wl.api_key, None)
        .await;
    assert_eq!(status, 200, "{list}");
    let customer = &list["data"][0];
    assert_eq!(customer["business"]["legal_name"], LEGAL_NAME);
    assert_eq!(customer["contact"]["phone"], "+64211234567");
    assert_eq!(customer["account_number"], digits.as_str());

    // The Balance page.
    browser
        .find("nav a[href=\"/billing\"]")
        .await
        .click_and_wait_for_page()
        .await;
    assert_eq!(browser.current_url().await, format!("{base}/billing"));
    save_screenshot(&browser, "customer-create-08-balance").await;
    assert_eq!(browser.find("#balance").await.text().await, balance_after);

    browser.quit().await;
}
