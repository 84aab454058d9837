//! Lingering close: how an HTTP server must close a connection so that the last responses
//! reach the client.
//!
//! Why: when the drain ends a connection, HTTP/2 sends GOAWAY, answers the calls it accepted,
//! flushes and closes. The client may still be sending (WINDOW_UPDATEs, PING acks, requests it
//! wrote before it read the GOAWAY). Closing a TCP socket with unread bytes in its receive
//! buffer makes the kernel send RST instead of FIN; the RST discards whatever of our own
//! output has not left yet, and the client's next write fails with ECONNRESET, which makes
//! hyper's client fail every stream of the connection — including calls whose answers were
//! already in its socket buffer. Captured on loopback during `tests/drain.rs`: every drain
//! ended each client connection with a server RST (`Flags [R.]`, non-zero window), and now and
//! then a call the server had answered OK never reached its caller.
//!
//! So, as Apache's and nginx's lingering close and Go's `closeWriteAndWait` do: shut down our
//! side (FIN after all our data), then read and discard what the client still sends until it
//! closes too, for at most [`LINGER`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long a closing connection waits for the client to close its side. Clients close as
/// soon as they read our FIN; this only bounds a client that does not.
pub const LINGER: Duration = Duration::from_secs(2);

/// A TCP connection whose `poll_shutdown` is a lingering close.
pub struct LingeringClose {
    stream: TcpStream,
    linger: Duration,
    /// Set once our FIN is sent: until when we keep reading.
    lingering: Option<Pin<Box<Sleep>>>,
}

impl LingeringClose {
    pub fn new(stream: TcpStream) -> Self {
        Self::with_linger(stream, LINGER)
    }

    pub fn with_linger(stream: TcpStream, linger: Duration) -> Self {
        Self {
            stream,
            linger,
            lingering: None,
        }
    }
}

impl Connected for LingeringClose {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for LingeringClose {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LingeringClose {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.lingering.is_none() {
            ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
            this.lingering = Some(Box::pin(tokio::time::sleep(this.linger)));
        }
        // Discard what the client still sends until it closes (EOF) or fails. tokio's
        // cooperative budget makes a flooding client yield `Pending` here now and then.
        let mut scratch = [0u8; 4096];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => break,
            }
        }
        match this.lingering.as_mut() {
            Some(deadline) => deadline.as_mut().poll(cx).map(Ok),
            None => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    /// The client sent bytes the server never reads (as an HTTP/2 client's late frames); the
    /// server answers and closes. The client must read the answer and a clean end, and may
    /// still write and close without a reset.
    #[tokio::test]
    async fn a_close_with_unread_input_is_a_fin_not_a_reset() {
        let (mut client, server) = pair().await;
        client.write_all(&[7u8; 1024]).await.unwrap();
        let mut server = LingeringClose::new(server);
        server.write_all(b"answer").await.unwrap();
        let closing = tokio::spawn(async move {
            let result = server.shutdown().await;
            drop(server);
            result
        });
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"answer");
        // The server is still reading: our late bytes are not met with a reset.
        client
            .write_all(&[8u8; 1024])
            .await
            .expect("the server still reads");
        client.shutdown().await.unwrap();
        closing.await.unwrap().unwrap();
        let mut rest = Vec::new();
        assert_eq!(client.read_to_end(&mut rest).await.unwrap(), 0);
    }

    /// What the lingering close prevents: a plain close with unread input resets the
    /// connection, and the client's next write fails.
    #[tokio::test]
    async fn without_it_the_client_sees_a_reset() {
        let (mut client, mut server) = pair().await;
        client.write_all(&[7u8; 1024]).await.unwrap();
        server.write_all(b"answer").await.unwrap();
        server.shutdown().await.unwrap();
        drop(server);
        let mut answer = [0u8; 6];
        client.read_exact(&mut answer).await.unwrap();
        // The RST is already here on loopback; a write (or two) reports it.
        let mut failed = false;
        for _ in 0..10 {
            if client.write_all(&[8u8; 1024]).await.is_err() {
                failed = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(
            failed,
            "a close with unread input should reset the connection"
        );
    }

    /// A client that never closes holds the connection for the linger time only.
    #[tokio::test]
    async fn a_client_that_never_closes_is_let_go_after_the_linger() {
        let (client, server) = pair().await;
        let mut server = LingeringClose::with_linger(server, Duration::from_millis(50));
        tokio::time::timeout(Duration::from_secs(10), server.shutdown())
            .await
            .expect("the lingering close ends")
            .unwrap();
        drop(client);
    }
}
