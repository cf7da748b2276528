//! The ACME client: drives RFC 8555 over the `Http` and `Clock` seams. It
//! opens no socket and reads no clock of its own, so tests run it against an
//! in-memory server with a fake clock.

use std::cell::RefCell;
use std::time::Duration;

use super::jws::{self, KeyId, Signer};
use super::types::{
    Account, Authorization, AuthzStatus, Directory, Order, OrderStatus, Parsed, Problem,
    RenewalInfo,
};
use crate::clock::Clock;
use crate::http::{Http, Request, Response};
use crate::{Error, Result, b64};

/// How often a request is re-sent after `badNonce` (RFC 8555 §6.5) before
/// giving up: servers may reject any nonce, but never many in a row.
const BAD_NONCE_RETRIES: u32 = 5;

/// First and longest pause between polls when the server sends no
/// Retry-After. A short first poll matters: a local or fast CA validates in
/// a few milliseconds (pebble; Let's Encrypt in about a second), and the
/// first poll was the largest wait of an issuance against the lab at 250 ms.
/// Doubling from 100 ms costs a slow CA one or two extra polls.
const POLL_FIRST: Duration = Duration::from_millis(100);
const POLL_MAX: Duration = Duration::from_secs(10);

const JOSE: &str = "application/jose+json";

/// External account binding credentials (RFC 8555 §7.3.4), from the CA's
/// account page. Never logged.
pub struct Eab {
    pub kid: String,
    /// The MAC key, decoded from the base64url the CA shows.
    pub hmac_key: Vec<u8>,
}

pub struct Client<'a> {
    http: &'a dyn Http,
    clock: &'a dyn Clock,
    key: &'a dyn Signer,
    pub directory: Directory,
    directory_url: String,
    nonce: RefCell<Option<String>>,
    kid: Option<String>,
}

impl<'a> Client<'a> {
    /// Fetch the directory at `url`.
    pub fn new(
        http: &'a dyn Http,
        clock: &'a dyn Clock,
        key: &'a dyn Signer,
        url: &str,
    ) -> Result<Self> {
        let resp = http.get(url).map_err(|e| match e {
            Error::Http { url, msg } => Error::Http {
                url,
                msg: format!("{msg} (is acme_server right, and is the network up?)"),
            },
            e => e,
        })?;
        if resp.status != 200 {
            let e = Error::Http {
                url: url.into(),
                msg: format!(
                    "HTTP {} instead of an ACME directory: check option acme_server",
                    resp.status
                ),
            };
            return Err(later(e, &resp, clock));
        }
        let directory = parse_json(&resp.body, url, "directory", Directory::from_json)?;
        Ok(Client {
            http,
            clock,
            key,
            directory,
            directory_url: url.into(),
            nonce: RefCell::new(None),
            kid: None,
        })
    }

    /// The account URL, once `account` has run.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Use an account URL known from an earlier run, skipping `newAccount`.
    pub fn set_kid(&mut self, kid: String) {
        self.kid = Some(kid);
    }

    /// Find the account of our key (RFC 8555 §7.3.1, `onlyReturnExisting`),
    /// else create it (§7.3), agreeing to the terms of service and binding it
    /// to `eab` when given (§7.3.4). An existing account whose contact
    /// differs from `email` is updated (§7.3.2). Returns the account URL.
    pub fn account(&mut self, email: Option<&str>, eab: Option<&Eab>) -> Result<String> {
        let contact: Vec<String> = email.iter().map(|e| format!("mailto:{e}")).collect();
        if let Some((kid, account)) = self.find_account()? {
            if account.contact != contact {
                let update = serde_json::json!({ "contact": contact });
                self.post(&kid, Some(&update), "updating the account's contact")?;
                log::info!("updated the account's contact to {contact:?}");
            }
            return Ok(kid);
        }
        let url = self.directory.new_account.clone();
        let mut payload = serde_json::json!({ "termsOfServiceAgreed": true, "contact": contact });
        let required = self
            .directory
            .meta
            .as_ref()
            .is_some_and(|m| m.external_account_required);
        match eab {
            Some(eab) => {
                let binding = jws::eab(&eab.kid, &eab.hmac_key, &url, &self.key.jwk())?;
                payload["externalAccountBinding"] =
                    serde_json::to_value(binding).unwrap_or_default();
            }
            None if required => {
                return Err(Error::other(format!(
                    "the CA at {} requires external account binding: set option eab_kid and option eab_hmac_key in config wancert 'global' to the values from the CA's account page",
                    self.directory_url
                )));
            }
            None => {}
        }
        let resp = self.post(&url, Some(&payload), "account registration")?;
        let kid = self.location(&resp, "account registration")?;
        log::info!("created the ACME account {kid}");
        self.kid = Some(kid.clone());
        Ok(kid)
    }

    /// The account of our key, if the CA has one (RFC 8555 §7.3.1,
    /// `onlyReturnExisting`): its URL and object. An account that is no
    /// longer valid is an error saying what to do.
    pub fn find_account(&mut self) -> Result<Option<(String, Account)>> {
        let url = self.directory.new_account.clone();
        let existing = serde_json::json!({ "onlyReturnExisting": true });
        let resp = match self.post(&url, Some(&existing), "looking up the account") {
            Ok(resp) => resp,
            Err(Error::Acme { problem, .. }) if problem.short() == "accountDoesNotExist" => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let kid = self.location(&resp, "looking up the account")?;
        let account: Account = parse_json(&resp.body, &url, "account", Account::from_json)?;
        if account.status != "valid" {
            return Err(Error::other(format!(
                "the ACME account {kid} is {}: move state_dir/account.key aside to start a new account",
                account.status
            )));
        }
        self.kid = Some(kid.clone());
        Ok(Some((kid, account)))
    }

    /// Deactivate the account (RFC 8555 §7.3.6). It cannot be used again.
    pub fn deactivate(&self) -> Result<()> {
        let kid = self.require_kid()?;
        let payload = serde_json::json!({ "status": "deactivated" });
        self.post(kid, Some(&payload), "account deactivation")
            .map(drop)
    }

    /// Move the account to `new_key` (RFC 8555 §7.3.5): the outer JWS is
    /// signed by the current key, the inner one by the new key.
    pub fn key_change(&self, new_key: &dyn Signer) -> Result<()> {
        let kid = self.require_kid()?;
        let url = self.directory.key_change.clone().ok_or_else(|| {
            Error::other(format!(
                "the CA at {} does not support account key changes (no keyChange in its directory)",
                self.directory_url
            ))
        })?;
        let inner = jws::key_change_inner(new_key, &url, kid, &self.key.jwk())?;
        let payload = serde_json::to_value(inner).unwrap_or_default();
        self.post(&url, Some(&payload), "the account key change")
            .map(drop)
    }

    /// Revoke a certificate (DER) with the account key (RFC 8555 §7.6),
    /// giving an RFC 5280 §5.3.1 reason code.
    pub fn revoke(&self, cert_der: &[u8], reason: Option<u8>) -> Result<()> {
        let url = self.directory.revoke_cert.clone().ok_or_else(|| {
            Error::other(format!(
                "the CA at {} does not support revocation (no revokeCert in its directory)",
                self.directory_url
            ))
        })?;
        let mut payload = serde_json::json!({ "certificate": b64::url(cert_der) });
        if let Some(r) = reason {
            payload["reason"] = r.into();
        }
        self.post(&url, Some(&payload), "the revocation").map(drop)
    }

    /// Ask for the renewal information of a certificate (RFC 9773 §4.1, a
    /// plain GET). Returns `None` when the CA offers no ARI, else the answer
    /// and its Retry-After in seconds.
    pub fn renewal_info(&self, cert_id: &str) -> Result<Option<(RenewalInfo, Option<u64>)>> {
        let Some(base) = &self.directory.renewal_info else {
            return Ok(None);
        };
        let url = format!("{}/{cert_id}", base.trim_end_matches('/'));
        let resp = self.http.get(&url)?;
        if resp.status != 200 {
            return Err(Error::Http {
                url,
                msg: format!("HTTP {} for the renewal information", resp.status),
            });
        }
        let info = parse_json(&resp.body, &url, "renewalInfo", RenewalInfo::from_json)?;
        let now = self.clock.now();
        let retry = resp
            .header("retry-after")
            .and_then(|v| retry_after(v, now))
            .map(|d| d.as_secs());
        Ok(Some((info, retry)))
    }

    /// Check that the CA offers `profile` (draft-ietf-acme-profiles §3);
    /// the error lists the profiles it does offer.
    pub fn check_profile(&self, profile: &str) -> Result<()> {
        let offered = self
            .directory
            .meta
            .as_ref()
            .map(|m| &m.profiles)
            .filter(|p| !p.is_empty());
        match offered {
            Some(p) if p.contains_key(profile) => Ok(()),
            Some(p) => {
                let list: Vec<String> = p
                    .iter()
                    .map(|(k, v)| {
                        if v.is_empty() {
                            k.clone()
                        } else {
                            format!("{k} ({v})")
                        }
                    })
                    .collect();
                Err(Error::other(format!(
                    "the CA at {} offers no profile '{profile}': set option profile to one it offers: {}",
                    self.directory_url,
                    list.join(", ")
                )))
            }
            None => Err(Error::other(format!(
                "the CA at {} offers no certificate profiles: remove option profile '{profile}'",
                self.directory_url
            ))),
        }
    }

    /// Place an order (RFC 8555 §7.4) with an optional profile
    /// (draft-ietf-acme-profiles §4) and the certificate it replaces
    /// (RFC 9773 §5). A CA that says the old certificate was already
    /// replaced is asked again without `replaces`. Returns the order's URL
    /// and the order.
    pub fn new_order(
        &mut self,
        domains: &[String],
        profile: Option<&str>,
        replaces: Option<&str>,
    ) -> Result<(String, Order)> {
        if let Some(p) = profile {
            self.check_profile(p)?;
        }
        let identifiers: Vec<serde_json::Value> = domains
            .iter()
            .map(|d| serde_json::json!({ "type": "dns", "value": d }))
            .collect();
        // Built twice rather than edited: removing a key from a JSON object
        // would pull in the B-tree's removal code (about 3 KB) for this alone.
        let payload = |replaces: Option<&str>| {
            let mut payload = serde_json::json!({ "identifiers": identifiers });
            if let Some(p) = profile {
                payload["profile"] = p.into();
            }
            if let Some(r) = replaces {
                payload["replaces"] = r.into();
            }
            payload
        };
        let url = self.directory.new_order.clone();
        let resp = match self.post(&url, Some(&payload(replaces)), "the new order") {
            Err(Error::Acme { problem, .. })
                if replaces.is_some() && problem.short() == "alreadyReplaced" =>
            {
                log::info!("the CA says the certificate was already replaced: ordering anew");
                self.post(&url, Some(&payload(None)), "the new order")?
            }
            r => r?,
        };
        let location = self.location(&resp, "the new order")?;
        Ok((
            location,
            parse_json(&resp.body, &url, "order", Order::from_json)?,
        ))
    }

    pub fn authorization(&self, url: &str) -> Result<Authorization> {
        let resp = self.post(url, None, "fetching an authorization")?;
        parse_json(&resp.body, url, "authorization", Authorization::from_json)
    }

    pub fn order(&self, url: &str) -> Result<Order> {
        let resp = self.post(url, None, "fetching the order")?;
        parse_json(&resp.body, url, "order", Order::from_json)
    }

    /// Tell the server the challenge is ready to be validated (RFC 8555 §7.5.1).
    pub fn respond(&self, challenge_url: &str) -> Result<()> {
        self.post(
            challenge_url,
            Some(&serde_json::json!({})),
            "the challenge response",
        )
        .map(drop)
    }

    /// Poll an authorization until it leaves `pending` or `deadline` (clock
    /// time) passes. An invalid authorization is an error carrying the
    /// challenge's problem document.
    pub fn poll_authorization(&self, url: &str, deadline: Duration) -> Result<Authorization> {
        let mut wait = POLL_FIRST;
        loop {
            let resp = self.post(url, None, "polling an authorization")?;
            let authz: Authorization =
                parse_json(&resp.body, url, "authorization", Authorization::from_json)?;
            match authz.status {
                AuthzStatus::Pending => {}
                AuthzStatus::Valid => return Ok(authz),
                _ => {
                    let problem = authz
                        .challenges
                        .iter()
                        .find_map(|c| c.error.clone())
                        .unwrap_or_else(|| Problem {
                            detail: format!("authorization is {:?}", authz.status).to_lowercase(),
                            ..Problem::default()
                        });
                    let during = format!("validation of {}", authz.identifier.value);
                    return Err(Error::Acme {
                        during,
                        status: resp.status,
                        problem,
                    });
                }
            }
            wait = self.pause(
                &resp,
                wait,
                deadline,
                &format!("validation of {}", authz.identifier.value),
            )?;
        }
    }

    /// Send the CSR (DER) to the order's finalize URL, then poll the order
    /// until it is valid. Returns the certificate URL.
    pub fn finalize(
        &self,
        order_url: &str,
        order: &Order,
        csr: &[u8],
        deadline: Duration,
    ) -> Result<String> {
        let payload = serde_json::json!({ "csr": b64::url(csr) });
        let resp = self.post(&order.finalize, Some(&payload), "finalization")?;
        let order: Order = parse_json(&resp.body, &order.finalize, "order", Order::from_json)?;
        self.wait_order(order_url, resp, order, deadline)
    }

    /// Poll an order that is already being processed (a resumed one) until
    /// it is valid. Returns the certificate URL.
    pub fn poll_order(&self, order_url: &str, deadline: Duration) -> Result<String> {
        let resp = self.post(order_url, None, "polling the order")?;
        let order: Order = parse_json(&resp.body, order_url, "order", Order::from_json)?;
        self.wait_order(order_url, resp, order, deadline)
    }

    fn wait_order(
        &self,
        order_url: &str,
        mut last: Response,
        mut order: Order,
        deadline: Duration,
    ) -> Result<String> {
        let mut wait = POLL_FIRST;
        loop {
            match order.status {
                OrderStatus::Valid => {
                    return order.certificate.ok_or_else(|| {
                        self.malformed("finalization", "valid order without certificate URL")
                    });
                }
                OrderStatus::Processing | OrderStatus::Ready => {}
                OrderStatus::Invalid | OrderStatus::Pending => {
                    let problem = order.error.unwrap_or_else(|| Problem {
                        detail: format!("order became {:?} after finalization", order.status)
                            .to_lowercase(),
                        ..Problem::default()
                    });
                    return Err(Error::Acme {
                        during: "finalization".into(),
                        status: last.status,
                        problem,
                    });
                }
            }
            wait = self.pause(&last, wait, deadline, "certificate issuance")?;
            last = self.post(order_url, None, "polling the order")?;
            order = parse_json(&last.body, order_url, "order", Order::from_json)?;
        }
    }

    /// Download the certificate chain (PEM, leaf first).
    pub fn download(&self, url: &str) -> Result<String> {
        let resp = self.post(url, None, "the certificate download")?;
        String::from_utf8(resp.body)
            .map_err(|_| self.malformed("the certificate download", "not PEM text"))
    }

    /// Sleep before the next poll: Retry-After when given (bounded by
    /// `POLL_MAX`), else `wait`; returns the next default wait, doubled. Fails
    /// when the sleep would pass `deadline`.
    fn pause(
        &self,
        resp: &Response,
        wait: Duration,
        deadline: Duration,
        what: &str,
    ) -> Result<Duration> {
        let now = self.clock.now();
        let asked = resp.header("retry-after").and_then(|v| retry_after(v, now));
        // Polling sooner than the CA asked is what gets clients blocked:
        // when its Retry-After reaches past the deadline, stop now and let
        // the back-off keep the next runs away until then.
        if let Some(asked) = asked.filter(|&a| now + a > deadline) {
            return Err(Error::Refused {
                msg: format!(
                    "{what} is not done, and the CA asks to check again in {} s: the next run after that resumes the order",
                    asked.as_secs()
                ),
                retry_after: Some(asked),
            });
        }
        let sleep = asked.unwrap_or(wait).min(POLL_MAX);
        if now + sleep > deadline {
            return Err(Error::Timeout(format!(
                "{what} did not finish in time; the CA is slow or stuck, the next run will try again"
            )));
        }
        // A CA that keeps us waiting should not look like a hang in the log.
        if sleep >= Duration::from_secs(2) {
            log::info!(
                "still waiting for the CA: {what} (next check in {} s)",
                sleep.as_secs()
            );
        } else {
            log::debug!("waiting {} ms for {what}", sleep.as_millis());
        }
        self.clock.sleep(sleep);
        Ok((wait * 2).min(POLL_MAX))
    }

    /// A signed POST (or POST-as-GET when `payload` is `None`), retried on
    /// `badNonce`. Error statuses become `Error::Acme` with the problem.
    fn post(
        &self,
        url: &str,
        payload: Option<&serde_json::Value>,
        during: &str,
    ) -> Result<Response> {
        let payload = payload.map(|p| serde_json::to_vec(p).unwrap_or_default());
        let mut attempt = 0;
        loop {
            let nonce = match self.nonce.borrow_mut().take() {
                Some(n) => n,
                None => self.fresh_nonce()?,
            };
            let id = match &self.kid {
                Some(kid) => KeyId::Kid(kid),
                None => KeyId::Jwk,
            };
            let body = jws::sign(self.key, id, Some(&nonce), url, payload.as_deref())?;
            let headers: &[(&str, &str)] = &[(
                "accept",
                "application/pem-certificate-chain, application/json",
            )];
            let req = Request {
                method: "POST",
                url,
                headers,
                body: Some((JOSE, &body)),
            };
            let resp = self.http.send(&req)?;
            if let Some(n) = resp.header("replay-nonce") {
                *self.nonce.borrow_mut() = Some(n.to_string());
            }
            if resp.status < 400 {
                return Ok(resp);
            }
            let doc = serde_json::from_slice::<serde_json::Value>(&resp.body);
            let problem = match doc.ok().filter(|d| d.is_object()) {
                Some(d) => Problem::from_json(&d),
                None => {
                    let e = Error::Http {
                        url: url.into(),
                        msg: format!("HTTP {} during {during}", resp.status),
                    };
                    return Err(later(e, &resp, self.clock));
                }
            };
            attempt += 1;
            if problem.short() == "badNonce" && attempt <= BAD_NONCE_RETRIES {
                log::debug!("badNonce from {url}, retrying ({attempt}/{BAD_NONCE_RETRIES})");
                continue;
            }
            let e = Error::Acme {
                during: during.into(),
                status: resp.status,
                problem,
            };
            return Err(later(e, &resp, self.clock));
        }
    }

    fn fresh_nonce(&self) -> Result<String> {
        let url = &self.directory.new_nonce;
        let resp = self.http.send(&Request {
            method: "HEAD",
            url,
            headers: &[],
            body: None,
        })?;
        resp.header("replay-nonce")
            .map(str::to_string)
            .ok_or_else(|| self.malformed("fetching a nonce", "no Replay-Nonce header"))
    }

    fn location(&self, resp: &Response, during: &str) -> Result<String> {
        resp.header("location")
            .map(str::to_string)
            .ok_or_else(|| self.malformed(during, "no Location header"))
    }

    fn require_kid(&self) -> Result<&str> {
        self.kid
            .as_deref()
            .ok_or_else(|| Error::other("no ACME account: look it up first"))
    }

    fn malformed(&self, during: &str, what: &str) -> Error {
        Error::Http {
            url: self.directory_url.clone(),
            msg: format!("malformed answer during {during}: {what}"),
        }
    }
}

/// A rate limit (429) or an unavailable CA (503) that says when to come
/// back (RFC 8555 §6.6, RFC 9110 §10.2.3) becomes a refusal carrying that
/// wait, so that the run's back-off honours it instead of trying again
/// sooner; any other error stays as it is.
fn later(e: Error, resp: &Response, clock: &dyn Clock) -> Error {
    let wait = match resp.status {
        429 | 503 => resp
            .header("retry-after")
            .and_then(|v| retry_after(v, clock.now())),
        _ => None,
    };
    match wait {
        Some(wait) => Error::Refused {
            msg: format!(
                "{e}; the CA asks not to try again before {}",
                crate::der::rfc3339((clock.now() + wait).as_secs() as i64)
            ),
            retry_after: Some(wait),
        },
        None => e,
    }
}

/// Read an answer with `read` (one of the types' `from_json`).
fn parse_json<T>(
    body: &[u8],
    url: &str,
    what: &str,
    read: fn(&serde_json::Value) -> Parsed<T>,
) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| e.to_string())
        .and_then(|v| read(&v))
        .map_err(|e| Error::Http {
            url: url.into(),
            msg: format!("the answer is not a valid ACME {what}: {e}"),
        })
}

/// A Retry-After header (RFC 9110 §10.2.3): delay seconds or an HTTP-date,
/// as a duration from `now`.
pub fn retry_after(value: &str, now: Duration) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
    let parts: Vec<&str> = value.split([' ', ':']).collect();
    let [_, day, month, year, h, m, s, "GMT"] = parts[..] else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|&x| x == month)? as i64 + 1;
    let n = |s: &str| s.parse::<i64>().ok();
    let at = crate::der::days_from_civil(n(year)?, month, n(day)?) * 86400
        + n(h)? * 3600
        + n(m)? * 60
        + n(s)?;
    let secs = u64::try_from(at).ok()?;
    Some(Duration::from_secs(secs).saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::acme::jws::Jwk;
    use crate::clock::FakeClock;

    struct FakeKey;
    impl Signer for FakeKey {
        fn alg(&self) -> &'static str {
            "ES256"
        }
        fn jwk(&self) -> Jwk {
            Jwk {
                crv: "P-256",
                kty: "EC",
                x: "x".into(),
                y: "y".into(),
            }
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>> {
            Ok(vec![0; 64])
        }
    }

    /// Answers a request from its URL and its number in the sequence.
    type Script = Box<dyn Fn(&str, u32) -> Response>;

    /// Answers from a script, by URL; counts requests.
    struct Scripted {
        answer: Script,
        calls: Cell<u32>,
    }

    impl Http for Scripted {
        fn send(&self, req: &Request<'_>) -> Result<Response> {
            self.calls.set(self.calls.get() + 1);
            Ok((self.answer)(req.url, self.calls.get()))
        }
    }

    fn json(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![
                ("replay-nonce".into(), "n".into()),
                ("location".into(), "https://ca/x".into()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    const DIRECTORY: &str = r#"{"newNonce":"https://ca/nonce","newAccount":"https://ca/acct","newOrder":"https://ca/order","meta":{"termsOfService":"https://ca/tos"}}"#;

    fn server(answer: impl Fn(&str, u32) -> Response + 'static) -> Scripted {
        Scripted {
            answer: Box::new(answer),
            calls: Cell::new(0),
        }
    }

    #[test]
    fn bad_nonce_is_retried_a_bounded_number_of_times() {
        let bad = r#"{"type":"urn:ietf:params:acme:error:badNonce","detail":"stale"}"#;
        let http = server(move |url, _| {
            if url == "https://ca/dir" {
                json(200, DIRECTORY)
            } else {
                json(400, bad)
            }
        });
        let clock = FakeClock::at(0);
        let mut client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        let err = client.account(None, None).unwrap_err();
        assert!(
            matches!(&err, Error::Acme { problem, .. } if problem.short() == "badNonce"),
            "{err}"
        );
        // directory + nonce + 1 try + 5 retries
        assert_eq!(http.calls.get(), 8);
    }

    #[test]
    fn bad_nonce_then_success() {
        let http = server(|url, n| match (url, n) {
            ("https://ca/dir", _) => json(200, DIRECTORY),
            (_, 3) => json(400, r#"{"type":"urn:ietf:params:acme:error:badNonce"}"#),
            _ => json(201, r#"{"status":"valid"}"#),
        });
        let clock = FakeClock::at(0);
        let mut client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        assert_eq!(
            client.account(Some("a@b.example"), None).unwrap(),
            "https://ca/x"
        );
    }

    #[test]
    fn polling_gives_up_at_the_deadline_without_real_time() {
        let pending = r#"{"identifier":{"type":"dns","value":"a.example"},"status":"pending","challenges":[]}"#;
        let http = server(move |url, _| {
            if url == "https://ca/dir" {
                json(200, DIRECTORY)
            } else {
                json(200, pending)
            }
        });
        let clock = FakeClock::at(1000);
        let client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        let err = client
            .poll_authorization("https://ca/authz/1", Duration::from_secs(1060))
            .unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err}");
        assert!(clock.now() <= Duration::from_secs(1060));
        assert!(
            clock.now() >= Duration::from_secs(1050),
            "it waited until near the deadline"
        );
        let polls = http.calls.get() - 2;
        assert!(
            (8..=14).contains(&polls),
            "backs off instead of hammering: {polls} polls"
        );
    }

    #[test]
    fn a_retry_after_past_the_deadline_stops_polling_at_once() {
        let http = server(move |url, _| {
            if url == "https://ca/dir" {
                json(200, DIRECTORY)
            } else {
                let mut r = json(
                    200,
                    r#"{"status":"processing","identifiers":[],"authorizations":[],"finalize":"https://ca/f"}"#,
                );
                r.headers.push(("retry-after".into(), "3600".into()));
                r
            }
        });
        let clock = FakeClock::at(1000);
        let client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        let err = client
            .poll_order("https://ca/order/1", Duration::from_secs(1180))
            .unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)), "{err}");
        assert_eq!(clock.now(), Duration::from_secs(1000), "no sleep");
        assert_eq!(http.calls.get(), 3, "directory, nonce, one poll");
    }

    #[test]
    fn rate_limits_and_unavailability_carry_their_retry_after() {
        let limited = r#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"slow down"}"#;
        let http = server(move |url, n| match url {
            "https://ca/dir" => json(200, DIRECTORY),
            _ if n <= 3 => {
                let mut r = json(429, limited);
                r.headers.push(("retry-after".into(), "120".into()));
                r
            }
            _ => {
                let mut r = json(503, "<html>busy</html>");
                let at = "Thu, 01 Jan 1970 01:00:00 GMT"; // 3600 s after the epoch
                r.headers.push(("retry-after".into(), at.into()));
                r
            }
        });
        let clock = FakeClock::at(1000);
        let mut client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        let err = client
            .new_order(&["a.example".into()], None, None)
            .unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
        let msg = err.to_string();
        assert!(
            msg.contains("rateLimited")
                && msg.contains("not to try again before 1970-01-01T00:18:40Z"),
            "{msg}"
        );
        let err = client.order("https://ca/order/1").unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2600)), "{err}");
        assert!(err.to_string().contains("HTTP 503"), "{err}");
    }

    #[test]
    fn invalid_authorization_carries_the_challenge_problem() {
        let invalid = r#"{"identifier":{"type":"dns","value":"a.example"},"status":"invalid","challenges":[
            {"type":"http-01","url":"https://ca/c/0","status":"pending","token":"t"},
            {"type":"dns-01","url":"https://ca/c/1","status":"invalid","token":"t",
             "error":{"type":"urn:ietf:params:acme:error:unauthorized","detail":"No TXT record found"}}]}"#;
        let http = server(move |url, _| {
            if url == "https://ca/dir" {
                json(200, DIRECTORY)
            } else {
                json(200, invalid)
            }
        });
        let clock = FakeClock::at(0);
        let client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        let err = client
            .poll_authorization("https://ca/authz/1", Duration::from_secs(60))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ACME server refused validation of a.example (HTTP 200): unauthorized: No TXT record found"
        );
    }

    // RFC 8555 §6.7.1: a problem document with subproblems.
    #[test]
    fn rfc8555_subproblems_are_shown() {
        let doc = r#"{
            "type": "urn:ietf:params:acme:error:malformed",
            "detail": "Some of the identifiers requested were rejected",
            "subproblems": [
                { "type": "urn:ietf:params:acme:error:malformed",
                  "detail": "Invalid underscore in DNS name \"_example.org\"",
                  "identifier": { "type": "dns", "value": "_example.org" } },
                { "type": "urn:ietf:params:acme:error:rejectedIdentifier",
                  "detail": "This CA will not issue for \"example.net\"",
                  "identifier": { "type": "dns", "value": "example.net" } }
            ]
        }"#;
        let p = Problem::from_json(&serde_json::from_str(doc).unwrap());
        assert_eq!(
            p.to_string(),
            "malformed: Some of the identifiers requested were rejected; _example.org (malformed): Invalid underscore in DNS name \"_example.org\"; example.net (rejectedIdentifier): This CA will not issue for \"example.net\""
        );
    }

    // RFC 8555 §7.1.3's example order.
    #[test]
    fn rfc8555_order_example_parses() {
        let doc = r#"{
            "status": "valid",
            "expires": "2016-01-20T14:09:07.99Z",
            "identifiers": [ { "type": "dns", "value": "www.example.org" }, { "type": "dns", "value": "example.org" } ],
            "notBefore": "2016-01-01T00:00:00Z",
            "notAfter": "2016-01-08T00:00:00Z",
            "authorizations": [ "https://example.com/acme/authz/PAniVnsZcis", "https://example.com/acme/authz/r4HqLzrSrpI" ],
            "finalize": "https://example.com/acme/order/TOlocE8rfgo/finalize",
            "certificate": "https://example.com/acme/cert/mAt3xBGaobw"
        }"#;
        let o = Order::from_json(&serde_json::from_str(doc).unwrap()).unwrap();
        assert_eq!(o.status, OrderStatus::Valid);
        assert_eq!(o.authorizations.len(), 2);
        assert_eq!(
            o.certificate.as_deref(),
            Some("https://example.com/acme/cert/mAt3xBGaobw")
        );
    }

    #[test]
    fn retry_after_both_forms() {
        let now = Duration::from_secs(784111777 - 10);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(retry_after("soon", now), None);
    }

    /// Records every request's URL and decoded JWS payload.
    struct Recorder {
        answer: Script,
        seen: RefCell<Vec<(String, serde_json::Value)>>,
    }

    impl Http for Recorder {
        fn send(&self, req: &Request<'_>) -> Result<Response> {
            let payload = req
                .body
                .and_then(|(_, b)| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|jws| {
                    let p = b64::decode(jws["payload"].as_str()?)?;
                    serde_json::from_slice(&p).ok()
                })
                .unwrap_or(serde_json::Value::Null);
            self.seen.borrow_mut().push((req.url.to_string(), payload));
            let n = self.seen.borrow().len() as u32;
            Ok((self.answer)(req.url, n))
        }
    }

    fn recorder(answer: impl Fn(&str, u32) -> Response + 'static) -> Recorder {
        Recorder {
            answer: Box::new(answer),
            seen: RefCell::new(Vec::new()),
        }
    }

    const FULL_DIRECTORY: &str = r#"{"newNonce":"https://ca/nonce","newAccount":"https://ca/acct","newOrder":"https://ca/order",
        "renewalInfo":"https://ca/ari/","keyChange":"https://ca/key-change","revokeCert":"https://ca/revoke",
        "meta":{"profiles":{"classic":"90 days","shortlived":"6 days"},"externalAccountRequired":true}}"#;

    const ORDER: &str =
        r#"{"status":"pending","identifiers":[],"authorizations":[],"finalize":"https://ca/fin"}"#;

    // draft-ietf-acme-profiles §4 and RFC 9773 §5: the order names its
    // profile and the certificate it replaces; `alreadyReplaced` is retried
    // once without `replaces`.
    #[test]
    fn new_order_carries_profile_and_replaces() {
        let http = recorder(|url, n| match url {
            "https://ca/dir" => json(200, FULL_DIRECTORY),
            "https://ca/order" if n == 3 => json(
                409,
                r#"{"type":"urn:ietf:params:acme:error:alreadyReplaced","detail":"replaced"}"#,
            ),
            _ => json(201, ORDER),
        });
        let clock = FakeClock::at(0);
        let mut client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        client.set_kid("https://ca/acct/1".into());
        let domains = vec!["a.example".to_string()];
        let (url, _) = client
            .new_order(
                &domains,
                Some("shortlived"),
                Some("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"),
            )
            .unwrap();
        assert_eq!(url, "https://ca/x");
        let seen = http.seen.borrow();
        let orders: Vec<&serde_json::Value> = seen
            .iter()
            .filter(|(u, _)| u == "https://ca/order")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(
            *orders[0],
            serde_json::json!({"identifiers":[{"type":"dns","value":"a.example"}],
                "profile":"shortlived","replaces":"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"})
        );
        assert_eq!(
            *orders[1],
            serde_json::json!({"identifiers":[{"type":"dns","value":"a.example"}],"profile":"shortlived"})
        );
        drop(seen);
        let err = client
            .new_order(&domains, Some("longlived"), None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the CA at https://ca/dir offers no profile 'longlived': set option profile to one it offers: classic (90 days), shortlived (6 days)"
        );
    }

    // RFC 9773 §4.1: a plain GET of renewalInfo/certID (one slash), with
    // Retry-After passed on; a CA without ARI is asked nothing.
    #[test]
    fn renewal_info_is_a_get_with_retry_after() {
        let http = recorder(|url, _| {
            match url {
            "https://ca/dir" => json(200, FULL_DIRECTORY),
            "https://ca/ari/aa.bb" => Response {
                status: 200,
                headers: vec![("retry-after".into(), "21600".into())],
                body: br#"{"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"},"explanationURL":"https://ca/why"}"#.to_vec(),
            },
            _ => json(404, "{}"),
        }
        });
        let clock = FakeClock::at(0);
        let client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        let (info, retry) = client.renewal_info("aa.bb").unwrap().unwrap();
        assert_eq!(retry, Some(21600));
        assert_eq!(info.explanation_url.as_deref(), Some("https://ca/why"));
        assert_eq!(info.suggested_window.start, "2025-01-02T04:00:00Z");

        let plain = server(|_, _| json(200, DIRECTORY));
        let client = Client::new(&plain, &clock, &FakeKey, "https://ca/dir").unwrap();
        assert!(client.renewal_info("aa.bb").unwrap().is_none());
        assert_eq!(plain.calls.get(), 1, "only the directory");
    }

    // RFC 8555 §7.3.1 and §7.3.4: an unknown key is registered with the
    // binding; a CA that requires one and gets none says which options to set.
    #[test]
    fn account_lookup_then_registration_with_eab() {
        let http = recorder(|url, n| match (url, n) {
            ("https://ca/dir", _) => json(200, FULL_DIRECTORY),
            ("https://ca/acct", 3) => json(
                400,
                r#"{"type":"urn:ietf:params:acme:error:accountDoesNotExist","detail":"no"}"#,
            ),
            _ => json(201, r#"{"status":"valid"}"#),
        });
        let clock = FakeClock::at(0);
        let mut client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        let eab = Eab {
            kid: "kid-7".into(),
            hmac_key: vec![1; 32],
        };
        client.account(Some("a@b.example"), Some(&eab)).unwrap();
        let seen = http.seen.borrow();
        assert_eq!(seen[2].1, serde_json::json!({"onlyReturnExisting": true}));
        let reg = &seen[3].1;
        assert_eq!(reg["termsOfServiceAgreed"], true);
        assert_eq!(reg["contact"], serde_json::json!(["mailto:a@b.example"]));
        let binding = &reg["externalAccountBinding"];
        let header: serde_json::Value =
            serde_json::from_slice(&b64::decode(binding["protected"].as_str().unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg":"HS256","kid":"kid-7","url":"https://ca/acct"})
        );
        drop(seen);

        let http = server(|url, _| match url {
            "https://ca/dir" => json(200, FULL_DIRECTORY),
            _ => json(
                400,
                r#"{"type":"urn:ietf:params:acme:error:accountDoesNotExist","detail":"no"}"#,
            ),
        });
        let mut client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        let err = client.account(None, None).unwrap_err().to_string();
        assert!(
            err.contains("option eab_kid and option eab_hmac_key"),
            "{err}"
        );
    }

    // RFC 8555 §7.3.5: the key change posts the inner JWS, signed by the new
    // key, as the payload of the outer one.
    #[test]
    fn key_change_nests_the_new_keys_jws() {
        let http = recorder(|url, _| match url {
            "https://ca/dir" => json(200, FULL_DIRECTORY),
            _ => json(200, "{}"),
        });
        let clock = FakeClock::at(0);
        let mut client = Client::new(&http, &clock, &FakeKey, "https://ca/dir").unwrap();
        client.set_kid("https://ca/acct/1".into());
        struct NewKey;
        impl Signer for NewKey {
            fn alg(&self) -> &'static str {
                "ES384"
            }
            fn jwk(&self) -> Jwk {
                Jwk {
                    crv: "P-384",
                    kty: "EC",
                    x: "nx".into(),
                    y: "ny".into(),
                }
            }
            fn sign(&self, _: &[u8]) -> Result<Vec<u8>> {
                Ok(vec![1; 96])
            }
        }
        client.key_change(&NewKey).unwrap();
        let seen = http.seen.borrow();
        let (url, inner) = seen.last().unwrap();
        assert_eq!(url, "https://ca/key-change");
        let header: serde_json::Value =
            serde_json::from_slice(&b64::decode(inner["protected"].as_str().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header["jwk"]["crv"], "P-384");
        assert_eq!(header["url"], "https://ca/key-change");
        let payload: serde_json::Value =
            serde_json::from_slice(&b64::decode(inner["payload"].as_str().unwrap()).unwrap())
                .unwrap();
        assert_eq!(payload["account"], "https://ca/acct/1");
        assert_eq!(payload["oldKey"]["x"], "x");
    }
}
