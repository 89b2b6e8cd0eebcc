//! Where the task store lives, parsed from `--store` / `KLING_MCP_STORE`, and shown without
//! secrets.

use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

/// The store's location.
#[derive(Clone)]
pub enum StoreLocation {
    /// Memory only: nothing survives the process.
    Memory,
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (kept secret: it may hold a password).
    Postgres(SecretString),
}

/// A `--store` value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--store / KLING_MCP_STORE: {0}")]
pub struct BadLocation(pub String);

impl StoreLocation {
    /// Reads a path or `sqlite:PATH`, `postgres://…` / `postgresql://…`, or `off`.
    pub fn parse(value: &str) -> Result<Self, BadLocation> {
        let value = value.trim();
        if value.is_empty() {
            return Err(BadLocation(
                "empty; give a file path, sqlite:PATH, postgres://… or off".into(),
            ));
        }
        if value.eq_ignore_ascii_case("off") {
            return Ok(Self::Memory);
        }
        let lower = value.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            super::postgres_tls::parse_url(value)
                .map_err(|err| BadLocation(format!("the PostgreSQL URL is not usable: {err}")))?;
            return Ok(Self::Postgres(SecretString::from(value.to_owned())));
        }
        if let Some(path) = value.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(BadLocation("sqlite: needs a file path after it".into()));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if value.contains("://") {
            return Err(BadLocation(
                "only sqlite: and postgres:// (or postgresql://) URLs are supported".into(),
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(value)))
    }

    /// Which kind of store this is: `memory`, `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Sqlite(path) => Some(path),
            _ => None,
        }
    }
}

/// Shows `postgres://user@host:port/db` without the password or query options.
impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory only"),
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => f.write_str(&redacted_postgres(url.expose_secret())),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreLocation({self})")
    }
}

/// The parts of a PostgreSQL URL that are safe to show.
fn redacted_postgres(url: &str) -> String {
    let Ok((config, _)) = super::postgres_tls::parse_url(url) else {
        return "postgres://[unparseable]".to_owned();
    };
    let user = config.get_user().unwrap_or("");
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let db = config.get_dbname().unwrap_or(user);
    let at = if user.is_empty() { "" } else { "@" };
    format!("postgres://{user}{at}{}/{db}", hosts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        assert!(matches!(
            StoreLocation::parse("off").unwrap(),
            StoreLocation::Memory
        ));
        assert_eq!(
            StoreLocation::parse("/var/k/tasks.sqlite3")
                .unwrap()
                .sqlite_path(),
            Some(std::path::Path::new("/var/k/tasks.sqlite3"))
        );
        assert_eq!(
            StoreLocation::parse("sqlite:rel/tasks.db")
                .unwrap()
                .sqlite_path(),
            Some(std::path::Path::new("rel/tasks.db"))
        );
        assert_eq!(
            StoreLocation::parse("sqlite:///abs/tasks.db")
                .unwrap()
                .sqlite_path(),
            Some(std::path::Path::new("/abs/tasks.db"))
        );
        for url in [
            "postgres://u@h/db",
            "postgresql://u:pw@h:5433/db?sslmode=disable",
        ] {
            assert_eq!(StoreLocation::parse(url).unwrap().kind(), "postgres");
        }
        for bad in ["", "  ", "sqlite:", "mysql://x/y", "postgres://[bad"] {
            assert!(StoreLocation::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_password_is_never_shown() {
        let location =
            StoreLocation::parse("postgresql://kling:s3cretpw@db.internal:5433/tasks?password=x")
                .unwrap();
        let shown = format!("{location} {location:?}");
        assert!(!shown.contains("s3cretpw"), "{shown}");
        assert!(
            shown.contains("postgres://kling@db.internal:5433/tasks"),
            "{shown}"
        );
    }
}
