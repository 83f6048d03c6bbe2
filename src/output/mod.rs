//! SBOM and report writers. Writers turn a [`Provenance`] into bytes; they never re-read images.
//!
//! `-o FORMAT[=FILE]` (syft's convention): no `=FILE` writes to stdout. Files are written to a
//! temporary file in the same directory and renamed, so a failure never leaves half a file.

pub mod attest;
pub mod cyclonedx;
pub mod explain;
pub mod graph;
pub mod konflux;
pub mod spdx;
pub mod table;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};

use crate::provenance::model::Provenance;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    ProvenanceJson,
    Table,
    SpdxJson,
    CyclonedxJson,
    CapoJson,
    BuildprobeYaml,
    Intoto,
    Slsa,
    Graph,
    GraphDot,
}

impl Format {
    pub const ALL: [(&'static str, Format); 10] = [
        ("provenance-json", Format::ProvenanceJson),
        ("table", Format::Table),
        ("spdx-json", Format::SpdxJson),
        ("cyclonedx-json", Format::CyclonedxJson),
        ("capo-json", Format::CapoJson),
        ("buildprobe-yaml", Format::BuildprobeYaml),
        ("intoto", Format::Intoto),
        ("slsa", Format::Slsa),
        ("graph", Format::Graph),
        ("graph-dot", Format::GraphDot),
    ];
}

/// One `-o FORMAT[=FILE]`.
#[derive(Clone, Debug)]
pub struct OutputSpec {
    pub format: Format,
    pub file: Option<PathBuf>,
}

impl FromStr for OutputSpec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let (f, file) = match s.split_once('=') {
            Some((f, p)) if !p.is_empty() => (f, Some(PathBuf::from(p))),
            Some((f, _)) => bail!("-o {f}=: no file name after ="),
            None => (s, None),
        };
        let format = Format::ALL.iter().find(|(n, _)| *n == f).map(|(_, v)| *v).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|(n, _)| *n).collect();
            anyhow!("unknown output format {f:?} (known: {})", names.join(", "))
        })?;
        Ok(OutputSpec { format, file })
    }
}

/// What the SBOM writers are asked for besides the provenance.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// File entries with checksums in the SBOMs (`--spdx-files`).
    pub files: bool,
    /// SPDX in the shape of syft's image SBOM (`--spdx-shape syft`): every package under the
    /// root, no image packages of our own; for mobster's `--from-syft`, which adds the context
    /// itself from `capo-json` and `buildprobe-yaml`.
    pub syft_shape: bool,
    /// The name the image will be pulled by (`--image-pullspec`), instead of its local name.
    pub pullspec: Option<String>,
    /// `LOCAL=REMOTE` repository prefixes (`--pullspec-map`), applied to every image name.
    pub pullspec_map: Vec<(String, String)>,
    /// The document an `intoto` statement carries (`--predicate`).
    pub predicate: attest::Predicate,
}

impl Options {
    /// An image reference as it should be written: transport dropped, mapped by `--pullspec-map`.
    pub fn map_ref(&self, r: &str) -> String {
        let r = r.trim_start_matches("containers-storage:");
        for (local, remote) in &self.pullspec_map {
            if let Some(rest) = r.strip_prefix(local.as_str()) {
                if rest.is_empty() || rest.starts_with([':', '@', '/']) {
                    return format!("{remote}{rest}");
                }
            }
        }
        r.to_string()
    }

    /// The final image's name as it should be written.
    pub fn image_name(&self, p: &Provenance) -> String {
        match &self.pullspec {
            Some(ps) => ps.clone(),
            None => self.map_ref(p.image.name.as_deref().unwrap_or(&p.image.reference)),
        }
    }
}

pub fn render(p: &Provenance, format: Format, opts: &Options) -> Result<Vec<u8>> {
    let mut out = match format {
        Format::ProvenanceJson => serde_json::to_vec_pretty(p)?,
        Format::Table => table::render(p).into_bytes(),
        Format::SpdxJson => serde_json::to_vec_pretty(&spdx::document(p, opts))?,
        Format::CyclonedxJson => serde_json::to_vec_pretty(&cyclonedx::document(p, opts))?,
        Format::CapoJson => serde_json::to_vec_pretty(&konflux::capo(p, opts))?,
        Format::Intoto => serde_json::to_vec_pretty(&attest::intoto(p, opts, opts.predicate)?)?,
        Format::Slsa => serde_json::to_vec_pretty(&attest::slsa(p, opts))?,
        Format::Graph => return Ok(graph::render(p, graph::Style::Mermaid).into_bytes()),
        Format::GraphDot => return Ok(graph::render(p, graph::Style::Dot).into_bytes()),
        Format::BuildprobeYaml => {
            let (yaml, warnings) = konflux::buildprobe(p, opts);
            for w in warnings {
                eprintln!("ctxsbom: warning: {w}");
            }
            return Ok(yaml.into_bytes());
        }
    };
    if format != Format::Table {
        out.push(b'\n');
    }
    Ok(out)
}

/// Renders every output first, then writes them: a failing format writes nothing.
pub fn write_all(p: &Provenance, specs: &[OutputSpec], opts: &Options) -> Result<()> {
    let mut rendered = Vec::new();
    for s in specs {
        rendered.push((s, render(p, s.format, opts)?));
    }
    if rendered.iter().filter(|(s, _)| s.file.is_none()).count() > 1 {
        bail!("several outputs go to stdout: give all but one a file (-o FORMAT=FILE)");
    }
    for (s, bytes) in rendered {
        match &s.file {
            Some(f) => write_atomic(f, &bytes)?,
            None => std::io::stdout().lock().write_all(&bytes).context("writing to stdout")?,
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ctxsbom-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file next to {}", path.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `(repository, tag)` of an image reference; a digest (`@sha256:…`) is dropped, and a `:port`
/// of the registry is not a tag.
pub fn split_tag(r: &str) -> (&str, Option<&str>) {
    let r = r.split('@').next().unwrap_or(r);
    match r.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (r, None),
    }
}

/// The external base image at the root of a stage's FROM chain (`None` for `FROM scratch`).
pub fn root_base(p: &Provenance, stage: &str) -> Option<String> {
    let mut cur = p.stages.iter().find(|s| s.name == stage)?;
    for _ in 0..p.stages.len() {
        match &cur.parent {
            Some(parent) => cur = p.stages.iter().find(|s| &s.name == parent)?,
            None => break,
        }
    }
    (!cur.base.eq_ignore_ascii_case("scratch")).then(|| cur.base.clone())
}

/// The final stage's label.
pub fn target_stage(p: &Provenance) -> Option<&str> {
    p.stages.iter().find(|s| s.target).map(|s| s.name.as_str())
}

/// RFC 3339 UTC at second precision, honouring `SOURCE_DATE_EPOCH` for reproducible documents.
pub fn timestamp() -> String {
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or_else(time::OffsetDateTime::now_utc);
    rfc3339(now)
}

/// The current time, RFC 3339 UTC at second precision (for records of when things happened).
pub fn timestamp_now() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pullspec_map_rewrites_repository_prefixes() {
        let o =
            Options { pullspec_map: vec![("localhost/app".into(), "quay.io/org/app".into())], ..Default::default() };
        assert_eq!(o.map_ref("containers-storage:localhost/app:1"), "quay.io/org/app:1");
        assert_eq!(o.map_ref("localhost/app@sha256:ab"), "quay.io/org/app@sha256:ab");
        assert_eq!(o.map_ref("localhost/application:1"), "localhost/application:1");
    }
}
