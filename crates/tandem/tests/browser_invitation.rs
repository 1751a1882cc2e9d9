//! Team invitations in a real browser, both sides. The white-label administrator invites an
//! Account Administrator to one of two customers through that customer's team page. The
//! invitee, in a browser session of their own, opens the link from the invitation mail, sets
//! their name and password, and lands signed in on that account and no other.
//!
//! The two customers are created through the API as a fixture. Mail goes over SMTP to the
//! test SMTP server on a loopback port. Needs Debian's `chromium` and `chromium-driver`
//! packages, which scripts/test.sh installs. Every page visited is saved as a PNG under
//! `target/screenshots/`, with a name starting `invitation-`.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use support::smtp::{ReceivedMail, SmtpServer};
use support::webdriver::Browser;
use support::{create_white_label, customer_body, fresh_store, test_settings, TestWhiteLabel};
use tandem::Server;

const BRAND_NAME: &str = "harbour Telecom";
const INVITED_CUSTOMER: &str = "Kauri Joinery Ltd";
const OTHER_CUSTOMER: &str = "Tōtara Plumbing Ltd";
/// Typed in mixed case, so the checks compare it with addresses ignoring case.
const INVITEE_EMAIL: &str = "Mere@Kauri.example";
const INVITEE_NAME: &str = "Mere Tūhoe-Ōrākau";
const INVITEE_PASSWORD: &str = "pōhutukawa bloom 1987";
const ROLE_VALUE: &str = "account_administrator";
const ROLE_LABEL: &str = "Account Administrator";

/// A server whose mail goes to a test SMTP server, with the white label `harbour`.
struct Invitation {
    server: Server,
    smtp: SmtpServer,
    wl: TestWhiteLabel,
}

impl Drop for Invitation {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Invitation {
    async fn start() -> Invitation {
        let smtp = SmtpServer::start().await;
        let mut settings = test_settings();
        settings.mail_transport = "smtp".into();
        settings.smtp_host = "127.0.0.1".into();
        settings.smtp_port = smtp.port();
        settings.smtp_tls = "none".into();
        settings.outbox_interval_ms = 50;
        let app = tandem::build_app(fresh_store().await, &settings);
        let wl = create_white_label(&app, "harbour", "1000.00").await;
        let server = Server::start(app, &settings).await.expect("server starts");
        Invitation { server, smtp, wl }
    }

    /// Returns the URL of the white label's portal, as the browser reaches it.
    fn base_url(&self) -> String {
        format!("http://{}:{}", self.wl.host, self.server.address.port())
    }

    /// Creates a customer managed by the white label through the API, and returns its id.
    async fn create_customer(&self, legal_name: &str) -> String {
        let response = reqwest::Client::new()
            .request(
                Method::POST,
                format!("http://{}/api/v1/customers", self.server.address),
            )
            .bearer_auth(&self.wl.api_key)
            .json(&customer_body(&self.wl.plan_id, legal_name))
            .send()
            .await
            .expect("customer request sent");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 201, "creating {legal_name}: {body}");
        body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in the created customer: {body}"))
            .to_string()
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

/// Returns the first URL in `text` on `base`, which must be an invitation link.
fn invitation_link(text: &str, base: &str) -> String {
    let start = text
        .find(base)
        .unwrap_or_else(|| panic!("the mail has no link to {base}:\n{text}"));
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(
        link.starts_with(&format!("{base}/invitations/")),
        "not an invitation link: {link}"
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

/// Saves a full-page screenshot as `invitation-{name}.png`.
async fn save_screenshot(browser: &Browser, name: &str) {
    let path = screenshot_dir().join(format!("invitation-{name}.png"));
    browser.screenshot_full_page(&path).await;
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

/// Returns the text of the whole page body, as the browser renders it.
async fn body_text(browser: &Browser) -> String {
    browser.find("body").await.text().await
}

async fn assert_heading(browser: &Browser, expected: &str) {
    assert_eq!(browser.find("main h1").await.text().await, expected);
}

async fn assert_brand(browser: &Browser) {
    assert_eq!(browser.find(".brand-name").await.text().await, BRAND_NAME);
    let title = browser.title().await;
    assert!(title.ends_with(BRAND_NAME), "title: {title}");
}

/// Signs in on the white label's portal as its administrator, ending on the customers list.
async fn sign_in_admin(browser: &Browser, setup: &Invitation) {
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

/// Invites [`INVITEE_EMAIL`] as Account Administrator through the customer's team page, and
/// checks the open invitation the page then lists.
async fn invite_through_team_page(browser: &Browser, setup: &Invitation, customer_id: &str) {
    let base = setup.base_url();
    let team_url = format!("{base}/customers/{customer_id}/team");

    // The customers list shows both fixtures.
    save_screenshot(browser, "02-customers").await;
    let customers = body_text(browser).await;
    assert!(customers.contains(INVITED_CUSTOMER), "{customers}");
    assert!(customers.contains(OTHER_CUSTOMER), "{customers}");

    // The team page of the first customer, reached from the customers list through the
    // customer's page, with no members and no open invitations.
    browser
        .find(&format!("main table a[href=\"/customers/{customer_id}\"]"))
        .await
        .click_and_wait_for_page()
        .await;
    assert_eq!(
        browser.current_url().await,
        format!("{base}/customers/{customer_id}")
    );
    save_screenshot(browser, "03-customer").await;
    browser
        .find(&format!("main a[href=\"/customers/{customer_id}/team\"]"))
        .await
        .click_and_wait_for_page()
        .await;
    assert_eq!(browser.current_url().await, team_url);
    save_screenshot(browser, "04-team-empty").await;
    assert_brand(browser).await;
    assert_heading(browser, &format!("{INVITED_CUSTOMER} team")).await;
    assert_eq!(
        browser.find("main p.empty").await.text().await,
        "No members yet."
    );
    assert_eq!(
        count(browser, "main table").await,
        0,
        "no members and no invitations, so no tables"
    );
    let role_options: Vec<String> = {
        let mut values = Vec::new();
        for option in browser.find_all("#invite-role option").await {
            values.push(option.attribute("value").await.unwrap_or_default());
        }
        values
    };
    assert!(
        role_options.iter().any(|value| value == ROLE_VALUE),
        "the white-label administrator may grant {ROLE_VALUE}: {role_options:?}"
    );

    // The invitation form, filled in.
    let invite_form = "form[action$=\"/invite\"]";
    browser
        .find(&format!("{invite_form} #emails"))
        .await
        .send_keys(INVITEE_EMAIL)
        .await;
    browser
        .find(&format!("#invite-role option[value=\"{ROLE_VALUE}\"]"))
        .await
        .click()
        .await;
    assert!(
        browser
            .find(&format!("#invite-role option[value=\"{ROLE_VALUE}\"]"))
            .await
            .is_selected()
            .await,
        "{ROLE_VALUE} is chosen"
    );
    save_screenshot(browser, "05-invite-filled").await;
    browser
        .find(&format!("{invite_form} button[type=submit]"))
        .await
        .click_and_wait_for_page()
        .await;

    // The team page again, confirming the invitation and listing it as open.
    assert_eq!(browser.current_url().await, format!("{team_url}/invite"));
    save_screenshot(browser, "06-invitation-sent").await;
    assert_heading(browser, &format!("{INVITED_CUSTOMER} team")).await;
    assert_eq!(
        browser.find("main .notice[role=status]").await.text().await,
        "1 invitation sent."
    );
    assert_eq!(count(browser, ".error-summary").await, 0, "no form errors");
    let invitations = table_rows(browser, "h2 + .table-wrap table").await;
    assert_eq!(invitations.len(), 1, "one open invitation: {invitations:?}");
    // Columns: email, role, invited by, link expires, change.
    assert!(
        invitations[0][0].eq_ignore_ascii_case(INVITEE_EMAIL),
        "{invitations:?}"
    );
    assert_eq!(invitations[0][1], ROLE_LABEL, "{invitations:?}");
    assert!(
        !invitations[0][3].is_empty(),
        "the expiry is shown: {invitations:?}"
    );
}

/// Accepts the invitation as the invitee, in a browser session of their own, and checks that
/// they reach the invited account and nothing else.
async fn accept_as_invitee(setup: &Invitation, link: &str, other_id: &str) {
    let base = setup.base_url();
    let browser = Browser::start().await;

    // The invitation page.
    browser.navigate(link).await;
    save_screenshot(&browser, "07-join-page").await;
    assert_brand(&browser).await;
    assert_heading(&browser, &format!("Join {INVITED_CUSTOMER}")).await;
    let intro = browser.find("main h1 + p").await.text().await;
    assert!(
        intro.contains(ROLE_LABEL),
        "the page names the role: {intro}"
    );
    let bold_texts: Vec<String> = {
        let mut texts = Vec::new();
        for element in browser.find_all("main h1 + p strong").await {
            texts.push(element.text().await);
        }
        texts
    };
    assert_eq!(
        bold_texts.len(),
        2,
        "role and email in bold: {bold_texts:?}"
    );
    assert_eq!(bold_texts[0], ROLE_LABEL);
    assert!(
        bold_texts[1].eq_ignore_ascii_case(INVITEE_EMAIL),
        "the page names the invited email: {bold_texts:?}"
    );
    assert_eq!(
        count(&browser, "#name").await,
        1,
        "a new login is asked for a name"
    );
    assert_eq!(
        browser
            .find("#password")
            .await
            .attribute("type")
            .await
            .as_deref(),
        Some("password")
    );
    assert_eq!(
        browser.find("#password-hint").await.text().await,
        "At least 10 characters"
    );

    // Name and password, then accept.
    browser.find("#name").await.send_keys(INVITEE_NAME).await;
    browser
        .find("#password")
        .await
        .send_keys(INVITEE_PASSWORD)
        .await;
    save_screenshot(&browser, "08-join-filled").await;
    browser
        .find("main form button[type=submit]")
        .await
        .click_and_wait_for_page()
        .await;

    // Signed in, on the invited account.
    assert_eq!(browser.current_url().await, format!("{base}/account"));
    save_screenshot(&browser, "09-account").await;
    assert_brand(&browser).await;
    let signed_in_as = browser.find(".who").await.text().await;
    assert!(
        signed_in_as.eq_ignore_ascii_case(INVITEE_EMAIL),
        "signed in as the invitee: {signed_in_as}"
    );
    assert_heading(&browser, INVITED_CUSTOMER).await;
    let account = description_list(&browser, ".grid > section.card:not(.stat) dl").await;
    assert!(
        account.contains(&("Your role".to_string(), ROLE_LABEL.to_string())),
        "{account:?}"
    );
    assert_eq!(
        count(&browser, "#account_id").await,
        0,
        "one account, so no account switcher"
    );
    let page = body_text(&browser).await;
    assert!(page.contains(INVITED_CUSTOMER), "{page}");
    assert!(
        !page.contains(OTHER_CUSTOMER),
        "the other customer must not appear: {page}"
    );
    let html = browser
        .execute("return document.documentElement.outerHTML;")
        .await;
    let html = html.as_str().expect("the page's HTML");
    assert!(
        !html.contains(OTHER_CUSTOMER),
        "the page source must not name the other customer"
    );
    assert!(
        !html.contains(other_id),
        "the page source must not contain the other customer's id {other_id}"
    );

    // The white label's customers list is out of reach.
    browser.navigate(&format!("{base}/customers")).await;
    save_screenshot(&browser, "10-customers-no-access").await;
    assert_brand(&browser).await;
    assert_heading(&browser, "No access to this portal").await;
    let message = browser.find("main h1 + p").await.text().await;
    assert!(
        message.contains(INVITEE_EMAIL) || message.contains(&INVITEE_EMAIL.to_lowercase()),
        "the page names who is signed in: {message}"
    );
    let page = body_text(&browser).await;
    assert!(!page.contains(INVITED_CUSTOMER), "{page}");
    assert!(!page.contains(OTHER_CUSTOMER), "{page}");

    // So is the other customer's team page.
    browser
        .navigate(&format!("{base}/customers/{other_id}/team"))
        .await;
    save_screenshot(&browser, "11-other-team-no-access").await;
    assert_heading(&browser, "No access to this portal").await;
    let page = body_text(&browser).await;
    assert!(!page.contains(OTHER_CUSTOMER), "{page}");

    // The link works once.
    browser.navigate(link).await;
    save_screenshot(&browser, "12-link-used").await;
    assert_heading(&browser, "This invitation has already been used").await;

    browser.quit().await;
}

#[tokio::test]
async fn invitee_joins_one_account_in_browser() {
    let setup = Invitation::start().await;
    let base = setup.base_url();
    let invited_id = setup.create_customer(INVITED_CUSTOMER).await;
    let other_id = setup.create_customer(OTHER_CUSTOMER).await;

    // The white-label administrator invites through the first customer's team page.
    let admin = Browser::start().await;
    sign_in_admin(&admin, &setup).await;
    invite_through_team_page(&admin, &setup, &invited_id).await;

    // The invitation mail, over SMTP.
    let mail = setup.mail(1).await;
    assert_eq!(mail.rcpt_to.len(), 1, "{:?}", mail.rcpt_to);
    assert!(
        mail.rcpt_to[0].eq_ignore_ascii_case(INVITEE_EMAIL),
        "{:?}",
        mail.rcpt_to
    );
    let (subject, text) = subject_and_text(&mail.data);
    assert_eq!(
        subject,
        format!("Admin invited you to {INVITED_CUSTOMER} on {BRAND_NAME}")
    );
    assert!(
        text.contains(ROLE_LABEL),
        "the mail names the role:\n{text}"
    );
    assert!(!text.contains(OTHER_CUSTOMER), "{text}");
    let link = invitation_link(&text, &base);

    // The invitee, in a browser of their own.
    accept_as_invitee(&setup, &link, &other_id).await;

    // The administrator finds the invitee a member, with no open invitation left.
    admin
        .navigate(&format!("{base}/customers/{invited_id}/team"))
        .await;
    save_screenshot(&admin, "13-team-member").await;
    let members = table_rows(&admin, "main table").await;
    assert_eq!(members.len(), 1, "{members:?}");
    // Columns: name, email, role, state, last sign-in, change.
    assert_eq!(members[0][0], INVITEE_NAME, "{members:?}");
    assert!(
        members[0][1].eq_ignore_ascii_case(INVITEE_EMAIL),
        "{members:?}"
    );
    assert_eq!(members[0][2], ROLE_LABEL, "{members:?}");
    assert_eq!(
        admin
            .find("main tbody tr td:nth-child(4) .badge")
            .await
            .attribute("class")
            .await
            .as_deref(),
        Some("badge active"),
        "{members:?}"
    );
    let page = body_text(&admin).await;
    assert!(
        !page.contains("Open invitations"),
        "the accepted invitation is no longer open"
    );

    // The other customer's team is untouched.
    admin
        .navigate(&format!("{base}/customers/{other_id}/team"))
        .await;
    save_screenshot(&admin, "14-other-team").await;
    assert_heading(&admin, &format!("{OTHER_CUSTOMER} team")).await;
    assert_eq!(
        admin.find("main p.empty").await.text().await,
        "No members yet."
    );
    assert_eq!(count(&admin, "main table").await, 0);

    admin.quit().await;
}
