//! The UCI parser and editor (src/uci.rs) on arbitrary text: `/etc/config/wancert`
//! is edited by hand, by LuCI and by `uci`, so anything may be in it.
//!
//! Beyond "no panic": whatever `set_option` writes must parse again, keep
//! every section, and read back as the value that was set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wancert::uci;

/// Values that need quoting: quotes, backslashes, newlines, shell syntax.
const VALUES: &[&str] = &[
    "plain",
    "it's",
    "a\\b\"c",
    "line\nnext",
    "$(x) `y`; z # w",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sections) = uci::parse(text) else {
        return;
    };
    // The first named section whose (type, name) is unique: with duplicates
    // (which config.rs reports as an error) "the" section is ambiguous.
    let Some(target) = sections.iter().find(|s| {
        s.name.is_some()
            && sections
                .iter()
                .filter(|o| o.ty == s.ty && o.name == s.name)
                .count()
                == 1
    }) else {
        return;
    };
    let name = target.name.as_deref().unwrap_or_default();
    let value = VALUES[data.len() % VALUES.len()];
    let Some(edited) = uci::set_option(text, &target.ty, name, "fuzz_key", value) else {
        panic!(
            "set_option refused a file that parses, section {} '{name}'",
            target.ty
        );
    };
    let again = uci::parse(&edited)
        .unwrap_or_else(|e| panic!("set_option wrote a file that does not parse: {e:?}\n{edited}"));
    assert_eq!(
        again.len(),
        sections.len(),
        "set_option changed the sections\n{edited}"
    );
    let section = again
        .iter()
        .find(|s| s.ty == target.ty && s.name.as_deref() == Some(name))
        .expect("the edited section is gone");
    assert_eq!(section.value("fuzz_key"), Some(value), "\n{edited}");
});
