//! UDP and TCP transports with tokio, and the serve loop that runs received
//! requests through the parser, the transaction layer and the registrar.
//!
//! Responses always go to the address the request came from (the `received`
//! and `rport` of RFC 3261 section 18.2.2 and RFC 3581), on the same UDP
//! socket or TCP connection, never to the host named in Via.

mod framing;
mod serve;
mod tcp;
mod udp;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use crate::transaction::{Reliability, TimerConfig};

pub use framing::{FramingError, StreamFramer};
pub use serve::{serve, serve_with, Command, Control};

/// Transport settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// UDP address to listen on; `None` disables UDP.
    pub udp: Option<SocketAddr>,
    /// TCP address to listen on; `None` disables TCP.
    pub tcp: Option<SocketAddr>,
    /// Largest message accepted, in bytes; larger datagrams are dropped and
    /// TCP connections sending one are closed.
    pub max_message_size: usize,
    /// Most server transactions kept at once; beyond it requests get 503.
    pub max_transactions: usize,
    /// Messages one source IP address may send per second on average, in
    /// bursts of up to twice as many; the rest are dropped, so one flooding
    /// source cannot starve the others. 0 turns the limit off. UDP datagrams are
    /// counted as they are read, before they wait for the serve loop.
    pub max_requests_per_source: u32,
    /// Most TCP connections open at once; further connections are closed at once.
    pub max_tcp_connections: usize,
    /// Receive buffer of the UDP socket, in bytes, where datagrams wait while the serve loop
    /// is busy or waits for a CPU. The kernel caps it (`net.core.rmem_max` on Linux).
    pub udp_receive_buffer: usize,
    /// Transaction timer values.
    pub timers: TimerConfig,
}

impl Default for TransportConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 5060));
        Self {
            udp: Some(loopback),
            tcp: Some(loopback),
            max_message_size: 65_535,
            max_transactions: 10_000,
            max_requests_per_source: 50,
            max_tcp_connections: 1024,
            udp_receive_buffer: 4 * 1024 * 1024,
            timers: TimerConfig::default(),
        }
    }
}

/// Bound sockets, ready to serve. They join the reactor of the runtime that serves them, so
/// they can be bound on one runtime and served on another, such as a thread of their own.
#[derive(Debug)]
pub struct Listeners {
    udp: Option<std::net::UdpSocket>,
    tcp: Option<std::net::TcpListener>,
}

impl Listeners {
    /// Binds the configured addresses.
    pub fn bind(config: &TransportConfig) -> std::io::Result<Self> {
        let udp = match config.udp {
            Some(addr) => {
                let socket = std::net::UdpSocket::bind(addr)?;
                socket.set_nonblocking(true)?;
                let buffer = socket2::SockRef::from(&socket);
                if let Err(error) = buffer.set_recv_buffer_size(config.udp_receive_buffer) {
                    tracing::warn!(%error, "setting the SIP UDP receive buffer failed");
                }
                Some(socket)
            }
            None => None,
        };
        let tcp = match config.tcp {
            Some(addr) => {
                let listener = std::net::TcpListener::bind(addr)?;
                listener.set_nonblocking(true)?;
                Some(listener)
            }
            None => None,
        };
        Ok(Self { udp, tcp })
    }

    /// Returns the bound UDP address, useful after binding port 0.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// Returns the bound TCP address, useful after binding port 0.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Registers the sockets with the current runtime's reactor.
    pub(crate) fn register(self) -> std::io::Result<(Option<Arc<UdpSocket>>, Option<TcpListener>)> {
        let udp = match self.udp {
            Some(socket) => Some(Arc::new(UdpSocket::from_std(socket)?)),
            None => None,
        };
        let tcp = match self.tcp {
            Some(listener) => Some(TcpListener::from_std(listener)?),
            None => None,
        };
        Ok((udp, tcp))
    }
}

/// The origin of a received message, which is also where its responses go.
#[derive(Debug, Clone)]
pub(crate) enum Peer {
    /// A UDP datagram: responses go from the same socket to its source.
    Udp {
        /// The socket it arrived on.
        socket: Arc<UdpSocket>,
        /// Its source address.
        addr: SocketAddr,
    },
    /// A TCP connection: responses go on the same connection.
    Tcp {
        /// The remote address of the connection.
        addr: SocketAddr,
        /// Bytes to write to the connection.
        writer: mpsc::Sender<Arc<[u8]>>,
    },
}

impl Peer {
    pub(crate) fn addr(&self) -> SocketAddr {
        match self {
            Peer::Udp { addr, .. } | Peer::Tcp { addr, .. } => *addr,
        }
    }

    pub(crate) fn reliability(&self) -> Reliability {
        match self {
            Peer::Udp { .. } => Reliability::Unreliable,
            Peer::Tcp { .. } => Reliability::Reliable,
        }
    }

    /// Sends `bytes` to the peer; failures are logged, because the
    /// transaction layer has nothing better to do with them here.
    pub(crate) async fn send(&self, bytes: Arc<[u8]>) {
        match self {
            Peer::Udp { socket, addr } => {
                if let Err(error) = socket.send_to(&bytes, addr).await {
                    tracing::warn!(%addr, %error, "sending a UDP datagram failed");
                }
            }
            Peer::Tcp { addr, writer } => {
                if writer.send(bytes).await.is_err() {
                    tracing::debug!(%addr, "TCP connection closed before the response was sent");
                }
            }
        }
    }
}

/// A received message and its origin.
pub(crate) type Inbound = (Vec<u8>, Peer);
