//! The provenance document (`-o provenance-json`): the contract other tools read.
//! Field names are fixed by `schemas/provenance.schema.json`; add fields, never rename them.

use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub build_id: Option<String>,
    pub image: ImageInfo,
    pub stages: Vec<StageInfo>,
    /// External images the build used (bases and `COPY --from=<image>` sources).
    #[serde(default)]
    pub external_images: Vec<ExternalImage>,
    pub files: Vec<FileRecord>,
    /// Packages of the final image, and packages whose files arrived without their metadata.
    #[serde(default)]
    pub packages: Vec<PackageRecord>,
    /// Things the analysis could not verify (a stage with no image, an unreadable base, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
    pub tool: ToolInfo,
    /// The builder that made the image, when ctxsbom drove the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder: Option<BuilderInfo>,
    /// How the image was built: the Containerfile, context, arguments, times (what SLSA
    /// provenance records as parameters and metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation: Option<Invocation>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    /// The Containerfile's path (absolute when ctxsbom ran the build) and the digest of its bytes.
    pub containerfile: Option<String>,
    pub containerfile_digest: Option<Sha256Digest>,
    pub context: Option<String>,
    #[serde(default)]
    pub build_args: std::collections::BTreeMap<String, String>,
    pub target: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// RFC 3339 times of the build, when ctxsbom ran it.
    pub started: Option<String>,
    pub finished: Option<String>,
    /// Stage name to the tag its image was kept under.
    #[serde(default)]
    pub stage_tags: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct BuilderInfo {
    pub name: String,
    pub version: String,
    /// `save-stages`, `cache-stages` or `emulated`.
    pub mode: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ImageInfo {
    #[serde(rename = "ref")]
    pub reference: String,
    /// Manifest digest (docker-archive has none: then the config digest).
    pub digest: Sha256Digest,
    /// Config digest: the image ID.
    pub id: Sha256Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StageInfo {
    pub index: usize,
    pub name: String,
    /// The FROM text (ARGs expanded).
    pub base: String,
    /// The stage this one is built FROM, if any.
    pub parent: Option<String>,
    /// The stage's image ID, when the stage image was given (or, for the target, the final image).
    pub image: Option<Sha256Digest>,
    #[serde(default)]
    pub target: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ExternalImage {
    #[serde(rename = "ref")]
    pub reference: String,
    pub digest: Option<Sha256Digest>,
    /// How the build used it: `base` of a stage, `copy` source, `mount` source.
    pub uses: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct FileRecord {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub sha256: Option<Sha256Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    pub size: u64,
    pub mode: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Position of the final image's layer that last wrote this path.
    pub layer: usize,
    pub origin: Origin,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    /// How the content arrived in the final image (the first hop); null when the final stage made
    /// it or inherited it.
    pub copied_from: Option<Place>,
    /// Where the content was made: a stage's own instructions, an external image, the context.
    pub created_in: Place,
    /// Alternatives, only when the evidence cannot decide.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Place>,
    /// `content`: every hop checked (hashes matched, layers matched by diff_id, the writing layer made
    /// by one instruction); `instruction`: some hop rests on the Containerfile alone (no image or
    /// context to compare, or a layer several instructions share); `layer`: only the layer position
    /// says so (base image not given); `none`: nothing explains it (see `candidates`).
    pub evidence: String,
    /// Every hop from the final image back to where the content was made.
    pub via: Vec<Hop>,
}

/// A place content can be: exactly one of stage, image or context is set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Place {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Sha256Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Place {
    pub fn stage(s: &str) -> Place {
        Place { stage: Some(s.to_string()), ..Default::default() }
    }
    pub fn image(r: &str, digest: Option<Sha256Digest>) -> Place {
        Place { image: Some(r.to_string()), digest, ..Default::default() }
    }
    pub fn context(p: &str) -> Place {
        Place { context: Some(p.to_string()), ..Default::default() }
    }
    pub fn with_path(mut self, p: &str) -> Place {
        self.path = Some(p.to_string());
        self
    }
    /// `stage builder`, `image localhost/bb`, `the build context`.
    pub fn describe(&self) -> String {
        if let Some(s) = &self.stage {
            format!("stage {s}")
        } else if let Some(i) = &self.image {
            format!("image {i}")
        } else if let Some(c) = &self.context {
            format!("the build context ({c})")
        } else {
            "an unknown place".to_string()
        }
    }
}

/// One step of an origin chain: in `at` (a stage, or the final image's stage), `path` arrived by `how`
/// from `from`.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Hop {
    /// The stage the path is in at this step.
    pub stage: String,
    pub path: String,
    /// `inherited` (from the stage's base), `copy`, `add`, `mount` (RUN --mount), `run` (made by RUN),
    /// `heredoc` (inline COPY content), `layer` (written by the stage's layer; instruction unknown).
    pub how: String,
    /// The Containerfile line of the instruction, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Place>,
}

/// A package and where it came from.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PackageRecord {
    #[serde(flatten)]
    pub package: crate::catalog::Package,
    /// False when the final image has files of the package but not its metadata (the package was
    /// found in the stage or image those files were copied from).
    pub in_image: bool,
    pub origin: PackageOrigin,
    /// For a package not in the image: which of its files arrived, at their final paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arrived: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PackageOrigin {
    /// Where most of its files were made.
    pub created_in: Option<Place>,
    /// How they arrived in the final image (the stage or image they were copied from).
    pub copied_from: Option<Place>,
    /// When its files come from several places: each, with a file count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mixed: Vec<OriginShare>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct OriginShare {
    pub created_in: Place,
    pub files: usize,
}
