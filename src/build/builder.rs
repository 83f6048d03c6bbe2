//! The builder (buildah or podman): which one, which version, which stage-saving mode it supports,
//! and running it with its output streamed to our stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::image::storage::which;
use crate::image::StorageOpts;

/// How stage images are kept and labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// buildah >= 1.44, podman 6: `--save-stages --stage-labels`.
    SaveStages,
    /// The original proposal: `--cache-stages --stage-labels --build-id-file`.
    CacheStages,
    /// Older builders: each stage built on its own, references rewritten to stage image IDs.
    Emulated,
}

impl Mode {
    pub fn describe(self) -> &'static str {
        match self {
            Mode::SaveStages => "save-stages (--save-stages --stage-labels)",
            Mode::CacheStages => "cache-stages (--cache-stages --stage-labels --build-id-file)",
            Mode::Emulated => "emulated (one build per stage, stage references rewritten to image IDs)",
        }
    }
}

/// What the help text of `BUILDER build --help` says the builder can do.
fn has_flag(help: &str, flag: &str) -> bool {
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '=').any(|w| w == flag)
}

pub fn detect_mode(help: &str) -> Mode {
    let has = |flag: &str| has_flag(help, flag);
    if has("--save-stages") && has("--stage-labels") {
        Mode::SaveStages
    } else if has("--cache-stages") && has("--stage-labels") && has("--build-id-file") {
        Mode::CacheStages
    } else {
        Mode::Emulated
    }
}

/// `buildah version 1.28.2 (…)` / `podman version 6.0.0-dev` → (`buildah`, `1.28.2`).
pub fn parse_version(text: &str) -> Option<(String, String)> {
    let line = text.lines().find(|l| l.contains(" version "))?;
    let mut words = line.split_whitespace();
    let name = words.next()?.to_ascii_lowercase();
    let _ = words.next()?;
    let version = words.next()?.to_string();
    Some((name, version))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Builder {
    /// `buildah` or `podman`.
    pub name: String,
    pub path: PathBuf,
    pub version: String,
    pub mode: Mode,
    /// The builder's `build --help`, to check for flags before using them.
    #[serde(skip)]
    pub help: String,
}

impl Builder {
    /// Whether `build` takes `flag` (by its help text).
    pub fn supports(&self, flag: &str) -> bool {
        has_flag(&self.help, flag)
    }

    /// Finds the builder (`buildah`, `podman`, or a path; default: buildah, else podman) and asks it
    /// what it can do.
    pub fn detect(spec: Option<&str>) -> Result<Builder> {
        let path = match spec {
            Some(p) if p.contains('/') => {
                let p = PathBuf::from(p);
                if !p.is_file() {
                    bail!("--builder {}: no such file", p.display());
                }
                p
            }
            Some(name) => which(name).ok_or_else(|| not_found(name))?,
            None => which("buildah").or_else(|| which("podman")).ok_or_else(|| not_found("buildah"))?,
        };
        let version = output(&path, &["--version"])?;
        let (name, version) = parse_version(&version)
            .ok_or_else(|| anyhow!("{} --version printed no version: {version:?}", path.display()))?;
        if name != "buildah" && name != "podman" {
            bail!("{} is {name}, not buildah or podman", path.display());
        }
        let help = output(&path, &["build", "--help"])?;
        Ok(Builder { name, path, version, mode: detect_mode(&help), help })
    }

    /// A command for this builder with the storage flags before the subcommand.
    pub fn command(&self, storage: &StorageOpts, args: &[&str]) -> Command {
        let mut c = Command::new(&self.path);
        c.args(storage.buildah_args()).args(args);
        c
    }

    /// Runs a subcommand quietly and returns its stdout; errors carry its stderr.
    pub fn run(&self, storage: &StorageOpts, args: &[&str]) -> Result<String> {
        let out = self.command(storage, args).output().with_context(|| format!("running {}", self.path.display()))?;
        if !out.status.success() {
            bail!(
                "{} {} failed ({}): {}",
                self.name,
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

fn not_found(name: &str) -> anyhow::Error {
    anyhow!(
        "{name} is not installed (ctxsbom drives buildah or podman to build)\nhint: apt-get install buildah (Debian, Ubuntu) or dnf install buildah (Fedora), or pass --builder PATH"
    )
}

fn output(path: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(path).args(args).output().with_context(|| format!("running {}", path.display()))?;
    if !out.status.success() {
        bail!("{} {} failed: {}", path.display(), args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` with its stdout and stderr copied line by line to our stderr as they come (the
/// builder's step counter stays visible), and returns everything it printed.
pub fn run_streaming(mut cmd: Command) -> Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let log = Arc::new(Mutex::new(String::new()));
    let pump = |r: Box<dyn Read + Send>| {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
                let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
                l.push_str(&line);
                l.push('\n');
            }
        })
    };
    let a = pump(Box::new(child.stdout.take().expect("piped stdout")));
    let b = pump(Box::new(child.stderr.take().expect("piped stderr")));
    let status = child.wait().with_context(|| format!("waiting for {program}"))?;
    let _ = a.join();
    let _ = b.join();
    let text = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if !status.success() {
        bail!("{program} failed ({status}); its output is above");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(name: &str) -> (String, String) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/builders");
        let read = |suffix: &str| std::fs::read_to_string(dir.join(format!("{name}.{suffix}.txt"))).unwrap();
        (read("version"), read("build-help"))
    }

    #[test]
    fn modes_of_every_builder_generation() {
        let cases = [
            ("buildah-1.28.2", "buildah", "1.28.2", Mode::Emulated),
            ("buildah-1.44.0", "buildah", "1.44.0", Mode::SaveStages),
            ("podman-6.0.0", "podman", "6.0.0-dev", Mode::SaveStages),
            ("proposal", "buildah", "1.43.0-dev", Mode::CacheStages),
        ];
        for (file, name, version, mode) in cases {
            let (v, help) = recorded(file);
            assert_eq!(parse_version(&v), Some((name.to_string(), version.to_string())), "{file}");
            assert_eq!(detect_mode(&help), mode, "{file}");
        }
    }

    #[test]
    fn flags_must_be_whole_words() {
        assert_eq!(detect_mode("--save-stages-and-more --stage-labels"), Mode::Emulated);
        assert_eq!(detect_mode("  --stage-labels   x\n  --save-stages  y"), Mode::SaveStages);
        assert_eq!(detect_mode("--cache-stages --stage-labels"), Mode::Emulated, "the proposal has all three flags");
    }
}
