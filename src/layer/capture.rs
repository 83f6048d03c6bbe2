//! What the layer indexer keeps besides digests: the bytes catalogers need, taken while the layer
//! streams by, so no cataloger ever re-reads a layer or unpacks an image.
//!
//! Whole files: package databases and manifests (dpkg, apk, rpm, Python, npm, os-release). Derived
//! pieces, stored under `<path>#<section>`: from ELF executables the `.go.buildinfo` and `.dep-v0`
//! (cargo-auditable) sections; from Java archives a summary of their manifests and pom.properties
//! (`#java`, nested archives included). Which files qualify is decided by path alone (and, for ELF, by the first
//! bytes), so the rule is cheap on every entry.

use std::collections::BTreeMap;

use object::{Object, ObjectSection};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Metadata files larger than this are not kept (a sane package database is far smaller).
pub const MAX_WHOLE: u64 = 64 << 20;
/// ELF files larger than this are not examined.
pub const MAX_ELF: u64 = 512 << 20;

/// Whether a file's whole content is kept, by its path.
pub fn wants_whole(path: &str, size: u64) -> bool {
    if size > MAX_WHOLE {
        return false;
    }
    let name = crate::paths::basename(path);
    let parent = crate::paths::parent(path);
    matches!(path, "/etc/os-release" | "/usr/lib/os-release" | "/var/lib/dpkg/status" | "/lib/apk/db/installed")
        || crate::catalog::rpm::DBS.iter().any(|(db, _)| *db == path)
        || parent == "/var/lib/dpkg/status.d"
        || (parent == "/var/lib/dpkg/info" && name.ends_with(".list"))
        || (parent.ends_with(".dist-info") && matches!(name, "METADATA" | "RECORD"))
        || (parent.ends_with(".egg-info") && matches!(name, "PKG-INFO" | "installed-files.txt"))
        || (name.ends_with(".egg-info") && !parent.ends_with(".egg-info"))
        || (name == "package.json" && !path.contains("/.") && !parent.ends_with("/test") && !parent.ends_with("/tests"))
}

/// Derived keys (`<path>#<section>`) the indexer may store.
pub const SECTIONS: [&str; 3] = ["go.buildinfo", "dep-v0", "java"];

/// True for a Java archive, by name and first bytes (a zip's local file header).
pub fn is_java(path: &str, head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") && crate::catalog::java::is_java_archive(path)
}

/// The summary of a Java archive that the Java cataloger reads, as JSON.
pub fn java_summary(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::catalog::java::summarize(bytes).and_then(|s| serde_json::to_vec(&s).ok())
}

/// True for the start of an ELF file.
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// The sections catalogers read, from a whole ELF file: `(suffix, bytes)`.
pub fn elf_sections(bytes: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let Ok(file) = object::File::parse(bytes) else { return Vec::new() };
    let mut out = Vec::new();
    for (name, key) in [(".go.buildinfo", "go.buildinfo"), (".dep-v0", "dep-v0")] {
        if let Some(data) = file.section_by_name(name).and_then(|s| s.data().ok()) {
            out.push((key, data.to_vec()));
        }
    }
    out
}

/// Kept bytes by key (a path, or `path#section`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captured(pub BTreeMap<String, Vec<u8>>);

// Text stays readable in the cache file; anything else is hex.
#[derive(Serialize, Deserialize)]
enum Stored {
    #[serde(rename = "t")]
    Text(String),
    #[serde(rename = "x")]
    Hex(String),
}

impl Serialize for Captured {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m: BTreeMap<&String, Stored> = self
            .0
            .iter()
            .map(|(k, v)| {
                let st = match std::str::from_utf8(v) {
                    Ok(t) => Stored::Text(t.to_string()),
                    Err(_) => Stored::Hex(hex::encode(v)),
                };
                (k, st)
            })
            .collect();
        m.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Captured {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m: BTreeMap<String, Stored> = BTreeMap::deserialize(d)?;
        let mut out = BTreeMap::new();
        for (k, v) in m {
            let bytes = match v {
                Stored::Text(t) => t.into_bytes(),
                Stored::Hex(h) => hex::decode(h).map_err(serde::de::Error::custom)?,
            };
            out.insert(k, bytes);
        }
        Ok(Captured(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        for p in [
            "/var/lib/dpkg/status",
            "/var/lib/dpkg/status.d/base",
            "/var/lib/dpkg/info/bash.list",
            "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
            "/srv/app/node_modules/@scope/x/package.json",
            "/lib/apk/db/installed",
            "/usr/lib/python3/dist-packages/foo-1.0.egg-info",
        ] {
            assert!(wants_whole(p, 10), "{p}");
        }
        for p in ["/var/lib/dpkg/info/bash.md5sums", "/etc/passwd", "/x/.cache/package.json"] {
            assert!(!wants_whole(p, 10), "{p}");
        }
        assert!(!wants_whole("/var/lib/dpkg/status", MAX_WHOLE + 1));
    }

    #[test]
    fn serde_keeps_text_and_binary() {
        let mut c = Captured::default();
        c.0.insert("/a".into(), b"text".to_vec());
        c.0.insert("/b#x".into(), vec![0xff, 0x00]);
        let j = serde_json::to_string(&c).unwrap();
        assert!(j.contains("\"t\":\"text\"") && j.contains("\"x\":\"ff00\""), "{j}");
        assert_eq!(serde_json::from_str::<Captured>(&j).unwrap(), c);
    }
}
