//! npm packages: every `package.json` with a name and a version (what syft's image scan reports),
//! owning the files of its directory outside nested `node_modules`.

use super::purl::purl;
use super::{Cataloger, Env, Package};
use crate::layer::view::FsView;
use crate::layer::EntryKind;
use crate::paths;

pub struct Npm;

impl Cataloger for Npm {
    fn name(&self) -> &'static str {
        "javascript-package-cataloger"
    }

    fn catalog(&self, view: &FsView, _env: &Env) -> Vec<Package> {
        let mut out = Vec::new();
        for (path, section) in view.captured_paths() {
            if section.is_some() || paths::basename(path) != "package.json" {
                continue;
            }
            let Some(bytes) = view.content(path, None) else { continue };
            let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) else { continue };
            let (Some(name), Some(version)) = (doc["name"].as_str(), doc["version"].as_str()) else { continue };
            if name.is_empty() || version.is_empty() {
                continue;
            }
            let license = match &doc["license"] {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Object(o) => o.get("type").and_then(|t| t.as_str()).map(String::from),
                _ => None,
            };
            let (ns, short) = match name.split_once('/') {
                Some((scope, n)) if scope.starts_with('@') => (Some(scope), n),
                _ => (None, name),
            };
            let dir = paths::parent(path);
            let files: Vec<String> = view
                .subtree(dir)
                .filter(|(p, n)| n.entry.kind != EntryKind::Dir && !p[dir.len()..].contains("/node_modules/"))
                .map(|(p, _)| p.clone())
                .collect();
            out.push(Package {
                name: name.to_string(),
                version: version.to_string(),
                kind: "npm".into(),
                purl: purl("npm", ns, short, version, &[]),
                licenses: license.into_iter().collect(),
                location: path.to_string(),
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
    fn scoped_and_plain_packages() {
        let v = view(&[
            ("app/package.json", br#"{"name":"app","version":"1.0.0"}"#),
            (
                "app/node_modules/@babel/core/package.json",
                br#"{"name":"@babel/core","version":"7.0.0","license":"MIT"}"#,
            ),
            ("app/node_modules/@babel/core/lib/index.js", b"//"),
            (
                "app/node_modules/left-pad/package.json",
                br#"{"name":"left-pad","version":"1.3.0","license":{"type":"WTFPL"}}"#,
            ),
            ("app/node_modules/nameless/package.json", br#"{"private":true}"#),
        ]);
        let mut pk = Npm.catalog(&v, &Env::default());
        pk.sort_by(|a, b| a.purl.cmp(&b.purl));
        let purls: Vec<&str> = pk.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(purls, ["pkg:npm/%40babel/core@7.0.0", "pkg:npm/app@1.0.0", "pkg:npm/left-pad@1.3.0"]);
        assert!(pk[0].files.contains(&"/app/node_modules/@babel/core/lib/index.js".to_string()));
        assert!(!pk[1].files.iter().any(|f| f.contains("node_modules")), "the app does not own its dependencies");
        assert_eq!(pk[2].licenses, vec!["WTFPL"]);
    }
}
