//! OpenWrt UCI file syntax: `config TYPE ['name']`, `option KEY 'value'`,
//! `list KEY 'value'`, quoting and comments. Pure: text in, sections out.
//!
//! The grammar follows libuci's own parser (`file.c`), so that a file `uci`
//! accepts reads the same here:
//! - a statement is words separated by blanks, ended by a newline, a `;` or a
//!   `#` comment (a `#` outside quotes comments out the rest of the line);
//! - a word is bare characters, `'single quoted'` pieces (no escapes) and
//!   `"double quoted"` pieces (a backslash takes the next character as is),
//!   all concatenated: `'a'"b"c` is `abc`;
//! - a backslash before a newline joins the lines; outside quotes a backslash
//!   takes the next character as is;
//! - quoted pieces may span lines (LuCI writes multi-line values that way).
//!
//! One difference, on purpose: libuci merges two `config` blocks with the same
//! type and name; here they stay two `Section`s, so that the caller can call
//! the duplicate an error instead of silently merging it.

/// One `config` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub ty: String,
    /// `None` for an anonymous section.
    pub name: Option<String>,
    /// 1-based line of the `config` statement.
    pub line: usize,
    pub options: Vec<Opt>,
}

/// One `option` (a single value) or `list` (values gathered from every `list`
/// line with that key, in order).
#[derive(Debug, Clone, PartialEq)]
pub struct Opt {
    pub name: String,
    pub values: Vec<String>,
    pub is_list: bool,
    /// Line of the first statement that set it.
    pub line: usize,
}

/// A syntax error: the line and what is wrong there.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

impl Section {
    /// The option or list called `name`, if set.
    pub fn opt(&self, name: &str) -> Option<&Opt> {
        self.options.iter().find(|o| o.name == name)
    }
    /// The value of an `option` (the last one for a list).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.opt(name)
            .and_then(|o| o.values.last())
            .map(String::as_str)
    }
    /// All values of a `list` (or the single value of an `option`).
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.opt(name)
            .map(|o| o.values.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

/// Parse a whole UCI file.
pub fn parse(text: &str) -> Result<Vec<Section>, ParseError> {
    sections(&statements(text)?)
}

/// Set `option KEY 'value'` in the named section (`config TY 'name'`),
/// replacing the existing option line or adding one at the end of the section,
/// and keeping every other line, comment and blank line as it was. Returns the
/// new text, or `None` if there is no such section, `key` is not a valid
/// option name, or the text is not valid UCI (editing a file `uci` cannot
/// read would only hide the problem).
///
/// The first statement that sets KEY in the section is rewritten in place (its
/// indentation and any trailing comment stay); later ones, which would
/// otherwise override the new value, are removed.
pub fn set_option(text: &str, ty: &str, name: &str, key: &str, value: &str) -> Option<String> {
    // A key `uci` could not read back would break the file.
    check_name("option name", key, 0).ok()?;
    let stmts = statements(text).ok()?;
    sections(&stmts).ok()?;

    let mut inside = false;
    let mut found = false;
    let mut last_end = 0;
    let mut hits = Vec::new();
    for st in &stmts {
        match st.words[0].as_str() {
            "config" => {
                inside = st.words[1] == ty && st.words.get(2).is_some_and(|n| n == name);
                found |= inside;
            }
            "option" | "list" if inside && st.words[1] == key => hits.push((st.start, st.end)),
            _ => {}
        }
        if inside {
            last_end = st.end;
        }
    }
    if !found {
        return None;
    }

    let new = format!("option {key} {}", quote(value));
    let mut out = text.to_string();
    if hits.is_empty() {
        match terminator(out.as_bytes(), last_end) {
            Some((p, b'\n')) => out.insert_str(p + 1, &format!("\t{new}\n")),
            Some((p, _)) => out.insert_str(p + 1, &format!("\n\t{new}\n")),
            None => {
                // A `\` ending the text escapes nothing, but our newline
                // would make it a line continuation: a blank line after it
                // ends the statement. A `\` `\r` there escapes the `\r`,
                // and with our newline would make a CRLF continuation
                // instead: a space keeps the escape. (Both found by fuzzing.)
                if out.ends_with("\\\r") {
                    out.push(' ');
                } else if out.ends_with('\\') {
                    out.push('\n');
                }
                out.push_str(&format!("\n\t{new}\n"));
            }
        }
        return Some(out);
    }
    for (i, &(start, end)) in hits.iter().enumerate().rev() {
        if i == 0 {
            out.replace_range(start..end, &new);
            continue;
        }
        let line_start = out[..start].rfind('\n').map_or(0, |p| p + 1);
        let line_end = out[end..].find('\n').map_or(out.len(), |p| end + p + 1);
        if out[line_start..start].trim().is_empty() && out[end..line_end].trim().is_empty() {
            out.replace_range(line_start..line_end, "");
        } else {
            out.replace_range(start..end, "");
        }
    }
    Some(out)
}

/// Where the statement ending at `end` really ends: the newline (after a
/// trailing comment, which stays with its statement) or the `;` that
/// terminates it, as (offset, byte); `None` at the end of the text. A
/// backslash before a newline continues the statement on the next line, so
/// that newline is not the end (a file whose section ended in `\` took the
/// new option into its `config` line; found by fuzzing).
fn terminator(b: &[u8], end: usize) -> Option<(usize, u8)> {
    let mut i = end;
    loop {
        match *b.get(i)? {
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => i += 1,
            b'\\' => i += 1 + newline_at(b, i + 1)?,
            b'#' => {
                let n = b[i..].iter().position(|&x| x == b'\n')?;
                return Some((i + n, b'\n'));
            }
            c => return Some((i, c)),
        }
    }
}

/// `value` in single quotes, a single quote inside written as `'\''` (close,
/// escaped quote, reopen), which every UCI reader understands.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// One statement: its words after unquoting, the line of its first word, and
/// the byte range from its first word's start to its last word's end.
#[derive(Default)]
struct Stmt {
    words: Vec<String>,
    line: usize,
    start: usize,
    end: usize,
}

/// Length of the newline at `i` (`\n` or `\r\n`), if there is one.
fn newline_at(b: &[u8], i: usize) -> Option<usize> {
    match (b.get(i), b.get(i + 1)) {
        (Some(b'\n'), _) => Some(1),
        (Some(b'\r'), Some(b'\n')) => Some(2),
        _ => None,
    }
}

fn unterminated(line: usize, q: char) -> ParseError {
    let msg = format!("unterminated quote: the {q} opened on this line is never closed");
    ParseError { line, msg }
}

/// Split the text into statements, unquoting words.
fn statements(text: &str) -> Result<Vec<Stmt>, ParseError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut st = Stmt::default();
    // The word being read; `Some` even when empty once a quote has opened it,
    // so that `''` is an empty word rather than no word.
    let mut word: Option<Vec<u8>> = None;
    let (mut i, mut line) = (0, 1);

    // Splitting only at ASCII bytes keeps every word valid UTF-8.
    fn end_word(st: &mut Stmt, word: &mut Option<Vec<u8>>) {
        if let Some(w) = word.take() {
            st.words.push(String::from_utf8_lossy(&w).into_owned());
        }
    }

    while i < b.len() {
        let c = b[i];
        // A line continuation, between or inside words.
        if let Some(n) = newline_at(b, i + 1).filter(|_| c == b'\\') {
            line += 1;
            i += 1 + n;
            continue;
        }
        match c {
            b'\n' | b';' | b'#' => {
                end_word(&mut st, &mut word);
                if !st.words.is_empty() {
                    out.push(std::mem::take(&mut st));
                }
                if c == b'#' {
                    i += b[i..]
                        .iter()
                        .position(|&x| x == b'\n')
                        .unwrap_or(b.len() - i);
                    continue;
                }
                line += usize::from(c == b'\n');
                i += 1;
            }
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => {
                end_word(&mut st, &mut word);
                i += 1;
            }
            _ => {
                if word.is_none() && st.words.is_empty() {
                    st.line = line;
                    st.start = i;
                }
                let w = word.get_or_insert_with(Vec::new);
                match c {
                    b'\'' => {
                        let rest = &b[i + 1..];
                        let n = rest
                            .iter()
                            .position(|&x| x == b'\'')
                            .ok_or_else(|| unterminated(line, '\''))?;
                        w.extend_from_slice(&rest[..n]);
                        line += rest[..n].iter().filter(|&&x| x == b'\n').count();
                        i += n + 2;
                    }
                    b'"' => {
                        let open = line;
                        i += 1;
                        loop {
                            match b.get(i) {
                                None => return Err(unterminated(open, '"')),
                                Some(b'"') => break,
                                Some(b'\\') => {
                                    if let Some(n) = newline_at(b, i + 1) {
                                        line += 1;
                                        i += n;
                                    } else if let Some(&x) = b.get(i + 1) {
                                        w.push(x);
                                        i += 1;
                                    }
                                }
                                Some(&x) => {
                                    line += usize::from(x == b'\n');
                                    w.push(x);
                                }
                            }
                            i += 1;
                        }
                        i += 1;
                    }
                    b'\\' => {
                        // Not before a newline (handled above): escapes the
                        // next character; at the very end of the text, nothing.
                        w.extend(b.get(i + 1));
                        i += 2;
                    }
                    _ => {
                        w.push(c);
                        i += 1;
                    }
                }
                st.end = i.min(b.len());
            }
        }
    }
    end_word(&mut st, &mut word);
    if !st.words.is_empty() {
        out.push(st);
    }
    Ok(out)
}

/// A section or option name: letters, digits and `_`, as libuci requires.
fn check_name(what: &str, s: &str, line: usize) -> Result<(), ParseError> {
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return Ok(());
    }
    let msg = format!("invalid {what} '{s}': use only letters, digits and _");
    Err(ParseError { line, msg })
}

/// Build sections from statements.
fn sections(stmts: &[Stmt]) -> Result<Vec<Section>, ParseError> {
    let mut out: Vec<Section> = Vec::new();
    for st in stmts {
        let line = st.line;
        let err = |msg: String| Err(ParseError { line, msg });
        let w = &st.words;
        let kw = w[0].as_str();
        match kw {
            // One file is one package; the name is the file's.
            "package" => {}
            "config" => {
                let Some(ty) = w.get(1) else {
                    return err("missing section type: write `config TYPE 'NAME'`".into());
                };
                // libuci allows any printable character in a type, unlike names.
                if ty.is_empty() || !ty.bytes().all(|c| c.is_ascii_graphic()) {
                    return err(format!(
                        "invalid section type '{ty}': use letters, digits and _"
                    ));
                }
                let name = w.get(2).filter(|n| !n.is_empty());
                if let Some(n) = name {
                    check_name("section name", n, line)?;
                }
                if w.len() > 3 {
                    return err(format!(
                        "too many words after `config {ty}`: a section has one type and one name"
                    ));
                }
                out.push(Section {
                    ty: ty.clone(),
                    name: name.cloned(),
                    line,
                    options: Vec::new(),
                });
            }
            "option" | "list" => {
                let Some(sec) = out.last_mut() else {
                    return err(format!(
                        "{kw} outside a config section: add a `config TYPE 'NAME'` line above it"
                    ));
                };
                let Some(key) = w.get(1) else {
                    return err(format!(
                        "missing name after {kw}: write `{kw} NAME 'VALUE'`"
                    ));
                };
                check_name("option name", key, line)?;
                let Some(value) = w.get(2) else {
                    return err(format!(
                        "missing value for {kw} '{key}': write `{kw} {key} 'VALUE'`"
                    ));
                };
                if w.len() > 3 {
                    return err(format!(
                        "too many values for {kw} '{key}': quote a value that contains spaces"
                    ));
                }
                let is_list = kw == "list";
                match sec.options.iter_mut().find(|o| o.name == *key) {
                    // As libuci: a list added to an option keeps the option's
                    // value first; an option replaces a list.
                    Some(o) if is_list => {
                        o.is_list = true;
                        o.values.push(value.clone());
                    }
                    Some(o) => {
                        o.is_list = false;
                        o.values = vec![value.clone()];
                    }
                    None => sec.options.push(Opt {
                        name: key.clone(),
                        values: vec![value.clone()],
                        is_list,
                        line,
                    }),
                }
            }
            _ => {
                return err(format!(
                    "unknown statement '{kw}': expected config, option, list or package"
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Section {
        let mut s = parse(text).unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
        s.remove(0)
    }

    fn err(text: &str) -> ParseError {
        parse(text).unwrap_err()
    }

    /// OpenWrt's `/etc/config/uhttpd` as shipped (shared with the uhttpd deployer's tests).
    const UHTTPD: &str = include_str!("../tests/fixtures/uhttpd-openwrt");

    const FIREWALL: &str = "# firewall, as shipped and then edited
config defaults
\toption syn_flood\t1
\toption input\t\tREJECT
\toption output\t\tACCEPT
\toption forward\t\tREJECT

config zone
\toption name\t\tlan
\tlist   network\t\t'lan'
\toption input\t\tACCEPT

config zone
\toption name\t\twan
\tlist   network\t\t'wan'
\tlist   network\t\t'wan6'
\toption masq\t\t1

config redirect
\toption name 'nas-https'   # the NAS behind the router
\toption src 'wan'
\toption src_dport '8443'
\toption dest_ip '192.168.1.10'
\toption dest_port '443'
\toption target 'DNAT'

config rule
\toption name\t\tAllow-DHCPv6
\toption src_ip\t\tfc00::/6
\toption family\t\tipv6
";

    #[test]
    fn uhttpd_file() {
        let s = parse(UHTTPD).unwrap();
        assert_eq!(s.len(), 2);
        let main = &s[0];
        assert_eq!(
            (main.ty.as_str(), main.name.as_deref(), main.line),
            ("uhttpd", Some("main"), 2)
        );
        assert_eq!(main.list("listen_https"), ["0.0.0.0:443", "[::]:443"]);
        assert!(main.opt("listen_http").unwrap().is_list);
        assert_eq!(main.value("cert"), Some("/etc/uhttpd.crt"));
        assert_eq!(main.opt("key").unwrap().line, 13);
        assert_eq!(
            main.value("lua_prefix"),
            Some("/cgi-bin/luci=/usr/lib/lua/luci/sgi/uhttpd.lua")
        );
        assert_eq!(s[1].name.as_deref(), Some("defaults"));
        assert_eq!(s[1].value("ec_curve"), Some("P-256"));
    }

    #[test]
    fn firewall_file() {
        let s = parse(FIREWALL).unwrap();
        assert_eq!(s.len(), 5);
        assert!(s.iter().all(|s| s.name.is_none()));
        assert_eq!(s[0].value("input"), Some("REJECT"));
        assert_eq!(s[2].list("network"), ["wan", "wan6"]);
        let r = &s[3];
        assert_eq!((r.ty.as_str(), r.line), ("redirect", 19));
        assert_eq!(r.value("name"), Some("nas-https"));
        assert_eq!(r.value("dest_ip"), Some("192.168.1.10"));
        assert_eq!(s[4].value("src_ip"), Some("fc00::/6"));
    }

    #[test]
    fn section_headers() {
        assert_eq!(one("config a 'x'").name.as_deref(), Some("x"));
        assert_eq!(one("config a \"x\"").name.as_deref(), Some("x"));
        assert_eq!(one("config a x").name.as_deref(), Some("x"));
        assert_eq!(one("config a").name, None);
        // libuci reads an empty name as an anonymous section.
        assert_eq!(one("config a ''").name, None);
        assert_eq!(one("config 'a' 'x'").ty, "a");
    }

    #[test]
    fn quoting() {
        let s = one(concat!(
            "config t\n",
            "option single 'a \"b\" \\c'\n",
            "option double \"a 'b' \\\"c\\\" \\\\ \\n\"\n",
            "option bare a\\ b\n",
            "option mixed 'a'\"b\"c\n",
            "option quote 'it'\\''s'\n",
            "option empty ''\n",
            "option hash 'a # b'\n",
            "option utf8 'grüße'\n",
        ));
        assert_eq!(s.value("single"), Some("a \"b\" \\c"));
        assert_eq!(s.value("double"), Some("a 'b' \"c\" \\ n"));
        assert_eq!(s.value("bare"), Some("a b"));
        assert_eq!(s.value("mixed"), Some("abc"));
        assert_eq!(s.value("quote"), Some("it's"));
        assert_eq!(s.value("empty"), Some(""));
        assert_eq!(s.value("hash"), Some("a # b"));
        assert_eq!(s.value("utf8"), Some("grüße"));
    }

    #[test]
    fn comments_blanks_and_package() {
        let s = parse(concat!(
            "# head\n",
            "package 'wancert'\n",
            "\n",
            "  # indented comment\n",
            "config t 'x' # after a header\n",
            "\toption a '1'# right after a value\n",
            "\toption b 2#bare words end at #\n",
            "\toption c 3 ; option d 4\n",
            "\r\n",
            "config t 'y'\r\n",
            "\toption e '5'\r\n",
        ))
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].line, s[1].line), (5, 10));
        assert_eq!(s[0].value("a"), Some("1"));
        assert_eq!(s[0].value("b"), Some("2"));
        assert_eq!(s[0].value("d"), Some("4"));
        assert_eq!(s[1].value("e"), Some("5"));
    }

    #[test]
    fn continuation_and_multiline_values() {
        let s = one(
            "config t\noption a \\\n  'x'\noption b ab\\\ncd\noption c \"1\\\n2\"\noption d 'l1\nl2'\noption e 9\n",
        );
        assert_eq!(s.value("a"), Some("x"));
        assert_eq!(s.value("b"), Some("abcd"));
        assert_eq!(s.value("c"), Some("12"));
        assert_eq!(s.value("d"), Some("l1\nl2"));
        // Lines keep counting through continuations and quoted newlines.
        assert_eq!(s.opt("a").unwrap().line, 2);
        assert_eq!(s.opt("b").unwrap().line, 4);
        assert_eq!(s.opt("c").unwrap().line, 6);
        assert_eq!(s.opt("d").unwrap().line, 8);
        assert_eq!(s.opt("e").unwrap().line, 10);
    }

    #[test]
    fn repeated_options_and_lists() {
        let s = one(
            "config t\noption a 1\noption a 2\nlist l x\nlist l y\noption m 1\nlist m 2\nlist n 1\noption n 2\n",
        );
        let a = s.opt("a").unwrap();
        assert_eq!(
            (a.values.as_slice(), a.line, a.is_list),
            (&["2".to_string()][..], 2, false)
        );
        let l = s.opt("l").unwrap();
        assert_eq!((l.values.len(), l.line, l.is_list), (2, 4, true));
        assert_eq!(s.list("m"), ["1", "2"]);
        assert!(s.opt("m").unwrap().is_list);
        assert_eq!(s.list("n"), ["2"]);
        assert!(!s.opt("n").unwrap().is_list);
        assert_eq!(s.options.len(), 4);
    }

    #[test]
    fn empty_text() {
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse("\n# only a comment\n\n").unwrap(), []);
    }

    #[test]
    fn errors() {
        let e = err("config t\n\toption a 'x\n\toption b y\n");
        assert_eq!(e.line, 2);
        assert!(
            e.msg.contains("unterminated quote") && e.msg.contains('\''),
            "{}",
            e.msg
        );
        let e = err("config t\n\toption a \"x\n\n");
        assert_eq!(e.line, 2);
        assert!(
            e.msg.contains("unterminated quote") && e.msg.contains('"'),
            "{}",
            e.msg
        );

        let e = err("# c\noption a 'x'\nconfig t\n");
        assert_eq!(
            e,
            ParseError {
                line: 2,
                msg: e.msg.clone()
            }
        );
        assert!(
            e.msg.starts_with("option outside a config section"),
            "{}",
            e.msg
        );
        assert!(
            err("list a 'x'")
                .msg
                .starts_with("list outside a config section")
        );

        let e = err("config t\n\n\toption cert\n");
        assert_eq!(e.line, 3);
        assert!(
            e.msg.starts_with("missing value for option 'cert'"),
            "{}",
            e.msg
        );
        assert!(
            err("config t\nlist l")
                .msg
                .starts_with("missing value for list 'l'")
        );
        assert!(
            err("config t\noption")
                .msg
                .starts_with("missing name after option")
        );
        assert!(
            err("config t\noption a b c")
                .msg
                .starts_with("too many values for option 'a'")
        );
        assert!(
            err("config t\noption a-b c")
                .msg
                .starts_with("invalid option name 'a-b'")
        );
        assert!(err("config").msg.starts_with("missing section type"));
        assert!(
            err("config t my-name")
                .msg
                .starts_with("invalid section name 'my-name'")
        );
        assert!(
            err("config 'a b'")
                .msg
                .starts_with("invalid section type 'a b'")
        );
        assert!(
            err("config t n extra")
                .msg
                .starts_with("too many words after `config t`")
        );
        let e = err("config t\n\topiton a b\n");
        assert_eq!(e.line, 2);
        assert!(e.msg.starts_with("unknown statement 'opiton'"), "{}", e.msg);
    }

    /// Every section and option of `b` equals `a`'s, except `key` in the
    /// section `ty`/`name`, which is `value`.
    fn same_but(a: &str, b: &str, ty: &str, name: &str, key: &str, value: &str) {
        let (a, b) = (parse(a).unwrap(), parse(b).unwrap());
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            // Lines may shift by one when the option is added.
            assert_eq!((&x.ty, &x.name), (&y.ty, &y.name));
            let target = x.ty == ty && x.name.as_deref() == Some(name);
            assert_eq!(y.value(key).filter(|_| target), target.then_some(value));
            let strip = |s: &Section| {
                s.options
                    .iter()
                    .filter(|o| !target || o.name != key)
                    .map(|o| (o.name.clone(), o.values.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(strip(x), strip(y));
        }
    }

    #[test]
    fn set_option_replaces_in_place() {
        let out = set_option(
            UHTTPD,
            "uhttpd",
            "main",
            "cert",
            "/etc/wancert/nas/fullchain.pem",
        )
        .unwrap();
        same_but(
            UHTTPD,
            &out,
            "uhttpd",
            "main",
            "cert",
            "/etc/wancert/nas/fullchain.pem",
        );
        assert_eq!(
            out,
            UHTTPD.replace("'/etc/uhttpd.crt'", "'/etc/wancert/nas/fullchain.pem'")
        );
        // The other section with an option `key`, `config cert`, is untouched.
        let out = set_option(&out, "cert", "defaults", "key_type", "rsa").unwrap();
        assert!(
            out.contains("\toption key_type 'rsa'\n")
                && out.contains("\toption key '/etc/uhttpd.key'\n")
        );
    }

    #[test]
    fn set_option_keeps_indentation_and_comments() {
        let text = "config uhttpd 'main'\n    option cert \"/old\"  # managed by wancert\n\toption key '/k'\n";
        let out = set_option(text, "uhttpd", "main", "cert", "/new").unwrap();
        assert_eq!(
            out,
            "config uhttpd 'main'\n    option cert '/new'  # managed by wancert\n\toption key '/k'\n"
        );
    }

    #[test]
    fn set_option_inserts_after_last_statement() {
        let text = "# uhttpd\nconfig uhttpd 'main'\n\toption home '/www' # docroot\n\n# next\nconfig uhttpd 'other'\n\toption home '/x'\n";
        let out = set_option(text, "uhttpd", "main", "cert", "/c.pem").unwrap();
        assert_eq!(
            out,
            "# uhttpd\nconfig uhttpd 'main'\n\toption home '/www' # docroot\n\toption cert '/c.pem'\n\n# next\nconfig uhttpd 'other'\n\toption home '/x'\n"
        );
        same_but(text, &out, "uhttpd", "main", "cert", "/c.pem");
        // An empty section, at the end of a file without a final newline.
        let out = set_option("config uhttpd 'main'", "uhttpd", "main", "key", "/k").unwrap();
        assert_eq!(out, "config uhttpd 'main'\n\toption key '/k'\n");
    }

    #[test]
    fn set_option_quotes_values() {
        for v in [
            "it's",
            "a 'b' c",
            "'",
            "\\'\"",
            "$(reboot)",
            "",
            "x # y",
            "a;b",
        ] {
            let out = set_option(UHTTPD, "uhttpd", "main", "key", v).unwrap();
            same_but(UHTTPD, &out, "uhttpd", "main", "key", v);
        }
        let out = set_option("config t 'n'\n", "t", "n", "a", "it's").unwrap();
        assert_eq!(out, "config t 'n'\n\toption a 'it'\\''s'\n");
    }

    #[test]
    fn set_option_overrides_later_settings() {
        let text = "config t 'n'\n\toption a 1\n\tlist a 2 # old\n\toption b 3; option a 4\n";
        let out = set_option(text, "t", "n", "a", "new").unwrap();
        assert_eq!(
            out,
            "config t 'n'\n\toption a 'new'\n\t # old\n\toption b 3; \n"
        );
        assert_eq!(parse(&out).unwrap()[0].list("a"), ["new"]);
        let out = set_option(
            "config t 'n'\n\toption a 1\n\toption a 2\n",
            "t",
            "n",
            "a",
            "x",
        )
        .unwrap();
        assert_eq!(out, "config t 'n'\n\toption a 'x'\n");
    }

    #[test]
    fn set_option_refuses() {
        assert_eq!(set_option(UHTTPD, "uhttpd", "nope", "cert", "x"), None);
        assert_eq!(set_option(UHTTPD, "cert", "main", "cert", "x"), None);
        assert_eq!(set_option("config t 'n'\n", "t", "n", "a b", "x"), None);
        assert_eq!(
            set_option("config t\n\toption a 1\n", "t", "", "a", "x"),
            None
        );
        assert_eq!(
            set_option(
                "config uhttpd 'main'\n\toption a 'x\n",
                "uhttpd",
                "main",
                "a",
                "x"
            ),
            None
        );
    }

    /// Inputs the fuzz target (fuzz/fuzz_targets/uci.rs) failed on: what
    /// `set_option` writes must parse again with the value in its section.
    #[test]
    fn fuzz_regressions() {
        let check = |text: &str| {
            let out = set_option(text, "t", "n", "k", "v").unwrap();
            let sections = parse(&out).unwrap_or_else(|e| panic!("{e:?}\n{out}"));
            assert_eq!(sections.len(), parse(text).unwrap().len(), "{out}");
            assert_eq!(sections[0].value("k"), Some("v"), "{out}");
            out
        };
        // The section ends in a line continuation, then a comment: the
        // option went into the `config` statement.
        check("config t 'n'\\\n\t#option a 'b'\nconfig u 'm'\n");
        check("config t 'n' \\\r\n# c\n");
        // A `;` ends the section's last statement on a line that goes on.
        let out = check("config t 'n'; config u 'm'\n");
        assert!(parse(&out).unwrap()[1].opt("k").is_none(), "{out}");
        check("config t 'n' # c");
        // The text ends in a backslash that escapes nothing.
        check("#s\nconfig t 'n'\\");
        // ... and before a carriage return: `\` `\r` and our `\n` make a
        // CRLF continuation.
        check("config t 'n'\n\tpackage\r\r\\\r");
        // ... where it escapes the `\r` that is a list's only value.
        let out = check("config t 'n'\n\tlist r \\\r");
        assert_eq!(parse(&out).unwrap()[0].list("r"), ["\r"], "{out}");
    }
}
