//! PostgreSQL over TLS against the test server that `scripts/pg.sh start DIR --tls` runs (ssl=on,
//! a throwaway CA in DIR/tls; `.ci/run` sets `KLING_MCP_TEST_POSTGRES_TLS_DIR`). Skipped, with
//! a note, without one. Run: `cargo test --lib store::postgres_tls_tests`

use std::path::PathBuf;

use super::tests::postgres_url;
use super::*;

/// A fresh database's URL and the folder holding `ca.crt` and `other-ca.crt`.
async fn tls_server() -> Option<(String, PathBuf)> {
    let Some(dir) = std::env::var_os("KLING_MCP_TEST_POSTGRES_TLS_DIR") else {
        eprintln!(
            "skipping: KLING_MCP_TEST_POSTGRES_TLS_DIR is not set (scripts/pg.sh start DIR --tls)"
        );
        return None;
    };
    Some((postgres_url().await?, PathBuf::from(dir)))
}

/// Whether the server saw this store's session encrypted.
async fn server_sees_ssl(store: &Store) -> bool {
    let rows = store
        .query(sql::SESSION_USES_SSL, Vec::new())
        .await
        .unwrap();
    rows.first().and_then(|r| r.first()) == Some(&Value::Int(1))
}

async fn open(url: String) -> Store {
    Store::open(StoreLocation::parse(&url).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn verify_full_with_the_servers_ca_connects_encrypted() {
    let Some((url, tls)) = tls_server().await else {
        return;
    };
    let ca = tls.join("ca.crt");
    let store = open(format!(
        "{url}?sslmode=verify-full&sslrootcert={}",
        ca.display()
    ))
    .await;
    assert!(store.health().await.unwrap().writable);
    assert!(server_sees_ssl(&store).await);
}

#[tokio::test]
async fn require_encrypts_without_verifying_and_disable_stays_plain() {
    let Some((url, _)) = tls_server().await else {
        return;
    };
    let store = open(format!("{url}?sslmode=require")).await;
    assert!(store.health().await.is_ok());
    assert!(server_sees_ssl(&store).await);
    // libpq's default, `prefer`, takes the TLS the server offers.
    assert!(server_sees_ssl(&open(url.clone()).await).await);
    let plain = open(format!("{url}?sslmode=disable")).await;
    assert!(!server_sees_ssl(&plain).await);
}

#[tokio::test]
async fn a_wrong_ca_is_refused_with_an_error_naming_tls_and_the_fix() {
    let Some((url, tls)) = tls_server().await else {
        return;
    };
    let wrong = tls.join("other-ca.crt");
    for mode in ["verify-full", "verify-ca", "require"] {
        let store = open(format!(
            "{url}?sslmode={mode}&sslrootcert={}",
            wrong.display()
        ))
        .await;
        let err = store.health().await.unwrap_err().to_string();
        assert!(
            err.contains("TLS") && err.contains("sslrootcert"),
            "{mode}: {err}"
        );
        assert!(err.to_lowercase().contains("certificate"), "{mode}: {err}");
    }
}
