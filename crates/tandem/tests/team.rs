//! Teams over real HTTP: invitations mailed to a real SMTP server on loopback and accepted
//! through their link, roles that cannot be raised, other tenants' people out of reach,
//! password resets and sign-in lockout.

mod support;

use std::time::Duration;

use reqwest::{Client, Method};
use serde_json::{json, Value};
use support::smtp::SmtpServer;
use support::{
    create_white_label, customer_body, fresh_store, test_settings, TestWhiteLabel, PASSWORD,
};
use tandem::Server;
use tandem_app::App;

struct Setup {
    app: App,
    server: Server,
    smtp: SmtpServer,
    wl: TestWhiteLabel,
    api: Client,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Setup {
    async fn start() -> Setup {
        let smtp = SmtpServer::start().await;
        let mut settings = test_settings();
        settings.mail_transport = "smtp".into();
        settings.smtp_host = "127.0.0.1".into();
        settings.smtp_port = smtp.port();
        settings.smtp_tls = "none".into();
        settings.outbox_interval_ms = 50;
        let app = tandem::build_app(fresh_store().await, &settings);
        let wl = create_white_label(&app, "harbour", "1000.00").await;
        let server = Server::start(app.clone(), &settings).await.expect("server");
        Setup {
            app,
            server,
            smtp,
            wl,
            api: Client::new(),
        }
    }

    async fn api_as(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("http://{}{path}", self.server.address);
        let mut request = self.api.request(method, url).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.api_as(&self.wl.api_key, method, path, body).await
    }

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

    async fn customer(&self, name: &str) -> String {
        let (status, customer) = self
            .api(
                Method::POST,
                "/api/v1/customers",
                Some(customer_body(&self.wl.plan_id, name)),
            )
            .await;
        assert_eq!(status, 201, "{customer}");
        customer["id"].as_str().unwrap().to_string()
    }

    /// Waits for a mail to `to` and returns the first link in its text part.
    async fn link_mailed_to(&self, to: &str) -> String {
        for _ in 0..200 {
            let found = self
                .smtp
                .received()
                .into_iter()
                .rev()
                .find(|m| m.rcpt_to.iter().any(|r| r.contains(to)));
            if let Some(mail) = found {
                let parsed = mailparse::parse_mail(mail.data.as_bytes()).unwrap();
                let text = text_of(&parsed);
                let start = text.find("http://").expect("link");
                return text[start..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to}");
    }
}

fn text_of(part: &mailparse::ParsedMail<'_>) -> String {
    if part.subparts.is_empty() {
        return if part.ctype.mimetype == "text/plain" {
            part.get_body().unwrap()
        } else {
            String::new()
        };
    }
    part.subparts
        .iter()
        .map(text_of)
        .collect::<Vec<_>>()
        .join("\n")
}

fn csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn accept(client: &Client, link: &str, name: &str, password: &str) -> reqwest::Response {
    let page = client.get(link).send().await.unwrap().text().await.unwrap();
    client
        .post(link)
        .form(&[
            ("_csrf", csrf(&page).as_str()),
            ("name", name),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn invitation_accepted_gives_access_to_that_account_only() {
    let setup = Setup::start().await;
    let mine = setup.customer("Kauri Joinery Ltd").await;
    let other = setup.customer("Other Customer Ltd").await;

    let (status, sent) = setup
        .api(Method::POST, "/api/v1/invitations", Some(json!({"emails": ["Mere@Kauri.example"], "role": "account_administrator", "account_id": mine})))
        .await;
    assert_eq!(status, 201, "{sent}");
    let link = setup.link_mailed_to("Mere@Kauri.example").await;
    let (client, base) = setup.browser();
    let accepted = accept(&client, &link, "Mere Tūhoe", "a long enough password").await;

    assert_eq!(accepted.status().as_u16(), 303);
    let home = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(home.headers()["location"], "/account");
    let account = client
        .get(format!("{base}/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains("Kauri Joinery Ltd"));
    assert!(!account.contains("Other Customer Ltd"));
    let customers = client
        .get(format!("{base}/customers"))
        .send()
        .await
        .unwrap();
    assert_eq!(customers.status().as_u16(), 403);
    let other_team = client
        .get(format!("{base}/customers/{other}/team"))
        .send()
        .await
        .unwrap();
    assert_eq!(other_team.status().as_u16(), 403);
    let reused = client.get(&link).send().await.unwrap();
    assert_eq!(reused.status().as_u16(), 410);
}

#[tokio::test]
async fn invitation_link_accepted_once_under_concurrency() {
    let setup = Setup::start().await;
    let account = setup.customer("Race Ltd").await;
    setup
        .api(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"emails": ["race@kauri.example"], "role": "tech", "account_id": account})),
        )
        .await;
    let link = setup.link_mailed_to("race@kauri.example").await;

    let mut prepared = Vec::new();
    for _ in 0..5 {
        let (client, _) = setup.browser();
        let page = client
            .get(&link)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        prepared.push((client, csrf(&page)));
    }
    let mut tasks = Vec::new();
    for (client, token) in prepared {
        let link = link.clone();
        tasks.push(tokio::spawn(async move {
            let form = [
                ("_csrf", token.as_str()),
                ("name", "Racer"),
                ("password", "a long enough password"),
            ];
            client
                .post(&link)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }

    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    let (_, users) = setup
        .api(
            Method::GET,
            &format!("/api/v1/users?account_id={account}"),
            None,
        )
        .await;
    let racers = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] == "race@kauri.example")
        .count();
    assert_eq!(racers, 1);
}

#[tokio::test]
async fn member_email_in_any_case_is_conflict() {
    let setup = Setup::start().await;
    let account = setup.customer("Case Ltd").await;
    let (created, _) = setup
        .api(Method::POST, "/api/v1/users", Some(json!({"name": "Ana", "email": "ana@case.example", "role": "standard_user", "account_id": account})))
        .await;

    let (status, problem) = setup
        .api(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"emails": ["ANA@Case.Example"], "role": "tech", "account_id": account})),
        )
        .await;

    assert_eq!(created, 201);
    assert_eq!(status, 409);
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("ana@case.example"));
}

#[tokio::test]
async fn existing_user_added_not_duplicated() {
    let setup = Setup::start().await;
    let first = setup.customer("First Ltd").await;
    let second = setup.customer("Second Ltd").await;
    let body = |account: &str| json!({"name": "Tama", "email": "tama@both.example", "role": "tech", "account_id": account});

    let (_, one) = setup
        .api(Method::POST, "/api/v1/users", Some(body(&first)))
        .await;
    let (_, two) = setup
        .api(Method::POST, "/api/v1/users", Some(body(&second)))
        .await;

    assert_eq!(one["existing_user"], false);
    assert_eq!(two["existing_user"], true);
    assert_eq!(two["invited"], true);
    assert_eq!(one["id"], two["id"]);
}

#[tokio::test]
async fn account_administrator_cannot_grant_white_label_role() {
    let setup = Setup::start().await;
    let account = setup.customer("Escalate Ltd").await;
    setup.api(Method::POST, "/api/v1/invitations", Some(json!({"emails": ["boss@escalate.example"], "role": "account_administrator", "account_id": account}))).await;
    let link = setup.link_mailed_to("boss@escalate.example").await;
    let (client, base) = setup.browser();
    accept(&client, &link, "Boss", "a long enough password").await;
    let page = client
        .get(format!("{base}/account/team"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf(&page);

    let escalate = client
        .post(format!("{base}/account/team/invite"))
        .form(&[
            ("_csrf", token.as_str()),
            ("emails", "friend@escalate.example"),
            ("role", "white_label"),
        ])
        .send()
        .await
        .unwrap();
    let platform = client
        .post(format!("{base}/account/team/invite"))
        .form(&[
            ("_csrf", token.as_str()),
            ("emails", "friend@escalate.example"),
            ("role", "platform_administrator"),
        ])
        .send()
        .await
        .unwrap();
    let allowed = client
        .post(format!("{base}/account/team/invite"))
        .form(&[
            ("_csrf", token.as_str()),
            ("emails", "friend@escalate.example"),
            ("role", "standard_user"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(escalate.status().as_u16(), 403);
    assert_eq!(platform.status().as_u16(), 403);
    assert_eq!(allowed.status().as_u16(), 200);
}

#[tokio::test]
async fn other_white_label_team_is_out_of_reach() {
    let setup = Setup::start().await;
    let other = create_white_label(&setup.app, "southern", "1000.00").await;
    let (_, theirs) = setup
        .api_as(
            &other.api_key,
            Method::POST,
            "/api/v1/customers",
            Some(customer_body(&other.plan_id, "Theirs Ltd")),
        )
        .await;
    let their_id = theirs["id"].as_str().unwrap();
    let (_, their_users) = setup
        .api_as(&other.api_key, Method::GET, "/api/v1/users", None)
        .await;
    let their_membership = their_users[0]["membership_id"]
        .as_str()
        .unwrap()
        .to_string();

    let (list, _) = setup
        .api(
            Method::GET,
            &format!("/api/v1/users?account_id={their_id}"),
            None,
        )
        .await;
    let (invite, _) = setup
        .api(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"emails": ["x@evil.example"], "role": "tech", "account_id": their_id})),
        )
        .await;
    let (change, _) = setup
        .api(
            Method::PATCH,
            &format!("/api/v1/memberships/{their_membership}"),
            Some(json!({"state": "disabled"})),
        )
        .await;

    assert_eq!(list, 404);
    assert_eq!(invite, 404);
    assert_eq!(change, 404);
}

#[tokio::test]
async fn disabled_member_loses_access_at_once() {
    let setup = Setup::start().await;
    let account = setup.customer("Disable Ltd").await;
    setup.api(Method::POST, "/api/v1/invitations", Some(json!({"emails": ["gone@disable.example"], "role": "account_administrator", "account_id": account}))).await;
    let link = setup.link_mailed_to("gone@disable.example").await;
    let (client, base) = setup.browser();
    accept(&client, &link, "Gone", "a long enough password").await;
    assert_eq!(
        client
            .get(format!("{base}/account"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let (_, users) = setup
        .api(
            Method::GET,
            &format!("/api/v1/users?account_id={account}"),
            None,
        )
        .await;
    let membership = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "gone@disable.example")
        .unwrap()["membership_id"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, _) = setup
        .api(
            Method::PATCH,
            &format!("/api/v1/memberships/{membership}?account_id={account}"),
            Some(json!({"state": "disabled"})),
        )
        .await;

    assert_eq!(status, 204);
    assert_eq!(
        client
            .get(format!("{base}/account"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
}

#[tokio::test]
async fn password_reset_signs_out_everywhere() {
    let setup = Setup::start().await;
    let (client, base) = setup.browser();
    let sign_in_page = client
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
            ("_csrf", csrf(&sign_in_page).as_str()),
            ("email", setup.wl.admin_email.as_str()),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        client
            .get(format!("{base}/customers"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let (anonymous, _) = setup.browser();
    let forgot = anonymous
        .get(format!("{base}/forgot-password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let asked = anonymous
        .post(format!("{base}/forgot-password"))
        .form(&[
            ("_csrf", csrf(&forgot).as_str()),
            ("email", setup.wl.admin_email.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let unknown = anonymous
        .post(format!("{base}/forgot-password"))
        .form(&[
            ("_csrf", csrf(&forgot).as_str()),
            ("email", "nobody@nowhere.example"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = setup.link_mailed_to(&setup.wl.admin_email).await;
    let reset_page = anonymous
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reset = anonymous
        .post(&link)
        .form(&[
            ("_csrf", csrf(&reset_page).as_str()),
            ("password", "a brand new password"),
        ])
        .send()
        .await
        .unwrap();
    let reused = anonymous.get(&link).send().await.unwrap();

    assert_eq!(asked, unknown);
    assert_eq!(reset.status().as_u16(), 200);
    assert_eq!(reused.status().as_u16(), 410);
    assert_eq!(
        client
            .get(format!("{base}/customers"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        303
    );
    assert!(setup
        .app
        .sign_in(&setup.wl.admin_email, "a brand new password", None)
        .await
        .is_ok());
}

#[tokio::test]
async fn repeated_failures_lock_out_even_right_password() {
    let setup = Setup::start().await;

    for _ in 0..tandem_app::auth::MAX_FAILURES_PER_EMAIL {
        let result = setup
            .app
            .sign_in(
                &setup.wl.admin_email,
                "wrong password!",
                Some("127.0.0.9".into()),
            )
            .await;
        assert!(matches!(result, Err(tandem_app::AppError::Unauthenticated)));
    }
    let locked = setup
        .app
        .sign_in(&setup.wl.admin_email, PASSWORD, Some("127.0.0.10".into()))
        .await;

    assert!(matches!(
        locked,
        Err(tandem_app::AppError::RateLimited { .. })
    ));
    let mut conn = setup.app.store().conn().await.unwrap();
    let failures: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.failed'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(failures, tandem_app::auth::MAX_FAILURES_PER_EMAIL as i64);
}

#[tokio::test]
async fn switching_accounts_never_widens_access() {
    let setup = Setup::start().await;
    let first = setup.customer("First Account Ltd").await;
    let second = setup.customer("Second Account Ltd").await;
    let outsider = setup.customer("Outsider Ltd").await;
    setup.api(Method::POST, "/api/v1/invitations", Some(json!({"emails": ["multi@accounts.example"], "role": "account_administrator", "account_id": first}))).await;
    let (client, base) = setup.browser();
    let link = setup.link_mailed_to("multi@accounts.example").await;
    accept(&client, &link, "Multi", "a long enough password").await;
    let (added, _) = setup
        .api(Method::POST, "/api/v1/users", Some(json!({"name": "Multi", "email": "multi@accounts.example", "role": "tech", "account_id": second})))
        .await;
    assert_eq!(added, 201);
    let mut second_link = link.clone();
    for _ in 0..200 {
        second_link = setup.link_mailed_to("multi@accounts.example").await;
        if second_link != link {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(second_link, link);
    let second_page = client
        .get(&second_link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let joined = client
        .post(&second_link)
        .form(&[
            ("_csrf", csrf(&second_page).as_str()),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status().as_u16(), 303);
    let page = client
        .get(format!("{base}/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf(&page);

    let switched = client
        .post(format!("{base}/account/switch"))
        .form(&[("_csrf", token.as_str()), ("account_id", first.as_str())])
        .send()
        .await
        .unwrap();
    let refused = client
        .post(format!("{base}/account/switch"))
        .form(&[("_csrf", token.as_str()), ("account_id", outsider.as_str())])
        .send()
        .await
        .unwrap();
    let shown = client
        .get(format!("{base}/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert_eq!(switched.status().as_u16(), 303);
    assert_eq!(refused.status().as_u16(), 404);
    assert!(shown.contains("First Account Ltd"));
    assert!(shown.contains("Second Account Ltd"));
    assert!(!shown.contains("Outsider Ltd"));
    assert!(!second.is_empty());
}

#[tokio::test]
async fn profile_password_change_needs_current_password() {
    let setup = Setup::start().await;
    let (client, base) = setup.browser();
    let sign_in_page = client
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
            ("_csrf", csrf(&sign_in_page).as_str()),
            ("email", setup.wl.admin_email.as_str()),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    let page = client
        .get(format!("{base}/profile"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf(&page);

    let wrong = client
        .post(format!("{base}/profile"))
        .form(&[
            ("_csrf", token.as_str()),
            ("name", "Admin"),
            ("current_password", "not it at all"),
            ("new_password", "another good password"),
        ])
        .send()
        .await
        .unwrap();
    let right = client
        .post(format!("{base}/profile"))
        .form(&[
            ("_csrf", token.as_str()),
            ("name", "Admin Renamed"),
            ("current_password", PASSWORD),
            ("new_password", "another good password"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(wrong.status().as_u16(), 422);
    assert_eq!(right.status().as_u16(), 200);
    assert!(setup
        .app
        .sign_in(&setup.wl.admin_email, "another good password", None)
        .await
        .is_ok());
}

#[tokio::test]
async fn administrator_reset_signs_member_out() {
    let setup = Setup::start().await;
    let account = setup.customer("Reset Ltd").await;
    setup
        .api(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"emails": ["staff@reset.example"], "role": "tech", "account_id": account})),
        )
        .await;
    let link = setup.link_mailed_to("staff@reset.example").await;
    let (client, base) = setup.browser();
    accept(&client, &link, "Staff", "a long enough password").await;
    assert_eq!(
        client
            .get(format!("{base}/account"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let (_, users) = setup
        .api(
            Method::GET,
            &format!("/api/v1/users?account_id={account}"),
            None,
        )
        .await;
    let membership = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "staff@reset.example")
        .unwrap()["membership_id"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, _) = setup
        .api(
            Method::PATCH,
            &format!("/api/v1/memberships/{membership}?account_id={account}"),
            Some(json!({"reset_password": true})),
        )
        .await;

    assert_eq!(status, 204);
    assert_eq!(
        client
            .get(format!("{base}/account"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        303
    );
    let mut reset_link = link.clone();
    for _ in 0..200 {
        reset_link = setup.link_mailed_to("staff@reset.example").await;
        if reset_link.contains("/reset-password/") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reset_link.contains("/reset-password/"), "{reset_link}");
}

#[tokio::test]
async fn concurrent_acceptances_for_one_email_make_one_user() {
    let setup = Setup::start().await;
    let first = setup.customer("One Ltd").await;
    let second = setup.customer("Two Ltd").await;
    setup
        .api(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"emails": ["twice@new.example"], "role": "tech", "account_id": first})),
        )
        .await;
    let first_link = setup.link_mailed_to("twice@new.example").await;
    setup
        .api(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"emails": ["twice@new.example"], "role": "tech", "account_id": second})),
        )
        .await;
    let mut second_link = first_link.clone();
    for _ in 0..200 {
        second_link = setup.link_mailed_to("twice@new.example").await;
        if second_link != first_link {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (one, _) = setup.browser();
    let (two, _) = setup.browser();
    let one_page = one
        .get(&first_link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let two_page = two
        .get(&second_link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = |page: &str| {
        vec![
            ("_csrf", csrf(page)),
            ("name", "Twice".to_string()),
            ("password", "a long enough password".to_string()),
        ]
    };

    let (a, b) = tokio::join!(
        one.post(&first_link).form(&form(&one_page)).send(),
        two.post(&second_link).form(&form(&two_page)).send()
    );

    let statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    assert!(statuses.contains(&303), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 409),
        "{statuses:?}"
    );
    let mut conn = setup.app.store().conn().await.unwrap();
    let users: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email_key = 'twice@new.example'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(users, 1);
}
