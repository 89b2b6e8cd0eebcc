//! Table-driven tests of the public-address check against the IANA special-purpose registries.

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn only_public_unicast_addresses_are_public() {
    let refused = [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.255",
        "0.0.0.0",
        "0.1.2.3",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "::",
        "::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::",
        "::127.0.0.1",
        "2001:db8::1",
    ];
    for text in refused {
        assert!(!is_public(ip(text)), "{text} must not be public");
    }
    let allowed = [
        "8.8.8.8",
        "1.1.1.1",
        "172.32.0.1",
        "100.128.0.1",
        "169.255.0.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ];
    for text in allowed {
        assert!(is_public(ip(text)), "{text} is public");
    }
}

/// One row per block of the IANA IPv4 and IPv6 special-purpose address registries (and the
/// wrappers around IPv4): an address inside it, whether a download may connect to it, and why.
const REGISTRY: &[(&str, bool, &str)] = &[
    // IPv4 special-purpose registry.
    ("0.0.0.1", false, "0/8 this network"),
    ("10.255.255.255", false, "10/8 private"),
    ("100.64.0.0", false, "100.64/10 shared address space"),
    ("127.0.0.53", false, "127/8 loopback"),
    ("169.254.0.1", false, "169.254/16 link-local"),
    ("172.20.0.1", false, "172.16/12 private"),
    ("192.0.0.1", false, "192.0.0/24 IETF protocol assignments"),
    (
        "192.0.0.9",
        false,
        "192.0.0.9 PCP anycast, inside 192.0.0/24",
    ),
    ("192.0.0.170", false, "192.0.0.170 NAT64 discovery"),
    ("192.0.2.200", false, "192.0.2/24 TEST-NET-1"),
    (
        "192.31.196.1",
        true,
        "192.31.196/24 AS112-v4, globally reachable",
    ),
    (
        "192.52.193.1",
        true,
        "192.52.193/24 AMT, globally reachable",
    ),
    (
        "192.88.99.1",
        false,
        "192.88.99/24 deprecated 6to4 relay anycast",
    ),
    ("192.168.0.1", false, "192.168/16 private"),
    (
        "192.175.48.1",
        true,
        "192.175.48/24 AS112 direct delegation, globally reachable",
    ),
    ("198.18.255.1", false, "198.18/15 benchmarking"),
    ("198.19.0.1", false, "198.18/15 benchmarking"),
    ("198.51.100.7", false, "198.51.100/24 TEST-NET-2"),
    ("203.0.113.7", false, "203.0.113/24 TEST-NET-3"),
    ("224.0.0.251", false, "224/4 multicast"),
    ("239.255.255.250", false, "224/4 multicast"),
    ("240.0.0.1", false, "240/4 reserved"),
    ("255.255.255.255", false, "limited broadcast"),
    ("93.184.215.14", true, "ordinary unicast"),
    // IPv6 special-purpose registry.
    ("::1", false, "::1 loopback"),
    ("::", false, ":: unspecified"),
    ("::ffff:192.168.1.1", false, "IPv4-mapped, private inside"),
    ("::ffff:93.184.215.14", true, "IPv4-mapped, public inside"),
    ("::ffff:0:127.0.0.1", false, "::ffff:0:0/96 IPv4-translated"),
    (
        "::ffff:0:8.8.8.8",
        false,
        "::ffff:0:0/96 IPv4-translated, not global unicast",
    ),
    ("::8.8.8.8", false, "::/96 IPv4-compatible (deprecated)"),
    ("::10.0.0.1", false, "::/96 IPv4-compatible (deprecated)"),
    (
        "64:ff9b::10.0.0.1",
        false,
        "64:ff9b::/96 well-known NAT64, private inside",
    ),
    (
        "64:ff9b::7f00:1",
        false,
        "64:ff9b::/96 well-known NAT64, loopback inside",
    ),
    (
        "64:ff9b::8.8.8.8",
        true,
        "64:ff9b::/96 well-known NAT64, public inside",
    ),
    (
        "64:ff9b:1::8.8.8.8",
        false,
        "64:ff9b:1::/48 local-use NAT64",
    ),
    ("64:ff9b:1::a00:1", false, "64:ff9b:1::/48 local-use NAT64"),
    (
        "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
        false,
        "64:ff9b:1::/48 local-use NAT64",
    ),
    (
        "64:ff9b:2::8.8.8.8",
        false,
        "64:ff9b::/32 outside the NAT64 blocks",
    ),
    ("100::1", false, "100::/64 discard-only"),
    ("100:0:0:1::1", false, "100:0:0:1::/64 dummy prefix"),
    ("2001::1", false, "2001::/32 Teredo"),
    (
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        false,
        "2001::/32 Teredo",
    ),
    (
        "2001:0:a00:1::",
        false,
        "2001::/32 Teredo, private server inside",
    ),
    (
        "2001:1::1",
        false,
        "2001::/23 IETF protocol assignments (PCP anycast)",
    ),
    ("2001:2::1", false, "2001:2::/48 benchmarking"),
    ("2001:3::1", false, "2001:3::/32 AMT, inside 2001::/23"),
    ("2001:10::1", false, "2001:10::/28 ORCHID (deprecated)"),
    ("2001:20::1", false, "2001:20::/28 ORCHIDv2"),
    ("2001:1ff:ffff::1", false, "end of 2001::/23"),
    ("2001:200::1", true, "first global unicast past 2001::/23"),
    (
        "2001:db8:85a3::8a2e:370:7334",
        false,
        "2001:db8::/32 documentation",
    ),
    ("3fff::1", false, "3fff::/20 documentation"),
    ("3fff:fff::1", false, "3fff::/20 documentation"),
    ("3ffe::1", true, "global unicast below 3fff::/20"),
    ("3fff:1000::1", true, "global unicast past 3fff::/20"),
    ("2002:a00:1::", false, "2002::/16 6to4, private inside"),
    (
        "2002:a9fe:a9fe::",
        false,
        "2002::/16 6to4, link-local inside",
    ),
    ("2002:808:808::", true, "2002::/16 6to4, public inside"),
    (
        "2620:4f:8000::1",
        true,
        "2620:4f:8000::/48 AS112 direct delegation",
    ),
    ("5f00::1", false, "5f00::/16 SRv6 SIDs"),
    ("4000::1", false, "outside 2000::/3, unallocated"),
    ("fc00::1", false, "fc00::/7 unique local"),
    ("fdff::1", false, "fc00::/7 unique local"),
    ("fe80::1", false, "fe80::/10 link-local"),
    ("febf::1", false, "fe80::/10 link-local"),
    ("fec0::1", false, "fec0::/10 site-local (deprecated)"),
    ("ff02::fb", false, "ff00::/8 multicast"),
    ("ff0e::1", false, "ff00::/8 multicast, global scope"),
    ("2606:4700:4700::1111", true, "ordinary global unicast"),
    ("2a00:1450:4001:80b::200e", true, "ordinary global unicast"),
];

#[test]
fn the_iana_special_purpose_registries_are_refused() {
    let wrong: Vec<String> = REGISTRY
        .iter()
        .filter(|(text, public, _)| is_public(ip(text)) != *public)
        .map(|(text, public, why)| format!("{text} ({why}): expected public={public}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The same verdicts for literal hosts in URLs.
    for (text, public, why) in REGISTRY {
        let host = match ip(text) {
            IpAddr::V4(_) => (*text).to_owned(),
            IpAddr::V6(_) => format!("[{text}]"),
        };
        let url = Url::parse(&format!("https://{host}/v.mp4")).unwrap();
        assert_eq!(
            check_url(&url, false, false).is_ok(),
            *public,
            "{text} ({why})"
        );
    }
}

#[test]
fn literal_private_hosts_and_bad_schemes_are_refused_before_connecting() {
    let url = |s: &str| Url::parse(s).unwrap();
    for bad in [
        "http://127.0.0.1:8080/v.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "https://[::1]/v.mp4",
        "http://2130706433/v.mp4",
        "https://[::ffff:192.168.0.1]/v.mp4",
    ] {
        assert!(
            matches!(
                check_url(&url(bad), false, false),
                Err(Refusal::NotPublic { .. })
            ),
            "{bad}"
        );
        assert_eq!(check_url(&url(bad), true, false), Ok(()), "{bad}");
    }
    assert!(check_url(&url("file:///etc/passwd"), true, false).is_err());
    assert!(check_url(&url("ftp://cdn.example/v.mp4"), false, false).is_err());
    assert_eq!(
        check_url(&url("http://cdn.example/v.mp4"), false, false),
        Ok(())
    );
    assert!(check_url(&url("http://cdn.example/v.mp4"), false, true).is_err());
    assert_eq!(
        check_url(&url("http://127.0.0.1:1/v.mp4"), true, true),
        Ok(())
    );
    assert_eq!(
        check_url(&url("https://cdn.example/v.mp4"), false, true),
        Ok(())
    );
}

#[tokio::test]
async fn names_that_resolve_to_loopback_are_refused() {
    let name: Name = "localhost".parse().unwrap();
    let err = match PublicOnly.resolve(name).await {
        Ok(addrs) => panic!("resolved: {:?}", addrs.collect::<Vec<_>>()),
        Err(err) => err,
    };
    assert!(err.downcast_ref::<Refusal>().is_some(), "{err}");
}
