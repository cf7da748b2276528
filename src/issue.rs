//! Obtain one certificate: order (or resume the order an interrupted run
//! left), publish the DNS-01 TXT values, wait until every server answers them,
//! let the CA validate, finalize, download. The TXT values are removed
//! afterwards, also when issuance fails, and those of an interrupted run
//! when its order is resumed or dropped.
//!
//! The order in flight is kept in `state_dir/certs/NAME/order.json` (0600:
//! it holds the new certificate key), written once when the order is placed
//! and removed by the caller once the certificate is installed. It lives on
//! flash, not in `run_dir`, because the interruption that matters most on a
//! router is a power cut, which empties RAM: the next run then finishes the
//! same order instead of placing a new one and leaving a pending
//! authorization behind. That costs one small flash write per issuance.

use std::path::Path;
use std::time::Duration;

use crate::acme::client::Client;
use crate::acme::jws::{self, Signer};
use crate::acme::persist;
use crate::acme::types::{Authorization, AuthzStatus, Order, OrderStatus};
use crate::clock::Clock;
use crate::config::{CertConf, ChallengeType, Global, Propagation};
use crate::http::Http;
use crate::propagation;
use crate::providers::DnsProvider;
use crate::{Error, Result, json, keys, store};

/// How long the CA may take to validate, and then to issue.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(180);
const ISSUANCE_TIMEOUT: Duration = Duration::from_secs(180);

/// The order a run started, as kept on flash until its certificate is
/// installed. No `Debug`: it holds a private key. Read and written by hand
/// (`crate::json` says why).
#[derive(Clone, PartialEq)]
pub struct InFlight {
    /// The order's URL.
    pub url: String,
    /// The directory URL it was placed with.
    pub server: String,
    /// The names it was placed for.
    pub domains: Vec<String>,
    /// The certificate key its CSR will carry (PKCS#8 PEM).
    pub key_pem: String,
}

impl InFlight {
    pub fn load(path: &Path) -> Option<InFlight> {
        let text = store::read(path).ok().flatten()?;
        let v: serde_json::Value = serde_json::from_slice(text.as_bytes()).ok()?;
        Some(InFlight {
            url: json::str(&v, "url")?,
            server: json::str(&v, "server")?,
            domains: json::strings(&v, "domains"),
            key_pem: json::str(&v, "key_pem")?,
        })
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "url": self.url,
            "server": self.server,
            "domains": self.domains,
            "key_pem": self.key_pem,
        })
    }
}

/// What one challenge needs.
struct Pending {
    /// Where the TXT value goes (dns-01); `None` for dns-persist-01, whose
    /// standing record is already there.
    txt: Option<(String, String)>,
    challenge_url: String,
    authz_url: String,
    name: String,
}

/// The DNS side of an order: the provider that publishes the TXT values,
/// and how to wait until they are visible (`Config::propagation` for the
/// provider's section; `http` carries DoH questions).
pub struct Dns<'a> {
    pub provider: &'a mut dyn DnsProvider,
    pub propagation: &'a Propagation,
    pub http: &'a dyn Http,
}

/// What `issue` got: the PEM chain and the key it certifies.
pub struct Issued {
    pub chain: String,
    pub key_pem: String,
}

/// Run one order to the end, resuming the one in `order_path` when it is
/// for the same server and names and the CA still has it. `replaces` is the
/// ARI identifier of the certificate this one replaces (RFC 9773 §5).
#[allow(clippy::too_many_arguments)]
pub fn issue(
    client: &mut Client<'_>,
    account: &dyn Signer,
    mut dns: Option<Dns<'_>>,
    global: &Global,
    cert: &CertConf,
    order_path: &Path,
    replaces: Option<&str>,
    clock: &dyn Clock,
) -> Result<Issued> {
    let server = cert.server(global).to_string();
    let resumed = match InFlight::load(order_path) {
        Some(f) if f.server == server && f.domains == cert.domains => match client.order(&f.url) {
            Ok(o) if o.status != OrderStatus::Invalid => Some((f, o)),
            Ok(o) => {
                log::info!(
                    "{}: dropping the interrupted order {}: it is invalid",
                    cert.name,
                    f.url
                );
                cleanup(
                    client,
                    account,
                    dns.as_mut().map(|d| &mut *d.provider),
                    cert,
                    &o,
                );
                None
            }
            // The CA no longer has it (expired, deleted): start anew. A 4xx
            // without a problem document says the same.
            Err(e @ Error::Acme { .. }) => {
                log::info!(
                    "{}: dropping the interrupted order {}: {e}",
                    cert.name,
                    f.url
                );
                None
            }
            Err(Error::Http { msg, .. }) if msg.starts_with("HTTP 4") => {
                log::info!(
                    "{}: dropping the interrupted order {}: {msg}",
                    cert.name,
                    f.url
                );
                None
            }
            // The CA cannot be asked now: keep the order for the next run.
            Err(e) => return Err(e),
        },
        Some(f) => {
            log::info!(
                "{}: dropping the interrupted order {}: the server or the names changed",
                cert.name,
                f.url
            );
            if let Ok(o) = client.order(&f.url) {
                cleanup(
                    client,
                    account,
                    dns.as_mut().map(|d| &mut *d.provider),
                    cert,
                    &o,
                );
            }
            None
        }
        None => None,
    };
    let (flight, order, was_interrupted) = match resumed {
        Some((f, o)) => {
            log::info!("{}: resuming the interrupted order {}", cert.name, f.url);
            (f, o, true)
        }
        None => {
            let key_pem = keys::generate(cert.key_type)?;
            let (url, order) =
                client.new_order(&cert.domains, cert.profile.as_deref(), replaces)?;
            let flight = InFlight {
                url,
                server,
                domains: cert.domains.clone(),
                key_pem,
            };
            let text = flight.to_json().to_string();
            store::write_atomic(order_path, text.as_bytes(), store::SECRET)?;
            log::info!(
                "{}: order placed for {}",
                cert.name,
                cert.domains.join(", ")
            );
            (flight, order, false)
        }
    };
    abort_point("after-order");

    let mut pending = Vec::new();
    // A resumed order's valid authorizations may still have TXT values the
    // interrupted run published: remove them too.
    let mut stale = Vec::new();
    if matches!(order.status, OrderStatus::Pending | OrderStatus::Ready) {
        for url in &order.authorizations {
            let authz = client.authorization(url)?;
            match authz.status {
                AuthzStatus::Valid => {
                    log::info!(
                        "{}: {} is already validated: reusing it",
                        cert.name,
                        authz.identifier.value
                    );
                    if was_interrupted && let Some(t) = txt_of(&authz, account, cert) {
                        stale.push(t);
                    }
                }
                AuthzStatus::Pending => pending.push(challenge(&authz, url, account, cert)?),
                s => {
                    return Err(Error::other(
                        format!(
                            "the authorization of {} is {s:?}: the next run places a new order",
                            authz.identifier.value
                        )
                        .to_lowercase(),
                    ));
                }
            }
        }
    }

    let validated = validate(client, dns.as_mut(), cert, &pending, clock);
    if let Some(Dns { provider: dns, .. }) = dns {
        let published = pending.iter().filter_map(|p| p.txt.as_ref());
        for (fqdn, value) in published.chain(stale.iter()) {
            if let Err(e) = dns.remove_txt(fqdn, value) {
                log::warn!("could not remove the TXT value at {fqdn}: {e}");
            }
        }
    }
    if let Err(e) = validated {
        // The CA refused: the order is dead, and the next attempt (after
        // the back-off) places a new one. A timeout or a network error
        // keeps it for the next run to resume.
        if matches!(e, Error::Acme { .. }) {
            store::remove(order_path)?;
        }
        return Err(e);
    }

    let deadline = clock.now() + ISSUANCE_TIMEOUT;
    let order = if order.status == OrderStatus::Pending {
        client.order(&flight.url)?
    } else {
        order
    };
    let cert_url = match (order.status, &order.certificate) {
        (OrderStatus::Valid, Some(url)) => url.clone(),
        (OrderStatus::Processing, _) => client.poll_order(&flight.url, deadline)?,
        _ => {
            let csr = keys::csr(&cert.domains, &flight.key_pem)?;
            client.finalize(&flight.url, &order, &csr, deadline)?
        }
    };
    let chain = client.download(&cert_url)?;
    Ok(Issued {
        chain,
        key_pem: flight.key_pem,
    })
}

/// The named kill points of `crate::crashpoint`: `after-order` (the order is
/// placed and saved, nothing published), `after-validation` (the CA
/// validated every name, the TXT values are still published, nothing
/// finalized).
fn abort_point(point: &str) {
    crate::crashpoint::point(point);
}

/// The dns-01 TXT value (name, value) an authorization needs, if it has a
/// dns-01 challenge with a token.
fn txt_of(
    authz: &Authorization,
    account: &dyn Signer,
    cert: &CertConf,
) -> Option<(String, String)> {
    let ch = authz.challenges.iter().find(|c| c.kind == "dns-01")?;
    let token = ch.token.as_deref()?;
    let value = jws::dns01_value(&jws::key_authorization(token, &account.jwk()));
    Some((txt_name(&authz.identifier.value, cert), value))
}

/// Where the dns-01 TXT value for `name` is published: the alias the user
/// pointed `_acme-challenge.<name>` at, or that name itself.
fn txt_name(name: &str, cert: &CertConf) -> String {
    match &cert.challenge_alias {
        Some(alias) => alias.clone(),
        None => format!("_acme-challenge.{}", name.trim_start_matches("*.")),
    }
}

/// The challenge of the configured type in a pending authorization.
fn challenge(
    authz: &Authorization,
    url: &str,
    account: &dyn Signer,
    cert: &CertConf,
) -> Result<Pending> {
    let name = &authz.identifier.value;
    let kind = cert.challenge.name();
    let ch = authz
        .challenges
        .iter()
        .find(|c| c.kind == kind)
        .ok_or_else(|| {
            let offered: Vec<&str> = authz.challenges.iter().map(|c| c.kind.as_str()).collect();
            Error::other(format!(
                "the CA offers no {kind} challenge for {name} (only {}): set option challenge to one of those it offers",
                offered.join(", ")
            ))
        })?;
    let txt = match cert.challenge {
        ChallengeType::Dns01 => {
            let token = ch
                .token
                .as_deref()
                .ok_or_else(|| Error::other("dns-01 challenge without token"))?;
            let value = jws::dns01_value(&jws::key_authorization(token, &account.jwk()));
            Some((txt_name(name, cert), value))
        }
        ChallengeType::DnsPersist01 => {
            // §3.1: a client must refuse a challenge with no or too many names.
            persist::issuer(&ch.issuer_domain_names, "this CA")?;
            None
        }
    };
    Ok(Pending {
        txt,
        challenge_url: ch.url.clone(),
        authz_url: url.into(),
        name: name.clone(),
    })
}

/// Remove the TXT values a dropped order's authorizations may still have.
fn cleanup(
    client: &Client<'_>,
    account: &dyn Signer,
    dns: Option<&mut (dyn DnsProvider + '_)>,
    cert: &CertConf,
    order: &Order,
) {
    let Some(dns) = dns else { return };
    if cert.challenge != ChallengeType::Dns01 {
        return;
    }
    for url in &order.authorizations {
        let Ok(authz) = client.authorization(url) else {
            continue;
        };
        if let Some((fqdn, value)) = txt_of(&authz, account, cert)
            && let Err(e) = dns.remove_txt(&fqdn, &value)
        {
            log::warn!("could not remove the TXT value at {fqdn}: {e}");
        }
    }
}

/// Publish every value, wait for propagation, answer the challenges and wait
/// for the CA's verdict.
fn validate(
    client: &Client<'_>,
    dns: Option<&mut Dns<'_>>,
    cert: &CertConf,
    pending: &[Pending],
    clock: &dyn Clock,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let txt: Vec<(&str, &str)> = pending
        .iter()
        .filter_map(|p| p.txt.as_ref().map(|(n, v)| (n.as_str(), v.as_str())))
        .collect();
    if !txt.is_empty() {
        let dns = dns.ok_or_else(|| {
            Error::other(format!(
                "config cert '{}': dns-01 needs option provider",
                cert.name
            ))
        })?;
        for (fqdn, value) in &txt {
            dns.provider.add_txt(fqdn, value)?;
            log::info!("published TXT at {fqdn}");
        }
        let mut names: Vec<&str> = txt.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let values: Vec<&str> = txt
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .collect();
            propagation::wait_for_txt(dns.propagation, name, &values, clock, dns.http)?;
        }
    }
    for p in pending {
        client.respond(&p.challenge_url)?;
    }
    let deadline = clock.now() + VALIDATION_TIMEOUT;
    for p in pending {
        client
            .poll_authorization(&p.authz_url, deadline)
            .map_err(|e| match (cert.challenge, e) {
                (
                    ChallengeType::DnsPersist01,
                    Error::Acme {
                        during,
                        status,
                        problem,
                    },
                ) => Error::Acme {
                    during: format!(
                        "{during} (publish the record `wancert persist-record {}` prints at {})",
                        cert.name,
                        persist::record_name(&p.name)
                    ),
                    status,
                    problem,
                },
                (_, e) => e,
            })?;
    }
    log::info!("the CA validated {} name(s)", pending.len());
    abort_point("after-validation");
    Ok(())
}
