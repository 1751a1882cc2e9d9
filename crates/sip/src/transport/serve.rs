//! The serve loop. Each request is parsed and matched to a server transaction,
//! or starts a new one. The TU responds: the registrar for REGISTER, a fixed
//! response for other methods. The loop also runs the transaction timers.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use super::{tcp, udp, Inbound, Listeners, Peer, TransportConfig};
use crate::msg::{
    check_request, error_response, looks_like_response, parse_request, Framing, Method, Rejection,
    Request, ResponseBuilder,
};
use crate::registrar::{Credentials, LocationStore, Registrar};
use crate::transaction::{Action, ServerInvite, ServerKey, ServerNonInvite};

/// Methods this server handles; other methods get 405 or 501.
const ALLOW: &str = "REGISTER, OPTIONS";

/// How often lapsed bindings are purged from the location store.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

enum ServerTransaction {
    Invite(ServerInvite),
    NonInvite(ServerNonInvite),
}

impl ServerTransaction {
    fn next_deadline(&self) -> Option<Instant> {
        match self {
            ServerTransaction::Invite(tx) => tx.next_deadline(),
            ServerTransaction::NonInvite(tx) => tx.next_deadline(),
        }
    }

    fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        match self {
            ServerTransaction::Invite(tx) => tx.on_timer(now),
            ServerTransaction::NonInvite(tx) => tx.on_timer(now),
        }
    }
}

struct Entry {
    transaction: ServerTransaction,
    peer: Peer,
}

/// Serves SIP on `listeners` until `shutdown` completes.
pub async fn serve<C, L>(
    listeners: Listeners,
    config: TransportConfig,
    mut registrar: Registrar<C, L>,
    shutdown: impl Future<Output = ()>,
) where
    C: Credentials,
    L: LocationStore,
{
    let (inbound_tx, mut inbound) = mpsc::channel::<Inbound>(1024);
    let mut tasks = Vec::new();
    if let Some(socket) = listeners.udp {
        tasks.push(tokio::spawn(udp::receive(
            socket,
            config.max_message_size,
            inbound_tx.clone(),
        )));
    }
    if let Some(listener) = listeners.tcp {
        tasks.push(tokio::spawn(tcp::accept(
            listener,
            config.max_message_size,
            inbound_tx.clone(),
        )));
    }
    drop(inbound_tx);
    tracing::info!("SIP service started");

    let mut table: HashMap<ServerKey, Entry> = HashMap::new();
    let mut purge = tokio::time::interval(PURGE_INTERVAL);
    tokio::pin!(shutdown);
    loop {
        let deadline = table
            .values()
            .filter_map(|e| e.transaction.next_deadline())
            .min();
        let timer = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            received = inbound.recv() => match received {
                Some((bytes, peer)) => {
                    handle(&bytes, &peer, &config, &mut registrar, &mut table).await;
                }
                None => break,
            },
            () = timer => fire_timers(&mut table, Instant::now()).await,
            _ = purge.tick() => registrar.location_mut().purge_expired(SystemTime::now()),
        }
    }
    for task in tasks {
        task.abort();
    }
    tracing::info!("SIP service stopped");
}

async fn fire_timers(table: &mut HashMap<ServerKey, Entry>, now: Instant) {
    let due: Vec<ServerKey> = table
        .iter()
        .filter(|(_, e)| e.transaction.next_deadline().is_some_and(|at| at <= now))
        .map(|(key, _)| key.clone())
        .collect();
    for key in due {
        if let Some(entry) = table.get_mut(&key) {
            let actions = entry.transaction.on_timer(now);
            if execute(&actions, &entry.peer).await {
                table.remove(&key);
            }
        }
    }
}

/// Carries out `actions` and returns whether the transaction terminated.
async fn execute(actions: &[Action], peer: &Peer) -> bool {
    let mut terminated = false;
    for action in actions {
        match action {
            Action::Transmit(bytes) => peer.send(bytes.clone()).await,
            Action::Timeout => tracing::debug!(peer = %peer.addr(), "server transaction timed out"),
            Action::TransportError => tracing::debug!(peer = %peer.addr(), "transport error"),
            Action::Terminated => terminated = true,
            Action::PassToTu | Action::Schedule(..) => {}
        }
    }
    terminated
}

async fn handle<C: Credentials, L: LocationStore>(
    bytes: &[u8],
    peer: &Peer,
    config: &TransportConfig,
    registrar: &mut Registrar<C, L>,
    table: &mut HashMap<ServerKey, Entry>,
) {
    let framing = match peer {
        Peer::Udp { .. } => Framing::Datagram,
        Peer::Tcp { .. } => Framing::Stream,
    };
    let request = match parse_request(bytes, framing) {
        Ok(request) => request,
        Err(_) if looks_like_response(bytes) => {
            // No client transactions run here yet, so every response is stray.
            tracing::debug!(peer = %peer.addr(), "dropped a response with no client transaction");
            return;
        }
        Err(error) => {
            tracing::debug!(peer = %peer.addr(), %error, "rejected an unparsable request");
            let reason = error.reason_phrase();
            if let Some(response) = error_response(bytes, error.status_code(), &reason, &new_tag())
            {
                peer.send(response.into()).await;
            }
            return;
        }
    };

    let key = ServerKey::for_request(&request);
    let now = Instant::now();
    if let Some(entry) = table.get_mut(&key) {
        let actions = match &mut entry.transaction {
            ServerTransaction::Invite(tx) => tx.on_request(&request, now),
            ServerTransaction::NonInvite(tx) => tx.on_request(),
        };
        if execute(&actions, &entry.peer).await {
            table.remove(&key);
        }
        return;
    }
    if request.method == Method::Ack {
        // An ACK for a 2xx, or for a transaction already gone: nothing to do.
        return;
    }
    start_transaction(&request, key, peer, config, registrar, table).await;
}

/// Creates a server transaction for a new request, lets the TU respond and
/// keeps the transaction while it has work left.
async fn start_transaction<C: Credentials, L: LocationStore>(
    request: &Request<'_>,
    key: ServerKey,
    peer: &Peer,
    config: &TransportConfig,
    registrar: &mut Registrar<C, L>,
    table: &mut HashMap<ServerKey, Entry>,
) {
    let source = peer.addr();
    if table.len() >= config.max_transactions {
        let response =
            ResponseBuilder::for_request(request, Some(source), 503, "Service Unavailable")
                .to_tag(&new_tag())
                .header("Retry-After", "5");
        peer.send(response.build().into()).await;
        return;
    }

    let reliability = peer.reliability();
    let (mut transaction, first) = if request.method == Method::Invite {
        let (tx, actions) = ServerInvite::start(request, Some(source), reliability, config.timers);
        (ServerTransaction::Invite(tx), actions)
    } else {
        let (tx, actions) = ServerNonInvite::start(reliability, config.timers);
        (ServerTransaction::NonInvite(tx), actions)
    };
    let mut terminated = execute(&first, peer).await;

    let response = respond(request, source, registrar);
    let status = response.status();
    tracing::debug!(peer = %source, method = %request.method, status, "responded to a request");
    let now = Instant::now();
    let actions = match &mut transaction {
        ServerTransaction::Invite(tx) => tx.send_response(status, response.build(), now),
        ServerTransaction::NonInvite(tx) => tx.send_response(status, response.build(), now),
    };
    terminated |= execute(&actions, peer).await;
    if !terminated {
        table.insert(
            key,
            Entry {
                transaction,
                peer: peer.clone(),
            },
        );
    }
}

/// Builds the TU's response: the registrar's for REGISTER, a fixed one for other methods.
fn respond<C: Credentials, L: LocationStore>(
    request: &Request<'_>,
    source: SocketAddr,
    registrar: &mut Registrar<C, L>,
) -> ResponseBuilder {
    if request.method == Method::Register {
        return registrar.handle(request, source, SystemTime::now());
    }
    let reply = |status, reason: &str| {
        ResponseBuilder::for_request(request, Some(source), status, reason).to_tag(&new_tag())
    };
    if let Err(rejection) = check_request(request, &[]) {
        let response = reply(rejection.status_code(), rejection.reason_phrase());
        return match rejection {
            Rejection::BadExtension(tags) => response.header("Unsupported", tags.join(", ")),
            Rejection::UnsupportedUriScheme => response,
        };
    }
    match request.method {
        Method::Options => reply(200, "OK").header("Allow", ALLOW),
        Method::Cancel => reply(481, "Call/Transaction Does Not Exist"),
        Method::Extension(_) => reply(501, "Not Implemented").header("Allow", ALLOW),
        _ => reply(405, "Method Not Allowed").header("Allow", ALLOW),
    }
}

fn new_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}
