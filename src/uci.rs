//! OpenWrt UCI file syntax: `config TYPE ['name']`, `option KEY 'value'`,
//! `list KEY 'value'`, quoting and comments. Pure: text in, sections out.

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
pub fn parse(_text: &str) -> Result<Vec<Section>, ParseError> {
    Ok(Vec::new())
}

/// Set `option KEY 'value'` in the named section (`config TY 'name'`),
/// replacing the existing option line or adding one at the end of the section,
/// and keeping every other line, comment and blank line as it was. Returns the
/// new text, or `None` if there is no such section.
pub fn set_option(_text: &str, _ty: &str, _name: &str, _key: &str, _value: &str) -> Option<String> {
    None
}
