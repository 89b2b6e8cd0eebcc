use super::*;

const URL: &str = "https://query.cometapi.com/user/quota";

fn parse(status: u16, body: &str) -> Result<Balance, Error> {
    parse_balance(status, URL, body.as_bytes())
}

#[test]
fn the_documented_reply_reads_as_a_balance() {
    let body = r#"{"username":"u","total_quota":2105.234088,"total_used_quota":21.065912,
        "request_count":1221,"keys":[{"name":"tts_test","remain_quota":8.93872,"used_quota":2.099206},
        {"name":"no-limited","remain_quota":-1,"used_quota":0}]}"#;
    let balance = parse(200, body).unwrap();
    assert_eq!(balance.balance_usd, 2105.234088);
    assert_eq!(balance.used_usd, Some(21.065912));
    assert_eq!(balance.request_count, Some(1221));
    assert_eq!(balance.keys.len(), 2);
    assert_eq!(balance.keys[0].remaining_usd, Some(8.93872));
    assert!(!balance.keys[0].unlimited);
    assert_eq!(balance.keys[1].remaining_usd, None);
    assert!(balance.keys[1].unlimited);
}

#[test]
fn numbers_as_strings_are_read_and_nonsense_is_dropped() {
    let body = r#"{"total_quota":"12.5","total_used_quota":"x","request_count":-3,
        "keys":[{"name":7},{"name":"k","remain_quota":"3"}]}"#;
    let balance = parse(200, body).unwrap();
    assert_eq!(balance.balance_usd, 12.5);
    assert_eq!(balance.used_usd, None);
    assert_eq!(balance.request_count, None);
    assert_eq!(balance.keys.len(), 1);
    assert_eq!(balance.keys[0].remaining_usd, Some(3.0));
}

#[test]
fn a_hostile_key_list_is_bounded() {
    let name = "n".repeat(10_000);
    let keys: Vec<String> = (0..1000)
        .map(|_| format!(r#"{{"name":"{name}","remain_quota":1}}"#))
        .collect();
    let body = format!(r#"{{"total_quota":1,"keys":[{}]}}"#, keys.join(","));
    let balance = parse(200, &body).unwrap();
    assert_eq!(balance.keys.len(), MAX_KEYS);
    assert!(
        balance
            .keys
            .iter()
            .all(|k| k.name.chars().count() == MAX_NAME_CHARS)
    );
}

#[test]
fn refusals_get_their_kind() {
    let cases = [
        (401, r#"{"message":"invalid key"}"#, ErrorKind::Auth),
        (403, "", ErrorKind::PermissionDenied),
        (429, "", ErrorKind::RateLimited),
        (503, "<html>down</html>", ErrorKind::UpstreamUnavailable),
        (404, "<html>nope</html>", ErrorKind::MalformedResponse),
        (
            200,
            r#"{"success":false,"message":"token invalid"}"#,
            ErrorKind::Auth,
        ),
        (200, "[]", ErrorKind::MalformedResponse),
        (200, "not json", ErrorKind::MalformedResponse),
    ];
    for (status, body, kind) in cases {
        let err = parse(status, body).unwrap_err();
        assert_eq!(err.kind(), kind, "{status} {body}: {err}");
    }
    let err = parse(401, r#"{"message":"invalid key"}"#).unwrap_err();
    assert!(err.to_string().contains("invalid key"), "{err}");
}

#[test]
fn the_query_path_hangs_off_the_origin_without_a_query() {
    let plain = Url::parse("https://query.cometapi.com").unwrap();
    assert_eq!(quota_url(&plain).as_str(), URL);
    let prefixed = Url::parse("http://127.0.0.1:9/proxy/?key=old#x").unwrap();
    assert_eq!(
        quota_url(&prefixed).as_str(),
        "http://127.0.0.1:9/proxy/user/quota"
    );
}
