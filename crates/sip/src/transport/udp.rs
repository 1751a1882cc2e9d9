//! Receiving UDP datagrams.

use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::serve::SourceRates;
use super::{Inbound, Peer};
use crate::metrics::Metrics;

/// Reads datagrams from `socket` and forwards each to `inbound` until the
/// receiver is dropped. Datagrams over `max_message_size`, and those of a
/// source over its rate, are dropped.
pub(crate) async fn receive(
    socket: Arc<UdpSocket>,
    max_message_size: usize,
    mut rates: SourceRates,
    inbound: mpsc::Sender<Inbound>,
    metrics: Arc<Metrics>,
) {
    // One byte more than the limit shows whether a datagram was cut.
    let mut buf = vec![0u8; max_message_size + 1];
    loop {
        let (len, addr) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors from earlier sends surface here on some systems.
                tracing::debug!(%error, "receiving a UDP datagram failed");
                continue;
            }
        };
        if !rates.allow(addr.ip(), std::time::Instant::now()) {
            metrics.dropped_flood();
            continue;
        }
        if len > max_message_size {
            tracing::debug!(%addr, len, "dropped an oversized UDP datagram");
            metrics.dropped_oversized();
            continue;
        }
        let peer = Peer::Udp {
            socket: socket.clone(),
            addr,
        };
        if inbound.send((buf[..len].to_vec(), peer)).await.is_err() {
            return;
        }
    }
}
