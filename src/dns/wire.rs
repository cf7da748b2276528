//! DNS message wire format (RFC 1035), in the Codec/Reader style.
//!
//! Pure: bytes in, values out, and back. Decoding never panics: every read is
//! bounds-checked and malformed input is an error. Names are written
//! uncompressed (our messages are small, and TSIG wants the bytes as sent);
//! compression pointers are followed on decode, only backwards, so a pointer
//! loop cannot hang us.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{Error, Result};

/// Record types we read or write (RFC 1035 §3.2.2, RFC 3596, RFC 8945).
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const OPT: u16 = 41;
    pub const TSIG: u16 = 250;
    pub const ANY: u16 = 255;
}

/// Classes (RFC 1035 §3.2.4, RFC 2136 §1.3).
pub mod class {
    pub const IN: u16 = 1;
    /// RFC 2136 §2.5.4: "delete an RR from an RRset".
    pub const NONE: u16 = 254;
    pub const ANY: u16 = 255;
}

/// Response codes (RFC 1035 §4.1.1, RFC 2136 §2.2, RFC 8945 §3).
pub mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    pub const YXDOMAIN: u16 = 6;
    pub const YXRRSET: u16 = 7;
    pub const NXRRSET: u16 = 8;
    pub const NOTAUTH: u16 = 9;
    pub const NOTZONE: u16 = 10;
    pub const BADSIG: u16 = 16;
    pub const BADKEY: u16 = 17;
    pub const BADTIME: u16 = 18;
    pub const BADTRUNC: u16 = 22;

    /// The mnemonic, for messages.
    pub fn name(code: u16) -> String {
        let s = match code {
            NOERROR => "NOERROR",
            FORMERR => "FORMERR",
            SERVFAIL => "SERVFAIL",
            NXDOMAIN => "NXDOMAIN",
            NOTIMP => "NOTIMP",
            REFUSED => "REFUSED",
            YXDOMAIN => "YXDOMAIN",
            YXRRSET => "YXRRSET",
            NXRRSET => "NXRRSET",
            NOTAUTH => "NOTAUTH",
            NOTZONE => "NOTZONE",
            BADSIG => "BADSIG",
            BADKEY => "BADKEY",
            BADTIME => "BADTIME",
            BADTRUNC => "BADTRUNC",
            _ => return format!("RCODE{code}"),
        };
        s.to_string()
    }
}

/// Opcodes (RFC 1035 §4.1.1, RFC 2136 §1.3).
pub mod opcode {
    pub const QUERY: u16 = 0;
    pub const UPDATE: u16 = 5;
}

/// Header flag bits (RFC 1035 §4.1.1).
pub mod flag {
    pub const QR: u16 = 0x8000;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const RA: u16 = 0x0080;
}

const MAX_NAME_LEN: usize = 255;
const MAX_LABEL_LEN: usize = 63;

fn malformed(what: &str) -> Error {
    Error::Dns(format!("malformed DNS message: {what}"))
}

/// Encoding and decoding of one wire item.
pub trait Codec: Sized {
    /// Append the wire form to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Read one item at the reader's position.
    fn read(r: &mut Reader<'_>) -> Result<Self>;
}

/// A bounds-checked cursor over a whole DNS message. It keeps the whole
/// message, not just what is left, because compression pointers refer to
/// offsets from its start.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Offset of the next byte to read.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| malformed("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 48-bit unsigned integer (TSIG's time signed).
    pub fn u48(&mut self) -> Result<u64> {
        let b = self.take(6)?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append the low 48 bits of `v`.
pub(crate) fn put_u48(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes()[2..]);
}

/// A domain name, kept in uncompressed wire form (length-prefixed labels,
/// ending in the root's zero byte). Equality ignores ASCII case, as DNS does.
#[derive(Clone)]
pub struct Name(Vec<u8>);

impl Name {
    /// The root, `.`.
    pub fn root() -> Self {
        Name(vec![0])
    }

    /// Parse a name in text form; a trailing dot is optional, `""` and `"."`
    /// are the root. Escapes are not supported (ACME names never need them).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::Dns(format!("invalid DNS name '{text}': {why}"));
        let t = text.strip_suffix('.').unwrap_or(text);
        let mut wire = Vec::with_capacity(t.len() + 2);
        if !t.is_empty() {
            for label in t.split('.') {
                if label.is_empty() {
                    return Err(bad("empty label"));
                }
                if label.len() > MAX_LABEL_LEN {
                    return Err(bad("a label is longer than 63 bytes"));
                }
                wire.push(label.len() as u8);
                wire.extend_from_slice(label.as_bytes());
            }
        }
        wire.push(0);
        if wire.len() > MAX_NAME_LEN {
            return Err(bad("longer than 255 bytes"));
        }
        Ok(Name(wire))
    }

    /// The uncompressed wire form.
    pub fn wire(&self) -> &[u8] {
        &self.0
    }

    /// The wire form in lower case: the canonical form TSIG digests (RFC 8945 §4.3.3).
    pub fn canonical(&self) -> Vec<u8> {
        self.0.to_ascii_lowercase()
    }

    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.0[..];
        std::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            if len == 0 {
                return None;
            }
            let (label, tail) = tail.split_at(usize::from(len));
            rest = tail;
            Some(label)
        })
    }

    /// The name without its first label; `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.is_root() {
            return None;
        }
        let skip = 1 + usize::from(self.0[0]);
        Some(Name(self.0[skip..].to_vec()))
    }

    /// Whether `self` is `zone` or below it.
    pub fn is_within(&self, zone: &Name) -> bool {
        // Try each label boundary of `self` as the start of `zone`.
        let mut at = 0;
        loop {
            if self.0[at..].eq_ignore_ascii_case(&zone.0) {
                return true;
            }
            match self.0[at] {
                0 => return false,
                len => at += 1 + usize::from(len),
            }
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        // Length bytes are below 64, so they never collide with letters.
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for Name {}

/// Text form without the trailing dot (the root is `.`); bytes that are not
/// printable ASCII, dots and backslashes inside labels are escaped as `\DDD`.
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    write!(f, "{}", b as char)?;
                } else {
                    write!(f, "\\{b:03}")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl Codec for Name {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let mut wire = Vec::new();
        // Where to continue once the name ends: right after the first pointer.
        let mut resume = None;
        let mut pos = r.pos;
        loop {
            let len = *r.buf.get(pos).ok_or_else(|| malformed("truncated name"))?;
            match len & 0xC0 {
                0x00 if len == 0 => {
                    wire.push(0);
                    r.pos = resume.unwrap_or(pos + 1);
                    return Ok(Name(wire));
                }
                0x00 => {
                    let label = r.buf.get(pos + 1..pos + 1 + usize::from(len));
                    let label = label.ok_or_else(|| malformed("truncated label"))?;
                    if wire.len() + 1 + label.len() + 1 > MAX_NAME_LEN {
                        return Err(malformed("name longer than 255 bytes"));
                    }
                    wire.push(len);
                    wire.extend_from_slice(label);
                    pos += 1 + usize::from(len);
                }
                0xC0 => {
                    let lo = *r
                        .buf
                        .get(pos + 1)
                        .ok_or_else(|| malformed("truncated pointer"))?;
                    let target = usize::from(u16::from_be_bytes([len & 0x3F, lo]));
                    // Only backwards: each jump then lands strictly earlier,
                    // which rules out loops.
                    if target >= pos {
                        return Err(malformed("compression pointer does not point backwards"));
                    }
                    resume.get_or_insert(pos + 2);
                    pos = target;
                }
                _ => return Err(malformed("unknown label type")),
            }
        }
    }
}

/// A question (RFC 1035 §4.1.2); in an UPDATE, the zone section (RFC 2136 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub qtype: u16,
    pub qclass: u16,
}

impl Codec for Question {
    fn encode(&self, out: &mut Vec<u8>) {
        self.name.encode(out);
        put_u16(out, self.qtype);
        put_u16(out, self.qclass);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Question {
            name: Name::read(r)?,
            qtype: r.u16()?,
            qclass: r.u16()?,
        })
    }
}

/// SOA rdata (RFC 1035 §3.3.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    pub mname: Name,
    pub rname: Name,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

/// TSIG rdata (RFC 8945 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tsig {
    pub algorithm: Name,
    /// Seconds since the epoch; 48 bits on the wire.
    pub time_signed: u64,
    pub fudge: u16,
    pub mac: Vec<u8>,
    pub original_id: u16,
    /// A TSIG error (BADSIG, BADKEY, BADTIME...), 0 when fine.
    pub error: u16,
    pub other: Vec<u8>,
}

/// Record data, decoded for the types we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Ns(Name),
    Cname(Name),
    Soa(Soa),
    /// The character-strings, each at most 255 bytes.
    Txt(Vec<Vec<u8>>),
    Tsig(Tsig),
    /// No data: what RFC 2136 deletions of a whole RRset or name carry.
    Empty,
    /// Any other type, kept as bytes.
    Other(Vec<u8>),
}

impl RData {
    /// TXT data holding `value`, split into 255-byte character-strings
    /// (RFC 1035 §3.3.14; RFC 7208 §3.3 for how readers join them).
    pub fn txt(value: &str) -> RData {
        let b = value.as_bytes();
        if b.is_empty() {
            return RData::Txt(vec![Vec::new()]);
        }
        RData::Txt(b.chunks(255).map(<[u8]>::to_vec).collect())
    }

    /// The TXT value, its character-strings joined.
    pub fn txt_value(&self) -> Option<String> {
        match self {
            RData::Txt(parts) => Some(String::from_utf8_lossy(&parts.concat()).into_owned()),
            _ => None,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            RData::A(ip) => out.extend_from_slice(&ip.octets()),
            RData::Aaaa(ip) => out.extend_from_slice(&ip.octets()),
            RData::Ns(n) | RData::Cname(n) => n.encode(out),
            RData::Soa(s) => {
                s.mname.encode(out);
                s.rname.encode(out);
                for v in [s.serial, s.refresh, s.retry, s.expire, s.minimum] {
                    put_u32(out, v);
                }
            }
            RData::Txt(parts) => {
                for p in parts {
                    // `RData::txt` keeps parts short; a longer one is cut
                    // rather than written with a wrong length byte.
                    let p = &p[..p.len().min(255)];
                    out.push(p.len() as u8);
                    out.extend_from_slice(p);
                }
            }
            RData::Tsig(t) => {
                t.algorithm.encode(out);
                put_u48(out, t.time_signed);
                put_u16(out, t.fudge);
                put_u16(out, t.mac.len() as u16);
                out.extend_from_slice(&t.mac);
                put_u16(out, t.original_id);
                put_u16(out, t.error);
                put_u16(out, t.other.len() as u16);
                out.extend_from_slice(&t.other);
            }
            RData::Empty => {}
            RData::Other(b) => out.extend_from_slice(b),
        }
    }

    fn read(r: &mut Reader<'_>, rtype: u16, len: usize) -> Result<RData> {
        if len == 0 {
            return Ok(RData::Empty);
        }
        let end = r.pos + len;
        if end > r.buf.len() {
            return Err(malformed("truncated record data"));
        }
        let data = match rtype {
            rtype::A => {
                let b = r.take(4)?;
                RData::A(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            rtype::AAAA => {
                let mut o = [0u8; 16];
                o.copy_from_slice(r.take(16)?);
                RData::Aaaa(Ipv6Addr::from(o))
            }
            rtype::NS => RData::Ns(Name::read(r)?),
            rtype::CNAME => RData::Cname(Name::read(r)?),
            rtype::SOA => RData::Soa(Soa {
                mname: Name::read(r)?,
                rname: Name::read(r)?,
                serial: r.u32()?,
                refresh: r.u32()?,
                retry: r.u32()?,
                expire: r.u32()?,
                minimum: r.u32()?,
            }),
            rtype::TXT => {
                let mut parts = Vec::new();
                while r.pos < end {
                    let n = r.u8()?;
                    parts.push(r.take(usize::from(n))?.to_vec());
                }
                RData::Txt(parts)
            }
            rtype::TSIG => {
                let algorithm = Name::read(r)?;
                let time_signed = r.u48()?;
                let fudge = r.u16()?;
                let n = r.u16()?;
                let mac = r.take(usize::from(n))?.to_vec();
                let original_id = r.u16()?;
                let error = r.u16()?;
                let n = r.u16()?;
                let other = r.take(usize::from(n))?.to_vec();
                RData::Tsig(Tsig {
                    algorithm,
                    time_signed,
                    fudge,
                    mac,
                    original_id,
                    error,
                    other,
                })
            }
            _ => RData::Other(r.take(len)?.to_vec()),
        };
        if r.pos != end {
            return Err(malformed("record data length does not match its contents"));
        }
        Ok(data)
    }
}

/// A resource record (RFC 1035 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: Name,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: RData,
}

impl Codec for Record {
    fn encode(&self, out: &mut Vec<u8>) {
        self.name.encode(out);
        put_u16(out, self.rtype);
        put_u16(out, self.class);
        put_u32(out, self.ttl);
        let at = out.len();
        put_u16(out, 0);
        self.data.encode(out);
        // Our rdata is names, addresses and short TXT: far below 64 KiB.
        let len = (out.len() - at - 2) as u16;
        out[at..at + 2].copy_from_slice(&len.to_be_bytes());
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let name = Name::read(r)?;
        let rtype = r.u16()?;
        let class = r.u16()?;
        let ttl = r.u32()?;
        let len = usize::from(r.u16()?);
        let data = RData::read(r, rtype, len)?;
        Ok(Record {
            name,
            rtype,
            class,
            ttl,
            data,
        })
    }
}

/// The TSIG record that ended a received message, and where it started: the
/// MAC covers the bytes before it (RFC 8945 §4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Offset of the TSIG record in the message.
    pub offset: usize,
    /// The key name (the record's owner).
    pub key: Name,
    pub tsig: Tsig,
}

/// A DNS message. For an UPDATE (RFC 2136 §2), `questions` is the zone
/// section, `answers` the prerequisites and `authority` the updates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub id: u16,
    /// QR, opcode, AA, TC, RD, RA, rcode: the second 16 bits of the header.
    pub flags: u16,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    /// Without the TSIG record, which is in `signature`.
    pub additional: Vec<Record>,
    /// Set by `decode` when the message ends with a TSIG record; `encode`
    /// ignores it (signing appends the record, see `tsig`).
    pub signature: Option<Signature>,
}

impl Message {
    pub fn opcode(&self) -> u16 {
        (self.flags >> 11) & 0xF
    }

    /// The header's 4-bit response code.
    pub fn rcode(&self) -> u16 {
        self.flags & 0xF
    }

    pub fn is_response(&self) -> bool {
        self.flags & flag::QR != 0
    }

    pub fn truncated(&self) -> bool {
        self.flags & flag::TC != 0
    }

    /// The wire form (without any TSIG: see `tsig::sign`).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(512);
        put_u16(&mut out, self.id);
        put_u16(&mut out, self.flags);
        let count = |n: usize| u16::try_from(n).map_err(|_| Error::Dns("too many records".into()));
        put_u16(&mut out, count(self.questions.len())?);
        put_u16(&mut out, count(self.answers.len())?);
        put_u16(&mut out, count(self.authority.len())?);
        put_u16(&mut out, count(self.additional.len())?);
        for q in &self.questions {
            q.encode(&mut out);
        }
        for rr in self
            .answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
        {
            rr.encode(&mut out);
        }
        if out.len() > usize::from(u16::MAX) {
            return Err(Error::Dns("message longer than 65535 bytes".into()));
        }
        Ok(out)
    }

    /// Parse a whole message; trailing bytes are an error.
    pub fn decode(buf: &[u8]) -> Result<Message> {
        let mut r = Reader::new(buf);
        let id = r.u16()?;
        let flags = r.u16()?;
        let (qd, an, ns, ar) = (r.u16()?, r.u16()?, r.u16()?, r.u16()?);
        let mut m = Message {
            id,
            flags,
            ..Message::default()
        };
        // No `with_capacity(count)`: the counts are untrusted.
        for _ in 0..qd {
            m.questions.push(Question::read(&mut r)?);
        }
        for _ in 0..an {
            m.answers.push(Record::read(&mut r)?);
        }
        for _ in 0..ns {
            m.authority.push(Record::read(&mut r)?);
        }
        for i in 0..ar {
            let offset = r.pos();
            let rr = Record::read(&mut r)?;
            match rr.data {
                RData::Tsig(tsig) if i + 1 == ar => {
                    m.signature = Some(Signature {
                        offset,
                        key: rr.name,
                        tsig,
                    });
                }
                // RFC 8945 §5.1: TSIG anywhere but last is a format error.
                RData::Tsig(_) => return Err(malformed("TSIG record is not the last one")),
                _ => m.additional.push(rr),
            }
        }
        if r.left() != 0 {
            return Err(malformed("trailing bytes"));
        }
        Ok(m)
    }

    /// TXT values at `name` in the answer section.
    pub fn txt_values(&self, name: &Name) -> Vec<String> {
        self.answers
            .iter()
            .filter(|rr| rr.name == *name)
            .filter_map(|rr| rr.data.txt_value())
            .collect()
    }
}

/// A query for `name`/`qtype` in class IN. `recursion` sets RD: off when
/// asking an authoritative server what it itself holds.
pub fn query(id: u16, name: &Name, qtype: u16, recursion: bool) -> Message {
    Message {
        id,
        flags: if recursion { flag::RD } else { 0 },
        questions: vec![Question {
            name: name.clone(),
            qtype,
            qclass: class::IN,
        }],
        ..Message::default()
    }
}

/// An RFC 2136 UPDATE being built: `Update::new(id, zone).add(..).build()`.
pub struct Update {
    msg: Message,
}

impl Update {
    /// An UPDATE for `zone` (the zone section: SOA, class IN; RFC 2136 §2.3).
    pub fn new(id: u16, zone: &Name) -> Self {
        let mut msg = Message {
            id,
            flags: opcode::UPDATE << 11,
            ..Message::default()
        };
        msg.questions.push(Question {
            name: zone.clone(),
            qtype: rtype::SOA,
            qclass: class::IN,
        });
        Update { msg }
    }

    /// Add one RR to an RRset (RFC 2136 §2.5.1): the other RRs stay.
    pub fn add(mut self, name: &Name, rtype: u16, ttl: u32, data: RData) -> Self {
        self.msg.authority.push(Record {
            name: name.clone(),
            rtype,
            class: class::IN,
            ttl,
            data,
        });
        self
    }

    /// Delete one RR from an RRset (RFC 2136 §2.5.4: class NONE, TTL 0): the
    /// other values at the name stay.
    pub fn delete(mut self, name: &Name, rtype: u16, data: RData) -> Self {
        self.msg.authority.push(Record {
            name: name.clone(),
            rtype,
            class: class::NONE,
            ttl: 0,
            data,
        });
        self
    }

    /// Delete a whole RRset (RFC 2136 §2.5.2: class ANY, TTL 0, no rdata):
    /// with the `add`s that follow in the same message, this replaces the
    /// set in one atomic update.
    pub fn delete_rrset(mut self, name: &Name, rtype: u16) -> Self {
        self.msg.authority.push(Record {
            name: name.clone(),
            rtype,
            class: class::ANY,
            ttl: 0,
            data: RData::Empty,
        });
        self
    }

    pub fn build(self) -> Message {
        self.msg
    }
}

/// Whether `answer` is the response to `request`: same ID and same question
/// (names compared without case). Guards against stray or spoofed datagrams.
pub fn is_answer_to(request: &Message, answer: &Message) -> bool {
    answer.is_response() && answer.id == request.id && answer.questions == request.questions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn names_parse_print_and_compare_without_case() {
        assert_eq!(name("Example.COM.").to_string(), "Example.COM");
        assert_eq!(name("example.com"), name("EXAMPLE.com."));
        assert_eq!(name("").to_string(), ".");
        assert!(name(".").is_root());
        assert!(Name::parse("a..b").is_err());
        assert!(Name::parse(&"x".repeat(64)).is_err());
        assert!(Name::parse(&["abcdefghi"; 26].join(".")).is_err());
        assert_eq!(name("a.b.c").parent(), Some(name("b.c")));
        assert_eq!(name("c").parent(), Some(Name::root()));
        assert_eq!(Name::root().parent(), None);
        assert!(name("_acme.x.Example.com").is_within(&name("example.com")));
        assert!(!name("badexample.com").is_within(&name("example.com")));
        assert!(name("a.b").is_within(&Name::root()));
    }

    #[test]
    fn query_encodes_as_rfc1035_says() {
        let m = query(0x1234, &name("a.bc"), rtype::TXT, true);
        let want = [
            0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, // header: RD, 1 question
            1, b'a', 2, b'b', b'c', 0, 0, 16, 0, 1,
        ];
        assert_eq!(m.encode().unwrap(), want);
        assert_eq!(Message::decode(&want).unwrap(), m);
    }

    #[test]
    fn update_round_trips_with_add_and_delete_one() {
        let zone = name("wancert.test");
        let at = name("_acme-challenge.wancert.test");
        let m = Update::new(7, &zone)
            .add(&at, rtype::TXT, 60, RData::txt("one"))
            .delete(&at, rtype::TXT, RData::txt("two"))
            .build();
        assert_eq!(m.opcode(), opcode::UPDATE);
        let bytes = m.encode().unwrap();
        let back = Message::decode(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.questions[0].qtype, rtype::SOA);
        assert_eq!(back.authority[1].class, class::NONE);
        assert_eq!(back.authority[1].ttl, 0);
        assert_eq!(back.authority[1].data.txt_value().unwrap(), "two");
    }

    #[test]
    fn replacing_an_rrset_deletes_it_then_adds() {
        let at = name("home.wancert.test");
        let m = Update::new(9, &name("wancert.test"))
            .delete_rrset(&at, rtype::A)
            .add(&at, rtype::A, 300, RData::A(Ipv4Addr::new(192, 0, 2, 7)))
            .build();
        let bytes = m.encode().unwrap();
        // The deletion as RFC 2136 §2.5.2 spells it: the owner, TYPE A,
        // CLASS ANY (255), TTL 0, RDLENGTH 0.
        let mut del = at.wire().to_vec();
        del.extend_from_slice(&[0, 1, 0, 255, 0, 0, 0, 0, 0, 0]);
        assert!(bytes.windows(del.len()).any(|w| w == del), "{bytes:?}");
        let back = Message::decode(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.authority[0].data, RData::Empty);
        assert_eq!(back.authority[1].class, class::IN);
    }

    #[test]
    fn long_txt_values_split_into_255_byte_strings() {
        let v = "x".repeat(600);
        let RData::Txt(parts) = RData::txt(&v) else {
            panic!()
        };
        assert_eq!(
            parts.iter().map(Vec::len).collect::<Vec<_>>(),
            [255, 255, 90]
        );
        let rr = Record {
            name: name("t"),
            rtype: rtype::TXT,
            class: class::IN,
            ttl: 1,
            data: RData::txt(&v),
        };
        let mut m = Message::default();
        m.answers.push(rr);
        let back = Message::decode(&m.encode().unwrap()).unwrap();
        assert_eq!(back.txt_values(&name("T")), [v]);
    }

    /// A response as a server writes it: compressed names throughout.
    fn compressed_response() -> Vec<u8> {
        let mut b = vec![0xab, 0xcd, 0x84, 0x00, 0, 1, 0, 1, 0, 1, 0, 1];
        // 12: question wancert.test SOA IN
        b.extend_from_slice(b"\x07wancert\x04test\x00\x00\x06\x00\x01");
        // answer: SOA at pointer 12
        b.extend_from_slice(&[0xC0, 12, 0, 6, 0, 1, 0, 0, 0x0e, 0x10]);
        let rdata_at = b.len();
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(b"\x03ns1\xC0\x0c"); // ns1 + pointer
        b.extend_from_slice(b"\x05admin\xC0\x0c");
        for v in [1u32, 2, 3, 4, 5] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        let len = (b.len() - rdata_at - 2) as u16;
        b[rdata_at..rdata_at + 2].copy_from_slice(&len.to_be_bytes());
        // authority: NS at pointer 12 -> ns1 (pointer to the "ns1" label above)
        let ns1_at = (rdata_at + 2) as u8;
        b.extend_from_slice(&[0xC0, 12, 0, 2, 0, 1, 0, 0, 0, 60, 0, 2, 0xC0, ns1_at]);
        // additional: A for ns1
        b.extend_from_slice(&[0xC0, ns1_at, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
        b
    }

    #[test]
    fn decodes_compressed_names() {
        let m = Message::decode(&compressed_response()).unwrap();
        assert!(m.is_response());
        assert_eq!(m.flags & flag::AA, flag::AA);
        assert_eq!(m.rcode(), rcode::NOERROR);
        let RData::Soa(soa) = &m.answers[0].data else {
            panic!("{m:?}")
        };
        assert_eq!(soa.mname, name("ns1.wancert.test"));
        assert_eq!(soa.rname, name("admin.wancert.test"));
        assert_eq!((soa.serial, soa.minimum), (1, 5));
        assert_eq!(m.authority[0].data, RData::Ns(name("ns1.wancert.test")));
        assert_eq!(m.additional[0].name, name("ns1.wancert.test"));
        assert_eq!(m.additional[0].data, RData::A(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let full = compressed_response();
        for n in 0..full.len() {
            assert!(Message::decode(&full[..n]).is_err(), "prefix of {n} bytes");
        }
        let mut longer = full.clone();
        longer.push(0);
        assert!(Message::decode(&longer).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        // A cheap deterministic fuzz: flip bytes of a valid message.
        let full = compressed_response();
        let mut x: u32 = 1;
        for _ in 0..20_000 {
            let mut b = full.clone();
            for _ in 0..3 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let i = (x >> 8) as usize % b.len();
                b[i] = (x >> 20) as u8;
            }
            let _ = Message::decode(&b);
        }
    }

    #[test]
    fn pointer_loops_are_rejected() {
        let mut b = vec![0, 0, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]); // points at itself
        assert!(Message::decode(&b).is_err());
        let mut b = vec![0, 0, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[1, b'a', 0xC0, 14, 0, 1, 0, 1]); // forwards
        assert!(Message::decode(&b).is_err());
    }

    #[test]
    fn rdata_length_must_match() {
        let mut m = Message::default();
        m.answers.push(Record {
            name: name("a"),
            rtype: rtype::A,
            class: class::IN,
            ttl: 0,
            data: RData::Other(vec![1, 2, 3, 4, 5]),
        });
        assert!(Message::decode(&m.encode().unwrap()).is_err());
    }

    #[test]
    fn answer_matching_checks_id_and_question() {
        let q = query(5, &name("a.b"), rtype::TXT, false);
        let mut a = q.clone();
        a.flags |= flag::QR;
        a.questions[0].name = name("A.B");
        assert!(is_answer_to(&q, &a));
        a.id = 6;
        assert!(!is_answer_to(&q, &a));
        let mut a2 = q.clone();
        a2.flags |= flag::QR;
        a2.questions[0].qtype = rtype::A;
        assert!(!is_answer_to(&q, &a2));
        assert!(!is_answer_to(&q, &q), "a query is not an answer");
    }
}
