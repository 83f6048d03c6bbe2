//! Rust binaries built with cargo-auditable: the zlib-compressed JSON dependency list in the
//! `.dep-v0` ELF section.

use std::io::Read;

use serde::Deserialize;

use super::purl::purl;
use super::{Cataloger, Env, Package};
use crate::layer::view::FsView;

pub struct CargoAuditable;

#[derive(Deserialize)]
struct Audit {
    packages: Vec<Crate>,
}

#[derive(Deserialize)]
struct Crate {
    name: String,
    version: String,
}

pub fn parse_dep_v0(compressed: &[u8]) -> Option<Vec<(String, String)>> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed).take(64 << 20).read_to_end(&mut json).ok()?;
    let a: Audit = serde_json::from_slice(&json).ok()?;
    Some(a.packages.into_iter().map(|c| (c.name, c.version)).collect())
}

impl Cataloger for CargoAuditable {
    fn name(&self) -> &'static str {
        "cargo-auditable-binary-cataloger"
    }

    fn catalog(&self, view: &FsView, _env: &Env) -> Vec<Package> {
        let mut out = Vec::new();
        for (path, section) in view.captured_paths() {
            if section != Some("dep-v0") {
                continue;
            }
            let Some(crates) = view.content(path, section).and_then(parse_dep_v0) else { continue };
            for (name, version) in crates {
                out.push(Package {
                    purl: purl("cargo", None, &name, &version, &[]),
                    name,
                    version,
                    kind: "rust-crate".into(),
                    licenses: Vec::new(),
                    location: path.to_string(),
                    files: vec![path.to_string()],
                    found_by: self.name().into(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn dep_v0() {
        let json = br#"{"format":1,"packages":[{"name":"fx-rs","version":"0.3.1","source":"local","root":true,"dependencies":[1]},{"name":"itoa","version":"1.0.11","source":"crates.io"}]}"#;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(json).unwrap();
        let got = parse_dep_v0(&z.finish().unwrap()).unwrap();
        assert_eq!(got, vec![("fx-rs".to_string(), "0.3.1".to_string()), ("itoa".to_string(), "1.0.11".to_string())]);
    }
}
