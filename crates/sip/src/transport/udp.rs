//! Receiving UDP datagrams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;

use super::serve::SourceRates;
use crate::metrics::Metrics;

/// Reads datagrams from one socket into its own buffer for the serve loop, which handles
/// each before it reads the next, so that no datagram is copied or handed between tasks.
/// Datagrams over the size limit, and those of a source over its rate, are dropped here.
pub(crate) struct UdpReceiver {
    socket: Arc<UdpSocket>,
    max_message_size: usize,
    rates: SourceRates,
    metrics: Arc<Metrics>,
    /// One byte more than the limit, which shows whether a datagram was cut.
    buf: Vec<u8>,
}

impl UdpReceiver {
    pub(crate) fn new(
        socket: Arc<UdpSocket>,
        max_message_size: usize,
        rates: SourceRates,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            socket,
            max_message_size,
            rates,
            metrics,
            buf: vec![0u8; max_message_size + 1],
        }
    }

    pub(crate) fn socket(&self) -> &Arc<UdpSocket> {
        &self.socket
    }

    /// Returns the bytes of the datagram that [`Self::next`] or [`Self::try_next`] last
    /// returned the length of.
    pub(crate) fn datagram(&self, len: usize) -> &[u8] {
        &self.buf[..len]
    }

    /// Waits for the next accepted datagram and returns its length and source. Cancelling
    /// the wait loses no accepted datagram.
    pub(crate) async fn next(&mut self) -> (usize, SocketAddr) {
        loop {
            match self.socket.recv_from(&mut self.buf).await {
                Ok((len, addr)) => {
                    if self.accept(len, addr) {
                        return (len, addr);
                    }
                }
                // ICMP errors from earlier sends surface here on some systems.
                Err(error) => tracing::debug!(%error, "receiving a UDP datagram failed"),
            }
        }
    }

    /// Returns the next accepted datagram already waiting in the socket, if any, without
    /// waiting.
    pub(crate) fn try_next(&mut self) -> Option<(usize, SocketAddr)> {
        loop {
            match self.socket.try_recv_from(&mut self.buf) {
                Ok((len, addr)) => {
                    if self.accept(len, addr) {
                        return Some((len, addr));
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return None,
                Err(error) => tracing::debug!(%error, "receiving a UDP datagram failed"),
            }
        }
    }

    fn accept(&mut self, len: usize, addr: SocketAddr) -> bool {
        if !self.rates.allow(addr.ip(), Instant::now()) {
            self.metrics.dropped_flood();
            return false;
        }
        if len > self.max_message_size {
            tracing::debug!(%addr, len, "dropped an oversized UDP datagram");
            self.metrics.dropped_oversized();
            return false;
        }
        true
    }
}
