//! A customer's phone system in a real browser. Headless Chromium, driven over WebDriver, signs
//! in as the white-label administrator and adds a number to a customer the white label pays for.
//! It then creates two extensions and a ring group, routes the number to the group and traces a
//! call to it.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages, which scripts/test.sh installs.
//! Every page visited is saved as a PNG under `target/screenshots/`.

mod support;

use std::path::PathBuf;

use reqwest::Method;
use support::webdriver::Browser;
use support::TestApp;

const LEGAL_NAME: &str = "Kauri Joinery";
/// The number added to the account, as typed on the numbers page.
const NUMBER_NATIONAL: &str = "09 400 1234";
const NUMBER_INTERNATIONAL: &str = "+64 9 400 1234";
/// The extensions created, as short number and name.
const EXTENSIONS: [(&str, &str); 2] = [("101", "Aroha Ngata"), ("102", "Ben Ngata")];
const RING_GROUP_NUMBER: &str = "600";
const RING_GROUP_NAME: &str = "Sales";
/// The ring group as the numbers page names it in its route form, notices and Routes to column.
const RING_GROUP_LABEL: &str = "600 Sales (ring group)";
/// A Monday in July, when New Zealand keeps standard time (NZST), on the account's wall clock.
const TRACE_DATE: &str = "2026-07-06";
const TRACE_TIME: &str = "09:30";
/// The notice a page shows after a change, above the page's own content.
const FLASH: &str = "main > .notice:first-child";

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

/// Returns the rendered text of the first element matching `selector`.
async fn text_of(browser: &Browser, selector: &str) -> String {
    browser.find(selector).await.text().await
}

/// Returns the rendered text of every element matching `selector`, in page order.
async fn texts_of(browser: &Browser, selector: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for element in browser.find_all(selector).await {
        texts.push(element.text().await);
    }
    texts
}

/// Counts the elements matching `selector` without waiting. `Browser::find_all` waits up to the
/// implicit wait for a first match, so finding none with it takes seconds.
async fn count_of(browser: &Browser, selector: &str) -> u64 {
    let literal = serde_json::Value::from(selector).to_string();
    let script = format!("return document.querySelectorAll({literal}).length;");
    let count = browser.execute(&script).await;
    count
        .as_u64()
        .unwrap_or_else(|| panic!("the count of {selector:?} is not a number: {count}"))
}

/// Loads two numbers into the platform's pool, from which a white label's accounts take them.
async fn load_numbers(app: &TestApp) {
    let lines: Vec<_> = [NUMBER_NATIONAL, "09 400 1235"]
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
    assert_eq!(report.loaded, lines.len(), "{report:?}");
}

/// Creates a customer the white label manages and pays for, and returns its id and account
/// number.
async fn create_managed_customer(app: &TestApp) -> (String, String) {
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(support::customer_body(&app.wl.plan_id, LEGAL_NAME)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["mode"], "white_label_managed", "{body}");
    let id = body["id"].as_str().expect("customer id").to_string();
    let account_number = body["account_number"]
        .as_str()
        .expect("account number")
        .to_string();
    (id, account_number)
}

/// Returns the white label's balance in cents, read through the API.
async fn white_label_balance(app: &TestApp) -> i64 {
    let (status, body) = app
        .api(Method::GET, "/api/v1/white-label", &app.wl.api_key, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["balance"]["amount_minor"]
        .as_i64()
        .unwrap_or_else(|| panic!("no balance in {body}"))
}

/// Opens a section of the account's phone system through its navigation, such as `numbers`.
async fn open_section(browser: &Browser, base: &str, account: &str, slug: &str) {
    let href = format!("{account}/{slug}");
    browser
        .find(&format!(
            "nav[aria-label=\"Phone system\"] a[href=\"{href}\"]"
        ))
        .await
        .click_and_wait_for_page()
        .await;
    assert_eq!(browser.current_url().await, format!("{base}{href}"));
}

/// Creates an extension through the new-extension form, checks the page that shows its SIP
/// password once, and returns that password.
async fn create_extension(
    browser: &Browser,
    base: &str,
    account: &str,
    sip_domain: &str,
    (number, name): (&str, &str),
) -> String {
    open_section(browser, base, account, "extensions").await;
    let new = browser
        .find(&format!("a[href=\"{account}/extensions/new\"]"))
        .await;
    assert_eq!(new.text().await, "New extension");
    new.click_and_wait_for_page().await;
    assert_eq!(
        browser.current_url().await,
        format!("{base}{account}/extensions/new")
    );
    assert_eq!(text_of(browser, "h1").await, "New extension");
    // The account's number is offered as the extension's caller ID.
    let caller_id = text_of(browser, "#caller_id").await;
    assert!(caller_id.contains(NUMBER_INTERNATIONAL), "{caller_id}");
    browser.find("#number").await.send_keys(number).await;
    browser.find("#name").await.send_keys(name).await;
    save_screenshot(browser, &format!("pbx-05-extension-{number}-form")).await;
    let save = browser.find("main form button.primary").await;
    assert_eq!(save.text().await, "Save");
    save.click_and_wait_for_page().await;

    // The plan includes ten extensions, so no charges page comes between.
    save_screenshot(browser, &format!("pbx-06-extension-{number}-password")).await;
    assert_eq!(
        text_of(browser, ".notice.success h1").await,
        format!("Extension {number} created")
    );
    assert_eq!(text_of(browser, "#sip-username").await, number);
    assert_eq!(text_of(browser, "#sip-domain").await, sip_domain);
    let password = text_of(browser, "#sip-password").await;
    assert!(password.len() >= 10, "generated password {password:?}");
    let registration = text_of(browser, "main section.card").await;
    assert!(
        registration.contains("This password is shown only once."),
        "{registration}"
    );
    // The number is not routed yet, so the page shows a warning about it.
    let warnings = text_of(browser, ".notice.warning").await;
    assert!(
        warnings.contains(&format!(
            "Calls to {NUMBER_INTERNATIONAL} hear that the number is not in service."
        )),
        "{warnings}"
    );

    // The extension's own page does not show the password again.
    browser
        .find("main a.button")
        .await
        .click_and_wait_for_page()
        .await;
    assert_eq!(
        text_of(browser, "h1").await,
        format!("Extension {number} {name}")
    );
    let html = browser
        .execute("return document.documentElement.outerHTML;")
        .await;
    let html = html.as_str().expect("page source is a string");
    assert!(
        !html.contains(&password),
        "the extension's page shows the SIP password again"
    );
    password
}

#[tokio::test]
async fn portal_routes_number_to_ring_group() {
    let app = TestApp::spawn().await;
    load_numbers(&app).await;
    let (customer_id, account_number) = create_managed_customer(&app).await;
    let sip_domain = format!("{account_number}.sip.{}", app.wl.host);
    let base = format!("http://{}:{}", app.wl.host, app.port());
    let account = format!("/accounts/{customer_id}");
    let balance_before = white_label_balance(&app).await;
    let browser = Browser::start().await;

    // Sign in on the white label's host.
    browser.navigate(&format!("{base}/sign-in")).await;
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
    assert_eq!(browser.current_url().await, format!("{base}/customers"));

    // The customer's page, and its link to the phone system.
    let customer_link = browser
        .find(&format!("a[href=\"/customers/{customer_id}\"]"))
        .await;
    assert_eq!(customer_link.text().await, LEGAL_NAME);
    customer_link.click_and_wait_for_page().await;
    save_screenshot(&browser, "pbx-01-customer").await;
    assert_eq!(text_of(&browser, "h1").await, LEGAL_NAME);
    let phone_system = browser
        .find(&format!("a[href=\"{account}/numbers\"]"))
        .await;
    assert_eq!(phone_system.text().await, "PBX and numbers");
    phone_system.click_and_wait_for_page().await;
    assert_eq!(
        browser.current_url().await,
        format!("{base}{account}/numbers")
    );

    // The numbers page of an account without numbers.
    save_screenshot(&browser, "pbx-02-numbers-empty").await;
    assert_eq!(
        text_of(&browser, "h1").await,
        format!("Numbers of {LEGAL_NAME}")
    );
    let empty = text_of(&browser, "main p.empty").await;
    assert!(
        empty.starts_with("This account has no numbers yet."),
        "{empty}"
    );
    browser
        .find("#number")
        .await
        .send_keys(NUMBER_NATIONAL)
        .await;
    let check_price = browser
        .find(&format!(
            "form[action=\"{account}/numbers\"] button[type=submit]"
        ))
        .await;
    assert_eq!(check_price.text().await, "Check the price");
    check_price.click_and_wait_for_page().await;

    // The charges to confirm: the rental of 5.00 with 15 % GST, from the white label's balance.
    save_screenshot(&browser, "pbx-03-number-charges").await;
    assert_eq!(
        text_of(&browser, "h1").await,
        format!("Add {NUMBER_INTERNATIONAL} to {LEGAL_NAME}")
    );
    let charges = browser.find_all("main table tbody tr").await;
    assert_eq!(charges.len(), 1, "the rental is the only charge");
    let description = text_of(&browser, "main table tbody td.description").await;
    assert!(
        description.starts_with(&format!(
            "Number rental, {NUMBER_INTERNATIONAL}, Business plan"
        )),
        "{description}"
    );
    assert_eq!(
        texts_of(&browser, "main table tbody td.num").await,
        vec!["$5.00", "$0.75"]
    );
    assert_eq!(text_of(&browser, "#charge-total").await, "$5.75");
    // The balance is 1,000.00 less the customer's setup fee and first monthly fee.
    let payment = texts_of(&browser, "main dl.card > *").await;
    assert_eq!(
        payment,
        vec![
            "Paid from",
            "Your white label's balance (harbour Telecom)",
            "Balance now",
            "$898.80",
        ]
    );
    assert_eq!(
        white_label_balance(&app).await,
        balance_before,
        "the confirmation page posts no charge"
    );
    let confirm = browser
        .find(&format!(
            "form[action=\"{account}/numbers/assign\"] button[type=submit]"
        ))
        .await;
    assert_eq!(
        confirm.text().await,
        format!("Confirm: add {NUMBER_INTERNATIONAL} and pay $5.75")
    );
    confirm.click_and_wait_for_page().await;

    // The number in the list, not routed yet.
    assert!(
        browser
            .current_url()
            .await
            .starts_with(&format!("{base}{account}/numbers?added=")),
        "the confirmation returns to the numbers page"
    );
    save_screenshot(&browser, "pbx-04-number-added").await;
    assert_eq!(
        text_of(&browser, FLASH).await,
        format!(
            "{NUMBER_INTERNATIONAL} is now this account's number. Route it below so that calls \
             reach someone."
        )
    );
    let cells = texts_of(&browser, "#number-1 > td").await;
    assert_eq!(cells.len(), 5, "{cells:?}");
    assert_eq!(
        cells[0],
        format!("{NUMBER_INTERNATIONAL}\n{NUMBER_NATIONAL}")
    );
    assert_eq!(cells[1], "Assigned");
    assert_eq!(cells[2], "Live");
    assert_eq!(cells[3], "Not routed");
    assert_eq!(
        count_of(&browser, "main table tbody tr").await,
        1,
        "one number is listed"
    );
    assert_eq!(white_label_balance(&app).await, balance_before - 575);

    // Two extensions, each with its SIP password shown once.
    let mut passwords = Vec::new();
    for extension in EXTENSIONS {
        passwords.push(create_extension(&browser, &base, &account, &sip_domain, extension).await);
    }
    assert_ne!(
        passwords[0], passwords[1],
        "each extension has its own password"
    );
    open_section(&browser, &base, &account, "extensions").await;
    save_screenshot(&browser, "pbx-07-extensions").await;
    assert_eq!(
        texts_of(&browser, "main table tbody td.mono").await,
        vec!["101", "102"]
    );

    // A ring group that rings both extensions.
    open_section(&browser, &base, &account, "ring-groups").await;
    let new = browser
        .find(&format!("a[href=\"{account}/ring-groups/new\"]"))
        .await;
    assert_eq!(new.text().await, "New ring group");
    new.click_and_wait_for_page().await;
    assert_eq!(text_of(&browser, "h1").await, "New ring group");
    browser
        .find("#number")
        .await
        .send_keys(RING_GROUP_NUMBER)
        .await;
    let member_labels = texts_of(&browser, "#members .check label").await;
    assert_eq!(
        member_labels,
        vec!["101 Aroha Ngata (extension)", "102 Ben Ngata (extension)"]
    );
    for member in ["#member_0", "#member_1"] {
        let checkbox = browser.find(member).await;
        assert!(!checkbox.is_selected().await, "{member} starts unticked");
        checkbox.click().await;
        assert!(checkbox.is_selected().await, "{member} is ticked");
    }
    let strategy = browser
        .find("#strategy option[value=\"simultaneous\"]")
        .await;
    assert!(strategy.is_selected().await, "every member rings at once");
    // The form is saved first without a name, so it comes back with the error and the other
    // values kept.
    browser
        .find("main form button.primary")
        .await
        .click_and_wait_for_page()
        .await;
    save_screenshot(&browser, "pbx-08-ring-group-name-missing").await;
    let invalid_fields = browser.find_all(".field.invalid").await;
    assert_eq!(invalid_fields.len(), 1, "only the name is invalid");
    assert_eq!(
        text_of(&browser, "[id=\"name-error\"]").await,
        "A value is required, so this cannot be left blank."
    );
    assert_eq!(
        browser
            .find(".error-summary a")
            .await
            .attribute("href")
            .await
            .as_deref(),
        Some("#name")
    );
    let number = browser.find("#number").await.property("value").await;
    assert_eq!(number.as_deref(), Some(RING_GROUP_NUMBER));
    assert_eq!(
        texts_of(&browser, "#members .check label").await,
        member_labels,
        "the members keep their order"
    );
    for member in ["#member_0", "#member_1"] {
        let checkbox = browser.find(member).await;
        assert!(checkbox.is_selected().await, "{member} stays ticked");
    }
    let strategy = browser
        .find("#strategy option[value=\"simultaneous\"]")
        .await;
    assert!(strategy.is_selected().await, "the strategy stays chosen");
    let seconds = browser.find("#ring_seconds").await.property("value").await;
    assert_eq!(seconds.as_deref(), Some("20"));
    browser.find("#name").await.send_keys(RING_GROUP_NAME).await;
    save_screenshot(&browser, "pbx-09-ring-group-form").await;
    browser
        .find("main form button.primary")
        .await
        .click_and_wait_for_page()
        .await;

    // The list of ring groups, with the warning that the number still goes nowhere.
    save_screenshot(&browser, "pbx-10-ring-groups").await;
    assert_eq!(
        text_of(&browser, FLASH).await,
        format!("Saved {RING_GROUP_LABEL}.")
    );
    let warnings = text_of(&browser, "main > .notice.warning").await;
    assert!(
        warnings.contains(&format!(
            "Calls to {NUMBER_INTERNATIONAL} hear that the number is not in service."
        )),
        "{warnings}"
    );
    let rows = browser.find_all("main table tbody tr").await;
    assert_eq!(rows.len(), 1, "one ring group");
    let cells = texts_of(&browser, "main table tbody tr > td").await;
    assert_eq!(cells[0], RING_GROUP_NUMBER);
    assert_eq!(cells[1], RING_GROUP_NAME);
    assert_eq!(
        cells[2],
        "Rings all at once: 101 Aroha Ngata (extension), 102 Ben Ngata (extension); no answer \
         in 20 s → hang up"
    );

    // The number routed to the ring group.
    open_section(&browser, &base, &account, "numbers").await;
    browser
        .find("#number-1 details > summary")
        .await
        .click()
        .await;
    let options = texts_of(&browser, "#destination-1 option").await;
    let position = options
        .iter()
        .position(|option| option == RING_GROUP_LABEL)
        .expect("the route form offers the ring group");
    let ring_group_option = browser
        .find(&format!(
            "#destination-1 option:nth-child({})",
            position + 1
        ))
        .await;
    ring_group_option.click().await;
    assert!(
        ring_group_option.is_selected().await,
        "the ring group is chosen"
    );
    save_screenshot(&browser, "pbx-11-number-route-form").await;
    let save_route = browser.find("#number-1 form button[type=submit]").await;
    assert_eq!(save_route.text().await, "Save route");
    save_route.click_and_wait_for_page().await;
    save_screenshot(&browser, "pbx-12-number-routed").await;
    assert_eq!(
        text_of(&browser, FLASH).await,
        format!("Calls to {NUMBER_INTERNATIONAL} now go to: {RING_GROUP_LABEL}.")
    );
    let cells = texts_of(&browser, "#number-1 > td").await;
    assert_eq!(cells[3], RING_GROUP_LABEL);
    assert_eq!(
        count_of(&browser, "main .notice.warning").await,
        0,
        "a routed number leaves nothing to check"
    );

    // The routing page traces a call to the number at a chosen time.
    open_section(&browser, &base, &account, "routing").await;
    assert_eq!(
        text_of(&browser, "h1").await,
        "What happens when someone calls…"
    );
    browser
        .find("#dialled")
        .await
        .send_keys(NUMBER_INTERNATIONAL)
        .await;
    // NOTE: the date and time are set through the DOM because what keys a date input takes
    // depends on the browser's locale.
    browser
        .execute(&format!(
            "document.getElementById('date').value = '{TRACE_DATE}'; \
             document.getElementById('time').value = '{TRACE_TIME}';"
        ))
        .await;
    save_screenshot(&browser, "pbx-13-routing-form").await;
    browser
        .find("main form[role=search] button[type=submit]")
        .await
        .click_and_wait_for_page()
        .await;
    save_screenshot(&browser, "pbx-14-routing-trace").await;
    assert_eq!(
        text_of(&browser, "#trace h2").await,
        format!("A call to {NUMBER_INTERNATIONAL} on 6 Jul 2026, 9:30 am NZST")
    );
    let steps = texts_of(&browser, "#trace ol.steps > li").await;
    assert_eq!(
        steps,
        vec![
            format!(
                "Number {NUMBER_INTERNATIONAL} routes to ring group {RING_GROUP_NUMBER} \
                 \"{RING_GROUP_NAME}\"."
            ),
            format!(
                "Ring group {RING_GROUP_NUMBER} \"{RING_GROUP_NAME}\" rings 101 \"Aroha Ngata\" \
                 and 102 \"Ben Ngata\" at once for 20 s. If nobody answers, the call ends. \
                 Details"
            ),
        ]
    );
    // The form keeps what was entered.
    for (id, value) in [
        ("dialled", NUMBER_INTERNATIONAL),
        ("date", TRACE_DATE),
        ("time", TRACE_TIME),
    ] {
        let field = browser.find(&format!("#{id}")).await;
        assert_eq!(
            field.property("value").await.as_deref(),
            Some(value),
            "{id}"
        );
    }

    // The Phones page: the account's SIP domain, no phone registered yet, and a new label
    // that deletes both extensions' passwords, which the page then asks for again.
    open_section(&browser, &base, &account, "phones").await;
    assert_eq!(text_of(&browser, "#sip-domain").await, sip_domain);
    assert!(text_of(&browser, "#no-registrations")
        .await
        .starts_with("No phone is registered."));
    browser
        .find("#label")
        .await
        .send_keys("kauri-browser")
        .await;
    browser
        .find("button[type=submit].primary")
        .await
        .click_and_wait_for_page()
        .await;
    save_screenshot(&browser, "pbx-12-phones").await;
    let renamed = format!("kauri-browser.sip.{}", app.wl.host);
    assert_eq!(text_of(&browser, "#sip-domain").await, renamed);
    let needed = text_of(&browser, "#passwords-needed").await;
    assert!(needed.contains("101, 102"), "{needed}");

    browser.quit().await;
}
