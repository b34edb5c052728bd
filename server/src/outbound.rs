//! Where the server may send requests: one policy for every request it makes to a provider
//! (tests, discovery, health checks, inference). A connection's endpoint may not reach
//! loopback, unspecified, link-local (cloud metadata included), private, unique-local,
//! CGNAT, multicast or reserved addresses — in any spelling, IPv4-mapped or embedded in
//! IPv6, or through a DNS name that resolves there, checked on the resolved address when
//! the connection is made (not only when the endpoint is saved) — unless a platform admin
//! allowed it: on the connection, on its provider, or for everyone with
//! `--allow-private-endpoints`. Every request carries this instance's hop marker, so a
//! connection that points back at LangMart is refused instead of calling itself forever.

use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    header::{HeaderMap, HeaderName, HeaderValue},
    Url,
};

use crate::providers::AnswerLimits;

/// The header every outbound request carries: this instance's id.
pub const HOP_HEADER: HeaderName = HeaderName::from_static("x-langmart-hop");

/// How long saving an endpoint waits for its name to resolve.
const SAVE_LOOKUP: Duration = Duration::from_secs(3);

/// Why an address is not a public one, if it is not.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        (169, 254, _) => "link-local (cloud metadata lives here)",
        _ if ip.is_private() => "private",
        (100, 64..=127, _) => "shared address space (CGNAT)",
        (192, 0, 0) => "IETF protocol assignments",
        (198, 18..=19, _) => "benchmarking",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() || a >= 240 => "reserved",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    let s = ip.segments();
    Some(match s {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
        [0, 0, 0, 0, 0, 0, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            return non_public_v4(v4_of(hi, lo))
        }
        // 6to4 (2002:AABB:CCDD::) embeds one too.
        [0x2002, hi, lo, ..] => return non_public_v4(v4_of(hi, lo)),
        [first, ..] if first & 0xfe00 == 0xfc00 => "unique-local",
        [first, ..] if first & 0xffc0 == 0xfe80 => "link-local",
        [first, ..] if first & 0xffc0 == 0xfec0 => "site-local",
        [first, ..] if first & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}

fn v4_of(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// Names that stand for the machine or its cluster whatever DNS says.
fn internal_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || [
            "localhost",
            "internal",
            "local",
            "svc",
            "cluster.local",
            "localdomain",
        ]
        .iter()
        .any(|suffix| host.ends_with(&format!(".{suffix}")))
        || host == "metadata"
        || host.starts_with("ip6-")
}

/// Why an endpoint may not be saved or called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("endpoint_url must be an http(s) URL without a user name, password, query or fragment (the provider decides the path and query)")]
    Malformed,
    #[error(
        "{host} is {reason}: only a platform admin may allow a connection to reach such addresses"
    )]
    Private { host: String, reason: String },
}

/// Checks an endpoint URL's shape and where its host points; `private_allowed` lifts the
/// address rule, not the shape rule. A name that does not resolve yet is accepted (it is
/// checked again on every connection).
pub async fn check_endpoint(url: &str, private_allowed: bool) -> Result<(), OutboundError> {
    let parsed = Url::parse(url).map_err(|_| OutboundError::Malformed)?;
    if !matches!(parsed.scheme(), "http" | "https")
        || !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || url.contains(['?', '#'])
    {
        return Err(OutboundError::Malformed);
    }
    if private_allowed {
        return Ok(());
    }
    if let Some(refused) = refused_literal(&parsed) {
        return Err(refused);
    }
    let Some(host) = parsed.host_str() else {
        return Err(OutboundError::Malformed);
    };
    let port = parsed.port_or_known_default().unwrap_or(443);
    if let Ok(Ok(addrs)) =
        tokio::time::timeout(SAVE_LOOKUP, tokio::net::lookup_host((host, port))).await
    {
        for addr in addrs {
            if let Some(reason) = non_public(addr.ip()) {
                return Err(OutboundError::Private {
                    host: format!("{host} (resolves to {})", addr.ip()),
                    reason: reason.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// The refusal for a URL whose host is an address literal or an internal name that is not
/// public — these never reach the resolver, so they are checked here.
pub fn refused_literal(url: &Url) -> Option<OutboundError> {
    let refuse = |host: String, reason: &str| {
        Some(OutboundError::Private {
            host,
            reason: reason.to_owned(),
        })
    };
    match url.host()? {
        url::Host::Ipv4(ip) => non_public(IpAddr::V4(ip)).and_then(|r| refuse(ip.to_string(), r)),
        url::Host::Ipv6(ip) => {
            non_public(IpAddr::V6(ip)).and_then(|r| refuse(format!("[{ip}]"), r))
        }
        url::Host::Domain(name) if internal_name(name) => {
            refuse(name.to_owned(), "an internal name")
        }
        url::Host::Domain(_) => None,
    }
}

/// Resolves names for the strict client and keeps only public addresses: the check happens
/// where the connection is made, so a name that resolves privately later (DNS rebinding)
/// is refused too.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if internal_name(&host) {
                return Err(Box::new(OutboundError::Private {
                    host,
                    reason: "an internal name".into(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| non_public(a.ip()).is_none())
                .collect();
            if public.is_empty() {
                let (ip, reason) = all
                    .first()
                    .and_then(|a| non_public(a.ip()).map(|r| (a.ip(), r)))
                    .unwrap_or((IpAddr::V4(Ipv4Addr::UNSPECIFIED), "not resolvable"));
                return Err(Box::new(OutboundError::Private {
                    host: format!("{host} (resolves to {ip})"),
                    reason: reason.to_owned(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        }) as Pin<Box<dyn Future<Output = _> + Send>>
    }
}

/// The outbound policy and the two HTTP clients it chooses between.
pub struct Outbound {
    strict: reqwest::Client,
    open: reqwest::Client,
    /// Clients for connections with their own connect timeout, by (strict, milliseconds):
    /// reqwest sets that per client. Few distinct values exist, so few clients.
    with_connect_timeout: std::sync::Mutex<std::collections::HashMap<(bool, u64), reqwest::Client>>,
    allow_private_everywhere: bool,
    instance: HeaderValue,
    /// How much a provider may send back.
    limits: AnswerLimits,
    /// The self-hosted gateways' agents connected to this process: the way out for
    /// type-3 connections.
    relays: Arc<crate::gateways::Hub>,
}

/// An outbound client: the policy's resolver for `strict`, the hop marker, no redirects.
fn build_client(
    strict: bool,
    instance: &HeaderValue,
    connect_timeout: Option<Duration>,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut headers = HeaderMap::new();
    headers.insert(HOP_HEADER, instance.clone());
    let mut builder = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_keepalive(Duration::from_secs(60))
        .user_agent(concat!("LangMart/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers)
        // A provider API that redirects a POST is misconfigured; following it would
        // resend the body (and the credential) elsewhere.
        .redirect(reqwest::redirect::Policy::none());
    if strict {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    if let Some(timeout) = connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    builder.build()
}

impl Outbound {
    /// `instance` is this process's hop marker.
    pub fn new(
        allow_private_everywhere: bool,
        instance: &str,
        limits: AnswerLimits,
    ) -> Result<Self, reqwest::Error> {
        let instance = HeaderValue::from_str(instance)
            .unwrap_or_else(|_| HeaderValue::from_static("langmart"));
        Ok(Outbound {
            strict: build_client(true, &instance, None)?,
            open: build_client(false, &instance, None)?,
            with_connect_timeout: Default::default(),
            allow_private_everywhere,
            instance,
            limits,
            relays: Arc::default(),
        })
    }

    /// The connected gateway agents.
    pub fn relays(&self) -> &Arc<crate::gateways::Hub> {
        &self.relays
    }

    /// The way out of a type-3 connection (its gateway and upstream), if it is one.
    pub fn relay(
        &self,
        gateway_id: Option<&str>,
        upstream: Option<&str>,
    ) -> Option<crate::gateways::relay::Relay> {
        self.relays.relay(gateway_id, upstream)
    }

    /// The caps on a provider's answers.
    pub fn answer_limits(&self) -> AnswerLimits {
        self.limits
    }

    /// Whether requests for a connection with this allowance may reach private addresses.
    pub fn private_allowed(&self, allowed_for_connection: bool) -> bool {
        self.allow_private_everywhere || allowed_for_connection
    }

    /// The client for a connection with this allowance and connect timeout (a cheap
    /// clone: clients share their pool).
    pub fn client(
        &self,
        allowed_for_connection: bool,
        connect_timeout: Option<Duration>,
    ) -> reqwest::Client {
        let strict = !self.private_allowed(allowed_for_connection);
        let Some(timeout) = connect_timeout else {
            return if strict { &self.strict } else { &self.open }.clone();
        };
        let key = (
            strict,
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        );
        let mut clients = self
            .with_connect_timeout
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(&key) {
            return client.clone();
        }
        match build_client(strict, &self.instance, Some(timeout)) {
            Ok(client) => {
                clients.insert(key, client.clone());
                client
            }
            Err(e) => {
                // Building a client with the settings that built the default ones only fails
                // if the TLS backend cannot start; the default client still bounds the call.
                tracing::error!(error = %e, "could not build a client with a connect timeout");
                if strict { &self.strict } else { &self.open }.clone()
            }
        }
    }

    /// Whether a request arriving with these headers was sent by this instance.
    pub fn is_own_hop(&self, headers: &axum::http::HeaderMap) -> bool {
        headers
            .get_all(HOP_HEADER)
            .iter()
            .any(|v| v.as_bytes() == self.instance.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        refused_literal(&Url::parse(url).unwrap()).is_some()
    }

    #[test]
    fn every_spelling_of_a_private_address_is_refused() {
        for url in [
            "http://127.0.0.1/v1",
            "http://localhost:8080",
            "http://LOCALHOST.",
            "http://0.0.0.0",
            "http://127.1",
            "http://2130706433",
            "http://0x7f000001",
            "http://0177.0.0.1",
            "http://[::1]",
            "http://[::ffff:127.0.0.1]",
            "http://[::ffff:a9fe:a9fe]",
            "http://[64:ff9b::a9fe:a9fe]",
            "http://[2002:7f00:1::]",
            "http://169.254.169.254/latest/meta-data",
            "http://metadata.google.internal",
            "http://10.0.0.1",
            "http://172.16.5.4",
            "http://192.168.1.1",
            "http://100.64.0.1",
            "http://[fd00::1]",
            "http://[fe80::1]",
            "http://kubernetes.default.svc",
            "http://api.cluster.local",
            "http://224.0.0.1",
        ] {
            assert!(refused(url), "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://8.8.8.8",
            "http://[2606:4700::1111]",
        ] {
            assert!(!refused(url), "{url}");
        }
    }

    #[tokio::test]
    async fn endpoints_that_smuggle_a_path_or_credentials_are_malformed() {
        for url in [
            "http://example.com/v1?x=1",
            "http://example.com/v1#frag",
            "http://user:pass@example.com",
            "ftp://example.com",
            "not a url",
        ] {
            assert_eq!(
                check_endpoint(url, true).await,
                Err(OutboundError::Malformed),
                "{url}"
            );
        }
        assert!(check_endpoint("http://127.0.0.1:9/v1", true).await.is_ok());
        assert!(check_endpoint("http://127.0.0.1:9/v1", false)
            .await
            .is_err());
        // A name that resolves to loopback is refused by where it points.
        assert!(matches!(
            check_endpoint("http://ip6-localhost:9", false).await,
            Err(OutboundError::Private { .. })
        ));
    }

    #[tokio::test]
    async fn the_strict_resolver_drops_private_answers() {
        let name: Name = "localhost".parse().unwrap();
        let resolved = PublicOnly.resolve(name).await;
        assert!(resolved.is_err());
    }
}
