//! Progress lines on stderr, only when stderr is a terminal (quiet in pipelines and CI logs).

use std::io::{IsTerminal, Write};

#[derive(Clone, Copy, Debug)]
pub struct Progress {
    on: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress { on: !quiet && std::io::stderr().is_terminal() }
    }
    pub fn off() -> Self {
        Progress { on: false }
    }
    pub fn note(&self, msg: &str) {
        if self.on {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K{msg}");
            let _ = e.flush();
        }
    }
    pub fn done(&self) {
        if self.on {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}
