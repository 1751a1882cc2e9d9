//! A small SMTP server for tests, on 127.0.0.1 and a random port. It implements enough of
//! RFC 5321 for lettre: EHLO/HELO, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP and
//! QUIT. It keeps every message it accepts and can reject messages with a reply of the test's
//! choosing. It can be stopped, so that connections are refused, and started again on the same
//! port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, with CRLF line ends.
    pub data: String,
}

#[derive(Default)]
struct Shared {
    received: Vec<ReceivedMail>,
    /// When set, the reply to the end of DATA instead of `250`, such as `550 5.1.1 no such user`.
    data_reply: Option<String>,
}

/// A running (or stopped) test SMTP server.
pub struct SmtpServer {
    address: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Starts a server on 127.0.0.1 with a port chosen by the system.
    pub async fn start() -> SmtpServer {
        let mut server = SmtpServer {
            address: "127.0.0.1:0".parse().expect("address"),
            shared: Arc::default(),
            task: None,
        };
        server.listen().await;
        server
    }

    async fn listen(&mut self) {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(self.address).expect("bind the SMTP port");
        let listener = socket.listen(16).expect("listen");
        self.address = listener.local_addr().expect("local address");
        let shared = self.shared.clone();
        self.task = Some(tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                sessions.spawn(session(stream, shared.clone()));
            }
        }));
    }

    /// Returns the port the server listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Stops listening and drops open sessions; connections are refused until
    /// [`SmtpServer::restart`].
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.listen().await;
    }

    /// Makes the server reply to the end of DATA with `reply` (such as `451 4.3.0 try later`), or
    /// with `250` again when `None`.
    pub fn reply_to_data_with(&self, reply: Option<&str>) {
        self.shared.lock().unwrap().data_reply = reply.map(str::to_string);
    }

    /// Returns every message accepted so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.shared.lock().unwrap().received.clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn session(stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    if write
        .write_all(b"220 test.localhost ESMTP ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => "250-test.localhost\r\n250-8BITMIME\r\n250 SMTPUTF8".into(),
            "HELO" => "250 test.localhost".into(),
            "MAIL" => {
                mail_from = Some(angle_address(command));
                rcpt_to.clear();
                "250 2.1.0 OK".into()
            }
            "RCPT" if mail_from.is_some() => {
                rcpt_to.push(angle_address(command));
                "250 2.1.5 OK".into()
            }
            "RCPT" => "503 5.5.1 MAIL first".into(),
            "DATA" if !rcpt_to.is_empty() => {
                if write
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let Some(data) = read_data(&mut lines).await else {
                    return;
                };
                let mut shared = shared.lock().unwrap();
                let reply = match &shared.data_reply {
                    Some(reply) => reply.clone(),
                    None => {
                        shared.received.push(ReceivedMail {
                            mail_from: mail_from.take().unwrap_or_default(),
                            rcpt_to: std::mem::take(&mut rcpt_to),
                            data,
                        });
                        "250 2.0.0 queued".into()
                    }
                };
                mail_from = None;
                rcpt_to.clear();
                reply
            }
            "DATA" => "503 5.5.1 RCPT first".into(),
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                return;
            }
            _ => "502 5.5.2 command not implemented".into(),
        };
        if write
            .write_all(format!("{reply}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Extracts the address between angle brackets of `MAIL FROM:<a@b> …` or `RCPT TO:<a@b>`.
fn angle_address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_string())
        .unwrap_or_default()
}

/// Reads DATA up to the lone dot, removing the extra dot of lines that start with one.
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        if line == ".\r\n" || line == ".\n" {
            return Some(data);
        }
        let unstuffed = line.strip_prefix('.').unwrap_or(&line);
        data.push_str(unstuffed);
    }
}
