//! The SIP service against real SIP peers over UDP on loopback: sipp scenarios, a small REGISTER
//! client written here, baresip, and the sipvicious scanners svwar and svcrack.
//!
//! Each test starts the HTTP server and the SIP service in-process over a fresh database (SQLite,
//! or PostgreSQL when `TEST_DATABASE_URL` is set). It creates accounts and extensions through
//! the API, then checks the responses the peers receive and what the API then lists. Every peer
//! is bound to loopback, sends only to the service's own `127.0.0.1` port, and is killed when
//! its test ends.
//!
//! The peers come from Debian's packages `sip-tester` (sipp), `baresip` and `sipvicious`. A test
//! whose peer is missing fails and names the package, which scripts/test.sh installs.

mod support;

use std::collections::BTreeSet;
use std::fs::File;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use support::{account_key, TestApp};
use tandem::config::Settings;
use tandem::sip::SipService;
use tandem_sip::auth::{authorization, ClientCredentials};
use tandem_sip::msg::{parse_response, Framing, HeaderName};
use tokio::net::UdpSocket;

/// How long a test waits for something the service does in the background (the change feed,
/// the write-behind of bindings) before it fails.
const BACKGROUND_DEADLINE: Duration = Duration::from_secs(10);

/// How long one REGISTER may wait for its response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Polls `check` every 50 ms until it returns `Some`, and fails with `what` after `deadline`.
async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Returns a UDP port on `ip` that was free a moment ago, for peers that need a fixed one.
fn free_udp_port(ip: &str) -> u16 {
    let socket = std::net::UdpSocket::bind((ip, 0)).expect("bind a loopback UDP socket");
    socket.local_addr().expect("local address").port()
}

/// Returns the path of a peer's binary, failing the test with the Debian package to install.
fn peer_binary(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: install the Debian package {package} \
                 (scripts/test.sh installs it when missing)"
            )
        })
}

/// A peer process whose output goes to files, killed when dropped.
struct PeerProcess {
    name: String,
    child: Child,
    output: PathBuf,
}

impl PeerProcess {
    /// Starts `command` in `dir`, with stdout and stderr written to `dir/<name>.log`.
    fn start(name: &str, mut command: Command, dir: &Path) -> PeerProcess {
        let output = dir.join(format!("{name}.log"));
        let log = File::create(&output).expect("create the peer's log");
        let child = command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("starting {name} failed: {error}"));
        PeerProcess {
            name: name.to_owned(),
            child,
            output,
        }
    }

    /// Waits for the process to exit, without blocking the runtime the SIP service runs on, and
    /// returns its exit status, or `None` if it was still running at `deadline` and was killed.
    async fn wait(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("peer status") {
                return Some(status);
            }
            if started.elapsed() > deadline {
                self.kill();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Returns what the process has written to stdout and stderr so far.
    fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            eprintln!("killing {} (pid {})", self.name, self.child.id());
        }
        self.kill();
    }
}

/// The HTTP server and the SIP service over one fresh database.
struct Harness {
    app: TestApp,
    sip: SipService,
    /// The SIP service's UDP address on 127.0.0.1.
    server: SocketAddr,
    /// A folder of this test's own for peers' configuration and logs.
    dir: PathBuf,
}

impl Harness {
    async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    /// Starts both services; `adjust` changes the SIP settings of the test.
    async fn start_with(adjust: impl FnOnce(&mut Settings)) -> Harness {
        let app = TestApp::spawn().await;
        let mut settings = support::test_settings();
        settings.sip_listen = "127.0.0.1:0".into();
        settings.sip_tcp = false;
        settings.sip_metrics_listen = "127.0.0.1:0".into();
        settings.sip_sync_interval_ms = 50;
        // Every peer here sends from 127.0.0.1, and svcrack sends as fast as it can. The
        // per-source rate limit would drop its requests before the lockout could be seen.
        settings.sip_max_requests_per_source = 0;
        settings.sip_lockout_window_secs = 60;
        adjust(&mut settings);
        let sip = SipService::start(app.app.store().clone(), &settings)
            .await
            .expect("the SIP service starts");
        let server = sip.udp.expect("the SIP service listens on UDP");
        assert!(server.ip().is_loopback(), "{server}");
        let dir = settings.data_dir.join("peers");
        std::fs::create_dir_all(&dir).expect("create the peers' folder");
        Harness {
            app,
            sip,
            server,
            dir,
        }
    }

    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.app.api(method, path, &self.app.wl.api_key, body).await
    }

    /// Creates a managed account and returns its id.
    async fn customer(&self, name: &str) -> String {
        let body = support::customer_body(&self.app.wl.plan_id, name);
        let (status, created) = self
            .api(Method::POST, "/api/v1/customers", Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().expect("customer id").to_owned()
    }

    /// Creates extension `number` with SIP password `password` and returns its id.
    async fn extension(&self, customer: &str, number: &str, password: &str) -> String {
        let body = json!({"number": number, "name": format!("Phone {number}"),
                          "sip_password": password});
        let path = format!("/api/v1/customers/{customer}/extensions");
        let (status, created) = self.api(Method::POST, &path, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(
            created["sip_password"], password,
            "the password is shown once"
        );
        created["object"]["id"]
            .as_str()
            .expect("extension id")
            .to_owned()
    }

    /// Returns the account's SIP domain, which is also the realm of its passwords.
    async fn domain(&self, customer: &str) -> String {
        let path = format!("/api/v1/customers/{customer}/sip");
        let (status, sip) = self.api(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{sip}");
        sip["domain"].as_str().expect("SIP domain").to_owned()
    }

    /// Waits until the service has read `user`'s credentials in `domain` from the change feed:
    /// a REGISTER without Contact (a query, which changes no binding) from 127.0.0.9 gets 200.
    /// Extensions created earlier are read by then too, because the feed is applied in order.
    async fn wait_for_credentials(&self, domain: &str, user: &str, password: &str) {
        let mut probe = Phone::bind(self.phone("127.0.0.9", user, domain, password)).await;
        let started = Instant::now();
        loop {
            // Until the credentials arrive, they fail like a wrong password.
            let unauthenticated = probe.send(&[], None).await;
            if unauthenticated.status == 401 && probe.register(&[]).await.status == 200 {
                return;
            }
            assert!(
                started.elapsed() < BACKGROUND_DEADLINE,
                "the SIP service did not read {user}'s credentials in {domain}: {}",
                unauthenticated.text
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Returns the account's live registrations through the API.
    async fn registrations(&self, customer: &str) -> Vec<Value> {
        let path = format!("/api/v1/customers/{customer}/registrations");
        let (status, list) = self.api(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{list}");
        list["items"].as_array().expect("items").clone()
    }

    /// Waits until the account's registrations satisfy `done` and returns them.
    async fn registrations_when(
        &self,
        customer: &str,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        eventually(BACKGROUND_DEADLINE, what, || async {
            let items = self.registrations(customer).await;
            done(&items).then_some(items)
        })
        .await
    }

    /// Returns the blocks of the account through the API.
    async fn blocks(&self, customer: &str) -> Vec<Value> {
        let path = format!("/api/v1/customers/{customer}/sip/blocks");
        let (status, list) = self.api(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{list}");
        list["items"].as_array().expect("items").clone()
    }

    /// Returns the value of one line of the service's Prometheus metrics, such as
    /// `tandem_sip_auth_failures_total`.
    fn metric(&self, series: &str) -> u64 {
        let text = self.sip.metrics.render();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {series} in:\n{text}"))
    }

    fn phone(&self, ip: &str, user: &str, domain: &str, password: &str) -> PhoneConfig {
        PhoneConfig {
            ip: ip.to_owned(),
            server: self.server,
            user: user.to_owned(),
            auth_user: user.to_owned(),
            domain: domain.to_owned(),
            password: password.to_owned(),
        }
    }
}

/// A SIP response as received.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    text: String,
}

impl Reply {
    fn parse(bytes: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let status = text
            .strip_prefix("SIP/2.0 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not a SIP response: {text}"));
        Reply { status, text }
    }

    /// Returns the values of every header line named `name` (full names only).
    fn headers(&self, name: &str) -> Vec<&str> {
        self.text
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .filter(|(header, _)| header.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
            .collect()
    }

    /// Returns the names of the headers present, lowercased.
    fn header_names(&self) -> BTreeSet<String> {
        self.text
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(header, _)| header.trim().to_ascii_lowercase())
            .collect()
    }

    /// Returns a parameter of the first WWW-Authenticate challenge.
    fn challenge_param(&self, name: &str) -> Option<String> {
        let response = parse_response(self.text.as_bytes(), Framing::Datagram).ok()?;
        let challenge = response.headers.auth(HeaderName::WwwAuthenticate).next()?;
        challenge.param(name).map(|value| value.into_owned())
    }

    /// Computes the Authorization value for the first WWW-Authenticate challenge.
    fn authorization_for(&self, username: &str, password: &str, uri: &str) -> String {
        let response = parse_response(self.text.as_bytes(), Framing::Datagram)
            .unwrap_or_else(|error| panic!("unparsable response ({error:?}): {}", self.text));
        let challenge = response
            .headers
            .auth(HeaderName::WwwAuthenticate)
            .next()
            .unwrap_or_else(|| panic!("no WWW-Authenticate in: {}", self.text));
        let credentials = ClientCredentials { username, password };
        let cnonce = format!("{:08x}", rand::random::<u32>());
        authorization(challenge, credentials, "REGISTER", uri, &cnonce, 1)
            .unwrap_or_else(|| panic!("unsupported challenge: {}", self.text))
    }
}

/// Who a [`Phone`] registers as, and from which loopback address.
#[derive(Debug, Clone)]
struct PhoneConfig {
    ip: String,
    server: SocketAddr,
    /// The user of the address-of-record, in From and To.
    user: String,
    /// The digest username, usually the same as `user`.
    auth_user: String,
    domain: String,
    password: String,
}

/// A small REGISTER client over UDP, written here so that a test controls every header.
struct Phone {
    config: PhoneConfig,
    socket: UdpSocket,
    call_id: String,
    from_tag: String,
    cseq: u32,
}

impl Phone {
    async fn bind(config: PhoneConfig) -> Phone {
        let socket = UdpSocket::bind((config.ip.as_str(), 0))
            .await
            .unwrap_or_else(|error| {
                panic!("binding a UDP socket on {} failed: {error}", config.ip)
            });
        let call_id = format!("{:016x}@{}", rand::random::<u64>(), config.ip);
        Phone {
            config,
            socket,
            call_id,
            from_tag: format!("{:08x}", rand::random::<u32>()),
            cseq: 0,
        }
    }

    fn local(&self) -> SocketAddr {
        self.socket.local_addr().expect("local address")
    }

    /// Returns a Contact address of this phone, with a `line` parameter to distinguish several.
    fn contact(&self, line: &str) -> String {
        format!("<sip:{}@{};line={line}>", self.config.user, self.local())
    }

    /// Sends one REGISTER with `headers` (Contact, Expires) and returns the response.
    async fn send(&mut self, headers: &[String], authorization: Option<&str>) -> Reply {
        self.cseq += 1;
        let PhoneConfig {
            user, domain, ip, ..
        } = &self.config;
        let local = self.local();
        let branch = format!("z9hG4bK{:016x}", rand::random::<u64>());
        let mut request = format!(
            "REGISTER sip:{domain} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};rport;branch={branch}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{domain}>;tag={}\r\n\
             To: <sip:{user}@{domain}>\r\n\
             Call-ID: {}\r\n\
             CSeq: {} REGISTER\r\n\
             User-Agent: tandem-test-phone/{ip}\r\n",
            self.from_tag, self.call_id, self.cseq
        );
        for header in headers {
            request.push_str(header);
            request.push_str("\r\n");
        }
        if let Some(value) = authorization {
            request.push_str(&format!("Authorization: {value}\r\n"));
        }
        request.push_str("Content-Length: 0\r\n\r\n");

        self.socket
            .send_to(request.as_bytes(), self.config.server)
            .await
            .expect("send a REGISTER");
        let mut buf = vec![0u8; 65_536];
        let (len, from) = tokio::time::timeout(RESPONSE_TIMEOUT, self.socket.recv_from(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no response within {RESPONSE_TIMEOUT:?} to:\n{request}"))
            .expect("receive a response");
        assert_eq!(
            from, self.config.server,
            "the response comes from the service"
        );
        Reply::parse(&buf[..len])
    }

    /// Sends a REGISTER, repeats it with this phone's credentials after a 401, and returns the
    /// final response.
    async fn register(&mut self, headers: &[String]) -> Reply {
        let first = self.send(headers, None).await;
        if first.status != 401 {
            return first;
        }
        let uri = format!("sip:{}", self.config.domain);
        let value = first.authorization_for(&self.config.auth_user, &self.config.password, &uri);
        self.send(headers, Some(&value)).await
    }

    /// Registers one contact for `expires` seconds and returns the final response.
    async fn register_contact(&mut self, line: &str, expires: u32) -> Reply {
        let contact = format!("Contact: {}", self.contact(line));
        self.register(&[contact, format!("Expires: {expires}")])
            .await
    }
}

/// Command-line values of one sipp run.
struct SippRun<'a> {
    scenario: &'a str,
    user: &'a str,
    auth_user: &'a str,
    password: &'a str,
    domain: &'a str,
    expires: u32,
    /// The local UDP port, so that runs share a contact.
    local_port: u16,
    /// The Call-ID, so that runs are one registration's refreshes.
    call_id: &'a str,
    /// The first CSeq, higher than any earlier run's with the same Call-ID.
    base_cseq: u32,
}

impl Harness {
    /// Runs one sipp scenario from tests/sip against the service and returns whether every
    /// step got the response it expects, with sipp's output.
    async fn sipp(&self, run: &SippRun<'_>) -> (bool, String) {
        let sipp = peer_binary("sipp", "sip-tester");
        let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sip")
            .join(run.scenario);
        let name = format!("sipp-{}", free_udp_port("127.0.0.1"));
        let mut command = Command::new(sipp);
        command
            .arg("-sf")
            .arg(&scenario)
            .args(["-i", "127.0.0.1", "-bind_local"])
            .args(["-p", &run.local_port.to_string()])
            .args(["-cp", &free_udp_port("127.0.0.1").to_string()])
            .args(["-mi", "127.0.0.1"])
            .args(["-m", "1", "-nostdin"])
            .args(["-s", run.user, "-au", run.auth_user, "-ap", run.password])
            .args(["-key", "domain", run.domain])
            .args(["-key", "expires", &run.expires.to_string()])
            .args(["-cid_str", run.call_id])
            .args(["-base_cseq", &run.base_cseq.to_string()])
            .args(["-timeout", "10s", "-timeout_error"])
            .arg("-trace_msg")
            .arg("-message_file")
            .arg(self.dir.join(format!("{name}-messages.log")))
            .arg(self.server.to_string());
        let mut process = PeerProcess::start(&name, command, &self.dir);
        let status = process.wait(Duration::from_secs(20)).await;
        let messages = std::fs::read_to_string(self.dir.join(format!("{name}-messages.log")))
            .unwrap_or_default();
        let output = format!("{}\n--- messages ---\n{messages}", process.output());
        (status.is_some_and(|s| s.success()), output)
    }
}

/// Returns the registrations of `aor` among `items`.
fn bindings_of<'a>(items: &'a [Value], aor: &str) -> Vec<&'a Value> {
    items.iter().filter(|item| item["aor"] == aor).collect()
}

#[tokio::test]
async fn sipp_registers_refreshes_and_unregisters() {
    let harness = Harness::start().await;
    let account = harness.customer("Kauri Joinery").await;
    harness.extension(&account, "101", "kauri7Tui42x").await;
    let domain = harness.domain(&account).await;
    harness
        .wait_for_credentials(&domain, "101", "kauri7Tui42x")
        .await;
    // The wait may have failed while the credentials were on their way to the service.
    let failures_before = harness.metric("tandem_sip_auth_failures_total");
    let aor = format!("sip:101@{domain}");
    let port = free_udp_port("127.0.0.1");
    let mut run = SippRun {
        scenario: "register.xml",
        user: "101",
        auth_user: "101",
        password: "kauri7Tui42x",
        domain: &domain,
        expires: 120,
        local_port: port,
        call_id: "sipp-register-refresh@127.0.0.1",
        base_cseq: 1,
    };

    let (passed, output) = harness.sipp(&run).await;
    assert!(passed, "sipp's REGISTER got 401 then 200:\n{output}");
    let first = harness
        .registrations_when(&account, "sipp's binding", |items| {
            !bindings_of(items, &aor).is_empty()
        })
        .await;
    let binding = bindings_of(&first, &aor)[0];
    assert_eq!(binding["contact"], format!("sip:101@127.0.0.1:{port}"));
    assert_eq!(binding["source"], format!("127.0.0.1:{port}"));
    assert_eq!(binding["user_agent"], "sipp");
    assert!(
        binding["expires_in_secs"].as_i64().unwrap() <= 120,
        "{binding}"
    );

    // A refresh on the same Call-ID requests a longer expiry, which the one binding then has.
    run.expires = 600;
    run.base_cseq = 10;
    let (passed, output) = harness.sipp(&run).await;
    assert!(passed, "sipp's refresh got 401 then 200:\n{output}");
    let refreshed = harness
        .registrations_when(&account, "the refreshed expiry", |items| {
            bindings_of(items, &aor)
                .iter()
                .any(|b| b["expires_in_secs"].as_i64().unwrap_or(0) > 120)
        })
        .await;
    assert_eq!(bindings_of(&refreshed, &aor).len(), 1, "{refreshed:?}");

    run.expires = 0;
    run.base_cseq = 20;
    let (passed, output) = harness.sipp(&run).await;
    assert!(passed, "sipp's unregister got 401 then 200:\n{output}");
    harness
        .registrations_when(&account, "the binding to go", |items| {
            bindings_of(items, &aor).is_empty()
        })
        .await;
    assert_eq!(
        harness.metric("tandem_sip_auth_failures_total"),
        failures_before
    );
}

#[tokio::test]
async fn accounts_keep_same_extension_apart() {
    let harness = Harness::start().await;
    let a = harness.customer("Kauri Joinery").await;
    let b = harness.customer("Totara Builders").await;
    harness.extension(&a, "101", "kauri7Tui42x").await;
    harness.extension(&a, "102", "rimu5Kahu88q").await;
    harness.extension(&b, "101", "totara3Moa19z").await;
    let (domain_a, domain_b) = (harness.domain(&a).await, harness.domain(&b).await);
    harness
        .wait_for_credentials(&domain_a, "102", "rimu5Kahu88q")
        .await;
    harness
        .wait_for_credentials(&domain_b, "101", "totara3Moa19z")
        .await;
    assert_ne!(domain_a, domain_b);
    let (aor_a, aor_b) = (format!("sip:101@{domain_a}"), format!("sip:101@{domain_b}"));
    let run = |domain, password, port| SippRun {
        scenario: "register.xml",
        user: "101",
        auth_user: "101",
        password,
        domain,
        expires: 300,
        local_port: port,
        call_id: "",
        base_cseq: 1,
    };

    // 101 in A with 102's right password: authenticated, but not as the To header's user.
    let forbidden_port = free_udp_port("127.0.0.1");
    let (passed, output) = harness
        .sipp(&SippRun {
            scenario: "register_forbidden.xml",
            auth_user: "102",
            call_id: "sipp-forbidden@127.0.0.1",
            ..run(&domain_a, "rimu5Kahu88q", forbidden_port)
        })
        .await;
    assert!(passed, "101 authenticated as 102 got 403:\n{output}");

    // A's password in B's domain is a wrong password there.
    let (passed, output) = harness
        .sipp(&SippRun {
            scenario: "register_wrong_password.xml",
            call_id: "sipp-cross-realm@127.0.0.1",
            ..run(&domain_b, "kauri7Tui42x", free_udp_port("127.0.0.1"))
        })
        .await;
    assert!(
        passed,
        "A's password in B's domain got 401 again:\n{output}"
    );

    let (port_a, port_b) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.1"));
    let (passed, output) = harness
        .sipp(&SippRun {
            call_id: "sipp-a@127.0.0.1",
            ..run(&domain_a, "kauri7Tui42x", port_a)
        })
        .await;
    assert!(passed, "101 in A registered:\n{output}");
    let (passed, output) = harness
        .sipp(&SippRun {
            call_id: "sipp-b@127.0.0.1",
            ..run(&domain_b, "totara3Moa19z", port_b)
        })
        .await;
    assert!(passed, "101 in B registered:\n{output}");

    // Each account lists its own binding only. Bindings are written behind in order, so once
    // these are visible the forbidden attempt's binding would be too.
    let in_a = harness
        .registrations_when(&a, "A's binding", |items| !items.is_empty())
        .await;
    let in_b = harness
        .registrations_when(&b, "B's binding", |items| !items.is_empty())
        .await;
    assert_eq!(in_a.len(), 1, "{in_a:?}");
    assert_eq!(in_a[0]["aor"], aor_a);
    assert_eq!(in_a[0]["source"], format!("127.0.0.1:{port_a}"));
    assert_eq!(in_b.len(), 1, "{in_b:?}");
    assert_eq!(in_b[0]["aor"], aor_b);
    assert_eq!(in_b[0]["source"], format!("127.0.0.1:{port_b}"));
    let forbidden_source = format!("127.0.0.1:{forbidden_port}");
    assert!(
        in_a.iter().all(|item| item["source"] != forbidden_source),
        "the 403 created no binding: {in_a:?}"
    );

    // A's Account Administrator cannot read B's registrations.
    let a_key = account_key(&harness.app, &a, "ann@kauri.example").await;
    let (status, _) = harness
        .app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{a}/registrations"),
            &a_key,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = harness
        .app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{b}/registrations"),
            &a_key,
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    // Nor can another white label.
    let southern = harness.app.other_white_label("southern", "0").await;
    let (status, body) = harness
        .app
        .api(
            Method::GET,
            &format!("/api/v1/customers/{b}/registrations"),
            &southern.api_key,
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn contacts_removed_one_then_all() {
    let harness = Harness::start().await;
    let account = harness.customer("Kauri Joinery").await;
    harness.extension(&account, "101", "kauri7Tui42x").await;
    let domain = harness.domain(&account).await;
    harness
        .wait_for_credentials(&domain, "101", "kauri7Tui42x")
        .await;
    let aor = format!("sip:101@{domain}");
    let mut phone = Phone::bind(harness.phone("127.0.0.1", "101", &domain, "kauri7Tui42x")).await;

    let desk = phone.register_contact("desk", 300).await;
    assert_eq!(desk.status, 200, "{}", desk.text);
    let both = phone.register_contact("mobile", 300).await;
    assert_eq!(both.status, 200, "{}", both.text);
    assert_eq!(both.headers("Contact").len(), 2, "{}", both.text);
    let listed = harness
        .registrations_when(&account, "two bindings", |items| {
            bindings_of(items, &aor).len() == 2
        })
        .await;
    assert_eq!(listed.len(), 2);

    // One contact with expires=0 goes; the other stays.
    let removal = format!("Contact: {};expires=0", phone.contact("desk"));
    let one_left = phone.register(&[removal]).await;
    assert_eq!(one_left.status, 200, "{}", one_left.text);
    let contacts = one_left.headers("Contact");
    assert_eq!(contacts.len(), 1, "{}", one_left.text);
    assert!(contacts[0].contains("line=mobile"), "{}", contacts[0]);
    let listed = harness
        .registrations_when(&account, "one binding", |items| {
            bindings_of(items, &aor).len() == 1
        })
        .await;
    assert!(
        listed[0]["contact"]
            .as_str()
            .unwrap()
            .contains("line=mobile"),
        "{listed:?}"
    );

    // The wildcard with Expires: 60 is invalid; with Expires: 0 it removes the rest.
    let wildcard_60 = phone
        .register(&["Contact: *".into(), "Expires: 60".into()])
        .await;
    assert_eq!(wildcard_60.status, 400, "{}", wildcard_60.text);
    let wildcard_0 = phone
        .register(&["Contact: *".into(), "Expires: 0".into()])
        .await;
    assert_eq!(wildcard_0.status, 200, "{}", wildcard_0.text);
    assert!(
        wildcard_0.headers("Contact").is_empty(),
        "{}",
        wildcard_0.text
    );
    harness
        .registrations_when(&account, "no binding", |items| {
            bindings_of(items, &aor).is_empty()
        })
        .await;

    let again = phone.register_contact("desk", 300).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.headers("Contact").len(), 1, "{}", again.text);
    harness
        .registrations_when(&account, "the new binding", |items| {
            bindings_of(items, &aor).len() == 1
        })
        .await;
}

#[tokio::test]
async fn lockout_blocks_guessing_source() {
    let harness = Harness::start().await;
    let account = harness.customer("Kauri Joinery").await;
    harness.extension(&account, "101", "kauri7Tui42x").await;
    harness.extension(&account, "102", "rimu5Kahu88q").await;
    let domain = harness.domain(&account).await;
    harness
        .wait_for_credentials(&domain, "102", "rimu5Kahu88q")
        .await;
    let aor = format!("sip:101@{domain}");

    // Unknown users and wrong passwords get the same response, so neither reveals which
    // extensions exist. These come from 127.0.0.3 and are for 999 and 102, so they count
    // against neither the guessing address nor 101.
    let mut unknown = Phone::bind(harness.phone("127.0.0.3", "999", &domain, "kauri7Tui42x")).await;
    let mut wrong = Phone::bind(harness.phone("127.0.0.3", "102", &domain, "wrong9Guess1")).await;
    let unknown_reply = unknown.register_contact("desk", 300).await;
    let wrong_reply = wrong.register_contact("desk", 300).await;
    assert_eq!(unknown_reply.status, 401, "{}", unknown_reply.text);
    assert_eq!(wrong_reply.status, 401, "{}", wrong_reply.text);
    assert_eq!(unknown_reply.header_names(), wrong_reply.header_names());
    assert_eq!(
        unknown_reply.headers("WWW-Authenticate").len(),
        wrong_reply.headers("WWW-Authenticate").len()
    );
    assert_eq!(unknown_reply.challenge_param("realm"), Some(domain.clone()));
    assert_eq!(wrong_reply.challenge_param("realm"), Some(domain.clone()));
    assert_eq!(
        unknown_reply.challenge_param("algorithm"),
        wrong_reply.challenge_param("algorithm")
    );
    assert_eq!(
        unknown_reply.challenge_param("qop"),
        wrong_reply.challenge_param("qop")
    );
    assert_ne!(
        unknown_reply.challenge_param("nonce"),
        wrong_reply.challenge_param("nonce")
    );

    // Phones for 102 on 127.0.0.2 and for 101 on 127.0.0.4 are registered before the attack.
    let mut other_phone =
        Phone::bind(harness.phone("127.0.0.2", "102", &domain, "rimu5Kahu88q")).await;
    let before = other_phone.register_contact("desk", 300).await;
    assert_eq!(before.status, 200, "{}", before.text);
    let mut own_phone =
        Phone::bind(harness.phone("127.0.0.4", "101", &domain, "kauri7Tui42x")).await;
    let before = own_phone.register_contact("desk", 300).await;
    assert_eq!(before.status, 200, "{}", before.text);

    // Twenty wrong passwords for 101 from one source port of 127.0.0.1. The tenth failure
    // (sip_lockout_failures) still gets its challenge and starts the block.
    let mut guesser = Phone::bind(harness.phone("127.0.0.1", "101", &domain, "wrong9Guess1")).await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(guesser.register_contact("desk", 300).await.status);
    }
    assert!(
        statuses[..10].iter().all(|s| *s == 401),
        "wrong passwords up to the threshold get 401: {statuses:?}"
    );
    assert!(
        statuses[10..].iter().all(|s| *s == 403),
        "requests after the threshold get 403: {statuses:?}"
    );

    // The right password from another port of the blocked address is rejected.
    let mut right = Phone::bind(harness.phone("127.0.0.1", "101", &domain, "kauri7Tui42x")).await;
    let rejected = right.register_contact("desk", 300).await;
    assert_eq!(rejected.status, 403, "{}", rejected.text);
    let mut right_102 =
        Phone::bind(harness.phone("127.0.0.1", "102", &domain, "rimu5Kahu88q")).await;
    let rejected = right_102.register_contact("desk", 300).await;
    assert_eq!(
        rejected.status, 403,
        "the block covers the whole address: {}",
        rejected.text
    );

    // The phone on 127.0.0.2 keeps registering, and so does 101's own phone on 127.0.0.4: the
    // failures also block 101's address-of-record, but not for the sources it authenticated
    // from. A new address with 101's right password is refused while the block lasts.
    let refresh = other_phone.register_contact("desk", 300).await;
    assert_eq!(refresh.status, 200, "{}", refresh.text);
    let own_refresh = own_phone.register_contact("desk", 300).await;
    assert_eq!(own_refresh.status, 200, "{}", own_refresh.text);
    let mut newcomer =
        Phone::bind(harness.phone("127.0.0.6", "101", &domain, "kauri7Tui42x")).await;
    let refused = newcomer.register_contact("desk", 300).await;
    assert_eq!(refused.status, 403, "{}", refused.text);

    // Both blocks are in the account's list, and the source block in the white label's.
    let blocks = eventually(BACKGROUND_DEADLINE, "both blocks in the API", || async {
        let items = harness.blocks(&account).await;
        let source = items
            .iter()
            .any(|b| b["subject"] == "source" && b["value"] == "127.0.0.1");
        let extension = items
            .iter()
            .any(|b| b["subject"] == "aor" && b["value"] == aor);
        (source && extension).then_some(items)
    })
    .await;
    assert_eq!(
        blocks.len(),
        2,
        "only 127.0.0.1 and 101 are blocked: {blocks:?}"
    );
    let (status, all) = harness.api(Method::GET, "/api/v1/sip/blocks", None).await;
    assert_eq!(status, 200, "{all}");
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["subject"] == "source" && b["value"] == "127.0.0.1"),
        "{all}"
    );

    // Lifting the blocks lets the right password in again once the service has read the
    // change feed.
    for block in &blocks {
        let path = format!(
            "/api/v1/customers/{account}/sip/blocks/{}",
            block["id"].as_str().unwrap()
        );
        let (status, body) = harness.api(Method::DELETE, &path, None).await;
        assert_eq!(status, 204, "{body}");
    }
    let started = Instant::now();
    let accepted = loop {
        let reply = right.register_contact("desk", 300).await;
        if reply.status == 200 {
            break reply;
        }
        assert!(
            started.elapsed() < BACKGROUND_DEADLINE,
            "the right password was still rejected after the blocks were lifted: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        accepted.headers("Contact").len() >= 2,
        "the guessing address's phone joins 101's phone on 127.0.0.4: {}",
        accepted.text
    );
    assert!(harness.blocks(&account).await.is_empty());
}

#[tokio::test]
async fn deleted_extension_cannot_register() {
    let harness = Harness::start().await;
    let account = harness.customer("Kauri Joinery").await;
    let id = harness.extension(&account, "101", "kauri7Tui42x").await;
    // A second extension keeps the domain served after 101 goes.
    harness.extension(&account, "102", "rimu5Kahu88q").await;
    let domain = harness.domain(&account).await;
    harness
        .wait_for_credentials(&domain, "102", "rimu5Kahu88q")
        .await;
    let aor = format!("sip:101@{domain}");
    let mut phone = Phone::bind(harness.phone("127.0.0.1", "101", &domain, "kauri7Tui42x")).await;
    let registered = phone.register_contact("desk", 300).await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    harness
        .registrations_when(&account, "101's binding", |items| {
            !bindings_of(items, &aor).is_empty()
        })
        .await;

    let path = format!("/api/v1/customers/{account}/extensions/{id}");
    let (status, body) = harness.api(Method::DELETE, &path, None).await;
    assert_eq!(status, 204, "{body}");

    let started = Instant::now();
    let rejected = loop {
        let reply = phone.register_contact("desk", 300).await;
        if reply.status != 200 {
            break reply;
        }
        assert!(
            started.elapsed() < BACKGROUND_DEADLINE,
            "the deleted extension still registers"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(rejected.status, 401, "{}", rejected.text);
    harness
        .registrations_when(&account, "101's binding to go", |items| {
            bindings_of(items, &aor).is_empty()
        })
        .await;
}

#[tokio::test]
async fn baresip_stays_registered_across_refresh() {
    let baresip = peer_binary("baresip", "baresip");
    let modules = Path::new("/usr/lib/baresip/modules");
    assert!(
        modules.join("account.so").is_file(),
        "baresip's account module is not in {}: install the Debian package baresip",
        modules.display()
    );
    let harness = Harness::start_with(|settings| settings.sip_min_expires_secs = 10).await;
    let account = harness.customer("Kauri Joinery").await;
    harness.extension(&account, "101", "kauri7Tui42x").await;
    let domain = harness.domain(&account).await;
    harness
        .wait_for_credentials(&domain, "101", "kauri7Tui42x")
        .await;
    // The wait may have failed while the credentials were on their way to the service.
    let failures_before = harness.metric("tandem_sip_auth_failures_total");
    let aor = format!("sip:101@{domain}");

    // baresip's DNS server is a socket of this test that never answers, so no lookup can leave
    // the machine.
    let dns = UdpSocket::bind("127.0.0.1:0").await.expect("DNS socket");
    // With a fixed port, baresip listens on UDP and TCP on it and on TCP on the next one, and
    // exits at start if any of them is taken, even by a closed connection in TIME_WAIT. With
    // port 0 the system chooses a free port for each.
    let config_dir = harness.dir.join("baresip");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config"),
        format!(
            "poll_method\tepoll\n\
             sip_listen\t127.0.0.1:0\n\
             dns_server\t{}\n\
             net_interface\t127.0.0.1\n\
             module_path\t{}\n\
             module_tmp\taccount.so\n",
            dns.local_addr().unwrap(),
            modules.display()
        ),
    )
    .unwrap();
    std::fs::write(
        config_dir.join("accounts"),
        format!(
            "<sip:101@{domain}>;auth_pass=kauri7Tui42x;outbound=\"sip:{}\";regint=10\n",
            harness.server
        ),
    )
    .unwrap();
    let mut command = Command::new(baresip);
    command.arg("-f").arg(&config_dir).args(["-s", "-t", "60"]);
    let mut process = PeerProcess::start("baresip", command, &harness.dir);

    let started = Instant::now();
    let first = loop {
        let items = harness.registrations(&account).await;
        if !bindings_of(&items, &aor).is_empty() {
            break items;
        }
        if let Some(status) = process.child.try_wait().expect("baresip's status") {
            panic!("baresip exited with {status}:\n{}", process.output());
        }
        assert!(
            started.elapsed() < BACKGROUND_DEADLINE,
            "timed out waiting for baresip's binding:\n{}",
            process.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let binding = bindings_of(&first, &aor)[0].clone();
    // baresip's SIP trace names the address each request left from.
    let output = process.output();
    let server = harness.server.to_string();
    let sent_from = output
        .lines()
        .find_map(|line| {
            let (from, to) = line.strip_prefix("UDP ")?.split_once(" -> ")?;
            (to.trim() == server).then_some(from)
        })
        .unwrap_or_else(|| panic!("no request to the service in baresip's trace:\n{output}"));
    assert!(sent_from.starts_with("127.0.0.1:"), "{sent_from}");
    assert_eq!(binding["source"], sent_from, "{output}");
    assert!(
        binding["user_agent"].as_str().unwrap().contains("baresip"),
        "{binding}"
    );
    let registers_before = harness.metric("tandem_sip_requests_total{method=\"REGISTER\"}");

    // baresip refreshes before its 10 s registration lapses: the same contact's expiry moves
    // forward.
    let refreshed = eventually(Duration::from_secs(25), "baresip's refresh", || async {
        let items = harness.registrations(&account).await;
        let later = bindings_of(&items, &aor)
            .into_iter()
            .find(|b| b["expires_at"].as_str() > binding["expires_at"].as_str())
            .cloned();
        later
    })
    .await;
    assert_eq!(
        refreshed["contact"],
        binding["contact"],
        "{}",
        process.output()
    );
    assert_eq!(refreshed["source"], binding["source"]);
    assert_eq!(
        bindings_of(&harness.registrations(&account).await, &aor).len(),
        1
    );
    // The refresh was a REGISTER answered with 401 and one answered with 200.
    assert!(
        harness.metric("tandem_sip_requests_total{method=\"REGISTER\"}") >= registers_before + 2
    );
    assert_eq!(
        harness.metric("tandem_sip_auth_failures_total"),
        failures_before
    );
    let mut query = [0u8; 512];
    assert!(
        dns.try_recv_from(&mut query).is_err(),
        "baresip sent a DNS query, so its configuration reaches beyond the service"
    );
}

/// Arguments that keep a sipvicious tool on one loopback socket: bound to `bind_ip` on a port
/// of its own, sending only to the service's UDP address, never asking for the host's address
/// or reporting errors to the tool's author.
fn sipvicious_target(harness: &Harness, bind_ip: &str) -> Vec<String> {
    vec![
        "-b".into(),
        bind_ip.into(),
        "-x".into(),
        bind_ip.into(),
        "-P".into(),
        free_udp_port(bind_ip).to_string(),
        format!("udp://{}", harness.server),
    ]
}

#[tokio::test]
async fn svwar_finds_no_extensions() {
    let svwar = peer_binary("svwar", "sipvicious");
    let harness = Harness::start().await;
    let account = harness.customer("Kauri Joinery").await;
    for (number, password) in [("101", "kauri7Tui42x"), ("105", "rimu5Kahu88q")] {
        harness.extension(&account, number, password).await;
    }
    let domain = harness.domain(&account).await;
    harness
        .wait_for_credentials(&domain, "105", "rimu5Kahu88q")
        .await;

    let registers_before = harness.metric("tandem_sip_requests_total{method=\"REGISTER\"}");
    // --force scans although an unknown user's first response is a challenge, which is what
    // stops svwar at once otherwise.
    let mut command = Command::new(svwar);
    command
        .env("PYTHONUNBUFFERED", "1")
        .args(["--force", "-e", "101", "--domain", &domain])
        .args(["--maximumtime", "3"])
        .args(sipvicious_target(&harness, "127.0.0.1"));
    let mut process = PeerProcess::start("svwar", command, &harness.dir);
    let status = process.wait(Duration::from_secs(30)).await;
    let output = process.output();
    assert!(status.is_some(), "svwar did not finish:\n{output}");
    assert!(output.contains("found nothing"), "{output}");
    assert!(!output.contains("exists"), "{output}");
    // svwar's probe for a random user and its REGISTER for 101 both reached the service.
    assert!(
        harness.metric("tandem_sip_requests_total{method=\"REGISTER\"}") >= registers_before + 2,
        "{output}"
    );
}

#[tokio::test]
async fn svcrack_stopped_by_lockout() {
    let svcrack = peer_binary("svcrack", "sipvicious");
    let harness = Harness::start().await;
    let account = harness.customer("Kauri Joinery").await;
    harness.extension(&account, "101", "kauri7Tui42x").await;
    let domain = harness.domain(&account).await;
    harness
        .wait_for_credentials(&domain, "101", "kauri7Tui42x")
        .await;
    let crack = |dictionary: &Path, bind_ip: &str| {
        let mut command = Command::new(&svcrack);
        command
            .env("PYTHONUNBUFFERED", "1")
            .args(["-u", "101", "--domain", &domain, "--maximumtime", "3"])
            .arg("-d")
            .arg(dictionary)
            .args(sipvicious_target(&harness, bind_ip));
        command
    };

    // Control: with the right password first, svcrack finds it, so the tool works here.
    let control = harness.dir.join("control.txt");
    std::fs::write(&control, "kauri7Tui42x\n").unwrap();
    let mut process = PeerProcess::start(
        "svcrack-control",
        crack(&control, "127.0.0.3"),
        &harness.dir,
    );
    process.wait(Duration::from_secs(30)).await;
    let output = process.output();
    assert!(output.contains("kauri7Tui42x"), "{output}");

    // Fifteen wrong passwords, then the right one: the source is blocked before it is tried.
    let dictionary = harness.dir.join("dictionary.txt");
    let mut words: Vec<String> = (1..=15).map(|n| format!("guess{n}Pass")).collect();
    words.push("kauri7Tui42x".into());
    std::fs::write(&dictionary, words.join("\n") + "\n").unwrap();
    let failures_before = harness.metric("tandem_sip_auth_failures_total");
    let successes_before = harness.metric("tandem_sip_responses_total{class=\"2xx\"}");
    let mut process = PeerProcess::start("svcrack", crack(&dictionary, "127.0.0.1"), &harness.dir);
    eventually(BACKGROUND_DEADLINE, "svcrack's source block", || async {
        harness
            .blocks(&account)
            .await
            .iter()
            .any(|b| b["subject"] == "source" && b["value"] == "127.0.0.1")
            .then_some(())
    })
    .await;
    // svcrack 0.3.3 does not give up while it receives responses: blocked, it keeps sending
    // REGISTERs without credentials, each answered 403, so it is stopped here.
    process.wait(Duration::from_secs(3)).await;
    let output = process.output();
    assert!(!output.contains("kauri7Tui42x"), "{output}");
    assert_eq!(
        harness.metric("tandem_sip_responses_total{class=\"2xx\"}"),
        successes_before,
        "no REGISTER succeeded during the attack: {output}"
    );
    assert_eq!(
        harness.metric("tandem_sip_auth_failures_total") - failures_before,
        10,
        "only the failures up to the threshold reached the digest check: {output}"
    );
    let mut right = Phone::bind(harness.phone("127.0.0.1", "101", &domain, "kauri7Tui42x")).await;
    let rejected = right.register_contact("desk", 300).await;
    assert_eq!(rejected.status, 403, "{}", rejected.text);
}
