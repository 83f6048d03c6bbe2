//! Go binaries: the build information the Go toolchain embeds in `.go.buildinfo` (Go 1.18 and later
//! store it inline): Go version, main module, dependencies (with `=>` replacements).

use super::purl::purl;
use super::{Cataloger, Env, Package};
use crate::layer::view::FsView;

pub struct GoBinary;

const MAGIC: &[u8] = b"\xff Go buildinf:";

/// (Go version, module info text) from a `.go.buildinfo` section.
pub fn parse_buildinfo(sec: &[u8]) -> Option<(String, String)> {
    if sec.len() < 32 || !sec.starts_with(MAGIC) {
        return None;
    }
    let flags = sec[15];
    if flags & 0x2 == 0 {
        return None; // pointer-based layout of Go < 1.18: not read
    }
    let mut rest = &sec[32..];
    let mut read = || -> Option<Vec<u8>> {
        let (len, n) = uvarint(rest)?;
        let s = rest.get(n..n + len as usize)?.to_vec();
        rest = &rest[n + len as usize..];
        Some(s)
    };
    let version = String::from_utf8(read()?).ok()?;
    let mut modinfo = read()?;
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        modinfo = modinfo[16..modinfo.len() - 16].to_vec();
    }
    Some((version, String::from_utf8_lossy(&modinfo).into_owned()))
}

fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, &c) in b.iter().enumerate().take(10) {
        x |= u64::from(c & 0x7f) << (7 * i);
        if c < 0x80 {
            return Some((x, i + 1));
        }
    }
    None
}

/// syft's spelling: at most three path segments before `@` (namespace and name); the rest of a
/// longer module path is the purl subpath (`github.com/org/repo/v3` → `…/repo@v#v3`).
fn go_purl(path: &str, version: &str) -> String {
    let fields: Vec<&str> = path.split('/').collect();
    let (ns, name, sub) = match fields.len() {
        1 => (None, fields[0].to_string(), None),
        2 => (Some(fields[0].to_string()), fields[1].to_string(), None),
        _ => (Some(fields[..2].join("/")), fields[2].to_string(), (fields.len() > 3).then(|| fields[3..].join("/"))),
    };
    let mut s = purl("golang", ns.as_deref(), &name, version, &[]);
    if let Some(sub) = sub {
        s.push('#');
        s.push_str(&sub);
    }
    s
}

/// The main module's version when the toolchain wrote `(devel)`: a `-X …version=V` in the
/// recorded `-ldflags`, as release builds set it (and as syft reads it).
fn version_from_ldflags(modinfo: &str) -> Option<String> {
    let flags = modinfo.lines().find_map(|l| l.strip_prefix("build\t-ldflags="))?;
    let flags = flags.trim_matches('"');
    let mut words = flags.split_whitespace();
    while let Some(w) = words.next() {
        let assign = if w == "-X" { words.next()? } else { w.strip_prefix("-X=").unwrap_or("") };
        if let Some((var, val)) = assign.split_once('=') {
            let val = val.trim_matches(|c| c == '\'' || c == '"');
            if var.to_ascii_lowercase().ends_with("version")
                && val.trim_start_matches('v').starts_with(|c: char| c.is_ascii_digit())
            {
                return Some(if val.starts_with('v') { val.to_string() } else { format!("v{val}") });
            }
        }
    }
    None
}

impl Cataloger for GoBinary {
    fn name(&self) -> &'static str {
        "go-module-binary-cataloger"
    }

    fn catalog(&self, view: &FsView, _env: &Env) -> Vec<Package> {
        let mut out = Vec::new();
        for (path, section) in view.captured_paths() {
            if section != Some("go.buildinfo") {
                continue;
            }
            let Some((gover, modinfo)) = view.content(path, section).and_then(parse_buildinfo) else { continue };
            let mut mods: Vec<(String, String)> = Vec::new();
            for line in modinfo.lines() {
                let f: Vec<&str> = line.split('\t').collect();
                match f.as_slice() {
                    ["mod" | "dep", p, v, ..] => mods.push((p.to_string(), v.to_string())),
                    ["=>", p, v, ..] => {
                        if let Some(last) = mods.last_mut() {
                            *last = (p.to_string(), v.to_string());
                        }
                    }
                    _ => {}
                }
            }
            let mk = |name: &str, version: &str| Package {
                name: name.to_string(),
                version: version.to_string(),
                kind: "go-module".into(),
                purl: go_purl(name, version),
                licenses: Vec::new(),
                location: path.to_string(),
                files: vec![path.to_string()],
                found_by: "go-module-binary-cataloger".into(),
            };
            for (i, (p, v)) in mods.iter().enumerate() {
                let main_devel = i == 0 && v == "(devel)";
                let v =
                    if main_devel { version_from_ldflags(&modinfo).unwrap_or_else(|| v.clone()) } else { v.clone() };
                out.push(mk(p, &v));
            }
            out.push(mk("stdlib", gover.trim_start_matches("go")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.go.buildinfo` section in Go 1.18+'s inline layout.
    pub fn section(version: &str, modinfo: &str) -> Vec<u8> {
        let mut s = MAGIC.to_vec();
        s.push(8);
        s.push(0x2);
        s.resize(32, 0);
        let wrap = format!("{}{modinfo}{}", "0".repeat(16), "1".repeat(16));
        for part in [version.as_bytes(), wrap.as_bytes()] {
            let mut n = part.len();
            while n >= 0x80 {
                s.push((n as u8) | 0x80);
                n >>= 7;
            }
            s.push(n as u8);
            s.extend_from_slice(part);
        }
        s
    }

    #[test]
    fn inline_buildinfo() {
        let modinfo = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:abc=\ndep\told/mod\tv1.0.0\t\n=>\tnew/mod\tv1.2.0\th1:x=\nbuild\tCGO_ENABLED=0\n";
        let (v, m) = parse_buildinfo(&section("go1.19.8", modinfo)).unwrap();
        assert_eq!(v, "go1.19.8");
        assert_eq!(m, modinfo);
        assert_eq!(go_purl("github.com/pkg/errors", "v0.9.1"), "pkg:golang/github.com/pkg/errors@v0.9.1");
        assert_eq!(go_purl("stdlib", "1.19.8"), "pkg:golang/stdlib@1.19.8");
        assert!(parse_buildinfo(b"not a buildinfo section at all....").is_none());
        assert_eq!(
            go_purl("github.com/Masterminds/semver/v3", "v3.3.0"),
            "pkg:golang/github.com/Masterminds/semver@v3.3.0#v3"
        );
        assert_eq!(go_purl("gopkg.in/yaml.v3", "v3.0.1"), "pkg:golang/gopkg.in/yaml.v3@v3.0.1");
        let m = "mod\tgithub.com/anchore/syft\t(devel)\t\nbuild\t-ldflags=\"-w -s -X github.com/anchore/syft/cmd/syft/internal.version=1.18.1 -X main.gitCommit=abc\"\n";
        assert_eq!(version_from_ldflags(m).as_deref(), Some("v1.18.1"));
    }
}
