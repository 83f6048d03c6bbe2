//! Package catalogers: one small trait, one module per ecosystem, one registry.
//!
//! A cataloger reads a folded filesystem view (never an unpacked copy): the package databases and
//! manifests the layer indexer captured, and the view's paths for the files each package owns. It
//! returns packages with name, version, purl (spelled as syft spells it), declared licenses and
//! owned files.
//!
//! Not for: deciding where a package came from. That is `packages.rs` in `provenance/`, from the
//! origins of the files a package owns.

pub mod apk;
pub mod dpkg;
pub mod golang;
pub mod java;
pub mod npm;
pub mod purl;
pub mod python;
pub mod rpm;
pub mod rust;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::layer::view::FsView;

/// A package found in an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// `deb`, `apk`, `rpm`, `python`, `npm`, `go-module`, `rust-crate`, `java-archive`,
    /// `jenkins-plugin`.
    #[serde(rename = "type")]
    pub kind: String,
    pub purl: String,
    #[serde(default)]
    pub licenses: Vec<String>,
    /// Where the package was found: its database or manifest (or the binary that embeds it).
    pub location: String,
    /// Files the package owns, absolute, as present in the image.
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(rename = "foundBy")]
    pub found_by: String,
}

impl Package {
    /// Found inside a file (a binary's build info, a Java archive) rather than in a package
    /// manager's records: the file is the package's evidence, not a file the package installed.
    pub fn is_embedded(&self) -> bool {
        matches!(self.kind.as_str(), "go-module" | "rust-crate" | "java-archive" | "jenkins-plugin")
    }
}

/// What every cataloger may want to know about the image.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `ID` of os-release (`debian`, `alpine`, ...).
    pub distro_id: Option<String>,
    /// `VERSION_ID` of os-release (`12`, `3.18.4`).
    pub distro_version: Option<String>,
}

impl Env {
    pub fn read(view: &FsView) -> Env {
        let text = view
            .content("/etc/os-release", None)
            .or_else(|| view.content("/usr/lib/os-release", None))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .or_else(|| resolve_text(view, "/etc/os-release"))
            .unwrap_or_default();
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
                .filter(|v| !v.is_empty())
        };
        Env { distro_id: get("ID"), distro_version: get("VERSION_ID") }
    }

    /// `debian-12`, syft's `distro` qualifier.
    pub fn distro_qualifier(&self) -> Option<String> {
        let id = self.distro_id.as_ref()?;
        Some(match &self.distro_version {
            Some(v) => format!("{id}-{v}"),
            None => id.clone(),
        })
    }
}

/// Content of a path that is a symlink to a captured file (`/etc/os-release -> ../usr/lib/os-release`).
fn resolve_text(view: &FsView, path: &str) -> Option<String> {
    let (real, _) = view.resolve(path)?;
    view.content(&real, None).map(|b| String::from_utf8_lossy(b).into_owned())
}

pub trait Cataloger: Sync {
    fn name(&self) -> &'static str;
    fn catalog(&self, view: &FsView, env: &Env) -> Vec<Package>;
}

/// Every cataloger, in the order their packages are listed.
pub fn registry() -> Vec<Box<dyn Cataloger>> {
    vec![
        Box::new(dpkg::Dpkg),
        Box::new(apk::Apk),
        Box::new(rpm::Rpm),
        Box::new(python::Python),
        Box::new(npm::Npm),
        Box::new(golang::GoBinary),
        Box::new(rust::CargoAuditable),
        Box::new(java::JavaArchive),
    ]
}

/// All packages of a view, catalogers run in parallel.
pub fn catalog(view: &FsView) -> Vec<Package> {
    let env = Env::read(view);
    let cats = registry();
    let found: Vec<Vec<Package>> = cats.par_iter().map(|c| c.catalog(view, &env)).collect();
    found.into_iter().flatten().collect()
}

/// Splits RFC 822-style stanzas (dpkg status, PKG-INFO) into `(field, value)` lists; continuation
/// lines are joined with newlines.
pub fn stanzas(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = cur.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn field<'a>(st: &'a [(String, String)], name: &str) -> Option<&'a str> {
    st.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::sync::Arc;

    use crate::digest::Sha256Digest;
    use crate::layer::testutil::TarMaker;
    use crate::layer::view::FsView;
    use crate::layer::{index_blob, Expect};

    /// A view of one layer made of `files` (path, content).
    pub fn view(files: &[(&str, &[u8])]) -> FsView {
        let mut t = TarMaker::new();
        for (p, b) in files {
            t = t.file(p, b);
        }
        let tar = t.finish();
        let idx = index_blob(&tar[..], &Expect { diff_id: Sha256Digest::of(&tar), blob_digest: None }, "t").unwrap();
        FsView::fold(&[Arc::new(idx)])
    }
}
