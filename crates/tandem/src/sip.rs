//! The SIP service (`tandem sip`): the registrar of `tandem-sip` over Tandem's database.
//!
//! - Credentials are read once at start into memory and kept current by following the change
//!   feed (`sip_changes`), which every credential, domain and block change appends to in the
//!   same transaction. A deleted extension's entry goes, and its bindings with it, within one
//!   sync interval.
//! - Bindings live in memory, where the REGISTER path reads and writes them. Each sync
//!   interval they are written behind to `sip_registrations` in batches, for the portal, the
//!   API, another node and the next start. No REGISTER waits for the database.
//! - Blocks after failed authentications are recorded in `sip_blocks` for the portal; lifting
//!   one there comes back through the change feed.
//! - Prometheus metrics are served over HTTP on their own address.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tandem_domain::{CustomerId, PbxObjectId, SipBlockId, WhiteLabelId};
use tandem_sip::auth::{Algorithm, DigestAuthenticator, DigestConfig, NonceIssuer};
use tandem_sip::metrics::Metrics;
use tandem_sip::registrar::{
    Binding, BlockSubject, Credentials, LocationStore, LockoutConfig, MemoryLocationStore,
    Registrar, RegistrarConfig, RegistrarEvent, StoredCredential,
};
use tandem_sip::transport::{serve_with, Command, Control, Listeners, TransportConfig};
use tandem_store::sip::{self as store_sip, change, BlockRow, CredentialEntry, RegistrationRow};
use tandem_store::Store;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::Settings;

/// Most change-feed entries applied per sync.
const CHANGES_PER_SYNC: i64 = 1_000;

/// How long change-feed entries are kept; a service down for longer reloads everything.
const CHANGE_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// How often lapsed registrations, blocks and old changes are deleted.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(600);

const MD5_ONLY: &[Algorithm] = &[Algorithm::Md5];
const SHA256_AND_MD5: &[Algorithm] = &[Algorithm::Sha256, Algorithm::Md5];

fn now_us(time: SystemTime) -> i64 {
    let micros = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_micros();
    i64::try_from(micros).unwrap_or(i64::MAX)
}

fn from_us(us: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

/// Splits `sip:user@domain` into its user and domain.
fn split_aor(aor: &str) -> Option<(&str, &str)> {
    aor.strip_prefix("sip:")?.rsplit_once('@')
}

/// One extension's identity and digests in memory.
#[derive(Debug, Clone)]
struct CachedUser {
    credential: StoredCredential,
    extension_id: PbxObjectId,
    customer_id: CustomerId,
    white_label_id: WhiteLabelId,
}

/// The credentials of every extension, by `(realm, username)`.
#[derive(Debug, Default)]
struct Cache {
    users: HashMap<(String, String), CachedUser>,
    by_extension: HashMap<PbxObjectId, (String, String)>,
    /// Realms served, with the number of users in each and whether SHA-256 is on.
    realms: HashMap<String, (usize, bool)>,
}

impl Cache {
    fn insert(&mut self, entry: CredentialEntry) {
        self.remove_extension(&entry.extension_id);
        let key = (entry.realm.clone(), entry.username.clone());
        let realm = self.realms.entry(entry.realm.clone()).or_insert((0, false));
        realm.0 += 1;
        realm.1 = entry.sha256;
        self.by_extension
            .insert(entry.extension_id.clone(), key.clone());
        let user = CachedUser {
            credential: StoredCredential {
                md5_ha1: Some(entry.ha1_md5),
                sha256_ha1: Some(entry.ha1_sha256),
            },
            extension_id: entry.extension_id,
            customer_id: entry.customer_id,
            white_label_id: entry.white_label_id,
        };
        self.users.insert(key, user);
    }

    /// Removes an extension's entry and returns its address-of-record.
    fn remove_extension(&mut self, extension_id: &PbxObjectId) -> Option<String> {
        let key = self.by_extension.remove(extension_id)?;
        self.users.remove(&key);
        if let Some(realm) = self.realms.get_mut(&key.0) {
            realm.0 -= 1;
            if realm.0 == 0 {
                self.realms.remove(&key.0);
            }
        }
        Some(format!("sip:{}@{}", key.1, key.0))
    }

    fn aor_of(&self, extension_id: &PbxObjectId) -> Option<String> {
        self.by_extension
            .get(extension_id)
            .map(|(realm, user)| format!("sip:{user}@{realm}"))
    }

    fn user(&self, aor: &str) -> Option<&CachedUser> {
        let (user, realm) = split_aor(aor)?;
        self.users.get(&(realm.to_owned(), user.to_owned()))
    }
}

/// The registrar's view of the cache.
#[derive(Debug, Clone, Default)]
struct SharedCredentials(Arc<RwLock<Cache>>);

impl SharedCredentials {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Credentials for SharedCredentials {
    fn lookup(&self, realm: &str, user: &str) -> Option<StoredCredential> {
        self.read()
            .users
            .get(&(realm.to_owned(), user.to_owned()))
            .map(|u| u.credential.clone())
    }

    fn serves_domain(&self, domain: &str) -> bool {
        // Every domain gets a challenge, so responses do not reveal which account domains
        // exist. Credentials for an unknown domain fail like a wrong password.
        let _ = domain;
        true
    }

    fn algorithms(&self, realm: &str) -> &[Algorithm] {
        match self.read().realms.get(realm) {
            Some((_, true)) => SHA256_AND_MD5,
            _ => MD5_ONLY,
        }
    }
}

/// Bindings in memory, with every change queued for the write-behind.
#[derive(Debug)]
struct WriteBehind {
    memory: MemoryLocationStore,
    pending: Arc<Mutex<HashMap<String, Vec<Binding>>>>,
}

impl LocationStore for WriteBehind {
    fn get(&self, aor: &str, now: SystemTime) -> Vec<Binding> {
        self.memory.get(aor, now)
    }

    fn put(&mut self, aor: &str, bindings: Vec<Binding>) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(aor.to_owned(), bindings.clone());
        self.memory.put(aor, bindings);
    }

    fn purge_expired(&mut self, now: SystemTime) {
        // Lapsed rows in the database are ignored on read and deleted by the cleanup.
        self.memory.purge_expired(now);
    }

    fn contact_count(&self) -> usize {
        self.memory.contact_count()
    }
}

/// A running SIP service.
pub struct SipService {
    /// The bound UDP address, if UDP is on.
    pub udp: Option<SocketAddr>,
    /// The bound TCP address, if TCP is on.
    pub tcp: Option<SocketAddr>,
    /// The bound metrics address, if metrics are served.
    pub metrics_addr: Option<SocketAddr>,
    /// The service's figures.
    pub metrics: Arc<Metrics>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SipService {
    /// Loads credentials and bindings from `store`, binds the configured addresses and starts
    /// serving.
    pub async fn start(store: Store, settings: &Settings) -> anyhow::Result<Self> {
        let listen: SocketAddr = settings
            .sip_listen
            .parse()
            .with_context(|| format!("sip_listen {:?} is not ip:port", settings.sip_listen))?;
        let transport = TransportConfig {
            udp: Some(listen),
            tcp: settings.sip_tcp.then_some(listen),
            max_message_size: settings.sip_max_message_bytes,
            max_requests_per_source: settings.sip_max_requests_per_source,
            max_transactions: settings.sip_max_transactions,
            ..TransportConfig::default()
        };
        let listeners = Listeners::bind(&transport)
            .with_context(|| format!("binding the SIP address {listen}"))?;
        let (udp, tcp) = (listeners.udp_addr(), listeners.tcp_addr());
        let registrar_config = RegistrarConfig {
            min_expires: settings.sip_min_expires_secs,
            max_expires: settings.sip_max_expires_secs,
            default_expires: settings.sip_max_expires_secs,
            lockout: LockoutConfig {
                max_failures: settings.sip_lockout_failures,
                window: Duration::from_secs(settings.sip_lockout_window_secs),
                block_for: Duration::from_secs(settings.sip_lockout_secs),
                ..LockoutConfig::default()
            },
            server_addresses: udp.into_iter().chain(tcp).collect(),
            ..RegistrarConfig::default()
        };

        let mut conn = store.conn().await?;
        let last_seq = store_sip::last_change(&mut conn).await?;
        let credentials = SharedCredentials::default();
        {
            let entries = store_sip::all_credentials(&mut conn).await?;
            let mut cache = credentials.write();
            for entry in entries {
                cache.insert(entry);
            }
        }
        let mut memory = MemoryLocationStore::new();
        let mut loaded: HashMap<String, Vec<Binding>> = HashMap::new();
        for row in store_sip::live_registrations(&mut conn, now_us(SystemTime::now())).await? {
            let Ok(source) = row.source.parse() else {
                continue;
            };
            loaded.entry(row.aor.clone()).or_default().push(Binding {
                contact: row.contact,
                params: row.params,
                expires_at: from_us(row.expires_us),
                call_id: row.call_id,
                cseq: u32::try_from(row.cseq).unwrap_or(0),
                source,
                transport: row.transport,
                user_agent: row.user_agent,
            });
        }
        for (aor, bindings) in loaded {
            memory.put(&aor, bindings);
        }
        drop(conn);
        tracing::info!(
            users = credentials.read().users.len(),
            contacts = memory.contact_count(),
            "SIP service loaded its credentials and bindings"
        );

        let pending = Arc::new(Mutex::new(HashMap::new()));
        let location = WriteBehind {
            memory,
            pending: pending.clone(),
        };
        let digest = DigestConfig {
            algorithms: SHA256_AND_MD5.to_vec(),
            nonce_lifetime_secs: settings.sip_nonce_lifetime_secs,
            // Without qop there is no nonce-count, so a captured request could be replayed
            // from anywhere while its nonce is fresh.
            require_qop: true,
            ..DigestConfig::default()
        };
        let auth = DigestAuthenticator::new(
            digest,
            NonceIssuer::with_random_secret(settings.sip_nonce_lifetime_secs),
        );
        let registrar = Registrar::new(registrar_config, credentials.clone(), location, auth);

        let metrics = Arc::new(Metrics::new());
        let (command_tx, command_rx) = mpsc::channel(1024);
        let (event_tx, event_rx) = mpsc::channel(4096);
        let control = Control {
            metrics: metrics.clone(),
            commands: Some(command_rx),
            events: Some(event_tx),
        };
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        // The serve loop runs on a thread of its own with a single-threaded runtime, as the
        // workers of other SIP servers do. Each datagram is read, handled and its response sent
        // on that one thread, and nothing else runs on its runtime.
        let mut serve_stop = stopped.clone();
        let serving = serve_with(listeners, transport, registrar, control, async move {
            let _ = serve_stop.wait_for(|stop| *stop).await;
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the SIP serve loop's runtime")?;
        let (served, serve_done) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("sip-serve".into())
            .spawn(move || {
                runtime.block_on(serving);
                let _ = served.send(());
            })
            .context("starting the SIP serve loop's thread")?;
        tasks.push(tokio::spawn(async move {
            let _ = serve_done.await;
        }));
        let sync = Sync {
            store,
            credentials,
            pending,
            commands: command_tx,
            last_seq,
            interval: Duration::from_millis(settings.sip_sync_interval_ms.max(10)),
            last_written_us: 0,
        };
        tasks.push(tokio::spawn(sync.run(event_rx, stopped.clone())));

        let metrics_addr = if settings.sip_metrics_listen.trim().is_empty() {
            None
        } else {
            let listener = tokio::net::TcpListener::bind(settings.sip_metrics_listen.trim())
                .await
                .with_context(|| {
                    format!(
                        "binding the SIP metrics address {}",
                        settings.sip_metrics_listen
                    )
                })?;
            let addr = listener.local_addr()?;
            let figures = metrics.clone();
            let router = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let figures = figures.clone();
                    async move {
                        (
                            [(
                                axum::http::header::CONTENT_TYPE,
                                "text/plain; version=0.0.4",
                            )],
                            figures.render(),
                        )
                    }
                }),
            );
            let mut metrics_stop = stopped;
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = metrics_stop.wait_for(|stop| *stop).await;
                };
                if let Err(error) = axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(%error, "the SIP metrics server failed");
                }
            }));
            Some(addr)
        };
        tracing::info!(?udp, ?tcp, ?metrics_addr, "SIP service listening");
        Ok(Self {
            udp,
            tcp,
            metrics_addr,
            metrics,
            stop,
            tasks,
        })
    }

    /// Stops serving, writes the last bindings behind and waits for every task.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The background half: follows the change feed, writes bindings behind and records blocks.
struct Sync {
    store: Store,
    credentials: SharedCredentials,
    pending: Arc<Mutex<HashMap<String, Vec<Binding>>>>,
    commands: mpsc::Sender<Command>,
    last_seq: i64,
    interval: Duration,
    /// The `updated_us` of the last write-behind. Each write uses a later one, so it can tell
    /// the rows it wrote from those it replaces even if the clock steps back.
    last_written_us: i64,
}

impl Sync {
    async fn run(
        mut self,
        mut events: mpsc::Receiver<RegistrarEvent>,
        mut stopped: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cleanup = tokio::time::interval(CLEANUP_INTERVAL);
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                _ = tick.tick() => {
                    if let Err(error) = self.follow_changes().await {
                        tracing::error!(%error, "reading the SIP change feed failed");
                    }
                    self.write_behind().await;
                }
                Some(event) = events.recv() => {
                    if let Err(error) = self.record(event).await {
                        tracing::error!(%error, "recording a SIP block failed");
                    }
                }
                _ = cleanup.tick() => {
                    if let Err(error) = self.clean_up().await {
                        tracing::error!(%error, "deleting lapsed SIP rows failed");
                    }
                }
            }
        }
        self.write_behind().await;
    }

    async fn follow_changes(&mut self) -> anyhow::Result<()> {
        let mut conn = self.store.conn().await?;
        let changes = store_sip::changes_after(&mut conn, self.last_seq, CHANGES_PER_SYNC).await?;
        for entry in changes {
            let mut removed = Vec::new();
            match entry.kind.as_str() {
                change::EXTENSION => {
                    let id = PbxObjectId::from_trusted(entry.subject.clone());
                    let fresh = store_sip::credential_of_extension(&mut conn, &id).await?;
                    let mut cache = self.credentials.write();
                    let before = cache.aor_of(&id);
                    cache.remove_extension(&id);
                    let after = fresh.map(|f| {
                        let aor = format!("sip:{}@{}", f.username, f.realm);
                        cache.insert(f);
                        aor
                    });
                    if let Some(before) = before.filter(|b| Some(b) != after.as_ref()) {
                        removed.push(before);
                    }
                }
                change::ACCOUNT | change::WHITE_LABEL => {
                    let fresh = if entry.kind == change::ACCOUNT {
                        let id = CustomerId::from_trusted(entry.subject.clone());
                        store_sip::credentials_of_customer(&mut conn, &id).await?
                    } else {
                        let id = WhiteLabelId::from_trusted(entry.subject.clone());
                        store_sip::credentials_of_white_label(&mut conn, &id).await?
                    };
                    let mut cache = self.credentials.write();
                    let stale: Vec<PbxObjectId> = cache
                        .users
                        .values()
                        .filter(|u| {
                            u.customer_id.as_str() == entry.subject
                                || u.white_label_id.as_str() == entry.subject
                        })
                        .map(|u| u.extension_id.clone())
                        .collect();
                    let mut before = Vec::new();
                    for id in &stale {
                        before.extend(cache.remove_extension(id));
                    }
                    let mut after = HashSet::new();
                    for f in fresh {
                        after.insert(format!("sip:{}@{}", f.username, f.realm));
                        cache.insert(f);
                    }
                    removed.extend(before.into_iter().filter(|aor| !after.contains(aor)));
                }
                change::UNBLOCK => {
                    let command = match entry.subject.split_once(' ') {
                        Some(("source", ip)) => {
                            ip.parse::<IpAddr>().ok().map(Command::UnblockSource)
                        }
                        Some(("aor", aor)) => Some(Command::UnblockAor(aor.to_owned())),
                        _ => None,
                    };
                    if let Some(command) = command {
                        self.send(command).await;
                    }
                }
                other => tracing::warn!(kind = other, "unknown SIP change kind"),
            }
            for aor in removed {
                self.send(Command::RemoveBindings(aor)).await;
            }
            self.last_seq = entry.seq;
        }
        Ok(())
    }

    async fn send(&self, command: Command) {
        if self.commands.send(command).await.is_err() {
            tracing::debug!("the SIP serve loop has stopped");
        }
    }

    /// Writes the bindings changed since the last call, in one transaction. On failure they
    /// are queued again unless a newer change replaced them.
    async fn write_behind(&mut self) {
        let batch: HashMap<String, Vec<Binding>> = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.is_empty() {
                return;
            }
            std::mem::take(&mut *pending)
        };
        let now = now_us(SystemTime::now()).max(self.last_written_us + 1);
        self.last_written_us = now;
        let mut rows = Vec::new();
        {
            let cache = self.credentials.read();
            for (aor, bindings) in &batch {
                // A binding whose extension has gone is not written.
                let Some(user) = cache.user(aor) else {
                    continue;
                };
                for binding in bindings {
                    rows.push(RegistrationRow {
                        aor: aor.clone(),
                        contact: binding.contact.clone(),
                        customer_id: user.customer_id.clone(),
                        extension_id: user.extension_id.clone(),
                        params: binding.params.clone(),
                        source: binding.source.to_string(),
                        transport: binding.transport.clone(),
                        user_agent: binding.user_agent.clone(),
                        call_id: binding.call_id.clone(),
                        cseq: i64::from(binding.cseq),
                        expires_us: now_us(binding.expires_at),
                        updated_us: now,
                    });
                }
            }
        }
        let aors: Vec<String> = batch.keys().cloned().collect();
        let written = async {
            let mut tx = self.store.begin().await?;
            store_sip::replace_registrations(&mut tx, &aors, &rows, now).await?;
            tx.commit().await?;
            anyhow::Ok(())
        }
        .await;
        if let Err(error) = written {
            tracing::error!(%error, aors = aors.len(), "writing SIP registrations failed");
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            for (aor, bindings) in batch {
                pending.entry(aor).or_insert(bindings);
            }
        }
    }

    async fn record(&self, event: RegistrarEvent) -> anyhow::Result<()> {
        let RegistrarEvent::Blocked {
            subject,
            value,
            aor,
            until,
        } = event
        else {
            return Ok(());
        };
        let owner = self
            .credentials
            .read()
            .user(&aor)
            .map(|u| (u.customer_id.clone(), u.white_label_id.clone()));
        let block = BlockRow {
            id: SipBlockId::new(),
            subject: subject.as_str().to_owned(),
            value,
            aor,
            customer_id: owner.as_ref().map(|o| o.0.clone()),
            white_label_id: owner.map(|o| o.1),
            blocked_until_us: now_us(until),
            created_us: now_us(SystemTime::now()),
        };
        let mut conn = self.store.conn().await?;
        store_sip::upsert_block(&mut conn, &block).await?;
        if subject == BlockSubject::Source {
            tracing::warn!(source = %block.value, aor = %block.aor, "SIP source blocked");
        }
        Ok(())
    }

    async fn clean_up(&self) -> anyhow::Result<()> {
        let now = now_us(SystemTime::now());
        let mut conn = self.store.conn().await?;
        store_sip::delete_lapsed_registrations(&mut conn, now).await?;
        store_sip::delete_lapsed_blocks(&mut conn, now).await?;
        let retention = i64::try_from(CHANGE_RETENTION.as_micros()).unwrap_or(i64::MAX);
        store_sip::prune_changes(&mut conn, now - retention).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(realm: &str, user: &str, extension: &PbxObjectId, sha256: bool) -> CredentialEntry {
        CredentialEntry {
            realm: realm.into(),
            username: user.into(),
            ha1_md5: "m".into(),
            ha1_sha256: "s".into(),
            extension_id: extension.clone(),
            customer_id: CustomerId::new(),
            white_label_id: WhiteLabelId::new(),
            sha256,
        }
    }

    #[test]
    fn cache_follows_renumbering_and_removal() {
        let shared = SharedCredentials::default();
        let ext = PbxObjectId::new();
        shared
            .write()
            .insert(entry("a.example", "101", &ext, false));
        assert!(shared.lookup("a.example", "101").is_some());
        assert!(shared.read().realms.contains_key("a.example"));
        assert_eq!(shared.algorithms("a.example"), MD5_ONLY);

        shared.write().insert(entry("a.example", "102", &ext, true));
        assert!(shared.lookup("a.example", "101").is_none());
        assert!(shared.lookup("a.example", "102").is_some());
        assert_eq!(shared.algorithms("a.example"), SHA256_AND_MD5);

        let aor = shared.write().remove_extension(&ext);
        assert_eq!(aor.as_deref(), Some("sip:102@a.example"));
        assert!(!shared.read().realms.contains_key("a.example"));
        assert!(shared.lookup("a.example", "102").is_none());
    }

    #[test]
    fn aors_split_at_the_last_at_sign() {
        assert_eq!(split_aor("sip:101@a.example"), Some(("101", "a.example")));
        assert_eq!(split_aor("sip:a@b@c.example"), Some(("a@b", "c.example")));
        assert_eq!(split_aor("tel:101"), None);
    }
}
