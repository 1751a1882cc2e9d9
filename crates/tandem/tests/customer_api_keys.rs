//! API keys of customer accounts over real HTTP. An Account Administrator creates them from the
//! portal or the API with a role no higher than their own, sees each secret once, lists and
//! revokes them. A customer account's key acts inside its own account only, is rejected by
//! every white-label route, and stops working as soon as it is revoked.

mod support;

use reqwest::{Client, Method};
use serde_json::{json, Value};
use support::{
    create_white_label, customer_body, fresh_store, test_settings, TestWhiteLabel, PASSWORD,
};
use tandem::Server;
use tandem_app::App;
use tandem_domain::{CustomerId, MembershipId, Role, UserId};
use tandem_store::memberships::{self, Scope};
use tandem_store::users;

struct Setup {
    app: App,
    server: Server,
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
        let settings = test_settings();
        let app = tandem::build_app(fresh_store().await, &settings);
        let wl = create_white_label(&app, "harbour", "1000.00").await;
        let server = Server::start(app.clone(), &settings).await.expect("server");
        Setup {
            app,
            server,
            wl,
            api: Client::new(),
        }
    }

    async fn call(
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

    /// Creates a customer account through the white label's API key.
    async fn customer(&self, name: &str) -> CustomerId {
        let (status, customer) = self
            .call(
                &self.wl.api_key,
                Method::POST,
                "/api/v1/customers",
                Some(customer_body(&self.wl.plan_id, name)),
            )
            .await;
        assert_eq!(status, 201, "{customer}");
        CustomerId::parse(customer["id"].as_str().unwrap()).unwrap()
    }

    /// Adds a user with `role` on `customer_id`, signing in with [`PASSWORD`].
    async fn member(&self, email: &str, customer_id: &CustomerId, role: Role) {
        let hash = tandem_app::auth::hash_password(PASSWORD.into())
            .await
            .unwrap();
        let mut conn = self.app.store().conn().await.unwrap();
        let user_id = UserId::new();
        users::insert(&mut conn, &user_id, email, email, "Member", Some(&hash), 1)
            .await
            .unwrap();
        memberships::insert_if_absent(
            &mut conn,
            &MembershipId::new(),
            &user_id,
            role.as_str(),
            Scope::Customer(&self.wl.id, customer_id),
            1,
        )
        .await
        .unwrap();
    }

    /// A browser signed in to the white label's portal as `email`, and the portal's base URL.
    async fn signed_in(&self, email: &str) -> (Client, String) {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&self.wl.host, self.server.address)
            .build()
            .expect("client");
        let base = format!("http://{}:{}", self.wl.host, self.server.address.port());
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
                ("email", email),
                ("password", PASSWORD),
                ("next", "/account"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);
        (client, base)
    }

    /// Creates an account key from the portal page and returns its secret.
    async fn portal_key(&self, client: &Client, base: &str, name: &str, role: &str) -> String {
        let page = client
            .get(format!("{base}/account/api-keys"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let created = client
            .post(format!("{base}/account/api-keys"))
            .form(&[
                ("_csrf", csrf(&page).as_str()),
                ("name", name),
                ("role", role),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 200);
        let html = created.text().await.unwrap();
        let marker = "id=\"new-api-key\">";
        let start = html.find(marker).expect("new key shown") + marker.len();
        html[start..].split('<').next().unwrap().to_string()
    }
}

fn csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Two accounts, each with an Account Administrator, and a key with `role` on the first.
async fn two_accounts(setup: &Setup, role: &str) -> (CustomerId, CustomerId, String) {
    let mine = setup.customer("Kauri Joinery Ltd").await;
    let other = setup.customer("Other Customer Ltd").await;
    setup
        .member("mere@kauri.example", &mine, Role::AccountAdministrator)
        .await;
    setup
        .member("tane@other.example", &other, Role::AccountAdministrator)
        .await;
    let (client, base) = setup.signed_in("mere@kauri.example").await;
    let key = setup.portal_key(&client, &base, "recorder", role).await;
    (mine, other, key)
}

#[tokio::test]
async fn portal_key_shown_once_and_works() {
    let setup = Setup::start().await;
    let mine = setup.customer("Kauri Joinery Ltd").await;
    setup
        .member("mere@kauri.example", &mine, Role::AccountAdministrator)
        .await;
    let (client, base) = setup.signed_in("mere@kauri.example").await;

    let secret = setup
        .portal_key(&client, &base, "call recorder", "account_administrator")
        .await;
    let later = client
        .get(format!("{base}/account/api-keys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (status, keys) = setup
        .call(&secret, Method::GET, "/api/v1/account/api-keys", None)
        .await;

    assert!(secret.starts_with("tdm_"));
    assert!(later.contains("call recorder"));
    assert!(!later.contains(&secret));
    assert_eq!(status, 200, "{keys}");
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["role"], "account_administrator");
    assert_eq!(keys[0]["name"], "call recorder");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT customer_id FROM api_keys WHERE name = $1")
            .bind("call recorder")
            .fetch_one(setup.app.store().pool())
            .await
            .unwrap();
    assert_eq!(stored.as_deref(), Some(mine.as_str()));
}

#[tokio::test]
async fn api_creates_lists_and_revokes_keys() {
    let setup = Setup::start().await;
    let (_, _, admin_key) = two_accounts(&setup, "account_administrator").await;

    let (created_status, created) = setup
        .call(
            &admin_key,
            Method::POST,
            "/api/v1/account/api-keys",
            Some(json!({"name": "softphone", "role": "tech"})),
        )
        .await;
    let tech_key = created["secret"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    let (listed_status, listed) = setup
        .call(&admin_key, Method::GET, "/api/v1/account/api-keys", None)
        .await;
    let (before_status, _) = setup
        .call(&tech_key, Method::GET, "/api/v1/users", None)
        .await;
    let (revoked_status, _) = setup
        .call(
            &admin_key,
            Method::DELETE,
            &format!("/api/v1/account/api-keys/{id}"),
            None,
        )
        .await;
    let (after_status, _) = setup
        .call(&tech_key, Method::GET, "/api/v1/account/api-keys", None)
        .await;
    let (again_status, _) = setup
        .call(
            &admin_key,
            Method::DELETE,
            &format!("/api/v1/account/api-keys/{id}"),
            None,
        )
        .await;

    assert_eq!(created_status, 201, "{created}");
    assert_eq!(created["role"], "tech");
    assert_eq!(listed_status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(listed.to_string().find(&tech_key).is_none());
    assert_eq!(before_status, 403, "a Tech may not manage the team");
    assert_eq!(revoked_status, 204);
    assert_eq!(after_status, 401);
    assert_eq!(again_status, 404);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('api_key.created', 'api_key.revoked') \
         AND customer_id IS NOT NULL",
    )
    .fetch_one(setup.app.store().pool())
    .await
    .unwrap();
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn key_role_never_above_creator() {
    let setup = Setup::start().await;
    let (_, _, tech_key) = two_accounts(&setup, "tech").await;
    let admin_key = third_account_admin_key(&setup).await;

    let (tech_status, _) = setup
        .call(
            &tech_key,
            Method::POST,
            "/api/v1/account/api-keys",
            Some(json!({"name": "escalate", "role": "tech"})),
        )
        .await;
    let mut wide = Vec::new();
    for role in ["white_label", "platform_administrator", "owner"] {
        let (status, problem) = setup
            .call(
                &admin_key,
                Method::POST,
                "/api/v1/account/api-keys",
                Some(json!({"name": "too wide", "role": role})),
            )
            .await;
        wide.push((
            status,
            problem["errors"][0]["field"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ));
    }

    assert_eq!(tech_status, 403);
    for (status, field) in wide {
        assert_eq!(status, 422);
        assert_eq!(field, "role");
    }
}

/// The key of an Account Administrator of a third account of the same white label.
async fn third_account_admin_key(setup: &Setup) -> String {
    let third = setup.customer("Third Ltd").await;
    setup
        .member("aroha@third.example", &third, Role::AccountAdministrator)
        .await;
    let (client, base) = setup.signed_in("aroha@third.example").await;
    setup
        .portal_key(&client, &base, "admin", "account_administrator")
        .await
}

#[tokio::test]
async fn customer_key_rejected_by_white_label_routes() {
    let setup = Setup::start().await;
    let (mine, _, key) = two_accounts(&setup, "account_administrator").await;
    let routes = [
        (Method::GET, "/api/v1/customers".to_string(), None),
        (
            Method::POST,
            "/api/v1/customers".to_string(),
            Some(customer_body(&setup.wl.plan_id, "Sneaky Ltd")),
        ),
        (Method::GET, format!("/api/v1/customers/{mine}"), None),
        (
            Method::GET,
            format!("/api/v1/customers/{mine}/ledger"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{mine}/cancel"),
            Some(json!({})),
        ),
        (Method::GET, "/api/v1/plans".to_string(), None),
        (Method::GET, "/api/v1/audit".to_string(), None),
        (Method::GET, "/api/v1/api-keys".to_string(), None),
        (
            Method::POST,
            "/api/v1/api-keys".to_string(),
            Some(json!({"name": "wider"})),
        ),
        (Method::GET, "/api/v1/white-label".to_string(), None),
        (Method::GET, "/api/v1/white-label/ledger".to_string(), None),
        (Method::GET, "/api/v1/white-labels".to_string(), None),
    ];

    for (method, path, body) in routes {
        let (status, problem) = setup.call(&key, method.clone(), &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {problem}");
    }
}

#[tokio::test]
async fn customer_key_never_reaches_other_account() {
    let setup = Setup::start().await;
    let (_, other, key) = two_accounts(&setup, "account_administrator").await;
    let (client, base) = setup.signed_in("tane@other.example").await;
    let other_key = setup.portal_key(&client, &base, "theirs", "tech").await;
    let other_key_id: String = sqlx::query_scalar("SELECT id FROM api_keys WHERE name = $1")
        .bind("theirs")
        .fetch_one(setup.app.store().pool())
        .await
        .unwrap();

    let (list_status, _) = setup
        .call(
            &key,
            Method::GET,
            &format!("/api/v1/account/api-keys?account_id={other}"),
            None,
        )
        .await;
    let (create_status, _) = setup
        .call(
            &key,
            Method::POST,
            &format!("/api/v1/account/api-keys?account_id={other}"),
            Some(json!({"name": "planted", "role": "tech"})),
        )
        .await;
    let (revoke_status, _) = setup
        .call(
            &key,
            Method::DELETE,
            &format!("/api/v1/account/api-keys/{other_key_id}"),
            None,
        )
        .await;
    let (users_status, _) = setup
        .call(
            &key,
            Method::GET,
            &format!("/api/v1/users?account_id={other}"),
            None,
        )
        .await;
    let (invite_status, _) = setup
        .call(
            &key,
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"emails": ["x@other.example"], "role": "tech", "account_id": other})),
        )
        .await;
    let (own_users_status, own_users) = setup.call(&key, Method::GET, "/api/v1/users", None).await;
    let (still_works, _) = setup
        .call(&other_key, Method::GET, "/api/v1/account/api-keys", None)
        .await;

    assert_eq!(list_status, 404);
    assert_eq!(create_status, 404);
    assert_eq!(revoke_status, 404);
    assert_eq!(users_status, 404);
    assert_eq!(invite_status, 404);
    assert_eq!(own_users_status, 200);
    assert!(own_users.to_string().contains("mere@kauri.example"));
    assert!(!own_users.to_string().contains("tane@other.example"));
    assert_eq!(
        still_works, 403,
        "a Tech key may not list keys, but it is not revoked"
    );
}

#[tokio::test]
async fn openapi_lists_account_key_routes() {
    let setup = Setup::start().await;

    let url = format!("http://{}/api/v1/openapi.json", setup.server.address);
    let document: Value = setup
        .api
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let paths = &document["paths"];
    assert!(paths["/api/v1/account/api-keys"]["get"].is_object());
    assert!(paths["/api/v1/account/api-keys"]["post"].is_object());
    assert!(paths["/api/v1/account/api-keys/{id}"]["delete"].is_object());
}

#[tokio::test]
async fn white_label_key_has_no_account_routes() {
    let setup = Setup::start().await;

    let (status, problem) = setup
        .call(
            &setup.wl.api_key,
            Method::GET,
            "/api/v1/account/api-keys",
            None,
        )
        .await;

    assert_eq!(status, 403, "{problem}");
}

#[tokio::test]
async fn portal_revoke_stops_key_at_once() {
    let setup = Setup::start().await;
    let mine = setup.customer("Kauri Joinery Ltd").await;
    setup
        .member("mere@kauri.example", &mine, Role::AccountAdministrator)
        .await;
    let (client, base) = setup.signed_in("mere@kauri.example").await;
    let secret = setup
        .portal_key(&client, &base, "recorder", "conference")
        .await;
    let (_, listed) = setup
        .call(&secret, Method::GET, "/api/v1/users", None)
        .await;
    let page = client
        .get(format!("{base}/account/api-keys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "action=\"/account/api-keys/";
    let start = page.find(marker).expect("revoke form") + marker.len();
    let id = page[start..].split('/').next().unwrap().to_string();

    let revoked = client
        .post(format!("{base}/account/api-keys/{id}/revoke"))
        .form(&[("_csrf", csrf(&page).as_str())])
        .send()
        .await
        .unwrap();
    let (after, _) = setup
        .call(&secret, Method::GET, "/api/v1/users", None)
        .await;

    assert_eq!(
        listed["status"], 403,
        "a Conference key may not manage the team"
    );
    assert_eq!(revoked.status().as_u16(), 303);
    assert_eq!(after, 401);
}
