//! End-to-end tests over real sockets on 127.0.0.1: a REGISTER exchange over
//! UDP with a client written here, retransmission handling, TCP framing, and
//! torture messages whose top Via is first pointed at the test's own socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tandem_sip::auth::{authorization, ClientCredentials, DigestAuthenticator, DigestConfig};
use tandem_sip::msg::{parse_response, Contacts, Framing, HeaderName, Response};
use tandem_sip::registrar::{
    Credentials, MemoryLocationStore, Registrar, RegistrarConfig, StoredCredential,
};
use tandem_sip::transport::{serve, Listeners, TransportConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;

struct Users(HashMap<String, StoredCredential>);

impl Credentials for Users {
    fn lookup(&self, realm: &str, user: &str) -> Option<StoredCredential> {
        self.0.get(&format!("{user}@{realm}")).cloned()
    }
}

struct Server {
    udp: SocketAddr,
    tcp: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

async fn start() -> Server {
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let config = TransportConfig {
        udp: Some(loopback),
        tcp: Some(loopback),
        ..TransportConfig::default()
    };
    let listeners = Listeners::bind(&config).unwrap();
    let (udp, tcp) = (listeners.udp_addr().unwrap(), listeners.tcp_addr().unwrap());

    let mut users = HashMap::new();
    users.insert(
        "101@a.example".to_owned(),
        StoredCredential::from_password("101", "a.example", "s3cret"),
    );
    let auth = DigestAuthenticator::with_random_secret(DigestConfig::default());
    let registrar = Registrar::new(
        RegistrarConfig::default(),
        Users(users),
        MemoryLocationStore::new(),
        auth,
    );
    let (stop, stopped) = oneshot::channel();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(serve(listeners, config, registrar, shutdown));
    Server {
        udp,
        tcp,
        stop: Some(stop),
        task,
    }
}

fn register(client: SocketAddr, branch: &str, cseq: u32, extra: &str) -> Vec<u8> {
    format!(
        "REGISTER sip:a.example SIP/2.0\r\n\
Via: SIP/2.0/UDP {client};rport;branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: <sip:101@a.example>;tag=phone1\r\n\
To: <sip:101@a.example>\r\n\
Call-ID: udp-test-1\r\n\
CSeq: {cseq} REGISTER\r\n\
Contact: <sip:101@{client}>\r\n\
Expires: 300\r\n\
{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

async fn exchange(socket: &UdpSocket, server: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    socket.send_to(bytes, server).await.unwrap();
    let mut buf = vec![0u8; 65_536];
    let (len, from) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("a response within 5 s")
        .unwrap();
    assert_eq!(from, server, "the response comes from the server's socket");
    buf.truncate(len);
    buf
}

fn parsed(bytes: &[u8]) -> Response<'_> {
    parse_response(bytes, Framing::Datagram).unwrap()
}

#[tokio::test]
async fn udp_register_challenge_then_binding() {
    let server = start().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = socket.local_addr().unwrap();

    let first = exchange(&socket, server.udp, &register(me, "z9hG4bKudp1", 1, "")).await;
    let challenge = parsed(&first);
    assert_eq!(challenge.status, 401);
    assert_eq!(challenge.top_via().rport, Some(Some(me.port())));
    assert_eq!(challenge.top_via().received, Some(me.ip()));
    let value = challenge
        .headers
        .auth(HeaderName::WwwAuthenticate)
        .next()
        .unwrap();
    let credentials = ClientCredentials {
        username: "101",
        password: "s3cret",
    };
    let answer = authorization(
        value,
        credentials,
        "REGISTER",
        "sip:a.example",
        "0a4f113b",
        1,
    )
    .unwrap();

    let extra = format!("Authorization: {answer}\r\n");
    let second = exchange(&socket, server.udp, &register(me, "z9hG4bKudp2", 2, &extra)).await;
    let ok = parsed(&second);
    assert_eq!(ok.status, 200);
    let Some(Contacts::List(bound)) = ok.headers.contacts() else {
        panic!("no Contact in 200")
    };
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].uri.to_string(), format!("sip:101@{me}"));
    assert_eq!(bound[0].params.value("expires"), Some("300"));
    server.stop().await;
}

#[tokio::test]
async fn udp_retransmitted_request_gets_same_response() {
    let server = start().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = socket.local_addr().unwrap();
    let request = register(me, "z9hG4bKretx", 1, "");
    let first = exchange(&socket, server.udp, &request).await;
    let again = exchange(&socket, server.udp, &request).await;
    assert_eq!(
        first, again,
        "the transaction answers a copy with its last response"
    );
    server.stop().await;
}

#[tokio::test]
async fn udp_malformed_request_gets_400_at_source() {
    let server = start().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = socket.local_addr().unwrap();
    let bad = String::from_utf8(register(me, "z9hG4bKbad", 1, ""))
        .unwrap()
        .replace("CSeq: 1 REGISTER", "CSeq: 99999999999 REGISTER");
    let response = exchange(&socket, server.udp, bad.as_bytes()).await;
    assert!(response.starts_with(b"SIP/2.0 400 Invalid CSeq Header\r\n"));
    server.stop().await;
}

/// Replaces the first Via line with one naming `me`, so that nothing can be
/// sent to the documentation addresses in the corpus.
fn point_top_via_at(message: &[u8], me: SocketAddr, branch: &str) -> Vec<u8> {
    let split = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let (head, body) = message.split_at(split);
    let head = String::from_utf8_lossy(head);
    let mut lines: Vec<String> = Vec::new();
    let mut replaced = false;
    let mut skipping_fold = false;
    for line in head.split("\r\n") {
        if skipping_fold && line.starts_with([' ', '\t']) {
            continue;
        }
        skipping_fold = false;
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !replaced && (name == "via" || name == "v") {
            lines.push(format!("Via: SIP/2.0/UDP {me};branch={branch}"));
            replaced = true;
            skipping_fold = true;
            continue;
        }
        lines.push(line.to_owned());
    }
    assert!(replaced, "the message has a Via");
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test]
async fn udp_corpus_requests_get_documented_codes() {
    let server = start().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = socket.local_addr().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475");
    let cases = [
        ("unkscm", "416"),
        ("novelsc", "416"),
        ("bext01", "420"),
        ("mismatch01", "400"),
        ("badvers", "505"),
        ("insuf", "400"),
        ("zeromf", "200"),
        ("lwsdisp", "200"),
        ("intmeth", "501"),
    ];
    for (index, (name, code)) in cases.into_iter().enumerate() {
        let raw = std::fs::read(dir.join(format!("{name}.dat"))).unwrap();
        let message = point_top_via_at(&raw, me, &format!("z9hG4bKcorpus{index}"));
        let response = exchange(&socket, server.udp, &message).await;
        let expected = format!("SIP/2.0 {code} ");
        assert!(
            response.starts_with(expected.as_bytes()),
            "{name}: got {}",
            String::from_utf8_lossy(&response[..response.len().min(60)])
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn tcp_options_framed_by_content_length() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.tcp).await.unwrap();
    let me = stream.local_addr().unwrap();
    let options = format!(
        "OPTIONS sip:a.example SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bKtcp1\r\nMax-Forwards: 70\r\nFrom: <sip:101@a.example>;tag=t\r\nTo: <sip:a.example>\r\nCall-ID: tcp-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    // Two messages in one write, the second split in half, must come out as two.
    let second = options
        .replace("z9hG4bKtcp1", "z9hG4bKtcp2")
        .replace("CSeq: 1", "CSeq: 2");
    let (half_a, half_b) = second.split_at(40);
    stream
        .write_all(format!("{options}{half_a}").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(half_b.as_bytes()).await.unwrap();

    let mut received = Vec::new();
    let mut buf = vec![0u8; 8192];
    while received
        .windows(12)
        .filter(|w| *w == b"SIP/2.0 200 ")
        .count()
        < 2
    {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("responses within 5 s")
            .unwrap();
        assert!(read > 0, "connection closed early");
        received.extend_from_slice(&buf[..read]);
    }
    let text = String::from_utf8(received).unwrap();
    assert!(text.contains("CSeq: 1 OPTIONS"));
    assert!(text.contains("CSeq: 2 OPTIONS"));
    assert!(text.contains("Allow: REGISTER, OPTIONS"));
    server.stop().await;
}
