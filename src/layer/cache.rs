//! On-disk cache of layer indexes, keyed by diff_id: a layer shared by many images, or scanned
//! again later, is read once. Files are `<dir>/<hex>.json`, written to a temporary file and renamed.
//! A file that cannot be read or parsed (another format version, a partial copy) is treated as absent.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::LayerIndex;
use crate::digest::Sha256Digest;

/// Bumped whenever [`LayerIndex`] or the meaning of its fields changes.
const FORMAT: u32 = 3;

#[derive(Serialize, Deserialize)]
struct Stored {
    format: u32,
    index: LayerIndex,
}

#[derive(Clone, Debug)]
pub struct LayerCache {
    dir: Option<PathBuf>,
}

impl LayerCache {
    /// A cache in `dir`, or none at all.
    pub fn new(dir: Option<PathBuf>) -> Self {
        LayerCache { dir }
    }

    /// `$CTXSBOM_CACHE_DIR`, else `$XDG_CACHE_HOME/ctxsbom/layers`, else `~/.cache/ctxsbom/layers`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("CTXSBOM_CACHE_DIR") {
            return Some(PathBuf::from(d));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
        Some(base.join("ctxsbom").join("layers"))
    }

    fn file(&self, diff_id: &Sha256Digest) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{}.json", diff_id.hex())))
    }

    pub fn get(&self, diff_id: &Sha256Digest) -> Option<LayerIndex> {
        let bytes = fs::read(self.file(diff_id)?).ok()?;
        let stored: Stored = serde_json::from_slice(&bytes).ok()?;
        (stored.format == FORMAT && stored.index.diff_id == *diff_id).then_some(stored.index)
    }

    pub fn put(&self, index: &LayerIndex) -> Result<()> {
        let (Some(dir), Some(file)) = (&self.dir, self.file(&index.diff_id)) else {
            return Ok(());
        };
        fs::create_dir_all(dir).with_context(|| format!("creating the layer cache {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut tmp, &Stored { format: FORMAT, index: index.clone() })?;
        tmp.flush()?;
        tmp.persist(&file).with_context(|| format!("writing {}", file.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Entry, EntryKind};

    #[test]
    fn round_trip_and_corrupt_file_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::new(Some(dir.path().to_path_buf()));
        let d = Sha256Digest::of(b"layer");
        assert!(cache.get(&d).is_none());
        let idx = LayerIndex {
            diff_id: d,
            entries: vec![Entry {
                path: "/a".into(),
                kind: EntryKind::File,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: 1,
                link: None,
                sha256: Some(Sha256Digest::of(b"x")),
                sha1: Some("00".into()),
            }],
            captured: Default::default(),
        };
        cache.put(&idx).unwrap();
        assert_eq!(cache.get(&d).unwrap().entries, idx.entries);
        fs::write(dir.path().join(format!("{}.json", d.hex())), b"{\"format\":1,").unwrap();
        assert!(cache.get(&d).is_none());
    }
}
