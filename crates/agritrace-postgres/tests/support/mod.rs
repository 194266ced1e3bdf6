//! The PostgreSQL server the tests use: `AGRITRACE_PG_URL` (a `postgres://` URL of a
//! server where the tests may create databases). Without it every test says it was skipped
//! and passes without running, so a plain `cargo test` works on a machine without
//! PostgreSQL; `.ci/run` starts a throw-away server and sets it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support"
)]

use std::io::Write as _;

/// The server URL, or `None` after saying on the terminal (not captured by the test
/// harness) that `test` was skipped.
pub fn server(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var("AGRITRACE_PG_URL")
        && !url.is_empty()
    {
        return Some(url);
    }
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: AGRITRACE_PG_URL is not set (no PostgreSQL server to test against)"
    );
    None
}

/// `url` with its database replaced by `db`.
pub fn with_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A new, empty database for `test` on the server (dropped first if an earlier run left
/// it), and its URL; `None` when the tests are skipped.
pub fn fresh_db(test: &str) -> Option<String> {
    let url = server(test)?;
    let db = format!("agritrace_test_{test}");
    let mut admin = postgres::Client::connect(&with_db(&url, "postgres"), postgres::NoTls)
        .unwrap_or_else(|e| panic!("AGRITRACE_PG_URL={url}: {e}"));
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    Some(with_db(&url, &db))
}

/// Waits until `client`'s database has no session but `client`'s own and those of
/// `PgStore`s opened in this process are idle: a killed writer's server session has ended
/// (rolled back, or committed a COMMIT it had received).
pub fn settle(client: &mut postgres::Client) {
    for _ in 0..6_000 {
        let busy: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
                   AND state IS DISTINCT FROM 'idle'",
                &[],
            )
            .unwrap()
            .get(0);
        if busy == 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("a killed writer's session is still busy after 30 s");
}

/// A throw-away PostgreSQL cluster of this test's own, made with the server binaries in
/// `AGRITRACE_PG_BIN` (run as `AGRITRACE_PG_USER` when given: PostgreSQL refuses to run as
/// root). Stopped (immediately) when dropped, also when a test panics.
pub struct Cluster {
    pub dir: std::path::PathBuf,
    pub port: u16,
    bin: std::path::PathBuf,
    user: Option<String>,
    running: bool,
}

/// The server binaries' directory, or `None` after saying `test` was skipped.
pub fn server_binaries(test: &str) -> Option<std::path::PathBuf> {
    if let Ok(dir) = std::env::var("AGRITRACE_PG_BIN")
        && !dir.is_empty()
    {
        return Some(dir.into());
    }
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: AGRITRACE_PG_BIN is not set (no PostgreSQL server binaries to make a cluster with)"
    );
    None
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// A cluster directory `dir` (not made yet) served on a free port.
    pub fn new(bin: &std::path::Path, dir: std::path::PathBuf) -> Self {
        Self {
            dir,
            port: free_port(),
            bin: bin.to_owned(),
            user: std::env::var("AGRITRACE_PG_USER")
                .ok()
                .filter(|u| !u.is_empty()),
            running: false,
        }
    }

    /// A server tool, to be run as the server's user.
    fn command(&self, name: &str) -> std::process::Command {
        let tool = self.bin.join(name);
        match &self.user {
            Some(user) => {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", user, "--"]).arg(tool);
                c
            }
            None => std::process::Command::new(tool),
        }
    }

    /// Runs a server tool; panics with its output if it fails.
    pub fn tool(&self, name: &str, args: &[&str]) {
        let out = self.command(name).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{name} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Makes a parent directory the server's user can write.
    pub fn own(&self, path: &std::path::Path) {
        std::fs::create_dir_all(path).unwrap();
        if let Some(user) = &self.user {
            let ok = std::process::Command::new("chown")
                .args(["-R", user])
                .arg(path)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown {user} {}", path.display());
        }
    }

    /// Appends settings to the cluster's `postgresql.conf`.
    pub fn configure(&self, lines: &str) {
        self.append_to("postgresql.conf", lines);
    }

    /// Appends settings to the cluster's `postgresql.auto.conf`, which is read last.
    pub fn configure_auto(&self, lines: &str) {
        self.append_to("postgresql.auto.conf", lines);
    }

    fn append_to(&self, file: &str, lines: &str) {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join(file))
            .unwrap();
        writeln!(f, "{lines}").unwrap();
    }

    pub fn start(&mut self) {
        let data = self.dir.display().to_string();
        let log = format!("{data}.log");
        self.tool(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "120", "start"],
        );
        self.running = true;
    }

    /// Stops the server: `mode` is `fast` or `immediate` (a crash, as far as the data
    /// directory knows).
    pub fn stop(&mut self, mode: &str) {
        let data = self.dir.display().to_string();
        self.tool("pg_ctl", &["-D", &data, "-m", mode, "-w", "stop"]);
        self.running = false;
    }

    /// A `postgres://` URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://agritrace@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.dir.display().to_string();
            let _ = self
                .command("pg_ctl")
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output();
        }
    }
}
