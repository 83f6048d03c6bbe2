//! Shared fixtures: a private buildah store (vfs, chroot isolation) holding a busybox base image
//! made from Debian's busybox-static, built once per test run and shared by every test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub struct Store {
    pub dir: PathBuf,
    pub root: PathBuf,
    pub runroot: PathBuf,
}

static STORE: OnceLock<Store> = OnceLock::new();
/// Builds and scans share the store; removing images waits until nothing else uses it (buildah 1.28
/// with vfs has been seen to fail a build while another process removed an image).
static STORE_USE: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Holds the store for a removal: nothing builds or scans meanwhile.
pub fn exclusive() -> std::sync::RwLockWriteGuard<'static, ()> {
    Store::get();
    STORE_USE.write().unwrap_or_else(|e| e.into_inner())
}

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    STORE_USE.read().unwrap_or_else(|e| e.into_inner())
}
static DEBIAN: OnceLock<String> = OnceLock::new();

fn check(out: Output, what: &str) -> Output {
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn which(p: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).is_file()))
}

impl Store {
    /// The shared store, with `localhost/bb` (busybox) and `localhost/tools` (bb + /opt/tool) in it.
    pub fn get() -> &'static Store {
        STORE.get_or_init(|| {
            assert!(
                which("buildah") && Path::new("/bin/busybox").exists(),
                "these tests need buildah and busybox-static: run .ci/run, or apt-get install buildah busybox-static"
            );
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("store-{}", std::process::id()));
            // Stores of earlier runs (vfs copies every layer) are removed first.
            if let Ok(entries) = std::fs::read_dir(env!("CARGO_TARGET_TMPDIR")) {
                for e in entries.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("store-")) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
            std::fs::create_dir_all(&dir).unwrap();
            let s = Store { root: dir.join("root"), runroot: dir.join("run"), dir };
            s.make_busybox("localhost/bb");
            let ctx = s.dir.join("tools-ctx");
            std::fs::create_dir_all(&ctx).unwrap();
            std::fs::write(
                ctx.join("Containerfile"),
                "FROM localhost/bb\nRUN mkdir -p /opt/tool && echo tool-v1 > /opt/tool/tool.txt\n",
            )
            .unwrap();
            s.build(&ctx, &["-t", "localhost/tools"]);
            s
        })
    }

    /// `localhost/debian:12`: `debootstrap --variant=minbase bookworm` in one layer, made once per
    /// run (the rootfs tar is kept in the target directory between local runs).
    pub fn debian(&self) -> &'static str {
        DEBIAN.get_or_init(|| {
            assert!(which("debootstrap"), "this test needs debootstrap: run .ci/run, or apt-get install debootstrap");
            let tar = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("debian-bookworm-minbase.tar");
            if !tar.exists() {
                let root = self.dir.join("debian-rootfs");
                let mirror = std::env::var("MIRROR").ok().unwrap_or_else(mirror);
                let out = Command::new("debootstrap")
                    .args(["--variant=minbase", "bookworm"])
                    .arg(&root)
                    .arg(&mirror)
                    .output()
                    .unwrap();
                check(out, &format!("debootstrap from {mirror}"));
                for junk in ["var/cache/apt/archives", "var/lib/apt/lists"] {
                    let d = root.join(junk);
                    for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                        if e.path().is_file() {
                            let _ = std::fs::remove_file(e.path());
                        }
                    }
                }
                let partial = tar.with_extension("partial");
                check(
                    Command::new("tar")
                        .arg("-C")
                        .arg(&root)
                        .args([
                            "--numeric-owner",
                            "--exclude=./dev/*",
                            "--exclude=./proc/*",
                            "--exclude=./sys/*",
                            "-cf",
                        ])
                        .arg(&partial)
                        .arg(".")
                        .output()
                        .unwrap(),
                    "tar",
                );
                std::fs::rename(&partial, &tar).unwrap();
                let _ = std::fs::remove_dir_all(&root);
            }
            let c = String::from_utf8(self.buildah(&["from", "scratch"]).stdout).unwrap().trim().to_string();
            self.buildah(&["add", &c, tar.to_str().unwrap(), "/"]);
            self.buildah(&[
                "config",
                "--env",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--cmd",
                "bash",
                &c,
            ]);
            self.buildah(&["commit", "-q", "--rm", &c, "localhost/debian:12"]);
            "localhost/debian:12".to_string()
        })
    }

    pub fn storage_args(&self) -> Vec<String> {
        vec![
            "--root".into(),
            self.root.display().to_string(),
            "--runroot".into(),
            self.runroot.display().to_string(),
            "--storage-driver".into(),
            "vfs".into(),
        ]
    }

    pub fn buildah(&self, args: &[&str]) -> Output {
        let _g = shared();
        let out = Command::new("buildah").args(self.storage_args()).args(args).output().expect("running buildah");
        check(out, &format!("buildah {}", args.join(" ")))
    }

    fn make_busybox(&self, name: &str) {
        let rootfs = self.dir.join("bb-rootfs");
        for d in ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "root", "dev", "proc", "sys", "run"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        let list = check(Command::new("/bin/busybox").arg("--list-full").output().unwrap(), "busybox --list-full");
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            let p = rootfs.join(applet);
            if p.symlink_metadata().is_err() {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink("/bin/busybox", &p).unwrap();
            }
        }
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
        let tar = self.dir.join("bb.tar");
        check(
            Command::new("tar")
                .args(["-C", rootfs.to_str().unwrap(), "--numeric-owner", "--sort=name", "--mtime=@1700000000", "-cf"])
                .arg(&tar)
                .arg(".")
                .output()
                .unwrap(),
            "tar",
        );
        let c = String::from_utf8(self.buildah(&["from", "scratch"]).stdout).unwrap().trim().to_string();
        self.buildah(&["add", &c, tar.to_str().unwrap(), "/"]);
        self.buildah(&["config", "--env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "--cmd", "sh", &c]);
        self.buildah(&["commit", "-q", "--rm", &c, name]);
    }

    /// `buildah build --isolation chroot ARGS… CONTEXT`; returns the image ID (64 hex).
    pub fn build(&self, context: &Path, args: &[&str]) -> String {
        let iid = context.join(format!(".iid-{}", rand_suffix()));
        let mut all = vec!["build", "--isolation", "chroot", "--iidfile", iid.to_str().unwrap()];
        all.extend_from_slice(args);
        all.push(context.to_str().unwrap());
        self.buildah(&all);
        let id = std::fs::read_to_string(&iid).unwrap();
        let _ = std::fs::remove_file(&iid);
        id.trim().trim_start_matches("sha256:").to_string()
    }

    /// A fresh directory for one test's build context.
    pub fn context(&self, name: &str, containerfile: &str, files: &[(&str, &str)]) -> PathBuf {
        let d = self.dir.join(format!("ctx-{name}"));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("Containerfile"), containerfile).unwrap();
        for (p, body) in files {
            let f = d.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, body).unwrap();
        }
        d
    }

    /// `ctxsbom ARGS…` with this store's flags appended; panics on failure.
    pub fn ctxsbom(&self, args: &[&str]) -> Output {
        let out = self.ctxsbom_raw(args);
        check(out, &format!("ctxsbom {}", args.join(" ")))
    }

    /// `ctxsbom scan ARGS… -o provenance-json=OUT` with this store's flags; the document it wrote.
    pub fn scan_prov(&self, out: &Path, args: &[&str]) -> Value {
        let o = format!("provenance-json={}", out.display());
        let mut a = vec!["scan"];
        a.extend(args);
        a.extend(["-o", o.as_str()]);
        self.ctxsbom(&a);
        read_json(out)
    }

    pub fn ctxsbom_raw(&self, args: &[&str]) -> Output {
        // Removals take the store for themselves (see `exclusive`).
        let _g = (args.first() != Some(&"prune")).then(shared);
        self.ctxsbom_unlocked(args)
    }

    /// For a caller that holds the store exclusively.
    pub fn ctxsbom_unlocked(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctxsbom"));
        cmd.args(args);
        if args.first() == Some(&"scan") {
            cmd.args(self.storage_args());
            if !args.iter().any(|a| *a == "--cache-dir" || *a == "--no-cache") {
                cmd.arg("--cache-dir").arg(self.dir.join("cache"));
            }
        }
        cmd.output().expect("running ctxsbom")
    }
}

/// The Debian mirror apt is configured with: the source of `bookworm` `main`.
fn mirror() -> String {
    let mut found = None;
    let mut files: Vec<PathBuf> =
        std::fs::read_dir("/etc/apt/sources.list.d").into_iter().flatten().flatten().map(|e| e.path()).collect();
    files.push(PathBuf::from("/etc/apt/sources.list"));
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        // deb822 stanzas
        for st in text.split("\n\n") {
            let get = |k: &str| st.lines().find_map(|l| l.strip_prefix(k)).map(str::trim).unwrap_or_default();
            if get("Suites:").split_whitespace().any(|x| x == "bookworm")
                && get("Components:").split_whitespace().any(|x| x == "main")
            {
                found = found.or_else(|| get("URIs:").split_whitespace().next().map(String::from));
            }
        }
        // one-line format
        for l in text.lines() {
            let w: Vec<&str> = l.split_whitespace().filter(|w| !w.starts_with('[')).collect();
            if w.len() >= 4 && w[0] == "deb" && w[2] == "bookworm" && w[3..].contains(&"main") {
                found = found.or_else(|| Some(w[1].to_string()));
            }
        }
    }
    found.unwrap_or_else(|| "http://deb.debian.org/debian".to_string())
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// The provenance document's file record for `path`.
pub fn file<'a>(p: &'a Value, path: &str) -> Option<&'a Value> {
    p["files"].as_array().unwrap().iter().find(|f| f["path"] == path)
}

/// (createdIn, copiedFrom) of a path, panicking with the whole record when absent.
pub fn origin(p: &Value, path: &str) -> (Value, Value) {
    let f = file(p, path).unwrap_or_else(|| panic!("{path} is not in the provenance document"));
    (f["origin"]["createdIn"].clone(), f["origin"]["copiedFrom"].clone())
}

/// The Python of the venv that holds the reference validators (made by .ci/run).
pub fn python() -> PathBuf {
    let p = std::env::var_os("CTXSBOM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        p.exists(),
        "the reference validators are missing ({}): run .ci/run, or python3 -m venv .venv && .venv/bin/pip install spdx-tools 'cyclonedx-python-lib[json-validation]'",
        p.display()
    );
    p
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}
