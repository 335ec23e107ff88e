//! Which database a relay under test uses. The backend is chosen once, by the environment:
//!
//! - SQLite (the default): the relay's own file under its temp data dir; nothing to set up.
//! - PostgreSQL (`SWITCHBOARD_E2E_DATABASE=postgres`): each [`Relay`](crate::Relay) gets a
//!   schema of its own, `sb_e2e_<random>`, in the database `SWITCHBOARD_TEST_DATABASE_URL`
//!   names, and every `switchboard` call gets `--database-url` with
//!   `options[search_path]=<schema>`, so relays running side by side never see each other's
//!   rows and the relay applies its migrations into an empty schema as on a fresh install.
//!   The schema lives as long as the `Relay` (restarts keep it) and is dropped with
//!   `CASCADE` after the process is gone.
//!
//! A test that only makes sense on one backend asks [`skip_on_postgres`] and returns early
//! with the printed reason, so a skipped specification is visible in the output.

use anyhow::{bail, Context, Result};
use sqlx::{Connection, Executor, PgConnection};
use std::time::Duration;

/// `postgres` runs the relays on PostgreSQL; unset, empty or `sqlite` on SQLite.
pub const BACKEND_VAR: &str = "SWITCHBOARD_E2E_DATABASE";
/// The PostgreSQL database the schemas are created in, e.g.
/// `postgres://postgres@127.0.0.1:5432/test` (the store crate's conformance suite reads it too).
pub const URL_VAR: &str = "SWITCHBOARD_TEST_DATABASE_URL";

/// Every schema this harness creates starts with this, so leftovers are easy to find:
/// `psql … -c '\dn sb_e2e_*'`.
pub const SCHEMA_PREFIX: &str = "sb_e2e_";

/// How long dropping a schema may wait for locks (a killed relay's backends are gone within
/// milliseconds; anything longer is a leak worth a warning, not a hung suite).
const DROP_LOCK_TIMEOUT: &str = "10s";
/// How long connecting to the database may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend `SWITCHBOARD_E2E_DATABASE` asks for; an unknown value is an error rather
    /// than a silent SQLite run.
    pub fn from_env() -> Result<Backend> {
        match std::env::var(BACKEND_VAR) {
            Err(std::env::VarError::NotPresent) => Ok(Backend::Sqlite),
            Err(e) => bail!("{BACKEND_VAR}: {e}"),
            Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
                "" | "sqlite" => Ok(Backend::Sqlite),
                "postgres" | "postgresql" | "pg" => Ok(Backend::Postgres),
                other => bail!("{BACKEND_VAR}={other:?}: expected `sqlite` or `postgres`"),
            },
        }
    }
}

/// True (after printing why) when the relays run on PostgreSQL and the calling test only
/// makes sense on SQLite; the test then returns `Ok(())` at once.
pub fn skip_on_postgres(reason: &str) -> bool {
    if Backend::from_env().is_ok_and(|b| b == Backend::Postgres) {
        eprintln!("skipped on PostgreSQL: {reason}");
        true
    } else {
        false
    }
}

/// One relay's database, for as long as the relay (and its restarts) lives.
#[derive(Debug)]
pub enum Database {
    /// The default `sqlite://<data-dir>/switchboard.db`: the temp dir is the database.
    Sqlite,
    Postgres(Schema),
}

impl Database {
    /// A fresh database on the backend the environment asks for.
    pub async fn create() -> Result<Database> {
        match Backend::from_env()? {
            Backend::Sqlite => Ok(Database::Sqlite),
            Backend::Postgres => {
                let base = std::env::var(URL_VAR).with_context(|| {
                    format!("{BACKEND_VAR}=postgres needs {URL_VAR}=postgres://USER@HOST/DATABASE")
                })?;
                Ok(Database::Postgres(Schema::create(&base).await?))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// The `--database-url` for every `switchboard` call; `None` keeps the data dir's SQLite.
    pub fn url(&self) -> Option<&str> {
        match self {
            Database::Sqlite => None,
            Database::Postgres(schema) => Some(schema.url()),
        }
    }
}

/// A PostgreSQL schema of one's own, dropped (`CASCADE`) on drop. Whoever holds it must have
/// ended every process using it first: the drop waits for their locks.
#[derive(Debug)]
pub struct Schema {
    name: String,
    /// The database the schema lives in, as given (for the drop).
    base_url: String,
    /// `base_url` with `options[search_path]=<name>`.
    url: String,
}

impl Schema {
    /// Creates `sb_e2e_<random>` in the database `base_url` names.
    pub async fn create(base_url: &str) -> Result<Schema> {
        let name = format!("{SCHEMA_PREFIX}{:016x}", rand::random::<u64>());
        let mut conn = connect(base_url).await?;
        // The name is ours (prefix + hex), so it needs no quoting.
        conn.execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .with_context(|| format!("creating schema {name}"))?;
        let _ = conn.close().await;
        let url = with_search_path(base_url, &name);
        Ok(Schema {
            name,
            base_url: base_url.to_string(),
            url,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the schema and everything in it. Blocking: it runs on a thread of its own with
    /// its own runtime, so it works from `Drop` inside any test runtime (also a
    /// current-thread one, which must not block on itself).
    fn drop_blocking(&self) -> Result<()> {
        let base = self.base_url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        std::thread::spawn(move || -> Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut conn = connect(&base).await?;
                conn.execute(format!("SET lock_timeout = '{DROP_LOCK_TIMEOUT}'").as_str())
                    .await?;
                conn.execute(sql.as_str()).await?;
                let _ = conn.close().await;
                Ok(())
            })
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the thread dropping the schema panicked"))?
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Err(e) = self.drop_blocking() {
            eprintln!(
                "warning: could not drop PostgreSQL schema {}: {e:#} \
                 (drop it by hand: DROP SCHEMA {} CASCADE)",
                self.name, self.name
            );
        }
    }
}

async fn connect(url: &str) -> Result<PgConnection> {
    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url))
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {CONNECT_TIMEOUT:?}"))
        .and_then(|r| r.map_err(anyhow::Error::from))
        .with_context(|| format!("connecting to {} ({URL_VAR})", masked(url)))
}

/// `host:port` of the PostgreSQL server `SWITCHBOARD_TEST_DATABASE_URL` names (5432 when
/// the URL gives no port), for a test that puts a proxy in front of it.
pub fn server_address() -> Result<String> {
    let url = std::env::var(URL_VAR).with_context(|| format!("{URL_VAR} is not set"))?;
    let authority = authority(&url).with_context(|| format!("no host in {}", masked(&url)))?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Ok(if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    })
}

/// `url` with its host and port replaced by `127.0.0.1:<port>`.
pub fn via_port(url: &str, port: u16) -> String {
    let Some(authority) = authority(url) else {
        return url.to_string();
    };
    let user = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    url.replacen(authority, &format!("{user}127.0.0.1:{port}"), 1)
}

/// The `user@host:port` part of a URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// `url` with `options[search_path]=<schema>` added to its query string.
fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options[search_path]={schema}")
}

/// `url` without its password, for messages.
fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{masked, via_port, with_search_path};

    #[test]
    fn a_proxy_port_replaces_host_and_port_and_keeps_the_rest() {
        assert_eq!(
            via_port(
                "postgres://pg:pw@db.example:5432/test?options[search_path]=s",
                4000
            ),
            "postgres://pg:pw@127.0.0.1:4000/test?options[search_path]=s"
        );
        assert_eq!(
            via_port("postgres://db/test", 4001),
            "postgres://127.0.0.1:4001/test"
        );
    }

    #[test]
    fn the_search_path_is_added_to_the_query_string() {
        assert_eq!(
            with_search_path("postgres://postgres@127.0.0.1:5432/test", "sb_e2e_1"),
            "postgres://postgres@127.0.0.1:5432/test?options[search_path]=sb_e2e_1"
        );
        assert_eq!(
            with_search_path("postgres://h/test?sslmode=disable", "s"),
            "postgres://h/test?sslmode=disable&options[search_path]=s"
        );
    }

    #[test]
    fn passwords_are_masked_in_messages() {
        assert_eq!(
            masked("postgres://u:geheim@db:5432/chat"),
            "postgres://u:***@db:5432/chat"
        );
        assert_eq!(masked("postgres://u@db/chat"), "postgres://u@db/chat");
    }
}
