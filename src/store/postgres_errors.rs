//! What PostgreSQL failures say: the server's own message and SQLSTATE (`role "kling" does not
//! exist`, a missing database, a refused connection, TLS required) instead of the driver's
//! bare "db error" or "error connecting to server".

use deadpool_postgres::PoolError;

/// A driver error as its cause: the server's message and code when the server answered, else
/// the error and what it wraps (`error connecting to server: Connection refused`).
pub(super) fn describe(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return server_said(db.message(), db.code().code(), db.hint());
    }
    let text = with_sources(err);
    match super::postgres_tls::tls_fix(&text) {
        Some(fix) => format!("TLS: {text}: {fix}"),
        None => text,
    }
}

/// A pool error as its cause (the pool wraps the driver's).
pub(super) fn describe_pool(err: &PoolError) -> String {
    match err {
        PoolError::Backend(err) => describe(err),
        PoolError::Timeout(_) => format!("{err} (the server did not answer in time)"),
        _ => with_sources(err),
    }
}

/// `message (SQLSTATE code; hint)`.
fn server_said(message: &str, code: &str, hint: Option<&str>) -> String {
    match hint {
        Some(hint) => format!("{message} (SQLSTATE {code}; {hint})"),
        None => format!("{message} (SQLSTATE {code})"),
    }
}

/// The error and each error it wraps, `: `-separated, repeats dropped (some wrappers repeat
/// their source's words).
fn with_sources(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let words = cause.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_words_and_code_are_kept() {
        assert_eq!(
            server_said("role \"kling\" does not exist", "28000", None),
            "role \"kling\" does not exist (SQLSTATE 28000)"
        );
        assert_eq!(
            server_said("database \"x\" does not exist", "3D000", Some("create it")),
            "database \"x\" does not exist (SQLSTATE 3D000; create it)"
        );
    }

    #[test]
    fn wrapped_causes_are_named() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        assert_eq!(
            with_sources(&Wrapper(io)),
            "error connecting to server: Connection refused"
        );
    }

    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error connecting to server")
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// Against a real server (`KLING_MCP_TEST_POSTGRES`): a role and a database that do not
    /// exist, and a closed port, each named.
    #[tokio::test]
    async fn real_connection_failures_name_their_cause() {
        let Ok(url) = std::env::var("KLING_MCP_TEST_POSTGRES") else {
            eprintln!("skipped: KLING_MCP_TEST_POSTGRES is not set");
            return;
        };
        let base: tokio_postgres::Config = url.parse().unwrap();
        let mut role = base.clone();
        role.user("no_such_role_kling");
        let err = role.connect(tokio_postgres::NoTls).await.err().unwrap();
        let said = describe(&err);
        assert!(
            said.contains("role \"no_such_role_kling\" does not exist"),
            "{said}"
        );
        let mut database = base.clone();
        database.dbname("no_such_database_kling");
        let err = database.connect(tokio_postgres::NoTls).await.err().unwrap();
        let said = describe(&err);
        assert!(
            said.contains("database \"no_such_database_kling\" does not exist"),
            "{said}"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // (`Config::host` adds a host rather than replacing one.)
        let closed: tokio_postgres::Config = format!("postgres://kling@127.0.0.1:{port}/kling")
            .parse()
            .unwrap();
        let err = closed.connect(tokio_postgres::NoTls).await.err().unwrap();
        let said = describe(&err);
        assert!(
            said.contains("error connecting to server") && said.contains("refused"),
            "{said}"
        );
    }
}
