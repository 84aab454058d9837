//! The server's resident memory and CPU time, read from /proc (Linux only).

use std::sync::Arc;
use std::time::Duration;

/// Samples a process's resident set (VmRSS in /proc/{pid}/status) every 50 ms while a
/// scenario runs, keeping the peak.
pub struct RssWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<Option<u64>>,
}

impl RssWatch {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut peak: Option<u64> = None;
            loop {
                if let Some(kib) = rss_kib(pid) {
                    peak = Some(peak.map_or(kib, |p| p.max(kib)));
                }
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    return peak;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Self { stop, task }
    }

    pub async fn peak_mib(self) -> Option<f64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let kib = self.task.await.ok().flatten()?;
        Some(kib as f64 / 1024.0)
    }
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPU time (user + system, seconds) a process has used: fields 14 and 15 of
/// /proc/{pid}/stat, in USER_HZ ticks (100 per second on Linux's x86 and arm ABIs).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}
