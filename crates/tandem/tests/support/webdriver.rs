//! A minimal W3C WebDriver client over `reqwest` that drives Debian's headless Chromium through
//! a ChromeDriver child process.
//!
//! The browser resolves only loopback names: `localhost`, `*.localhost` and `127.0.0.1` map to
//! 127.0.0.1 and every other host name or address fails with `ERR_NAME_NOT_RESOLVED`, so a URL
//! naming any other host fails instead of reaching another machine.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};

/// The ChromeDriver binary of Debian's `chromium-driver` package.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The Chromium launcher of Debian's `chromium` package.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's host resolver rules. Chromium applies the first rule whose pattern matches, so
/// the catch-all `~NOTFOUND` comes last. The rules also apply to IP literals, so without the
/// `127.0.0.1` rule even the loopback address would fail to resolve.
pub const HOST_RESOLVER_RULES: &str = "MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1, \
                                       MAP 127.0.0.1 127.0.0.1, MAP * ~NOTFOUND";

/// The time each WebDriver command may take, page loads included.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The time ChromeDriver may take to start listening.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The time a `find` keeps retrying while the element is not on the page yet.
const IMPLICIT_WAIT_MS: u64 = 5_000;

/// An error returned by ChromeDriver: the W3C error code and its message.
#[derive(Debug, Clone)]
pub struct WebDriverError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A ChromeDriver process with one Chromium session.
///
/// Call [`Browser::quit`] at the end of a test. If the test panics first, dropping the value
/// deletes the session (which closes Chromium), kills ChromeDriver and removes the profile.
pub struct Browser {
    http: reqwest::Client,
    driver_url: String,
    driver_port: u16,
    session_id: Option<String>,
    driver: Child,
    work_dir: PathBuf,
}

impl Browser {
    /// Starts ChromeDriver on a free loopback port and opens a headless Chromium session with
    /// a fresh profile and a 1280×900 window.
    ///
    /// Panics when ChromeDriver or Chromium is not installed, naming the packages to install.
    pub async fn start() -> Browser {
        for binary in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing, and the browser tests need it. Install Debian's chromium \
                 and chromium-driver packages (apt-get install chromium chromium-driver), or run \
                 scripts/test.sh, which installs them."
            );
        }

        let work_dir = std::env::temp_dir().join(format!("tandem-browser-{}", random_suffix()));
        let profile_dir = work_dir.join("profile");
        std::fs::create_dir_all(&profile_dir).expect("browser profile folder is created");
        let log_path = work_dir.join("chromedriver.log");

        let driver_port = free_loopback_port();
        // Without --allowed-ips ChromeDriver listens on 127.0.0.1 and ::1 only. With it, even
        // set to 127.0.0.1, ChromeDriver 156 listens on every interface and filters callers.
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .arg(format!("--log-path={}", log_path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {CHROMEDRIVER}: {error}"));

        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(COMMAND_TIMEOUT)
            .build()
            .expect("HTTP client for ChromeDriver");
        let mut browser = Browser {
            http,
            driver_url: format!("http://127.0.0.1:{driver_port}"),
            driver_port,
            session_id: None,
            driver,
            work_dir,
        };
        browser.wait_until_ready(&log_path).await;
        browser.new_session(&profile_dir).await;
        browser
    }

    async fn wait_until_ready(&mut self, log_path: &Path) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!(
                    "{CHROMEDRIVER} exited with {status} while starting. The end of its log:\n{}",
                    log_tail(log_path)
                );
            }
            let status = self
                .http
                .get(format!("{}/status", self.driver_url))
                .send()
                .await;
            if let Ok(response) = status {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if body["value"]["ready"] == json!(true) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{CHROMEDRIVER} timed out starting on port {} after {STARTUP_TIMEOUT:?}. The end \
                 of its log:\n{}",
                self.driver_port,
                log_tail(log_path)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn new_session(&mut self, profile_dir: &Path) {
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--disable-default-apps".to_string(),
            // Ignore any proxy set in the environment, so requests go straight to loopback.
            "--no-proxy-server".to_string(),
            "--window-size=1280,900".to_string(),
            format!("--user-data-dir={}", profile_dir.display()),
            format!("--host-resolver-rules={HOST_RESOLVER_RULES}"),
        ];
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": {"implicit": IMPLICIT_WAIT_MS, "pageLoad": 30_000, "script": 10_000},
                    "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
                }
            }
        });
        let value = self
            .send(reqwest::Method::POST, "/session".into(), Some(capabilities))
            .await
            .unwrap_or_else(|error| panic!("new WebDriver session failed: {error}"));
        let id = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("new session response has no sessionId: {value}"));
        self.session_id = Some(id.to_string());
    }

    fn session_path(&self, rest: &str) -> String {
        let id = self.session_id.as_deref().expect("session is open");
        format!("/session/{id}{rest}")
    }

    /// Sends one WebDriver command and returns the `value` of its response.
    async fn send(
        &self,
        method: reqwest::Method,
        path: String,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.driver_url));
        // POST commands need a JSON body even when they take no parameters.
        if method == reqwest::Method::POST {
            request = request.json(&body.unwrap_or_else(|| json!({})));
        }
        let response = request.send().await.map_err(|error| WebDriverError {
            code: "request failed".into(),
            message: format!("{method} {path}: {error}"),
        })?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|error| WebDriverError {
            code: "invalid response".into(),
            message: format!("{method} {path}: {error}"),
        })?;
        let value = body.get("value").cloned().unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        Err(WebDriverError {
            code: value["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_string(),
            message: value["message"].as_str().unwrap_or_default().to_string(),
        })
    }

    async fn command(&self, method: reqwest::Method, rest: &str, body: Option<Value>) -> Value {
        let path = self.session_path(rest);
        self.send(method.clone(), path, body)
            .await
            .unwrap_or_else(|error| panic!("WebDriver {method} {rest} failed: {error}"))
    }

    /// Opens `url` and waits for the page to load. Returns ChromeDriver's error when the page
    /// cannot be loaded, such as `net::ERR_NAME_NOT_RESOLVED`.
    pub async fn try_navigate(&self, url: &str) -> Result<(), WebDriverError> {
        let path = self.session_path("/url");
        self.send(reqwest::Method::POST, path, Some(json!({"url": url})))
            .await
            .map(|_| ())
    }

    /// Opens `url` and waits for the page to load.
    pub async fn navigate(&self, url: &str) {
        self.try_navigate(url)
            .await
            .unwrap_or_else(|error| panic!("navigation to {url} failed: {error}"));
    }

    /// Returns the URL of the page shown.
    pub async fn current_url(&self) -> String {
        let value = self.command(reqwest::Method::GET, "/url", None).await;
        value.as_str().expect("URL is a string").to_string()
    }

    /// Returns the page's title.
    pub async fn title(&self) -> String {
        let value = self.command(reqwest::Method::GET, "/title", None).await;
        value.as_str().expect("title is a string").to_string()
    }

    /// Returns the first element matching the CSS `selector`, waiting up to the implicit wait
    /// for it to appear. Panics when there is none.
    pub async fn find(&self, selector: &str) -> Element<'_> {
        let body = json!({"using": "css selector", "value": selector});
        let path = self.session_path("/element");
        let value = self
            .send(reqwest::Method::POST, path, Some(body))
            .await
            .unwrap_or_else(|error| panic!("no element matches {selector:?}: {error}"));
        Element {
            browser: self,
            id: element_id(&value),
            selector: selector.to_string(),
        }
    }

    /// Returns every element matching the CSS `selector`, possibly none.
    pub async fn find_all(&self, selector: &str) -> Vec<Element<'_>> {
        let body = json!({"using": "css selector", "value": selector});
        let value = self
            .command(reqwest::Method::POST, "/elements", Some(body))
            .await;
        value
            .as_array()
            .expect("elements are a list")
            .iter()
            .map(|reference| Element {
                browser: self,
                id: element_id(reference),
                selector: selector.to_string(),
            })
            .collect()
    }

    /// Runs `script` in the page and returns its result, for measuring the page.
    pub async fn execute(&self, script: &str) -> Value {
        let body = json!({"script": script, "args": []});
        self.command(reqwest::Method::POST, "/execute/sync", Some(body))
            .await
    }

    /// Sets the size of the browser window in CSS pixels.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        let body = json!({"width": width, "height": height});
        self.command(reqwest::Method::POST, "/window/rect", Some(body))
            .await;
    }

    /// Saves a PNG screenshot of the visible part of the page to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let value = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let encoded = value.as_str().expect("screenshot is a base64 string");
        let png = decode_base64(encoded).expect("screenshot is valid base64");
        std::fs::write(path, png)
            .unwrap_or_else(|error| panic!("failed to write {}: {error}", path.display()));
    }

    /// Saves a PNG screenshot of the whole page to `path`: the window is made tall enough for
    /// the page, at most 8,000 pixels, for the screenshot, then set back to 1280×900.
    pub async fn screenshot_full_page(&self, path: &Path) {
        // The window's height includes the browser's own toolbar, even when headless.
        let sizes = self
            .execute(
                "return [document.documentElement.scrollHeight, \
                 window.outerHeight - window.innerHeight];",
            )
            .await;
        let page_height = sizes[0].as_u64().expect("page height is a number");
        let toolbar_height = sizes[1].as_u64().unwrap_or(0);
        let height = u32::try_from(page_height + toolbar_height)
            .unwrap_or(u32::MAX)
            .clamp(900, 8_000);
        self.set_window_size(1280, height).await;
        self.screenshot(path).await;
        self.set_window_size(1280, 900).await;
    }

    /// Deletes the session, which closes Chromium, then stops ChromeDriver.
    pub async fn quit(mut self) {
        if let Some(id) = self.session_id.take() {
            let result = self
                .send(reqwest::Method::DELETE, format!("/session/{id}"), None)
                .await;
            if let Err(error) = result {
                eprintln!("deleting WebDriver session {id} failed: {error}");
            }
        }
        // Drop stops ChromeDriver and removes the profile.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(id) = self.session_id.take() {
            delete_session_blocking(self.driver_port, &id);
        }
        if let Err(error) = self.driver.kill() {
            eprintln!(
                "failed to stop ChromeDriver (pid {}): {error}",
                self.driver.id()
            );
        }
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

/// Deletes a session with a plain HTTP/1.1 request, for `Drop`, which cannot await.
fn delete_session_blocking(port: u16, session_id: &str) {
    let attempt = || -> std::io::Result<()> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        write!(
            stream,
            "DELETE /session/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        // ChromeDriver responds once Chromium has closed. It may keep the connection open, so
        // the end of the headers is enough.
        let mut response = Vec::new();
        let mut buffer = [0u8; 1024];
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = stream.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            response.extend_from_slice(&buffer[..read]);
        }
        Ok(())
    };
    if let Err(error) = attempt() {
        eprintln!("deleting WebDriver session {session_id} failed: {error}");
    }
}

/// An element of the page, found by a CSS selector.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
    selector: String,
}

impl Element<'_> {
    async fn command(&self, method: reqwest::Method, rest: &str, body: Option<Value>) -> Value {
        let path = self
            .browser
            .session_path(&format!("/element/{}{rest}", self.id));
        self.browser
            .send(method.clone(), path, body)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "WebDriver {method} {rest} on {:?} failed: {error}",
                    self.selector
                )
            })
    }

    /// Types `text` into the element after what it already contains.
    pub async fn send_keys(&self, text: &str) {
        let body = json!({"text": text});
        self.command(reqwest::Method::POST, "/value", Some(body))
            .await;
    }

    /// Empties a text field.
    pub async fn clear(&self) {
        self.command(reqwest::Method::POST, "/clear", None).await;
    }

    /// Clicks the element. ChromeDriver may return before a page load that the click starts, so
    /// links and submit buttons need [`Element::click_and_wait_for_page`].
    pub async fn click(&self) {
        self.command(reqwest::Method::POST, "/click", None).await;
    }

    /// Clicks a link or submit button and waits until the browser has left the current page,
    /// then for the new page to load.
    ///
    /// ChromeDriver's click alone may return before a form submission has started navigating,
    /// and a form can post to the URL it was shown at, so the wait is for the old document's
    /// root element to go stale.
    pub async fn click_and_wait_for_page(&self) {
        let old_root = self.browser.find("html").await;
        self.click().await;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let path = self
                .browser
                .session_path(&format!("/element/{}/name", old_root.id));
            match self.browser.send(reqwest::Method::GET, path, None).await {
                Err(error) if error.code == "stale element reference" => break,
                // While the new document replaces the old one, ChromeDriver may report the old
                // root as detached instead of stale: the page has changed either way.
                Err(error) if error.message.contains("does not belong to the document") => break,
                Err(error) => panic!(
                    "waiting for a new page after clicking {:?} failed: {error}",
                    self.selector
                ),
                Ok(_) => {}
            }
            assert!(
                Instant::now() < deadline,
                "clicking {:?} did not open a new page within {COMMAND_TIMEOUT:?}",
                self.selector
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Commands wait for a pending page load, so reading the ready state waits for the page.
        self.browser.execute("return document.readyState;").await;
    }

    /// Returns the element's rendered text.
    pub async fn text(&self) -> String {
        let value = self.command(reqwest::Method::GET, "/text", None).await;
        value.as_str().expect("text is a string").to_string()
    }

    /// Returns a DOM property of the element as a string, such as an input's current `value`,
    /// or `None` when the property is null or absent.
    pub async fn property(&self, name: &str) -> Option<String> {
        let value = self
            .command(reqwest::Method::GET, &format!("/property/{name}"), None)
            .await;
        match value {
            Value::Null => None,
            Value::String(text) => Some(text),
            other => Some(other.to_string()),
        }
    }

    /// Returns an HTML attribute of the element, or `None` when it is absent.
    pub async fn attribute(&self, name: &str) -> Option<String> {
        let value = self
            .command(reqwest::Method::GET, &format!("/attribute/{name}"), None)
            .await;
        value.as_str().map(str::to_string)
    }

    /// Returns whether a checkbox is ticked or an option is chosen.
    pub async fn is_selected(&self) -> bool {
        let value = self.command(reqwest::Method::GET, "/selected", None).await;
        value.as_bool().expect("selected is a boolean")
    }
}

/// Returns the last 4,000 bytes of ChromeDriver's log, because `Drop` removes the file.
fn log_tail(path: &Path) -> String {
    let log = std::fs::read(path).unwrap_or_default();
    let start = log.len().saturating_sub(4_000);
    String::from_utf8_lossy(&log[start..]).into_owned()
}

fn element_id(reference: &Value) -> String {
    reference[ELEMENT_KEY]
        .as_str()
        .unwrap_or_else(|| panic!("not an element reference: {reference}"))
        .to_string()
}

/// Returns a loopback port that was free a moment ago. Another process could take it before
/// ChromeDriver binds it, which would make startup fail with a clear message.
fn free_loopback_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("bound address").port()
}

fn random_suffix() -> String {
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.gen_range(0..26)))
        .collect()
}

/// Decodes standard base64 with padding, as WebDriver screenshots use. The workspace's `base64`
/// crate is not a dev-dependency of this crate.
pub fn decode_base64(encoded: &str) -> Option<Vec<u8>> {
    fn sextet(byte: u8) -> Option<u32> {
        match byte {
            b'A'..=b'Z' => Some(u32::from(byte - b'A')),
            b'a'..=b'z' => Some(u32::from(byte - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(byte - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }

    let bytes: Vec<u8> = encoded
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut output = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let padding = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 {
            return None;
        }
        let mut group = 0u32;
        for &byte in &chunk[..4 - padding] {
            group = (group << 6) | sextet(byte)?;
        }
        group <<= 6 * padding as u32;
        let decoded = [(group >> 16) as u8, (group >> 8) as u8, group as u8];
        output.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(output)
}
