//! The log of a test binary, captured: the subscriber `main` installs (JSON lines), writing to
//! a buffer, installed once for every server thread of the binary.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use dashboard_service::server::config::LogFormat;
use dashboard_service::server::logging;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured log of this test binary (installed once, for every server thread).
pub fn log() -> &'static Buffer {
    static LOG: OnceLock<Buffer> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = logging::subscriber(
            LogFormat::Json,
            EnvFilter::new(logging::DEFAULT_FILTER),
            false,
            move || writer.clone(),
        );
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buffer
    })
}

/// Every JSON line logged so far; each must parse.
pub fn lines() -> Vec<serde_json::Value> {
    let bytes = log().0.lock().expect("log buffer").clone();
    String::from_utf8(bytes)
        .expect("utf-8 log")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The access-log lines (target `access`) logged so far.
pub fn access_lines() -> Vec<serde_json::Value> {
    lines()
        .into_iter()
        .filter(|line| line["target"] == "access")
        .collect()
}
