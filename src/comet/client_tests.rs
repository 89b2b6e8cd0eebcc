//! Unit tests of the CometAPI client.

use super::*;

#[test]
fn endpoint_hangs_off_the_origin_and_keeps_a_proxy_prefix() {
    let plain = Url::parse("https://api.cometapi.com").unwrap();
    assert_eq!(
        endpoint_url(&plain).as_str(),
        "https://api.cometapi.com/kling/v1/videos/omni-video"
    );
    let slash = Url::parse("http://127.0.0.1:8080/").unwrap();
    assert_eq!(
        endpoint_url(&slash).as_str(),
        "http://127.0.0.1:8080/kling/v1/videos/omni-video"
    );
    let prefixed = Url::parse("https://proxy.example/comet/").unwrap();
    assert_eq!(
        endpoint_url(&prefixed).as_str(),
        "https://proxy.example/comet/kling/v1/videos/omni-video"
    );
}

#[test]
fn a_caller_with_its_own_key_asks_the_balance_with_it_not_the_query_key() {
    let mut options = ClientOptions::new(
        Url::parse("http://127.0.0.1:9").unwrap(),
        ApiKey::new("sk-server"),
    );
    options.query_key = ApiKey::new("sk-query");
    let server = Client::new(options).unwrap();
    let (key, query) = server.quota_key().unwrap();
    assert_eq!((key.expose(), query), ("sk-query", true));
    let caller = server.with_key(ApiKey::new("sk-caller").unwrap());
    let (key, query) = caller.quota_key().unwrap();
    assert_eq!((key.expose(), query), ("sk-caller", false));
    // Both of the server's keys stay secrets in the caller's upstream text.
    let cleaned = caller.redactor().clean("sk-query sk-server sk-caller");
    assert!(!cleaned.contains("sk-"), "{cleaned}");
}

#[tokio::test]
async fn a_missing_key_fails_before_anything_is_sent() {
    // Port 9 (discard) on loopback: if a request were sent, we would see a network error.
    let options = ClientOptions::new(Url::parse("http://127.0.0.1:9").unwrap(), None);
    let client = Client::new(options).unwrap();
    let err = client
        .get_task(&TaskId::parse("123").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingApiKey));
    let mut request = crate::comet::CreateTaskRequest::text("p");
    request.aspect_ratio = Some(crate::comet::AspectRatio::Square);
    let err = client
        .create_task(&request.validate().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingApiKey));
}
