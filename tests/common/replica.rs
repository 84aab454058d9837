//! Server processes of the binary, for tests that need separate replicas on one database
//! or a process of their own to measure.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process of the binary serving on an ephemeral port; killed (by its PID) when dropped,
/// so also when the test fails.
pub struct Replica {
    child: Child,
    pub addr: SocketAddr,
}

impl Replica {
    /// Starts the binary on `database_url` with the test secret and `env` on top.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> Replica {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(env!("CARGO_BIN_EXE_dashboard-service"))
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", addr.to_string())
            .env("METRICS_ADDR", "127.0.0.1:0")
            .env("JWT_SECRET", super::SECRET)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the binary");
        let replica = Replica { child, addr };
        // Started one after the other, so the second does not migrate alongside the first.
        let start = Instant::now();
        loop {
            if let Ok(channel) = super::connect(addr, None).await {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let check = health
                    .check(tonic_health::pb::HealthCheckRequest::default())
                    .await;
                if check.is_ok_and(|r| r.into_inner().status == 1) {
                    return replica;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the replica on {addr} did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn channel(&self) -> tonic::transport::Channel {
        super::connect(self.addr, None)
            .await
            .expect("connect to the replica")
    }
}

impl Replica {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
