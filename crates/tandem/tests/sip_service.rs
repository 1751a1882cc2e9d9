//! The SIP service over the database, with a phone written here on 127.0.0.1. Credentials
//! created through the API reach the service through the change feed. Bindings are written
//! behind and read back by a restarted service. Account settings change the challenge, and the
//! metrics endpoint counts what happened.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use support::TestApp;
use tandem::sip::SipService;
use tandem_domain::{CustomerId, PbxObjectId};
use tandem_sip::auth::{authorization, ClientCredentials};
use tandem_sip::msg::{parse_response, Contacts, Framing, HeaderName};
use tandem_store::sip::{self as store_sip, RegistrationRow};
use tokio::net::UdpSocket;

const PASSWORD: &str = "Harbour-desk-phone-42";

async fn start_sip(app: &TestApp) -> SipService {
    let mut settings = support::test_settings();
    settings.sip_listen = "127.0.0.1:0".into();
    settings.sip_metrics_listen = "127.0.0.1:0".into();
    settings.sip_sync_interval_ms = 50;
    SipService::start(app.app.store().clone(), &settings)
        .await
        .expect("SIP service starts")
}

/// A phone on its own UDP socket.
struct Phone {
    socket: UdpSocket,
    me: SocketAddr,
    server: SocketAddr,
    domain: String,
    cseq: u32,
}

/// A response as the phone saw it.
struct Answer {
    raw: Vec<u8>,
    status: u16,
    challenges: Vec<String>,
    contacts: Vec<String>,
}

impl Phone {
    async fn new(server: SocketAddr, domain: &str) -> Phone {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let me = socket.local_addr().unwrap();
        Phone {
            socket,
            me,
            server,
            domain: domain.to_owned(),
            cseq: 0,
        }
    }

    async fn send(&mut self, contact: bool, extra: &str) -> Answer {
        self.cseq += 1;
        let (me, domain, cseq) = (self.me, &self.domain, self.cseq);
        let contact = if contact {
            format!("Contact: <sip:101@{me}>\r\nExpires: 600\r\n")
        } else {
            String::new()
        };
        let request = format!(
            "REGISTER sip:{domain} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};rport;branch=z9hG4bKsvc{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:101@{domain}>;tag=desk\r\n\
             To: <sip:101@{domain}>\r\n\
             Call-ID: service-test@{me}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             User-Agent: test-phone\r\n\
             {contact}{extra}Content-Length: 0\r\n\r\n"
        );
        self.socket
            .send_to(request.as_bytes(), self.server)
            .await
            .unwrap();
        let mut buf = vec![0u8; 65_536];
        let (len, _) =
            tokio::time::timeout(Duration::from_secs(5), self.socket.recv_from(&mut buf))
                .await
                .expect("a response within 5 s")
                .unwrap();
        let response = parse_response(&buf[..len], Framing::Datagram).expect("a valid response");
        let challenges = response
            .headers
            .named(HeaderName::WwwAuthenticate)
            .map(|h| h.value.to_owned())
            .collect();
        let contacts = match response.headers.contacts() {
            Some(Contacts::List(list)) => list.iter().map(|c| c.uri.to_string()).collect(),
            _ => Vec::new(),
        };
        Answer {
            raw: buf[..len].to_vec(),
            status: response.status,
            challenges,
            contacts,
        }
    }

    /// Sends a REGISTER, responds to its challenge with `password`, and returns the challenge
    /// and the final response.
    async fn register(&mut self, contact: bool, password: &str) -> (Answer, Answer) {
        let challenge = self.send(contact, "").await;
        assert_eq!(challenge.status, 401, "a challenge first");
        let parsed = parse_response(&challenge.raw, Framing::Datagram).unwrap();
        // The last challenge is MD5, which every account accepts.
        let value = parsed
            .headers
            .auth(HeaderName::WwwAuthenticate)
            .last()
            .expect("a WWW-Authenticate");
        let credentials = ClientCredentials {
            username: "101",
            password,
        };
        let uri = format!("sip:{}", self.domain);
        let answer = authorization(value, credentials, "REGISTER", &uri, "c0ffee", 1).unwrap();
        let extra = format!("Authorization: {answer}\r\n");
        let done = self.send(contact, &extra).await;
        (challenge, done)
    }
}

/// Polls `check` until it returns true or ten seconds pass.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 10 s");
}

async fn registrations(app: &TestApp, customer: &str) -> Vec<Value> {
    let (status, body) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{customer}/registrations"),
            &app.wl.api_key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn service_follows_database_changes() {
    let app = TestApp::spawn().await;
    let key = app.wl.api_key.clone();
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &key,
            Some(support::customer_body(&app.wl.plan_id, "Kauri Joinery")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let customer = body["id"].as_str().unwrap().to_string();
    let service = start_sip(&app).await;

    // Created after the service started: it arrives through the change feed.
    let (status, body) = app
        .api(
            Method::POST,
            &format!("/api/v1/customers/{customer}/extensions"),
            &key,
            Some(json!({"number": "101", "name": "Reception", "sip_password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, sip) = app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{customer}/sip"),
            &key,
            None,
        )
        .await;
    let domain = sip["domain"].as_str().unwrap().to_string();

    let mut phone = Phone::new(service.udp.unwrap(), &domain).await;
    // Until the credentials arrive, the password fails like a wrong one.
    let mut first = None;
    eventually("the new extension reaching the service", async || {
        let (challenge, done) = phone.register(true, PASSWORD).await;
        let registered = done.status == 200;
        if registered {
            first = Some((challenge, done));
        }
        registered
    })
    .await;
    let (challenge, done) = first.expect("registered");
    assert_eq!(challenge.challenges.len(), 1, "MD5 only by default");
    assert!(challenge.challenges[0].contains("algorithm=MD5"));
    assert_eq!(done.status, 200);
    assert_eq!(done.contacts, vec![format!("sip:101@{}", phone.me)]);

    // Written behind: the API shows the binding a moment later.
    eventually("the registration in the API", async || {
        registrations(&app, &customer).await.len() == 1
    })
    .await;
    let listed = registrations(&app, &customer).await;
    assert_eq!(listed[0]["extension"], "101");
    assert_eq!(listed[0]["source"], phone.me.to_string());
    assert_eq!(listed[0]["transport"], "UDP");
    assert_eq!(listed[0]["user_agent"], "test-phone");

    // Turning SHA-256 on for the account changes the next challenge.
    let (status, body) = app
        .api(
            Method::PUT,
            &format!("/api/v1/customers/{customer}/sip"),
            &key,
            Some(json!({"sha256": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    eventually("SHA-256 offered", async || {
        let answer = phone.send(true, "").await;
        answer.challenges.len() == 2 && answer.challenges[0].contains("algorithm=SHA-256")
    })
    .await;

    let metrics_url = format!("http://{}/metrics", service.metrics_addr.unwrap());
    let scrape = async || {
        reqwest::get(&metrics_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let metrics = scrape().await;
    assert!(metrics.contains("tandem_sip_responses_total{class=\"2xx\"} 1\n"));
    // Gauges are refreshed once a second.
    eventually("the bindings gauge", async || {
        scrape().await.contains("tandem_sip_bindings 1\n")
    })
    .await;
    service.stop().await;

    // A new service loads the binding from the database: a query without Contact lists it.
    let restarted = start_sip(&app).await;
    let mut phone = Phone {
        server: restarted.udp.unwrap(),
        ..phone
    };
    let (_, query) = phone.register(false, PASSWORD).await;
    assert_eq!(query.status, 200);
    assert_eq!(query.contacts, vec![format!("sip:101@{}", phone.me)]);

    // A deleted extension's phone fails its next REGISTER, and its binding goes.
    let extension = listed[0]["extension_id"].as_str().unwrap();
    let (status, body) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/customers/{customer}/extensions/{extension}"),
            &key,
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    eventually("the deleted extension leaving the service", async || {
        phone.send(true, "").await.status == 401
    })
    .await;
    eventually("the registration leaving the API", async || {
        registrations(&app, &customer).await.is_empty()
    })
    .await;
    restarted.stop().await;
}

/// The write-behind's statement: each call replaces the bindings of the addresses-of-record it
/// names, updating refreshed rows in place and deleting the contacts it no longer writes, and
/// leaves other addresses-of-record alone.
#[tokio::test]
async fn write_behind_replaces_the_bindings_it_names() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/customers",
            &app.wl.api_key,
            Some(support::customer_body(&app.wl.plan_id, "Kauri Joinery")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let customer = CustomerId::parse(body["id"].as_str().unwrap()).unwrap();
    let extension = PbxObjectId::new();
    let row = |aor: &str, contact: &str, expires_us: i64, updated_us: i64| RegistrationRow {
        aor: aor.into(),
        contact: contact.into(),
        customer_id: customer.clone(),
        extension_id: extension.clone(),
        params: String::new(),
        source: "127.0.0.1:5061".into(),
        transport: "UDP".into(),
        user_agent: "test-phone".into(),
        call_id: format!("call-{updated_us}"),
        cseq: updated_us,
        expires_us,
        updated_us,
    };
    let (desk, reception) = ("sip:101@a.example", "sip:102@a.example");
    let write = async |aors: &[&str], rows: Vec<RegistrationRow>, written_us: i64| {
        let aors: Vec<String> = aors.iter().map(|aor| aor.to_string()).collect();
        let mut tx = app.app.store().begin().await.unwrap();
        store_sip::replace_registrations(&mut tx, &aors, &rows, written_us)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    };
    let live = async || {
        let mut conn = app.app.store().conn().await.unwrap();
        store_sip::live_registrations(&mut conn, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.aor, r.contact, r.expires_us, r.call_id))
            .collect::<Vec<_>>()
    };

    write(
        &[desk, reception],
        vec![
            row(desk, "sip:101@127.0.0.1:5061", 5_000, 1_000),
            row(desk, "sip:101@127.0.0.1:5062", 5_000, 1_000),
            row(reception, "sip:102@127.0.0.1:5063", 5_000, 1_000),
        ],
        1_000,
    )
    .await;
    assert_eq!(live().await.len(), 3);

    // The desk phone refreshed one contact and dropped the other.
    write(
        &[desk],
        vec![row(desk, "sip:101@127.0.0.1:5061", 9_000, 2_000)],
        2_000,
    )
    .await;
    assert_eq!(
        live().await,
        vec![
            (
                desk.into(),
                "sip:101@127.0.0.1:5061".into(),
                9_000,
                "call-2000".into()
            ),
            (
                reception.into(),
                "sip:102@127.0.0.1:5063".into(),
                5_000,
                "call-1000".into()
            ),
        ]
    );

    // Reception unregistered: named without rows, it loses its bindings.
    write(&[reception], Vec::new(), 3_000).await;
    assert_eq!(
        live().await,
        vec![(
            desk.into(),
            "sip:101@127.0.0.1:5061".into(),
            9_000,
            "call-2000".into()
        )]
    );
}
