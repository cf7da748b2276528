//! Reading and writing our JSON documents (ACME objects, state files)
//! through `serde_json::Value`, with a few field accessors.
//!
//! Why not `#[derive(Deserialize, Serialize)]`: on the router every byte of
//! the binary counts, and serde generates, for each derived type, a visitor
//! with its own field matching plus serde_json's parser monomorphised for
//! it. The `Value` parser and printer are linked anyway (provider APIs
//! answer in free-form JSON), so reading a type by hand costs only its
//! field lookups: on mipsel this module and the hand-written readers are
//! tens of KB smaller than the derives they replace (docs/size.md).
//!
//! Readers are lenient the way `#[serde(default)]` is: an optional field
//! that is absent, `null` or of the wrong type reads as absent; a required
//! one that is missing is an error naming it.

use serde_json::{Map, Value};

/// A field that must be a string.
pub fn need_str(v: &Value, key: &str) -> Result<String, String> {
    str(v, key).ok_or_else(|| format!("missing string field `{key}`"))
}

/// An optional string field.
pub fn str(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(String::from)
}

/// An optional string field, empty when absent.
pub fn str_or_empty(v: &Value, key: &str) -> String {
    str(v, key).unwrap_or_default()
}

/// An optional integer field.
pub fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key)?.as_i64()
}

/// An optional boolean field, false when absent.
pub fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// An array of strings; absent reads as empty, non-strings are skipped.
pub fn strings(v: &Value, key: &str) -> Vec<String> {
    items(v, key)
        .iter()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// The elements of an array field; absent or not an array reads as empty.
pub fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// An object under construction. Absent optional fields are left out, as
/// `skip_serializing_if = "Option::is_none"` did.
#[derive(Default)]
pub struct Object(Map<String, Value>);

impl Object {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.0.insert(key.to_string(), value.into());
        self
    }

    /// `key` only when there is a value.
    pub fn opt(&mut self, key: &str, value: Option<impl Into<Value>>) -> &mut Self {
        if let Some(v) = value {
            self.put(key, v);
        }
        self
    }

    pub fn done(&mut self) -> Value {
        Value::Object(std::mem::take(&mut self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_leniently_and_names_a_missing_one() {
        let v: Value =
            serde_json::from_str(r#"{"a":"x","n":7,"b":true,"l":["p",3,"q"],"z":null}"#).unwrap();
        assert_eq!(need_str(&v, "a").unwrap(), "x");
        assert_eq!(need_str(&v, "n").unwrap_err(), "missing string field `n`");
        assert_eq!(str(&v, "z"), None);
        assert_eq!(int(&v, "n"), Some(7));
        assert_eq!(int(&v, "a"), None);
        assert!(flag(&v, "b") && !flag(&v, "a"));
        assert_eq!(strings(&v, "l"), ["p", "q"]);
        assert!(items(&v, "missing").is_empty());
    }

    #[test]
    fn leaves_out_absent_optional_fields() {
        let v = Object::new()
            .put("a", "x")
            .opt("b", None::<i64>)
            .opt("c", Some(3))
            .done();
        assert_eq!(v.to_string(), r#"{"a":"x","c":3}"#);
    }
}
