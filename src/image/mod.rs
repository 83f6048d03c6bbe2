//! Image sources: where an image's manifest, config and layer blobs are read from.
//!
//! Accepted references (the transports of containers/image, which buildah, podman and skopeo share):
//! `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:NAME]`, `dir:DIR` and
//! `containers-storage:REF` (exported with `buildah push -D REF dir:…`, or `skopeo copy` when buildah
//! is absent, to a temporary directory that lives as long as the [`Image`]). Archives are read in
//! place: their tar is indexed once and each blob is a seek plus a bounded read.
//!
//! Not for: reading layer content. [`Image::open_layer`] hands a raw blob stream to the layer indexer.
//! Manifests are parsed with small tolerant structs of our own (OCI and Docker v2s2 spell the fields
//! alike; docker-archive's `manifest.json` is neither), and digests are always taken over raw bytes.

mod archive;
pub mod storage;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use crate::digest::Sha256Digest;
pub use storage::StorageOpts;

/// An image reference in one of the accepted transports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageRef {
    Oci { dir: PathBuf, tag: Option<String> },
    OciArchive { file: PathBuf, tag: Option<String> },
    DockerArchive { file: PathBuf, name: Option<String> },
    Dir { dir: PathBuf },
    ContainersStorage { reference: String },
}

/// Splits `PATH[:SUFFIX]`, where a suffix never contains `/` (so `/a:b/c` stays one path).
fn split_suffix(s: &str) -> (PathBuf, Option<String>) {
    match s.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') && !p.is_empty() && !t.is_empty() => (PathBuf::from(p), Some(t.to_string())),
        _ => (PathBuf::from(s), None),
    }
}

impl FromStr for ImageRef {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let (transport, rest) = s.split_once(':').ok_or_else(|| {
            anyhow!(
                "image {s:?} has no transport\nhint: write oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE, dir:DIR or containers-storage:REF"
            )
        })?;
        if rest.is_empty() {
            bail!("image {s:?}: nothing after {transport}:");
        }
        Ok(match transport {
            "oci" => {
                let (dir, tag) = split_suffix(rest);
                ImageRef::Oci { dir, tag }
            }
            "oci-archive" => {
                let (file, tag) = split_suffix(rest);
                ImageRef::OciArchive { file, tag }
            }
            "docker-archive" => {
                // docker-archive:FILE or docker-archive:FILE:repo:tag
                let (file, name) = if Path::new(rest).exists() {
                    (PathBuf::from(rest), None)
                } else {
                    match rest.split_once(':') {
                        Some((f, n)) => (PathBuf::from(f), Some(n.to_string())),
                        None => (PathBuf::from(rest), None),
                    }
                };
                ImageRef::DockerArchive { file, name }
            }
            "dir" => ImageRef::Dir { dir: PathBuf::from(rest) },
            "containers-storage" => ImageRef::ContainersStorage { reference: rest.to_string() },
            other => bail!(
                "image {s:?}: unknown transport {other:?}\nhint: use oci:, oci-archive:, docker-archive:, dir: or containers-storage:"
            ),
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |o: &Option<String>| o.as_ref().map(|t| format!(":{t}")).unwrap_or_default();
        match self {
            ImageRef::Oci { dir, tag } => write!(f, "oci:{}{}", dir.display(), opt(tag)),
            ImageRef::OciArchive { file, tag } => {
                write!(f, "oci-archive:{}{}", file.display(), opt(tag))
            }
            ImageRef::DockerArchive { file, name } => {
                write!(f, "docker-archive:{}{}", file.display(), opt(name))
            }
            ImageRef::Dir { dir } => write!(f, "dir:{}", dir.display()),
            ImageRef::ContainersStorage { reference } => {
                write!(f, "containers-storage:{reference}")
            }
        }
    }
}

/// Where a blob's bytes are.
#[derive(Clone, Debug)]
enum Loc {
    File(PathBuf),
    InArchive { file: Arc<PathBuf>, offset: u64, size: u64 },
}

impl Loc {
    fn open(&self) -> Result<Box<dyn Read + Send>> {
        Ok(match self {
            Loc::File(p) => Box::new(File::open(p).with_context(|| format!("opening {}", p.display()))?),
            Loc::InArchive { file, offset, size } => {
                let mut f = File::open(file.as_path()).with_context(|| format!("opening {}", file.display()))?;
                f.seek(SeekFrom::Start(*offset))?;
                Box::new(f.take(*size))
            }
        })
    }
    fn read_all(&self, limit: u64) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.open()?.take(limit).read_to_end(&mut v)?;
        Ok(v)
    }
}

/// A layer of an image: where its blob is and what it must hash to.
#[derive(Clone, Debug)]
pub struct Layer {
    pub diff_id: Sha256Digest,
    /// The blob digest from the manifest (absent for docker-archive, whose layers are plain tars).
    pub blob_digest: Option<Sha256Digest>,
    pub size: Option<u64>,
    loc: Loc,
}

/// One `history` entry of an image config.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct History {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

/// An opened image: identity, config facts and layer locations.
pub struct Image {
    /// The reference as given by the user.
    pub reference: ImageRef,
    /// A name the image carries (tag annotation, RepoTags, or the storage reference), if any.
    pub name: Option<String>,
    /// Digest of the manifest bytes, when the source has a manifest.
    pub manifest_digest: Option<Sha256Digest>,
    /// Digest of the config: the image ID.
    pub id: Sha256Digest,
    pub layers: Vec<Layer>,
    pub history: Vec<History>,
    pub labels: BTreeMap<String, String>,
    /// The config's WORKDIR and ENV, which a stage built FROM this image starts with.
    pub base_config: crate::containerfile::BaseConfig,
    pub annotations: BTreeMap<String, String>,
    pub architecture: Option<String>,
    pub os: Option<String>,
    /// Keeps a temporary export alive as long as the image is.
    _export: Option<Arc<tempfile::TempDir>>,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Image({}, {})", self.reference, self.id)
    }
}

impl Image {
    /// Opens an image. `storage` applies to `containers-storage:` references.
    pub fn open(r: &ImageRef, storage: &StorageOpts) -> Result<Image> {
        let what = r.to_string();
        let img = match r {
            ImageRef::Oci { dir, tag } => {
                let blobs = |d: &Sha256Digest| Ok(Loc::File(dir.join("blobs/sha256").join(d.hex())));
                let index = std::fs::read(dir.join("index.json"))
                    .with_context(|| format!("reading {}/index.json (is it an OCI layout?)", dir.display()))?;
                open_oci(r.clone(), &index, tag.as_deref(), &blobs)
            }
            ImageRef::OciArchive { file, tag } => {
                let ar = archive::ArchiveIndex::read(file)?;
                let index = ar.loc("index.json")?.read_all(1 << 24)?;
                let blobs = |d: &Sha256Digest| ar.loc(&format!("blobs/sha256/{}", d.hex()));
                open_oci(r.clone(), &index, tag.as_deref(), &blobs)
            }
            ImageRef::DockerArchive { file, name } => {
                let ar = archive::ArchiveIndex::read(file)?;
                open_docker_archive(r.clone(), &ar, name.as_deref())
            }
            ImageRef::Dir { dir } => {
                let manifest = std::fs::read(dir.join("manifest.json"))
                    .with_context(|| format!("reading {}/manifest.json (is it a dir: export?)", dir.display()))?;
                let blobs = |d: &Sha256Digest| Ok(Loc::File(dir.join(d.hex())));
                open_manifest(r.clone(), &manifest, None, &blobs)
            }
            ImageRef::ContainersStorage { reference } => {
                let tmp = storage::export(reference, storage)?;
                let dir = tmp.path().to_path_buf();
                let mut img = Image::open(&ImageRef::Dir { dir }, storage)?;
                img.reference = r.clone();
                img.name = Some(reference.clone());
                img._export = Some(Arc::new(tmp));
                Ok(img)
            }
        };
        img.with_context(|| format!("opening image {what}"))
    }

    pub fn diff_ids(&self) -> Vec<Sha256Digest> {
        self.layers.iter().map(|l| l.diff_id).collect()
    }

    /// The raw (possibly compressed) blob of layer `i`.
    pub fn open_layer(&self, i: usize) -> Result<Box<dyn Read + Send>> {
        self.layers[i].loc.open()
    }

    /// A short human name: the image's own name, else the reference.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.reference.to_string())
    }
}

// ---- manifest documents -------------------------------------------------------------------------

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    digest: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize, Debug, Clone)]
struct Platform {
    architecture: String,
    os: String,
}

#[derive(Deserialize)]
struct IndexDoc {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct ConfigDoc {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    config: Option<ContainerConfig>,
    rootfs: RootFs,
    #[serde(default)]
    history: Vec<History>,
}

#[derive(Deserialize, Default, Clone)]
struct ContainerConfig {
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "WorkingDir", default)]
    working_dir: Option<String>,
    #[serde(rename = "Env", default)]
    env: Option<Vec<String>>,
}

impl ContainerConfig {
    /// What a stage built FROM this image starts with: its WORKDIR and ENV.
    fn base_config(&self) -> crate::containerfile::BaseConfig {
        crate::containerfile::BaseConfig {
            workdir: self.working_dir.clone().filter(|w| !w.is_empty()),
            env: self
                .env
                .iter()
                .flatten()
                .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect(),
        }
    }
}

#[derive(Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The OCI name of this machine's architecture (`amd64`, `arm64`, ...).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

type BlobFn<'a> = dyn Fn(&Sha256Digest) -> Result<Loc> + 'a;

fn open_oci(r: ImageRef, index: &[u8], tag: Option<&str>, blobs: &BlobFn) -> Result<Image> {
    let idx: IndexDoc = serde_json::from_slice(index).context("parsing index.json")?;
    let named = |d: &Descriptor| d.annotations.get(REF_NAME).cloned();
    let chosen = match tag {
        Some(t) => idx
            .manifests
            .iter()
            .find(|d| named(d).is_some_and(|n| n == t || n.ends_with(&format!(":{t}"))))
            .ok_or_else(|| {
                let have: Vec<String> = idx.manifests.iter().filter_map(named).collect();
                anyhow!("no manifest tagged {t:?} in index.json (tags there: {have:?})")
            })?,
        None => match idx.manifests.as_slice() {
            [one] => one,
            [] => bail!("index.json lists no manifests"),
            many => {
                let have: Vec<String> = many.iter().filter_map(named).collect();
                bail!("index.json lists {} manifests: name one with :TAG (tags there: {have:?})", many.len())
            }
        },
    };
    let name = named(chosen);
    let mut digest = Sha256Digest::parse(&chosen.digest)?;
    let mut bytes = blobs(&digest)?.read_all(1 << 24)?;
    // Follow nested indexes (multi-platform images) to the host's platform.
    for _ in 0..4 {
        let doc: ManifestDoc = serde_json::from_slice(&bytes).context("parsing a manifest")?;
        let Some(list) = doc.manifests else { break };
        let pick = list
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == host_arch()))
            .or(list.first())
            .ok_or_else(|| anyhow!("an image index with no manifests"))?;
        digest = Sha256Digest::parse(&pick.digest)?;
        bytes = blobs(&digest)?.read_all(1 << 24)?;
    }
    let mut img = open_manifest(r, &bytes, name, blobs)?;
    if Sha256Digest::of(&bytes) != digest {
        bail!("manifest {digest} does not hash to its digest");
    }
    img.manifest_digest = Some(digest);
    Ok(img)
}

fn open_manifest(r: ImageRef, bytes: &[u8], name: Option<String>, blobs: &BlobFn) -> Result<Image> {
    let m: ManifestDoc = serde_json::from_slice(bytes).context("parsing the manifest")?;
    if let Some(mt) = &m.media_type {
        if mt.contains("v1+json") && mt.contains("docker") {
            bail!("Docker schema 1 manifests are not supported ({mt})");
        }
    }
    let cfg_desc = m.config.as_ref().ok_or_else(|| anyhow!("the manifest has no config"))?;
    let cfg_digest = Sha256Digest::parse(&cfg_desc.digest)?;
    let cfg_bytes = blobs(&cfg_digest)?.read_all(1 << 26)?;
    if Sha256Digest::of(&cfg_bytes) != cfg_digest {
        bail!("config blob {cfg_digest} does not hash to its digest");
    }
    let cfg: ConfigDoc = serde_json::from_slice(&cfg_bytes).context("parsing the image config")?;
    let diff_ids = parse_diff_ids(&cfg)?;
    if diff_ids.len() != m.layers.len() {
        bail!("the manifest lists {} layers but the config {} diff_ids", m.layers.len(), diff_ids.len());
    }
    let mut layers = Vec::new();
    for (d, diff_id) in m.layers.iter().zip(diff_ids) {
        let bd = Sha256Digest::parse(&d.digest)?;
        layers.push(Layer { diff_id, blob_digest: Some(bd), size: d.size, loc: blobs(&bd)? });
    }
    Ok(Image {
        reference: r,
        name,
        manifest_digest: Some(Sha256Digest::of(bytes)),
        id: cfg_digest,
        layers,
        history: cfg.history,
        base_config: cfg.config.as_ref().map(ContainerConfig::base_config).unwrap_or_default(),
        labels: cfg.config.and_then(|c| c.labels).unwrap_or_default(),
        annotations: m.annotations,
        architecture: cfg.architecture,
        os: cfg.os,
        _export: None,
    })
}

fn parse_diff_ids(cfg: &ConfigDoc) -> Result<Vec<Sha256Digest>> {
    cfg.rootfs.diff_ids.iter().map(|d| Sha256Digest::parse(d)).collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn open_docker_archive(r: ImageRef, ar: &archive::ArchiveIndex, name: Option<&str>) -> Result<Image> {
    let list: Vec<DockerArchiveEntry> =
        serde_json::from_slice(&ar.loc("manifest.json")?.read_all(1 << 24)?).context("parsing manifest.json")?;
    let tags = |e: &DockerArchiveEntry| e.repo_tags.clone().unwrap_or_default();
    let entry = match name {
        Some(n) => list
            .iter()
            .find(|e| tags(e).iter().any(|t| t == n || t.ends_with(&format!("/{n}"))))
            .ok_or_else(|| anyhow!("no image named {n:?} in manifest.json"))?,
        None => match list.as_slice() {
            [one] => one,
            [] => bail!("manifest.json lists no images"),
            _ => bail!("manifest.json lists {} images: name one as docker-archive:FILE:NAME", list.len()),
        },
    };
    let cfg_bytes = ar.loc(&entry.config)?.read_all(1 << 26)?;
    let cfg: ConfigDoc = serde_json::from_slice(&cfg_bytes).context("parsing the image config")?;
    let diff_ids = parse_diff_ids(&cfg)?;
    if diff_ids.len() != entry.layers.len() {
        bail!("manifest.json lists {} layers but the config {} diff_ids", entry.layers.len(), diff_ids.len());
    }
    let layers = entry
        .layers
        .iter()
        .zip(diff_ids)
        .map(|(p, diff_id)| Ok(Layer { diff_id, blob_digest: None, size: None, loc: ar.loc(p)? }))
        .collect::<Result<Vec<_>>>()?;
    Ok(Image {
        reference: r,
        name: tags(entry).first().cloned(),
        manifest_digest: None,
        id: Sha256Digest::of(&cfg_bytes),
        layers,
        history: cfg.history,
        base_config: cfg.config.as_ref().map(ContainerConfig::base_config).unwrap_or_default(),
        labels: cfg.config.and_then(|c| c.labels).unwrap_or_default(),
        annotations: BTreeMap::new(),
        architecture: cfg.architecture,
        os: cfg.os,
        _export: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_transports() {
        assert_eq!(
            "oci:/x/y:latest".parse::<ImageRef>().unwrap(),
            ImageRef::Oci { dir: "/x/y".into(), tag: Some("latest".into()) }
        );
        assert_eq!("oci:/x/y".parse::<ImageRef>().unwrap(), ImageRef::Oci { dir: "/x/y".into(), tag: None });
        assert_eq!(
            "containers-storage:localhost/a:1".parse::<ImageRef>().unwrap(),
            ImageRef::ContainersStorage { reference: "localhost/a:1".into() }
        );
        let e = format!("{:#}", "/no/transport".parse::<ImageRef>().unwrap_err());
        assert!(e.contains("no transport") && e.contains("hint"), "{e}");
        assert!("docker://x".parse::<ImageRef>().is_err());
    }
}
