use axum::Router;
use axum::middleware;
use hyper::service::Service;
use rmcp::transport::streamable_http_server::session::SessionManager;
use tokio_util::sync::CancellationToken;

use super::*;

fn guard(manager: Arc<LocalSessionManager>, max_sessions: usize) -> Arc<Guard> {
    Arc::new(Guard::new(
        None,
        manager,
        max_sessions,
        1024,
        Arc::new(BodyBudget::new(4096)),
        false,
    ))
}

/// Sends one request through `app`.
async fn send(app: &Router, request: Request) -> Response {
    hyper_util::service::TowerToHyperService::new(app.clone())
        .call(request)
        .await
        .unwrap()
}

async fn body_json(response: Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    assert_eq!(bearer_token("Bearer abc"), Some("abc"));
    assert_eq!(bearer_token("bearer abc"), Some("abc"));
    assert_eq!(bearer_token("BEARER  abc"), Some("abc"));
    assert_eq!(bearer_token("Basic abc"), None);
    assert_eq!(bearer_token("Bearerabc"), None);
}

/// rmcp answers 415 to a body that does not parse; JSON-RPC says 400 with -32700.
#[tokio::test]
async fn a_body_that_is_not_json_gets_400_and_a_parse_error() {
    let manager = Arc::new(LocalSessionManager::default());
    // Stands in for rmcp: valid JSON that is not a message gets its 415.
    let inner = || async { StatusCode::UNSUPPORTED_MEDIA_TYPE };
    let app = Router::new()
        .route("/mcp", axum::routing::post(inner))
        .layer(middleware::from_fn_with_state(
            guard(manager, 10),
            check_request,
        ));
    let post = |body: &'static str| {
        Request::post("/mcp")
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(body))
            .unwrap()
    };
    let response = send(&app, post("{\"jsonrpc\": \"2.0\", ")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = body_json(response).await;
    assert_eq!(body["error"]["code"], -32700);
    assert_eq!(body["id"], serde_json::Value::Null);

    let response = send(&app, post("{\"hello\": 1}")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(response).await["error"]["code"], -32600);

    let big = Box::leak("x".repeat(2000).into_boxed_str());
    let response = send(&app, post(big)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// rmcp answers 202 to a DELETE of any session id; clients expect 200, and an unknown
/// session is a 404.
#[tokio::test]
async fn deleting_a_session_answers_200_and_an_unknown_one_404() {
    let manager = Arc::new(LocalSessionManager::default());
    let (known, _) = manager.create_session().await.unwrap();
    let inner = || async { StatusCode::ACCEPTED };
    let app = Router::new()
        .route("/mcp", axum::routing::delete(inner))
        .layer(middleware::from_fn_with_state(
            guard(manager, 10),
            check_request,
        ));
    let delete = |id: &str| {
        Request::delete("/mcp")
            .header("mcp-session-id", id)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, delete(&known)).await.status(), StatusCode::OK);
    let response = send(&app, delete("no-such-session")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(response).await["error"]["code"], -32000);
}

/// Every open is held after the check until all have been checked: the old
/// check-then-insert let all of them through.
#[tokio::test]
async fn parallel_session_opens_cannot_all_pass_the_cap() {
    let manager = Arc::new(LocalSessionManager::default());
    let guard = guard(manager.clone(), 2);
    let (parked_tx, mut parked) = tokio::sync::mpsc::unbounded_channel();
    let release = CancellationToken::new();
    let held = release.clone();
    let opener = move || {
        let (parked_tx, held, manager) = (parked_tx.clone(), held.clone(), manager.clone());
        async move {
            let _ = parked_tx.send(());
            held.cancelled().await;
            let _ = manager.create_session().await;
            "opened"
        }
    };
    let app = Router::new()
        .route("/mcp", axum::routing::post(opener))
        .layer(middleware::from_fn_with_state(guard, check_request));
    let (refused_tx, mut refused) = tokio::sync::mpsc::unbounded_channel();
    let opens = 10;
    for _ in 0..opens {
        let call =
            hyper_util::service::TowerToHyperService::new(app.clone()).call(initialize_request());
        let refused_tx = refused_tx.clone();
        tokio::spawn(async move {
            let response = call.await.unwrap();
            if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                let _ = refused_tx.send(());
            }
        });
    }
    let (mut passed, mut turned_away) = (0, 0);
    while passed + turned_away < opens {
        tokio::select! {
            Some(()) = parked.recv() => passed += 1,
            Some(()) = refused.recv() => turned_away += 1,
        }
    }
    release.cancel();
    assert!(passed <= 2, "{passed} opens passed a cap of 2");
}

fn initialize_request() -> Request {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    Request::post("/mcp")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

#[test]
fn only_an_initialize_request_opens_a_session() {
    assert!(is_initialize(
        br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#
    ));
    assert!(is_initialize(
        br#"{"params":{"method":"x"},"method":"initialize"}"#
    ));
    for other in [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"initialize"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"server/discover"}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        r#"[{"method":"initialize"}]"#,
        r#""initialize""#,
    ] {
        assert!(!is_initialize(other.as_bytes()), "{other}");
    }
}

/// A full session table refuses a new `initialize`, but a stateless (2026-07-28) request,
/// which opens no session, passes: before, every request without a session id was counted.
#[tokio::test]
async fn a_full_session_table_still_lets_stateless_requests_through() {
    let manager = Arc::new(LocalSessionManager::default());
    let guard = guard(manager.clone(), 1);
    // A session the table did not open itself: counted, never closed to make room.
    let _open = manager.create_session().await.unwrap();
    let inner = || async { StatusCode::OK };
    let app = Router::new()
        .route("/mcp", axum::routing::post(inner))
        .layer(middleware::from_fn_with_state(guard, check_request));
    let stateless = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
    let response = send(
        &app,
        Request::post("/mcp")
            .header("content-type", "application/json")
            .body(Body::from(stateless))
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        send(&app, initialize_request()).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}
