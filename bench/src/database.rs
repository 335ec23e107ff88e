//! The relay's database for one run. Without `--database-url` the relay keeps SQLite in its
//! temp data dir, as before; a `sqlite://` URL is passed through as given; with a
//! `postgres://` URL the bench creates a schema of its own (`bench_<pid>_<unix secs>`), points
//! the relay at it with `options[search_path]=…` (the relay migrates it on opening) and drops
//! it CASCADE after the run unless `--keep-data`.
//!
//! A URL may carry a password: whatever the bench prints or writes goes through [`masked`].

use crate::procfs;
use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use sqlx::{Connection, Executor, PgConnection};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest wait for the PostgreSQL server when creating or dropping the schema.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where the database's CPU time comes from, for the per-step and idle columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbCpu {
    /// SQLite runs inside the relay: its CPU is already in the relay's.
    InRelay,
    /// A PostgreSQL server on this machine: every process named `postgres`.
    LocalPostgres,
    /// A server elsewhere (or a relay of unknown backend): not measured.
    NotSampled,
}

impl DbCpu {
    /// CPU seconds the database server has used so far, when it can be read.
    pub fn sample(self) -> Option<f64> {
        match self {
            DbCpu::LocalPostgres => procfs::comm_cpu_secs("postgres"),
            DbCpu::InRelay | DbCpu::NotSampled => None,
        }
    }

    /// The table cell when there is no number.
    pub fn blank(self) -> &'static str {
        match self {
            DbCpu::InRelay => "in relay",
            DbCpu::LocalPostgres | DbCpu::NotSampled => "-",
        }
    }
}

/// What the summary says about the database (the URL masked).
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseReport {
    /// None: a relay given by `--relay-url` without `--database-url`.
    pub backend: Option<Backend>,
    /// As given, password masked; None for the relay's default SQLite file.
    pub url: Option<String>,
    /// The bench's own PostgreSQL schema.
    pub schema: Option<String>,
    /// `database_cpu_percent` is only there for a PostgreSQL server on this machine;
    /// SQLite's CPU is part of the relay's.
    pub cpu_in_relay: bool,
}

impl DatabaseReport {
    /// One line for the report header.
    pub fn describe(&self) -> String {
        match (self.backend, &self.url, &self.schema) {
            (None, _, _) => "backend unknown (--relay-url without --database-url)".into(),
            (Some(Backend::Sqlite), None, _) => "sqlite in the relay's temp dir".into(),
            (Some(b), Some(url), Some(schema)) => format!("{} {url} schema {schema}", b.name()),
            (Some(b), Some(url), None) => format!("{} {url}", b.name()),
            (Some(b), None, _) => b.name().into(),
        }
    }

    pub fn cpu(&self) -> DbCpu {
        match (self.backend, &self.url) {
            (Some(Backend::Sqlite), _) => DbCpu::InRelay,
            (Some(Backend::Postgres), Some(url)) if is_local(url) => DbCpu::LocalPostgres,
            _ => DbCpu::NotSampled,
        }
    }
}

/// The database of one run; [`Database::finish`] drops what [`Database::prepare`] created.
/// No `Debug`: it holds the URL as given, password and all.
pub struct Database {
    pub report: DatabaseReport,
    /// The URL as given (may hold a password; never printed).
    given: Option<String>,
    /// What the relay gets as `--database-url`; None: its default SQLite in `--data-dir`.
    relay_url: Option<String>,
}

impl Database {
    /// For a relay the bench starts: checks the URL and, for PostgreSQL, creates the schema.
    pub async fn prepare(url: Option<&str>) -> Result<Database> {
        let Some(url) = url else {
            return Ok(Database {
                report: DatabaseReport {
                    backend: Some(Backend::Sqlite),
                    url: None,
                    schema: None,
                    cpu_in_relay: true,
                },
                given: None,
                relay_url: None,
            });
        };
        let backend = backend_of(url)?;
        let (schema, relay_url) = match backend {
            Backend::Sqlite => (None, url.to_string()),
            Backend::Postgres => {
                if url.contains("options[search_path]") {
                    bail!("--database-url: leave out options[search_path]; the bench picks its own schema");
                }
                let secs = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let schema = format!("bench_{}_{secs}", std::process::id());
                admin(url, &[&format!("CREATE SCHEMA \"{schema}\"")])
                    .await
                    .with_context(|| format!("creating schema {schema} in {}", masked(url)))?;
                let relay_url = with_search_path(url, &schema);
                (Some(schema), relay_url)
            }
        };
        Ok(Database {
            report: DatabaseReport {
                backend: Some(backend),
                url: Some(masked(url)),
                schema,
                cpu_in_relay: backend == Backend::Sqlite,
            },
            given: Some(url.to_string()),
            relay_url: Some(relay_url),
        })
    }

    /// For a relay started by someone else (`--relay-url`): the URL only names the backend
    /// for the report and says where to read the database's CPU; nothing is created.
    pub fn external(url: Option<&str>) -> Result<Database> {
        let backend = url.map(backend_of).transpose()?;
        Ok(Database {
            report: DatabaseReport {
                backend,
                url: url.map(masked),
                schema: None,
                cpu_in_relay: backend == Some(Backend::Sqlite),
            },
            given: None,
            relay_url: None,
        })
    }

    /// The arguments every `switchboard` subcommand gets besides `--data-dir`.
    pub fn relay_args(&self) -> Vec<String> {
        match &self.relay_url {
            Some(url) => vec!["--database-url".into(), url.clone()],
            None => Vec::new(),
        }
    }

    /// Drops the bench's schema (after the relay has stopped), or says where it was kept.
    pub async fn finish(self, keep: bool) -> Result<()> {
        let (Some(url), Some(schema)) = (&self.given, &self.report.schema) else {
            return Ok(());
        };
        let shown = masked(url);
        if keep {
            eprintln!("bench: database schema {schema} kept in {shown}");
            return Ok(());
        }
        // A relay killed mid-transaction holds its locks until the server notices the
        // closed socket; wait for that a little, not forever.
        let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        admin(url, &["SET lock_timeout = '15s'", &drop])
            .await
            .with_context(|| format!("dropping schema {schema} in {shown}; drop it by hand"))
    }
}

/// Runs the statements, in order, on one connection of its own.
async fn admin(url: &str, statements: &[&str]) -> Result<()> {
    tokio::time::timeout(ADMIN_TIMEOUT, async {
        let mut conn = PgConnection::connect(url).await?;
        for sql in statements {
            conn.execute(*sql).await?;
        }
        conn.close().await
    })
    .await
    .map_err(|_| anyhow!("no answer within {ADMIN_TIMEOUT:?}"))?
    .map_err(anyhow::Error::from)
}

fn backend_of(url: &str) -> Result<Backend> {
    match url.split_once("://").map(|(scheme, _)| scheme) {
        Some("sqlite") => Ok(Backend::Sqlite),
        Some("postgres" | "postgresql") => Ok(Backend::Postgres),
        _ => bail!(
            "--database-url {}: want sqlite://PATH or postgres://USER@HOST[:PORT]/DATABASE",
            masked(url)
        ),
    }
}

/// `url` with `options[search_path]=schema` added to its query.
fn with_search_path(url: &str, schema: &str) -> String {
    let (base, fragment) = url
        .split_once('#')
        .map_or((url, None), |(b, f)| (b, Some(f)));
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{sep}options[search_path]={schema}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Whether a PostgreSQL URL names a server on this machine (so its processes are ours to
/// read in /proc): localhost, a loopback address, or a Unix socket directory.
fn is_local(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let socket = rest.contains("host=%2F") || rest.contains("host=/");
    socket || host.is_empty() || host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// The URL with any password replaced by `***`: `user:pw@` → `user:***@`, and a
/// `password=` query parameter.
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_wherever_the_url_carries_them() {
        assert_eq!(
            masked("postgres://bench:s3cret@db:5432/test"),
            "postgres://bench:***@db:5432/test"
        );
        assert_eq!(
            masked("postgres://bench@db/test?password=s3cret&sslmode=disable"),
            "postgres://bench@db/test?password=***&sslmode=disable"
        );
        assert_eq!(
            masked("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(masked("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
        // A password with an `@` in it: the last `@` ends the user info.
        assert_eq!(masked("postgres://u:p@ss@h/d"), "postgres://u:***@h/d");
    }

    #[test]
    fn the_schema_goes_into_the_query_as_a_search_path_option() {
        assert_eq!(
            with_search_path("postgres://postgres@127.0.0.1:5432/test", "bench_1_2"),
            "postgres://postgres@127.0.0.1:5432/test?options[search_path]=bench_1_2"
        );
        assert_eq!(
            with_search_path("postgres://h/test?sslmode=disable", "s"),
            "postgres://h/test?sslmode=disable&options[search_path]=s"
        );
    }

    #[test]
    fn only_a_server_on_this_machine_has_its_cpu_read() {
        assert!(is_local("postgres://postgres@127.0.0.1:5432/test"));
        assert!(is_local("postgres://u:pw@localhost/test"));
        assert!(is_local("postgres://[::1]:5432/test"));
        assert!(is_local("postgres:///test?host=/var/run/postgresql"));
        assert!(!is_local("postgres://postgres@db.example:5432/test"));
    }

    #[test]
    fn the_header_names_the_backend_and_hides_the_password() {
        let r = DatabaseReport {
            backend: Some(Backend::Postgres),
            url: Some(masked("postgres://u:pw@127.0.0.1/test")),
            schema: Some("bench_1_2".into()),
            cpu_in_relay: false,
        };
        assert_eq!(
            r.describe(),
            "postgres postgres://u:***@127.0.0.1/test schema bench_1_2"
        );
        assert_eq!(r.cpu(), DbCpu::LocalPostgres);
    }

    #[test]
    fn other_schemes_are_refused() {
        let e = backend_of("mysql://u:pw@h/d").unwrap_err().to_string();
        assert!(e.contains("mysql://u:***@h/d") && !e.contains("pw@"), "{e}");
    }
}
