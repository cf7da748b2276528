//! The HTTP seam. ACME and HTTP-API DNS providers talk through `Http`, so tests
//! can swap in an in-memory server. 4xx and 5xx answers come back as a
//! `Response` (ACME puts a problem document in them), never as an error.

use crate::Result;

#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One request. `body` is sent with `content_type` when given.
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<(&'a str, &'a [u8])>,
}

pub trait Http {
    fn send(&self, req: &Request<'_>) -> Result<Response>;

    fn get(&self, url: &str) -> Result<Response> {
        self.send(&Request { method: "GET", url, headers: &[], body: None })
    }
}
