//! Progress lines on stderr, only when stderr is a terminal (quiet in pipelines and CI logs);
//! with `--timings`, one line per phase with its wall-clock time, terminal or not.

use std::io::{IsTerminal, Write};
use std::time::Instant;

#[derive(Clone, Copy, Debug)]
pub struct Progress {
    on: bool,
    timings: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress { on: !quiet && std::io::stderr().is_terminal(), timings: false }
    }
    pub fn off() -> Self {
        Progress { on: false, timings: false }
    }
    pub fn with_timings(mut self, on: bool) -> Self {
        self.timings = on;
        self
    }
    /// With `--timings`: `ctxsbom: timing: PHASE 1.234 s` on stderr.
    pub fn timed(&self, phase: &str, since: Instant) {
        if self.timings {
            self.done();
            eprintln!("ctxsbom: timing: {phase} {:.3} s", since.elapsed().as_secs_f64());
        }
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
