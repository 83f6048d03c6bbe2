//! Absolute, normalised image paths and Containerfile-style glob matching.
//!
//! Every path ctxsbom stores is absolute, uses `/`, has no `.`/`..`/empty components and no trailing
//! slash (`/` itself excepted). Names in layer tars are hostile input: a `..` that would climb above
//! the root is an error, never clamped silently.

use anyhow::{bail, Result};

/// Normalises a tar entry name or an instruction path into an absolute path.
/// `./usr/bin/`, `usr//bin`, `/usr/./bin` all give `/usr/bin`. A `..` above the root is an error.
pub fn normalize(name: &str) -> Result<String> {
    let mut parts: Vec<&str> = Vec::new();
    for comp in name.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    bail!("path {name:?} climbs above the root");
                }
            }
            c => parts.push(c),
        }
    }
    if name.contains('\0') {
        bail!("path {name:?} contains a NUL byte");
    }
    Ok(if parts.is_empty() { "/".to_string() } else { format!("/{}", parts.join("/")) })
}

/// Resolves `p` against the directory `base` (both as written in a Containerfile), then normalises.
pub fn resolve(base: &str, p: &str) -> Result<String> {
    if p.starts_with('/') {
        normalize(p)
    } else {
        normalize(&format!("{base}/{p}"))
    }
}

/// The parent of an absolute normalised path (`/` for top-level names and for `/`).
pub fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

/// The last component of an absolute normalised path.
pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// If `p` is `dir` or lies below it, the remainder (`""` for `dir` itself, else `/rest`).
pub fn strip_dir<'a>(p: &'a str, dir: &str) -> Option<&'a str> {
    if dir == "/" {
        return Some(if p == "/" { "" } else { p });
    }
    let rest = p.strip_prefix(dir)?;
    if rest.is_empty() || rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

/// True when `s` holds glob metacharacters (`*`, `?`, `[`).
pub fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Matches one path against a pattern component by component, with Go's `filepath.Match` rules
/// (what buildah and Docker use for COPY sources): `*` and `?` never cross `/`, `[a-z]` and `[^x]`
/// classes, `\` escapes. Both arguments are absolute normalised paths.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pp: Vec<&str> = pattern.split('/').collect();
    let sp: Vec<&str> = path.split('/').collect();
    pp.len() == sp.len() && pp.iter().zip(&sp).all(|(p, s)| match_component(p.as_bytes(), s.as_bytes()))
}

fn match_component(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| match_component(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && match_component(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(c) = s.first() else { return false };
            let mut i = 1;
            let negate = matches!(p.get(1), Some(b'^') | Some(b'!'));
            if negate {
                i += 1;
            }
            let mut matched = false;
            let mut first = true;
            while i < p.len() && (first || p[i] != b']') {
                first = false;
                let lo = p[i];
                if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
                    matched |= (lo..=p[i + 2]).contains(c);
                    i += 3;
                } else {
                    matched |= lo == *c;
                    i += 1;
                }
            }
            if i >= p.len() {
                return false; // unterminated class never matches
            }
            matched != negate && match_component(&p[i + 1..], &s[1..])
        }
        Some(b'\\') if p.len() > 1 => s.first() == Some(&p[1]) && match_component(&p[2..], &s[1..]),
        Some(c) => s.first() == Some(c) && match_component(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_tar_names() {
        assert_eq!(normalize("./usr/bin/").unwrap(), "/usr/bin");
        assert_eq!(normalize("usr//bin/./x").unwrap(), "/usr/bin/x");
        assert_eq!(normalize("/a/b/../c").unwrap(), "/a/c");
        assert_eq!(normalize("./").unwrap(), "/");
        assert!(normalize("../etc/passwd").is_err());
        assert!(normalize("a/../../etc").is_err());
    }

    #[test]
    fn resolves_relative_to_workdir() {
        assert_eq!(resolve("/app", "bin/x").unwrap(), "/app/bin/x");
        assert_eq!(resolve("/app", "/etc").unwrap(), "/etc");
        assert_eq!(resolve("/", ".").unwrap(), "/");
    }

    #[test]
    fn dir_prefixes() {
        assert_eq!(strip_dir("/a/b/c", "/a/b"), Some("/c"));
        assert_eq!(strip_dir("/a/b", "/a/b"), Some(""));
        assert_eq!(strip_dir("/a/bc", "/a/b"), None);
        assert_eq!(strip_dir("/x", "/"), Some("/x"));
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(basename("/a/b"), "b");
    }

    #[test]
    fn globs_like_go_filepath_match() {
        assert!(glob_match("/out/*.txt", "/out/a.txt"));
        assert!(!glob_match("/out/*.txt", "/out/sub/a.txt"));
        assert!(glob_match("/out/?", "/out/x"));
        assert!(glob_match("/out/[a-c]x", "/out/bx"));
        assert!(!glob_match("/out/[^a-c]x", "/out/bx"));
        assert!(glob_match("/o*/*", "/out/x"));
        assert!(!glob_match("/out/[ab", "/out/a"));
    }
}
