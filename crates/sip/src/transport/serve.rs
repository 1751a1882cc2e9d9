//! The serve loop. Each request is parsed and matched to a server transaction,
//! or starts a new one. The TU responds: the registrar for REGISTER, a fixed
//! response for other methods. The loop also runs the transaction timers.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use super::udp::UdpReceiver;
use super::{tcp, Inbound, Listeners, Peer, TransportConfig};
use crate::metrics::Metrics;
use crate::msg::{
    check_request, error_response, looks_like_response, parse_request, Framing, Method, Rejection,
    Request, ResponseBuilder,
};
use crate::registrar::{Credentials, LocationStore, Registrar, RegistrarEvent};
use crate::transaction::{Action, ServerInvite, ServerKey, ServerNonInvite};

/// Methods this server handles; other methods get 405 or 501.
const ALLOW: &str = "REGISTER, OPTIONS";

/// How often lapsed bindings are purged from the location store.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// How often the gauges of [`Metrics`] are refreshed.
const GAUGE_INTERVAL: Duration = Duration::from_secs(1);

/// Most sources whose request rate is tracked at once.
const MAX_RATE_TRACKED: usize = 100_000;

/// Most UDP datagrams already waiting in the socket that the loop handles in a row before it
/// looks at its timers, commands and TCP messages again.
const UDP_BATCH: usize = 64;

/// An instruction to a running serve loop from the rest of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Lift the block of a source address and forget its failures.
    UnblockSource(IpAddr),
    /// Lift the block of an address-of-record and forget its failures.
    UnblockAor(String),
    /// Remove every binding of an address-of-record, such as a deleted extension's.
    RemoveBindings(String),
}

/// The links between a serve loop and the rest of the service: figures it
/// updates, instructions it obeys and registrar events it reports.
#[derive(Debug)]
pub struct Control {
    /// Figures the loop updates.
    pub metrics: Arc<Metrics>,
    /// Instructions, read between messages.
    pub commands: Option<mpsc::Receiver<Command>>,
    /// The channel for registrar events. When it is full, events are dropped.
    pub events: Option<mpsc::Sender<RegistrarEvent>>,
}

impl Control {
    /// Creates links that only update `metrics`.
    pub fn detached(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            commands: None,
            events: None,
        }
    }
}

/// Per-source token buckets: each source may send `rate` messages a second
/// on average, in bursts of up to twice that.
pub(super) struct SourceRates {
    rate: f64,
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl SourceRates {
    pub(super) fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for `source`; returns false when it has none left.
    pub(super) fn allow(&mut self, source: IpAddr, now: Instant) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let burst = self.rate * 2.0;
        if self.buckets.len() >= MAX_RATE_TRACKED && !self.buckets.contains_key(&source) {
            // Sources whose buckets have refilled have nothing to remember.
            let rate = self.rate;
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if self.buckets.len() >= MAX_RATE_TRACKED {
                return false;
            }
        }
        let (tokens, at) = self.buckets.entry(source).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(burst);
        *at = now;
        if *tokens < 1.0 {
            return false;
        }
        *tokens -= 1.0;
        true
    }
}

/// The serve loop's own state.
struct Loop<'a, C, L> {
    config: &'a TransportConfig,
    registrar: Registrar<C, L>,
    table: Table,
    rates: SourceRates,
    metrics: Arc<Metrics>,
    events: Option<mpsc::Sender<RegistrarEvent>>,
}

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
    /// Tells this entry's deadlines in [`Table::due`] from those of an earlier transaction
    /// with the same key.
    serial: u64,
    /// The deadline last queued in [`Table::due`], if any.
    queued: Option<Instant>,
}

/// A transaction's deadline in the timer queue.
struct Due {
    at: Instant,
    serial: u64,
    key: Arc<ServerKey>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.serial) == (other.at, other.serial)
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.serial).cmp(&(other.at, other.serial))
    }
}

/// The server transactions by key, with a queue of their deadlines, so that finding the next
/// deadline and the due transactions does not scan every transaction. An entry of the queue
/// is stale when its transaction has gone or has queued a different deadline since; stale
/// entries are dropped as they come to the front.
///
/// Over UDP every transaction stays for timer J or H, so the table contains hundreds
/// of thousands at high rates. Keys are shared with the queue and entries are boxed, which keeps
/// the map's slots small and growing it cheap.
#[derive(Default)]
struct Table {
    entries: HashMap<Arc<ServerKey>, Box<Entry>>,
    due: BinaryHeap<Reverse<Due>>,
    next_serial: u64,
}

impl Table {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn insert(&mut self, key: ServerKey, transaction: ServerTransaction, peer: Peer) {
        let serial = self.next_serial;
        self.next_serial += 1;
        let entry = Entry {
            transaction,
            peer,
            serial,
            queued: None,
        };
        let key = Arc::new(key);
        self.entries.insert(key.clone(), Box::new(entry));
        self.queue_shared(key);
    }

    /// Queues the next deadline of the transaction under `key` if it is not queued yet.
    fn queue(&mut self, key: &ServerKey) {
        if let Some(key) = self.entries.get_key_value(key).map(|(key, _)| key.clone()) {
            self.queue_shared(key);
        }
    }

    /// Like [`Self::queue`], for a caller that already has the shared key.
    fn queue_shared(&mut self, key: Arc<ServerKey>) {
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        let Some(at) = entry.transaction.next_deadline() else {
            return;
        };
        if entry.queued != Some(at) {
            entry.queued = Some(at);
            self.due.push(Reverse(Due {
                at,
                serial: entry.serial,
                key,
            }));
        }
    }

    /// Returns the earliest queued deadline, dropping stale ones from the front.
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse(front)) = self.due.peek() {
            if self.is_current(front) {
                return Some(front.at);
            }
            self.due.pop();
        }
        None
    }

    fn is_current(&self, due: &Due) -> bool {
        self.entries
            .get(&due.key)
            .is_some_and(|e| e.serial == due.serial && e.queued == Some(due.at))
    }

    /// Removes and returns the key of a transaction whose queued deadline is at or before `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Arc<ServerKey>> {
        while let Some(Reverse(front)) = self.due.peek() {
            if front.at > now {
                return None;
            }
            let Reverse(due) = self.due.pop().expect("peeked");
            if self.is_current(&due) {
                if let Some(entry) = self.entries.get_mut(&due.key) {
                    entry.queued = None;
                }
                return Some(due.key);
            }
        }
        None
    }
}

/// Serves SIP on `listeners` until `shutdown` completes.
pub async fn serve<C, L>(
    listeners: Listeners,
    config: TransportConfig,
    registrar: Registrar<C, L>,
    shutdown: impl Future<Output = ()>,
) where
    C: Credentials,
    L: LocationStore,
{
    let control = Control::detached(Arc::new(Metrics::new()));
    serve_with(listeners, config, registrar, control, shutdown).await;
}

/// Serves SIP on `listeners` until `shutdown` completes, linked to the rest
/// of the service by `control`.
pub async fn serve_with<C, L>(
    listeners: Listeners,
    config: TransportConfig,
    registrar: Registrar<C, L>,
    control: Control,
    shutdown: impl Future<Output = ()>,
) where
    C: Credentials,
    L: LocationStore,
{
    let (udp_socket, tcp_listener) = match listeners.register() {
        Ok(sockets) => sockets,
        Err(error) => {
            tracing::error!(%error, "registering the SIP sockets with the runtime failed");
            return;
        }
    };
    let (inbound_tx, mut inbound) = mpsc::channel::<Inbound>(1024);
    let mut tasks = Vec::new();
    let mut udp = udp_socket.map(|socket| {
        UdpReceiver::new(
            socket,
            config.max_message_size,
            SourceRates::new(config.max_requests_per_source),
            control.metrics.clone(),
        )
    });
    if let Some(listener) = tcp_listener {
        tasks.push(tokio::spawn(tcp::accept(
            listener,
            config.max_message_size,
            config.max_tcp_connections,
            inbound_tx.clone(),
            control.metrics.clone(),
        )));
    }
    drop(inbound_tx);
    tracing::info!("SIP service started");

    let mut commands = control.commands;
    let mut state = Loop {
        config: &config,
        registrar,
        table: Table::default(),
        rates: SourceRates::new(config.max_requests_per_source),
        metrics: control.metrics,
        events: control.events,
    };
    let mut purge = tokio::time::interval(PURGE_INTERVAL);
    let mut gauges = tokio::time::interval(GAUGE_INTERVAL);
    let mut tcp_open = true;
    tokio::pin!(shutdown);
    loop {
        let deadline = state.table.next_deadline();
        let timer = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let command = async {
            match commands.as_mut() {
                Some(receiver) => receiver.recv().await,
                None => std::future::pending().await,
            }
        };
        let datagram = async {
            match udp.as_mut() {
                Some(receiver) => receiver.next().await,
                None => std::future::pending().await,
            }
        };
        let stream_message = async {
            if tcp_open {
                inbound.recv().await
            } else {
                std::future::pending().await
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            (len, addr) = datagram => {
                let Some(receiver) = udp.as_mut() else { continue };
                state.handle_datagram(receiver, len, addr).await;
                // Datagrams that are already waiting are read without going back to the
                // runtime, up to a limit that keeps the timers and TCP served.
                for _ in 1..UDP_BATCH {
                    let Some((len, addr)) = receiver.try_next() else { break };
                    state.handle_datagram(receiver, len, addr).await;
                }
            }
            received = stream_message => match received {
                Some((bytes, peer)) => state.handle(&bytes, &peer).await,
                None => tcp_open = false,
            },
            () = timer => fire_timers(&mut state.table, Instant::now()).await,
            received = command => match received {
                Some(command) => state.obey(command),
                None => commands = None,
            },
            _ = purge.tick() => {
                state.registrar.location_mut().purge_expired(SystemTime::now());
            }
            _ = gauges.tick() => state.update_gauges(),
        }
    }
    for task in tasks {
        task.abort();
    }
    tracing::info!("SIP service stopped");
}

async fn fire_timers(table: &mut Table, now: Instant) {
    while let Some(key) = table.pop_due(now) {
        let Some(entry) = table.entries.get_mut(&key) else {
            continue;
        };
        let actions = entry.transaction.on_timer(now);
        if execute(&actions, &entry.peer).await {
            table.entries.remove(&key);
        } else {
            table.queue_shared(key);
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

impl<C: Credentials, L: LocationStore> Loop<'_, C, L> {
    fn obey(&mut self, command: Command) {
        match command {
            Command::UnblockSource(ip) => {
                let had = self.registrar.unblock_source(ip);
                tracing::info!(source = %ip, had, "block of a source lifted");
            }
            Command::UnblockAor(aor) => {
                let had = self.registrar.unblock_aor(&aor);
                tracing::info!(%aor, had, "block of an address-of-record lifted");
            }
            Command::RemoveBindings(aor) => {
                self.registrar.location_mut().put(&aor, Vec::new());
                tracing::info!(%aor, "bindings removed");
            }
        }
        self.update_gauges();
    }

    fn update_gauges(&self) {
        self.metrics.set_gauges(
            self.registrar.blocked_count(SystemTime::now()),
            self.registrar.location().contact_count(),
            self.table.len(),
        );
    }

    async fn handle_datagram(&mut self, receiver: &UdpReceiver, len: usize, addr: SocketAddr) {
        let peer = Peer::Udp {
            socket: receiver.socket().clone(),
            addr,
        };
        self.handle(receiver.datagram(len), &peer).await;
    }

    async fn handle(&mut self, bytes: &[u8], peer: &Peer) {
        let now = Instant::now();
        // UDP datagrams were counted as they were read.
        if matches!(peer, Peer::Tcp { .. }) && !self.rates.allow(peer.addr().ip(), now) {
            self.metrics.dropped_flood();
            return;
        }
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
                self.metrics.unparsable();
                tracing::debug!(peer = %peer.addr(), %error, "rejected an unparsable request");
                let reason = error.reason_phrase();
                if let Some(response) =
                    error_response(bytes, error.status_code(), &reason, &new_tag())
                {
                    self.metrics.response(error.status_code());
                    peer.send(response.into()).await;
                }
                return;
            }
        };
        self.metrics.request(&request.method);

        let key = ServerKey::for_request(&request);
        if let Some(entry) = self.table.entries.get_mut(&key) {
            let actions = match &mut entry.transaction {
                ServerTransaction::Invite(tx) => tx.on_request(&request, now),
                ServerTransaction::NonInvite(tx) => tx.on_request(),
            };
            if execute(&actions, &entry.peer).await {
                self.table.entries.remove(&key);
            } else {
                self.table.queue(&key);
            }
            return;
        }
        if request.method == Method::Ack {
            // An ACK for a 2xx, or for a transaction already gone: nothing to do.
            return;
        }
        self.start_transaction(&request, key, peer).await;
    }

    /// Creates a server transaction for a new request, lets the TU respond and
    /// keeps the transaction while it has work left.
    async fn start_transaction(&mut self, request: &Request<'_>, key: ServerKey, peer: &Peer) {
        let source = peer.addr();
        if self.table.len() >= self.config.max_transactions {
            let response =
                ResponseBuilder::for_request(request, Some(source), 503, "Service Unavailable")
                    .to_tag(&new_tag())
                    .header("Retry-After", "5");
            self.metrics.response(503);
            peer.send(response.build().into()).await;
            return;
        }

        let reliability = peer.reliability();
        let timers = self.config.timers;
        let (mut transaction, first) = if request.method == Method::Invite {
            let (tx, actions) = ServerInvite::start(request, Some(source), reliability, timers);
            (ServerTransaction::Invite(tx), actions)
        } else {
            let (tx, actions) = ServerNonInvite::start(reliability, timers);
            (ServerTransaction::NonInvite(tx), actions)
        };
        let mut terminated = execute(&first, peer).await;

        let response = respond(request, source, &mut self.registrar);
        self.report_events();
        let status = response.status();
        self.metrics.response(status);
        tracing::debug!(peer = %source, method = %request.method, status, "responded to a request");
        let now = Instant::now();
        let actions = match &mut transaction {
            ServerTransaction::Invite(tx) => tx.send_response(status, response.build(), now),
            ServerTransaction::NonInvite(tx) => tx.send_response(status, response.build(), now),
        };
        terminated |= execute(&actions, peer).await;
        if !terminated {
            self.table.insert(key, transaction, peer.clone());
        }
    }

    fn report_events(&mut self) {
        for event in self.registrar.take_events() {
            match &event {
                RegistrarEvent::AuthFailed { .. } => self.metrics.auth_failure(),
                RegistrarEvent::Blocked { .. } => self.metrics.block_started(),
            }
            if let Some(events) = &self.events {
                if events.try_send(event).is_err() {
                    tracing::warn!("registrar event dropped: its receiver is full or gone");
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::{Reliability, TimerConfig};

    fn key(branch: &str) -> ServerKey {
        ServerKey::Branch {
            branch: branch.into(),
            sent_by: "127.0.0.1:5061".into(),
            method: "REGISTER".into(),
        }
    }

    /// A UDP transaction that sent its final response at `now`, so timer J runs.
    fn completed(now: Instant) -> ServerTransaction {
        let (mut transaction, _) =
            ServerNonInvite::start(Reliability::Unreliable, TimerConfig::default());
        transaction.send_response(200, b"SIP/2.0 200 OK\r\n\r\n".to_vec(), now);
        ServerTransaction::NonInvite(transaction)
    }

    #[test]
    fn table_pops_deadlines_in_order() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let socket = runtime
            .block_on(tokio::net::UdpSocket::bind("127.0.0.1:0"))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let peer = Peer::Udp {
            socket: Arc::new(socket),
            addr,
        };
        let start = Instant::now();
        let mut table = Table::default();
        table.insert(
            key("z9hG4bK-b"),
            completed(start + Duration::from_secs(1)),
            peer.clone(),
        );
        table.insert(key("z9hG4bK-a"), completed(start), peer.clone());
        // A new transaction under a removed one's key must not inherit its queued deadline.
        table.entries.remove(&key("z9hG4bK-b"));
        table.insert(
            key("z9hG4bK-b"),
            completed(start + Duration::from_secs(2)),
            peer,
        );

        let timer_j = TimerConfig::default().timeout();
        assert_eq!(table.next_deadline(), Some(start + timer_j));
        let late = start + timer_j + Duration::from_secs(5);
        assert_eq!(table.pop_due(start), None);
        assert_eq!(table.pop_due(late).as_deref(), Some(&key("z9hG4bK-a")));
        assert_eq!(table.pop_due(late).as_deref(), Some(&key("z9hG4bK-b")));
        assert_eq!(table.pop_due(late), None);
        assert_eq!(table.next_deadline(), None);
    }

    #[test]
    fn source_rates_limit_one_source_and_spare_others() {
        let mut rates = SourceRates::new(10);
        let t0 = Instant::now();
        let flood: IpAddr = "127.0.0.1".parse().unwrap();
        let quiet: IpAddr = "127.0.0.2".parse().unwrap();
        let allowed = (0..100).filter(|_| rates.allow(flood, t0)).count();
        assert_eq!(allowed, 20, "a burst of twice the rate");
        assert!(rates.allow(quiet, t0), "another source is not affected");
        assert!(!rates.allow(flood, t0 + Duration::from_millis(50)));
        assert!(
            rates.allow(flood, t0 + Duration::from_millis(150)),
            "tokens refill"
        );
    }

    #[test]
    fn source_rates_of_zero_allow_everything() {
        let mut rates = SourceRates::new(0);
        let t0 = Instant::now();
        let source: IpAddr = "127.0.0.1".parse().unwrap();
        assert!((0..10_000).all(|_| rates.allow(source, t0)));
        assert!(rates.buckets.is_empty());
    }
}
