//! Which addresses a result download may reach. A reply names its video URLs, and a hostile or
//! broken upstream could name loopback services or the cloud metadata endpoint, so downloads
//! connect only to public addresses: checked after DNS resolution (at connect time, so a name
//! that resolves differently later cannot dodge it), for literal addresses in URLs (which skip
//! the resolver), and for every redirect target.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;

/// Whether `ip` is a public unicast address: not loopback, private, link-local, shared
/// (carrier-grade NAT), unspecified, multicast, broadcast, documentation, benchmarking,
/// reserved or otherwise special-purpose and not globally reachable (the IANA registries),
/// also when an IPv6 address wraps an IPv4 one (mapped, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// Why a download target was refused; reqwest carries it as the source of its error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The host is, or resolves only to, a non-public address.
    #[error(
        "{host} is a loopback, private, link-local or otherwise non-public address ({ip}); downloads connect only to public addresses"
    )]
    NotPublic {
        /// The host as named in the URL.
        host: String,
        /// The address it is or resolved to.
        ip: IpAddr,
    },
    /// A URL scheme downloads do not use.
    #[error("{url}: downloads follow only {allowed} URLs")]
    Scheme {
        /// The refused URL.
        url: String,
        /// The schemes allowed.
        allowed: &'static str,
    },
    /// Too many redirects in a row.
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
}

/// Checks a URL before any connection is made: http(s) only (redirect targets https only unless
/// private addresses are allowed), and a literal IP host must be public unless allowed.
pub(super) fn check_url(url: &Url, allow_private: bool, redirect: bool) -> Result<(), Refusal> {
    let scheme_ok = match url.scheme() {
        "https" => true,
        // A redirect from https to http would drop TLS; only test servers need it.
        "http" => !redirect || allow_private,
        _ => false,
    };
    if !scheme_ok {
        return Err(Refusal::Scheme {
            url: url.to_string(),
            allowed: if redirect && !allow_private {
                "https"
            } else {
                "http(s)"
            },
        });
    }
    if allow_private {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    // IPv6 literals come bracketed; names are checked by [`PublicOnly`] once resolved.
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = literal.parse::<IpAddr>() else {
        return Ok(());
    };
    match is_public(ip) {
        true => Ok(()),
        false => Err(Refusal::NotPublic {
            host: host.to_owned(),
            ip,
        }),
    }
}

/// Follows up to `max` redirects, checking each target with [`check_url`].
pub(super) fn redirect_policy(allow_private: bool, max: usize) -> Policy {
    Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            return attempt.error(Refusal::TooManyRedirects(max));
        }
        match check_url(attempt.url(), allow_private, true) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    })
}

/// A resolver that keeps only public addresses, so a connection can never be made to anything
/// else, whatever the name resolves to at that moment.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            match (public.is_empty(), all.first()) {
                (true, Some(first)) => Err(Box::new(Refusal::NotPublic {
                    host,
                    ip: first.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(public.into_iter()) as Addrs),
            }
        })
    }
}

/// IPv4 by the IANA special-purpose address registry: every block not globally reachable, plus
/// 192.0.0/24 whole (its few anycast exceptions serve no video) and the deprecated 6to4 relay
/// anycast 192.88.99/24.
fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network", including 0.0.0.0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata lives here
        || (a == 100 && (64..128).contains(&b)) // 100.64/10, carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24, protocol assignments
        || (a == 192 && b == 88 && c == 99) // 192.88.99/24, 6to4 relay anycast (deprecated)
        || ip.is_documentation()
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15, benchmarking
        || ip.is_multicast()
        || a >= 240; // reserved, and 255.255.255.255
    !special
}

/// IPv6: an address that wraps an IPv4 one the way a translator or tunnel reaches it (mapped,
/// well-known NAT64, 6to4) is judged by that IPv4 address. Otherwise only global unicast
/// (`2000::/3`) can be public, which leaves out `::/8` (unspecified, loopback, IPv4-compatible,
/// IPv4-translated, the local-use NAT64 `64:ff9b:1::/48`), `100::/64` discard, `5f00::/16`
/// segment routing, unique local, link-local, site-local and multicast; inside it, the IETF protocol block
/// `2001::/23` (Teredo `2001::/32`, benchmarking, ORCHID) and documentation are refused.
///
/// Teredo and local-use NAT64 are refused outright rather than judged by an embedded IPv4:
/// a Teredo address carries two (server and obfuscated client), and where a local-use NAT64
/// prefix puts the IPv4 address depends on the operator's prefix length (RFC 6052 §2.2), so
/// no single reading is safe.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let [s0, s1, s2, s3, s4, s5, s6, s7] = ip.segments();
    let embedded = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    // Well-known NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they embed.
    if (s0, s1, s2, s3, s4, s5) == (0x64, 0xff9b, 0, 0, 0, 0) {
        return is_public_v4(embedded(s6, s7));
    }
    if s0 == 0x2002 {
        return is_public_v4(embedded(s1, s2));
    }
    let global_unicast = (s0 & 0xe000) == 0x2000; // 2000::/3
    let special = (s0, s1 & 0xfe00) == (0x2001, 0) // 2001::/23, IETF protocol assignments
        || (s0, s1) == (0x2001, 0x0db8) // 2001:db8::/32, documentation
        || (s0, s1 & 0xf000) == (0x3fff, 0); // 3fff::/20, documentation (RFC 9637)
    global_unicast && !special
}

#[cfg(test)]
#[path = "public_addr_tests.rs"]
mod tests;
