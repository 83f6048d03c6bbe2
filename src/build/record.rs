//! The build record: what `ctxsbom build` did, enough to analyse the build again later
//! (`ctxsbom scan --build-record FILE`) without rebuilding. Schema: `schemas/build-record.schema.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::builder::Builder;
use crate::digest::Sha256Digest;
use crate::image::StorageOpts;

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BuildRecord {
    pub build_id: String,
    pub builder: Builder,
    pub containerfile: FileRecord,
    pub context: PathBuf,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub tags: Vec<String>,
    pub storage: StorageRecord,
    pub stages: Vec<StageRecord>,
    pub image: FinalImage,
    pub started: String,
    pub finished: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct FileRecord {
    pub path: PathBuf,
    pub digest: Sha256Digest,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct StorageRecord {
    pub root: Option<PathBuf>,
    pub runroot: Option<PathBuf>,
    pub driver: Option<String>,
}

impl StorageRecord {
    pub fn from_opts(o: &StorageOpts) -> Self {
        StorageRecord { root: o.root.clone(), runroot: o.runroot.clone(), driver: o.driver.clone() }
    }
    pub fn opts(&self) -> StorageOpts {
        StorageOpts { root: self.root.clone(), runroot: self.runroot.clone(), driver: self.driver.clone() }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct StageRecord {
    pub index: usize,
    pub name: String,
    /// The FROM text, ARGs expanded.
    pub base: String,
    /// Manifest digest of an external base image in the store (none for `scratch` and stages).
    pub base_digest: Option<Sha256Digest>,
    pub parent: Option<String>,
    /// The stage image ID.
    pub image: Sha256Digest,
    /// The tag that finds it again: `localhost/ctxsbom-stages/<build-id>:<stage>`.
    pub tag: Option<String>,
    pub target: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct FinalImage {
    pub id: Sha256Digest,
    pub digest: Option<Sha256Digest>,
}

impl BuildRecord {
    pub fn read(path: &Path) -> Result<BuildRecord> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not a ctxsbom build record", path.display()))
    }
}
