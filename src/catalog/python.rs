//! Python packages: `*.dist-info/METADATA` with `RECORD`, and `*.egg-info` (`PKG-INFO` with
//! `installed-files.txt`, or a single `.egg-info` file).

use super::purl::purl;
use super::{field, stanzas, Cataloger, Env, Package};
use crate::layer::view::FsView;
use crate::paths;

pub struct Python;

/// PEP 503 normalisation, as syft writes pypi purls: lower case, runs of `-_.` become `-`.
pub fn normalize_name(n: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in n.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

impl Cataloger for Python {
    fn name(&self) -> &'static str {
        "python-installed-package-cataloger"
    }

    fn catalog(&self, view: &FsView, _env: &Env) -> Vec<Package> {
        let mut out = Vec::new();
        for (path, section) in view.captured_paths() {
            if section.is_some() {
                continue;
            }
            let parent = paths::parent(path);
            let (meta, listing, base) = if path.ends_with(".dist-info/METADATA") {
                (path.to_string(), format!("{parent}/RECORD"), paths::parent(parent).to_string())
            } else if path.ends_with(".egg-info/PKG-INFO") {
                (path.to_string(), format!("{parent}/installed-files.txt"), parent.to_string())
            } else if path.ends_with(".egg-info") {
                (path.to_string(), String::new(), String::new())
            } else {
                continue;
            };
            let Some(text) = view.content(&meta, None) else { continue };
            let text = String::from_utf8_lossy(text);
            // The header ends at the first blank line; the description follows.
            let head = text.split("\n\n").next().unwrap_or_default();
            let Some(st) = stanzas(head).into_iter().next() else { continue };
            let (Some(name), Some(version)) = (field(&st, "Name"), field(&st, "Version")) else { continue };
            let mut licenses: Vec<String> = field(&st, "License-Expression")
                .or(field(&st, "License"))
                .filter(|l| !l.is_empty() && *l != "UNKNOWN" && !l.contains('\n'))
                .map(|l| vec![l.to_string()])
                .unwrap_or_default();
            if licenses.is_empty() {
                licenses = st
                    .iter()
                    .filter(|(k, v)| k == "Classifier" && v.starts_with("License :: "))
                    .filter_map(|(_, v)| v.rsplit(" :: ").next().map(String::from))
                    .collect();
            }
            let mut files: Vec<String> = match view.content(&listing, None) {
                Some(b) if !listing.is_empty() => String::from_utf8_lossy(b)
                    .lines()
                    .filter_map(|l| {
                        let rel = l.split(',').next()?.trim();
                        (!rel.is_empty()).then(|| paths::resolve(&base, rel).ok()).flatten()
                    })
                    .filter(|p| view.get(p).is_some())
                    .collect(),
                _ => Vec::new(),
            };
            if !files.contains(&meta) {
                files.push(meta.clone());
            }
            out.push(Package {
                name: name.to_string(),
                version: version.to_string(),
                kind: "python".into(),
                purl: purl("pypi", None, &normalize_name(name), version, &[]),
                licenses,
                location: meta,
                files,
                found_by: self.name().into(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testutil::view;

    #[test]
    fn dist_info_with_record() {
        let sp = "usr/local/lib/python3.11/site-packages";
        let v = view(&[
            (&format!("{sp}/charset_normalizer-3.5.3.dist-info/METADATA"), b"Metadata-Version: 2.1\nName: charset_normalizer\nVersion: 3.5.3\nLicense: MIT\n\nLong text: not a header\n"),
            (&format!("{sp}/charset_normalizer-3.5.3.dist-info/RECORD"), b"charset_normalizer/__init__.py,sha256=x,10\ncharset_normalizer-3.5.3.dist-info/METADATA,,\n../../../bin/normalizer,,\n"),
            (&format!("{sp}/charset_normalizer/__init__.py"), b"#"),
            ("usr/local/bin/normalizer", b"#!"),
        ]);
        let pk = Python.catalog(&v, &Env::default());
        assert_eq!(pk.len(), 1);
        assert_eq!(pk[0].purl, "pkg:pypi/charset-normalizer@3.5.3");
        assert_eq!(pk[0].licenses, vec!["MIT"]);
        assert!(pk[0].files.contains(&format!("/{sp}/charset_normalizer/__init__.py")));
        assert!(pk[0].files.contains(&"/usr/local/bin/normalizer".to_string()));
        assert_eq!(normalize_name("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
    }
}
