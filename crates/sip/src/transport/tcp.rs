//! Accepting TCP connections, framing their messages and writing responses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::framing::{FramingError, StreamFramer};
use super::{Inbound, Peer};
use crate::metrics::Metrics;

/// How long part of a message may wait for the rest before the connection is closed.
const PARTIAL_MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long accepting pauses after an error, such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections on `listener` until the inbound receiver is dropped. At
/// most `max_connections` are open at once; further ones are closed at once.
pub(crate) async fn accept(
    listener: TcpListener,
    max_message_size: usize,
    max_connections: usize,
    inbound: mpsc::Sender<Inbound>,
    metrics: Arc<Metrics>,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting a TCP connection failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if inbound.is_closed() {
            return;
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%addr, "closed a TCP connection over the limit");
            metrics.dropped_flood();
            continue;
        };
        tokio::spawn(connection(
            stream,
            addr,
            max_message_size,
            inbound.clone(),
            metrics.clone(),
            slot,
        ));
    }
}

/// Reads messages from one connection; a writer task sends responses back.
async fn connection(
    stream: TcpStream,
    addr: SocketAddr,
    max_message_size: usize,
    inbound: mpsc::Sender<Inbound>,
    metrics: Arc<Metrics>,
    _slot: OwnedSemaphorePermit,
) {
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Arc<[u8]>>(64);
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if let Err(error) = writer.write_all(&bytes).await {
                tracing::debug!(%addr, %error, "writing to a TCP connection failed");
                return;
            }
        }
    });
    let mut framer = StreamFramer::new(max_message_size);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let read = if framer.has_partial() {
            match tokio::time::timeout(PARTIAL_MESSAGE_TIMEOUT, reader.read(&mut buf)).await {
                Ok(read) => read,
                Err(_) => {
                    tracing::debug!(%addr, "closing a TCP connection whose message never ended");
                    return;
                }
            }
        } else {
            reader.read(&mut buf).await
        };
        let read = match read {
            Ok(0) => return,
            Ok(read) => read,
            Err(error) => {
                tracing::debug!(%addr, %error, "reading from a TCP connection failed");
                return;
            }
        };
        framer.push(&buf[..read]);
        loop {
            match framer.next_message() {
                Ok(Some(message)) => {
                    let peer = Peer::Tcp {
                        addr,
                        writer: tx.clone(),
                    };
                    if inbound.send((message, peer)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    if matches!(error, FramingError::TooLarge) {
                        metrics.dropped_oversized();
                    }
                    tracing::info!(%addr, %error, "closing a TCP connection that cannot be framed");
                    return;
                }
            }
        }
    }
}
