//! DNS over HTTPS (RFC 8484): one question to a DoH resolver, through the
//! `Http` seam. The propagation check uses it when port 53 is blocked or
//! intercepted between the router and the authoritative servers.
//!
//! Questions are POSTed, not sent as `GET ?dns=`: a GET answer may be served
//! from an HTTP cache (RFC 8484 §5.1), and the check wants to see a new TXT
//! value as soon as the resolver does.

use super::wire::{self, Message, Name};
use crate::http::{Http, Request, Response};
use crate::{Error, Result};

/// The media type of a DNS message on the wire (RFC 8484 §6).
pub const MEDIA_TYPE: &str = "application/dns-message";

/// Ask the DoH resolver at `url` one recursive question.
pub fn query(http: &dyn Http, url: &str, name: &Name, qtype: u16) -> Result<Message> {
    // RFC 8484 §4.1: ID 0; HTTP pairs the answer with the question.
    let question = wire::query(0, name, qtype, true);
    let body = question.encode()?;
    let resp = http.send(&Request {
        method: "POST",
        url,
        headers: &[("accept", MEDIA_TYPE)],
        body: Some((MEDIA_TYPE, &body)),
    })?;
    answer(url, &question, &resp)
}

/// The DNS answer in a DoH response, or why there is none.
fn answer(url: &str, question: &Message, resp: &Response) -> Result<Message> {
    let fail = |why: String| Error::Dns(format!("DoH resolver {url} {why}"));
    if resp.status != 200 {
        return Err(fail(format!(
            "answered HTTP {}: check list doh_server",
            resp.status
        )));
    }
    // Parameters such as `; charset` are allowed after the type.
    let ct = resp.header("content-type").unwrap_or_default();
    let ct = ct.split(';').next().unwrap_or_default().trim();
    if !ct.eq_ignore_ascii_case(MEDIA_TYPE) {
        return Err(fail(format!(
            "answered '{ct}', not {MEDIA_TYPE}: is it an RFC 8484 endpoint (usually .../dns-query)?"
        )));
    }
    let m = Message::decode(&resp.body)
        .map_err(|e| fail(format!("sent an unreadable answer ({e})")))?;
    if !wire::is_answer_to(question, &m) {
        return Err(fail("answered another question".into()));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::wire::{RData, Record, class, flag, rtype};
    use std::cell::RefCell;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    /// A request as sent: method, URL, headers (the body's type among
    /// them) and body.
    type Sent = (String, String, Vec<(String, String)>, Vec<u8>);

    /// A DoH resolver in memory: answers with `respond` and keeps the requests.
    struct Fake<F> {
        respond: F,
        seen: RefCell<Vec<Sent>>,
    }

    impl<F: Fn(&[u8]) -> Response> Http for Fake<F> {
        fn send(&self, r: &Request<'_>) -> Result<Response> {
            let (ct, body) = r.body.unwrap_or(("", &[]));
            let mut headers: Vec<(String, String)> = r
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            headers.push(("content-type".into(), ct.into()));
            self.seen
                .borrow_mut()
                .push((r.method.into(), r.url.into(), headers, body.to_vec()));
            Ok((self.respond)(body))
        }
    }

    fn dns_response(question: &[u8], txt: &str) -> Response {
        let mut m = Message::decode(question).unwrap();
        m.flags |= flag::QR | flag::RA;
        m.answers.push(Record {
            name: m.questions[0].name.clone(),
            rtype: rtype::TXT,
            class: class::IN,
            ttl: 60,
            data: RData::txt(txt),
        });
        Response {
            status: 200,
            headers: vec![("content-type".into(), MEDIA_TYPE.into())],
            body: m.encode().unwrap(),
        }
    }

    #[test]
    fn posts_a_recursive_question_with_id_0_and_reads_the_answer() {
        let http = Fake {
            respond: |q: &[u8]| dns_response(q, "v"),
            seen: RefCell::default(),
        };
        let n = name("_acme-challenge.example.com");
        let m = query(&http, "https://doh.test/dns-query", &n, rtype::TXT).unwrap();
        assert_eq!(m.txt_values(&n), ["v"]);
        let seen = http.seen.borrow();
        let (method, url, headers, body) = &seen[0];
        assert_eq!(
            (method.as_str(), url.as_str()),
            ("POST", "https://doh.test/dns-query")
        );
        assert!(headers.contains(&("accept".into(), MEDIA_TYPE.into())));
        assert!(headers.contains(&("content-type".into(), MEDIA_TYPE.into())));
        // RFC 8484 §4.1 (and the example in §4.1.1): ID 0, RD set.
        let q = Message::decode(body).unwrap();
        assert_eq!((q.id, q.flags), (0, flag::RD));
        assert_eq!(q.questions[0].name, n);
    }

    #[test]
    fn rejects_what_is_not_a_dns_answer_naming_the_resolver() {
        let url = "https://doh.test/dns-query";
        let n = name("a.example");
        let err = |resp: Response| {
            let http = Fake {
                respond: move |_: &[u8]| resp.clone(),
                seen: RefCell::default(),
            };
            query(&http, url, &n, rtype::TXT).unwrap_err().to_string()
        };
        let e = err(Response {
            status: 415,
            ..Response::default()
        });
        assert!(e.contains(url) && e.contains("HTTP 415"), "{e}");
        let e = err(Response {
            status: 200,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: b"<html>".to_vec(),
        });
        assert!(e.contains("'text/html'") && e.contains("dns-query"), "{e}");
        let e = err(Response {
            status: 200,
            headers: vec![("content-type".into(), MEDIA_TYPE.into())],
            body: vec![0, 0, 0x81],
        });
        assert!(e.contains("unreadable"), "{e}");
        // An answer to another name is not ours.
        let other = wire::query(0, &name("b.example"), rtype::TXT, true)
            .encode()
            .unwrap();
        let e = err(dns_response(&other, "x"));
        assert!(e.contains("another question"), "{e}");
    }
}
