//! Obtain one certificate: order, publish the DNS-01 TXT values, wait until
//! every server answers them, let the CA validate, finalize, download. The
//! TXT values are removed afterwards, also when issuance fails.

use std::time::Duration;

use crate::acme::client::Client;
use crate::acme::jws::{self, Signer};
use crate::acme::types::{AuthzStatus, OrderStatus};
use crate::clock::Clock;
use crate::config::{CertConf, Propagation};
use crate::http::Http;
use crate::propagation;
use crate::providers::DnsProvider;
use crate::{Error, Result, keys};

/// How long the CA may take to validate, and then to issue.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(180);
const ISSUANCE_TIMEOUT: Duration = Duration::from_secs(180);

/// One TXT value to publish for one challenge.
struct Pending {
    fqdn: String,
    value: String,
    challenge_url: String,
    authz_url: String,
}

/// The DNS side of one order: the provider that publishes the TXT values,
/// and how to wait until they are visible (`Config::propagation` for the
/// provider's section; `http` carries DoH questions).
pub struct Dns<'a> {
    pub provider: &'a mut dyn DnsProvider,
    pub propagation: &'a Propagation,
    pub http: &'a dyn Http,
}

/// Run one order to the end. `key_pem` is the new certificate key. Returns
/// the PEM chain.
pub fn issue(
    client: &mut Client<'_>,
    account: &dyn Signer,
    dns: Dns<'_>,
    cert: &CertConf,
    key_pem: &str,
    clock: &dyn Clock,
) -> Result<String> {
    let (order_url, order) = client.new_order(&cert.domains)?;
    log::info!(
        "{}: order placed for {}",
        cert.name,
        cert.domains.join(", ")
    );

    let mut pending = Vec::new();
    if order.status == OrderStatus::Pending {
        for url in &order.authorizations {
            let authz = client.authorization(url)?;
            if authz.status == AuthzStatus::Valid {
                continue;
            }
            let name = &authz.identifier.value;
            let challenge = authz
                .challenges
                .iter()
                .find(|c| c.kind == "dns-01")
                .ok_or_else(|| {
                    let offered: Vec<&str> =
                        authz.challenges.iter().map(|c| c.kind.as_str()).collect();
                    Error::other(format!(
                        "the CA offers no dns-01 challenge for {name} (only {})",
                        offered.join(", ")
                    ))
                })?;
            let token = challenge
                .token
                .as_deref()
                .ok_or_else(|| Error::other("dns-01 challenge without token"))?;
            let key_auth = jws::key_authorization(token, &account.jwk());
            pending.push(Pending {
                fqdn: format!("_acme-challenge.{}", name.trim_start_matches("*.")),
                value: jws::dns01_value(&key_auth),
                challenge_url: challenge.url.clone(),
                authz_url: url.clone(),
            });
        }
    }

    let Dns {
        provider,
        propagation,
        http,
    } = dns;
    let validated = validate(client, provider, propagation, http, &pending, clock);
    for p in &pending {
        if let Err(e) = provider.remove_txt(&p.fqdn, &p.value) {
            log::warn!("could not remove the TXT value at {}: {e}", p.fqdn);
        }
    }
    validated?;

    let csr = keys::csr(&cert.domains, key_pem)?;
    let deadline = clock.now() + ISSUANCE_TIMEOUT;
    let order = if order.status == OrderStatus::Pending {
        client.order(&order_url)?
    } else {
        order
    };
    let cert_url = client.finalize(&order_url, &order, &csr, deadline)?;
    client.download(&cert_url)
}

/// Publish every value, wait for propagation, answer the challenges and wait
/// for the CA's verdict.
fn validate(
    client: &Client<'_>,
    dns: &mut dyn DnsProvider,
    check: &Propagation,
    http: &dyn Http,
    pending: &[Pending],
    clock: &dyn Clock,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    for p in pending {
        dns.add_txt(&p.fqdn, &p.value)?;
        log::info!("published TXT at {}", p.fqdn);
    }
    let mut names: Vec<&str> = pending.iter().map(|p| p.fqdn.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let values: Vec<&str> = pending
            .iter()
            .filter(|p| p.fqdn == name)
            .map(|p| p.value.as_str())
            .collect();
        propagation::wait_for_txt(check, name, &values, clock, http)?;
    }
    for p in pending {
        client.respond(&p.challenge_url)?;
    }
    let deadline = clock.now() + VALIDATION_TIMEOUT;
    for p in pending {
        client.poll_authorization(&p.authz_url, deadline)?;
    }
    log::info!("the CA validated {} name(s)", pending.len());
    Ok(())
}
