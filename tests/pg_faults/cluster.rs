//! A private PostgreSQL 15 cluster for the fault test: its own data directory in a temp dir,
//! its own free port on 127.0.0.1 and its socket in that dir, so stopping or freezing it
//! touches nothing else (never the shared server at 5432). Dropping it always stops it,
//! resuming it first if it is frozen, then by PID if `pg_ctl` could not.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where Debian's PostgreSQL 15 keeps `initdb` and `pg_ctl` (off `PATH`); `PG_BIN_DIR`
/// overrides it.
pub const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";

/// The user the cluster runs as when the test runs as root (initdb refuses root).
const UNPRIVILEGED_USER: &str = "postgres";

pub struct Cluster {
    bin: PathBuf,
    /// Owned by the cluster's user: the data dir, the socket and the server log.
    dir: tempfile::TempDir,
    pub port: u16,
    /// `Some(user)` when commands run as that user (`runuser`), because we are root.
    run_as: Option<&'static str>,
    frozen: bool,
}

impl Cluster {
    /// Why the cluster cannot be made here, if it cannot (the caller skips or fails).
    pub fn unavailable_because() -> Option<String> {
        let bin = bin_dir();
        for tool in ["initdb", "pg_ctl"] {
            if !bin.join(tool).is_file() {
                return Some(format!(
                    "{} not found (PostgreSQL 15 server binaries; set PG_BIN_DIR)",
                    bin.join(tool).display()
                ));
            }
        }
        if running_as_root() && !user_exists(UNPRIVILEGED_USER) {
            return Some(format!(
                "running as root and there is no {UNPRIVILEGED_USER:?} user to run initdb as"
            ));
        }
        None
    }

    /// initdb and start, waiting until it accepts connections.
    pub fn start() -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("pg-faults-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let run_as = running_as_root().then_some(UNPRIVILEGED_USER);
        if let Some(user) = run_as {
            run(Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path()))?;
        }
        let port = free_port()?;
        let cluster = Self {
            bin: bin_dir(),
            dir,
            port,
            run_as,
            frozen: false,
        };
        cluster.tool("initdb", |c| {
            c.arg("-D").arg(cluster.data()).args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
        })?;
        let settings = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
            cluster.dir.path().display()
        );
        let conf = cluster.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| format!("read conf: {e}"))?;
        text.push_str(&settings);
        std::fs::write(&conf, text).map_err(|e| format!("write conf: {e}"))?;
        cluster.start_again()?;
        Ok(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `pg_ctl start`, returning once it accepts connections.
    pub fn start_again(&self) -> Result<(), String> {
        let log = self.dir.path().join("server.log");
        self.tool("pg_ctl", |c| {
            c.arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "30", "start"])
        })
        .map(drop)
    }

    /// `pg_ctl stop -m fast`: sessions are terminated (57P01), then it exits.
    pub fn stop_fast(&self) -> Result<(), String> {
        self.tool("pg_ctl", |c| {
            c.arg("-D")
                .arg(self.data())
                .args(["-m", "fast", "-w", "-t", "30", "stop"])
        })
        .map(drop)
    }

    /// SIGSTOP to the postmaster, then to its children: connections stay open, nothing
    /// answers, new connections wait in the listen backlog.
    pub fn freeze(&mut self) -> Result<(), String> {
        let postmaster = self.postmaster_pid()?;
        self.frozen = true;
        signal("-STOP", &[postmaster])?;
        signal("-STOP", &children_of(postmaster))
    }

    /// SIGCONT to the children, then to the postmaster.
    pub fn thaw(&mut self) -> Result<(), String> {
        let postmaster = self.postmaster_pid()?;
        signal("-CONT", &children_of(postmaster))?;
        signal("-CONT", &[postmaster])?;
        self.frozen = false;
        Ok(())
    }

    /// The first line of `postmaster.pid`.
    fn postmaster_pid(&self) -> Result<u32, String> {
        let text = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .map_err(|e| format!("postmaster.pid: {e}"))?;
        text.lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .ok_or_else(|| format!("postmaster.pid without a PID: {text:?}"))
    }

    /// Runs one of the cluster's tools, as the cluster's user when we are root.
    fn tool(
        &self,
        name: &str,
        args: impl FnOnce(&mut Command) -> &mut Command,
    ) -> Result<Output, String> {
        let program = self.bin.join(name);
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        // Its own locale settings, whatever the caller's environment says.
        command.env("LC_ALL", "C").env_remove("PGDATA");
        run(args(&mut command))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.frozen
            && let Err(err) = self.thaw()
        {
            eprintln!("pg_faults: cannot resume the frozen cluster: {err}");
        }
        let pid = self.postmaster_pid().ok();
        let stopped = self.tool("pg_ctl", |c| {
            c.arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "-t", "10", "stop"])
        });
        if stopped.is_err()
            && let Some(pid) = pid
            && Path::new(&format!("/proc/{pid}")).exists()
        {
            eprintln!("pg_faults: pg_ctl stop failed; killing postmaster {pid}");
            let _ = signal("-CONT", &[pid]);
            let _ = signal("-KILL", &[pid]);
        }
    }
}

fn bin_dir() -> PathBuf {
    std::env::var_os("PG_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BIN_DIR))
}

/// /proc/self belongs to the process's effective user.
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn user_exists(user: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(user)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A port free on 127.0.0.1 right now (the OS picks it; never 5432, the shared server's).
fn free_port() -> Result<u16, String> {
    for _ in 0..10 {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        if port != 5432 {
            return Ok(port);
        }
    }
    Err("no free port".into())
}

/// The PIDs whose parent is `parent` (PostgreSQL's processes are the postmaster's children).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // /proc/PID/stat: "pid (comm) state ppid ...", comm may hold spaces or parens.
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .collect()
}

fn signal(signal: &str, pids: &[u32]) -> Result<(), String> {
    if pids.is_empty() {
        return Ok(());
    }
    let mut command = Command::new("kill");
    command.arg(signal);
    for pid in pids {
        command.arg(pid.to_string());
    }
    run(&mut command).map(drop)
}

fn run(command: &mut Command) -> Result<Output, String> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
