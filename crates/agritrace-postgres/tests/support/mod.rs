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
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
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
