//! Layer indexer: streams one layer blob (gzip, zstd or plain tar) once and records every entry.
//!
//! For each entry: normalised absolute path, type (including whiteouts), mode, owner, size, link
//! target, and SHA-256 plus SHA-1 of regular file content (hard links take their target's digests).
//! The uncompressed stream is hashed as it is read and must equal the layer's diff_id; the compressed
//! blob must equal its manifest digest. Indexes are cached on disk by diff_id ([`cache`]).
//!
//! Architecture invariant: this module knows nothing of Containerfiles, stages or images beyond the
//! digests it is asked to verify. It never writes layer content to disk.

pub mod cache;
pub mod capture;
pub mod view;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::digest::{hash_content, HashingReader, Sha256Digest};
use crate::paths;

/// What a tar entry is, after whiteout names are recognised.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
    /// `.wh.<name>`: deletes `<name>` (and anything below it) from lower layers.
    Whiteout,
    /// `.wh..wh..opq` in a directory: hides everything lower layers put below that directory.
    Opaque,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Hardlink => "hardlink",
            EntryKind::Char => "char",
            EntryKind::Block => "block",
            EntryKind::Fifo => "fifo",
            EntryKind::Whiteout => "whiteout",
            EntryKind::Opaque => "opaque",
        }
    }
    /// True for entries whose bytes are file content (regular files and hard links to them).
    pub fn has_content(self) -> bool {
        matches!(self, EntryKind::File | EntryKind::Hardlink)
    }
}

/// One entry of a layer tar.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
}

/// Everything one layer holds, in tar order, and the bytes catalogers need ([`capture`]).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct LayerIndex {
    pub diff_id: Sha256Digest,
    pub entries: Vec<Entry>,
    #[serde(default)]
    pub captured: capture::Captured,
}

/// What must be verified while streaming a blob.
#[derive(Clone, Debug)]
pub struct Expect {
    /// Digest of the uncompressed tar (from the image config's `rootfs.diff_ids`).
    pub diff_id: Sha256Digest,
    /// Digest of the blob as stored (from the manifest), when known.
    pub blob_digest: Option<Sha256Digest>,
}

/// Indexes one layer blob, verifying its digests. `what` names the layer in errors.
pub fn index_blob<R: Read>(raw: R, expect: &Expect, what: &str) -> Result<LayerIndex> {
    let mut outer = HashingReader::new(raw);
    let ((entries, captured), diff_id) = {
        let mut buffered = BufReader::with_capacity(256 * 1024, &mut outer);
        let head = buffered.fill_buf().with_context(|| format!("reading {what}"))?;
        let decompressed: Box<dyn Read + '_> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Box::new(zstd::stream::read::Decoder::with_buffer(buffered).context("starting zstd decoder")?)
        } else {
            Box::new(buffered)
        };
        let mut inner = HashingReader::new(decompressed);
        let entries = index_tar(&mut inner).with_context(|| format!("reading the tar stream of {what}"))?;
        let (diff_id, _) = inner.finish().with_context(|| format!("reading the end of {what}"))?;
        (entries, diff_id)
    };
    if diff_id != expect.diff_id {
        bail!(
            "{what}: diff_id mismatch: the image config says {}, the layer's uncompressed content hashes to {diff_id}",
            expect.diff_id
        );
    }
    let (blob, _) = outer.finish().with_context(|| format!("reading {what}"))?;
    if let Some(want) = expect.blob_digest {
        if want != blob && want != diff_id {
            bail!("{what}: blob digest mismatch: the manifest says {want}, the blob hashes to {blob}");
        }
    }
    Ok(LayerIndex { diff_id, entries, captured })
}

/// Wraps a buffered stream in the decompressor its first bytes call for (gzip, zstd, or none).
fn decompress<'r, B: BufRead + 'r>(buffered: B) -> Result<Box<dyn Read + 'r>> {
    let mut buffered = buffered;
    let head = buffered.fill_buf()?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(buffered).context("starting the zstd decoder")?)
    } else {
        Box::new(buffered)
    })
}

/// Indexes a tar archive (plain, gzip or zstd) with nothing to verify, such as a file `ADD`ed from
/// the build context.
pub fn index_archive<R: Read>(raw: R) -> Result<Vec<Entry>> {
    let d = decompress(BufReader::new(raw))?;
    Ok(index_tar(d)?.0)
}

/// Reads a plain tar stream and returns its entries and captured bytes. Errors name the offending
/// entry.
pub fn index_tar<R: Read>(reader: R) -> Result<(Vec<Entry>, capture::Captured)> {
    let mut captured = capture::Captured::default();
    let mut archive = tar::Archive::new(reader);
    let mut out: Vec<Entry> = Vec::new();
    // Digests of regular files seen so far in this layer, for hard links.
    let mut seen: HashMap<String, (Sha256Digest, String, u64)> = HashMap::new();
    for item in archive.entries().context("reading tar headers")? {
        let mut e = item.context("reading a tar entry (truncated or corrupt layer?)")?;
        let raw_path = e.path().context("reading an entry name")?.to_string_lossy().into_owned();
        let path = paths::normalize(&raw_path).with_context(|| format!("entry {raw_path:?}"))?;
        let header = e.header();
        let mode = header.mode().unwrap_or(0);
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let etype = header.entry_type();
        let name = paths::basename(&path);

        if let Some(hidden) = name.strip_prefix(".wh.") {
            let dir = paths::parent(&path).to_string();
            if hidden == ".wh..opq" {
                out.push(entry(dir, EntryKind::Opaque, mode, uid, gid));
            } else if !hidden.starts_with(".wh.") && !hidden.is_empty() {
                let target = if dir == "/" { format!("/{hidden}") } else { format!("{dir}/{hidden}") };
                out.push(entry(target, EntryKind::Whiteout, mode, uid, gid));
            }
            // other `.wh..wh.*` names are aufs bookkeeping: nothing to record
            continue;
        }

        let mut ent = entry(path.clone(), EntryKind::File, mode, uid, gid);
        match etype {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let size = e.header().size().unwrap_or(0);
                // The first bytes decide whether an executable is examined.
                let mut head = Vec::with_capacity(4);
                (&mut e).take(4).read_to_end(&mut head).with_context(|| format!("reading the content of {path}"))?;
                let whole = capture::wants_whole(&path, size);
                let elf = !whole && size <= capture::MAX_ELF && capture::is_elf(&head);
                let java = !whole && size <= capture::MAX_ELF && capture::is_java(&path, &head);
                let (d, h1, n) = if whole || elf || java {
                    let mut bytes = head;
                    bytes.reserve(size.saturating_sub(4) as usize);
                    e.read_to_end(&mut bytes).with_context(|| format!("reading the content of {path}"))?;
                    let digests = hash_content(&bytes[..])?;
                    if whole {
                        captured.0.insert(path.clone(), bytes);
                    } else if java {
                        if let Some(summary) = capture::java_summary(&bytes) {
                            captured.0.insert(format!("{path}#java"), summary);
                        }
                    } else {
                        for (key, data) in capture::elf_sections(&bytes) {
                            captured.0.insert(format!("{path}#{key}"), data);
                        }
                    }
                    digests
                } else {
                    hash_content(std::io::Read::chain(&head[..], &mut e))
                        .with_context(|| format!("reading the content of {path}"))?
                };
                seen.insert(path.clone(), (d, h1.clone(), n));
                ent.size = n;
                ent.sha256 = Some(d);
                ent.sha1 = Some(h1);
            }
            tar::EntryType::Directory => ent.kind = EntryKind::Dir,
            tar::EntryType::Symlink => {
                ent.kind = EntryKind::Symlink;
                let target = e.link_name().context("reading a symlink target")?;
                ent.link = Some(target.map(|t| t.to_string_lossy().into_owned()).unwrap_or_default());
                ent.size = 0;
            }
            tar::EntryType::Link => {
                ent.kind = EntryKind::Hardlink;
                let target = e
                    .link_name()
                    .context("reading a hard link target")?
                    .ok_or_else(|| anyhow!("hard link {path} has no target"))?;
                let target =
                    paths::normalize(&target.to_string_lossy()).with_context(|| format!("hard link {path}"))?;
                if let Some((d, h1, n)) = seen.get(&target) {
                    ent.sha256 = Some(*d);
                    ent.sha1 = Some(h1.clone());
                    ent.size = *n;
                }
                ent.link = Some(target);
            }
            tar::EntryType::Char => ent.kind = EntryKind::Char,
            tar::EntryType::Block => ent.kind = EntryKind::Block,
            tar::EntryType::Fifo => ent.kind = EntryKind::Fifo,
            // PAX and GNU long-name headers are consumed by the tar crate; anything else is not
            // part of a filesystem.
            _ => continue,
        }
        if ent.kind != EntryKind::File && ent.kind != EntryKind::Hardlink {
            ent.size = 0;
        }
        out.push(ent);
    }
    Ok((out, captured))
}

fn entry(path: String, kind: EntryKind, mode: u32, uid: u64, gid: u64) -> Entry {
    Entry { path, kind, mode, uid, gid, size: 0, link: None, sha256: None, sha1: None }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Builds real tar streams for tests.
    use tar::{Builder, EntryType, Header};

    pub struct TarMaker {
        b: Builder<Vec<u8>>,
    }
    impl TarMaker {
        pub fn new() -> Self {
            TarMaker { b: Builder::new(Vec::new()) }
        }
        fn header(kind: EntryType, size: u64, mode: u32) -> Header {
            let mut h = Header::new_gnu();
            h.set_entry_type(kind);
            h.set_size(size);
            h.set_mode(mode);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            h
        }
        pub fn file(mut self, path: &str, body: &[u8]) -> Self {
            let mut h = Self::header(EntryType::Regular, body.len() as u64, 0o644);
            self.b.append_data(&mut h, path, body).unwrap();
            self
        }
        pub fn dir(mut self, path: &str) -> Self {
            let mut h = Self::header(EntryType::Directory, 0, 0o755);
            self.b.append_data(&mut h, path, &[][..]).unwrap();
            self
        }
        pub fn symlink(mut self, path: &str, target: &str) -> Self {
            let mut h = Self::header(EntryType::Symlink, 0, 0o777);
            self.b.append_link(&mut h, path, target).unwrap();
            self
        }
        pub fn hardlink(mut self, path: &str, target: &str) -> Self {
            let mut h = Self::header(EntryType::Link, 0, 0o644);
            self.b.append_link(&mut h, path, target).unwrap();
            self
        }
        /// Writes a raw header whose name field holds `name` as is (no sanitising), for hostile input.
        pub fn raw_name_file(mut self, name: &str, body: &[u8]) -> Self {
            let mut h = Self::header(EntryType::Regular, body.len() as u64, 0o644);
            let field = &mut h.as_old_mut().name;
            field[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            self.b.append(&h, body).unwrap();
            self
        }
        pub fn pax_file(mut self, path: &str, body: &[u8]) -> Self {
            self.b.append_pax_extensions([("path", path.as_bytes())]).unwrap();
            let mut h = Header::new_ustar();
            h.set_entry_type(EntryType::Regular);
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_path("pax-placeholder").unwrap();
            h.set_cksum();
            self.b.append(&h, body).unwrap();
            self
        }
        pub fn finish(self) -> Vec<u8> {
            self.b.into_inner().unwrap()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::TarMaker;
    use super::*;
    use std::io::Write;

    fn expect(bytes: &[u8]) -> Expect {
        Expect { diff_id: Sha256Digest::of(bytes), blob_digest: None }
    }

    #[test]
    fn records_types_digests_and_whiteouts() {
        let tar = TarMaker::new()
            .dir("./etc/")
            .file("./etc/a.conf", b"alpha")
            .symlink("./etc/link", "a.conf")
            .hardlink("./etc/hard", "./etc/a.conf")
            .file("./var/.wh.gone", b"")
            .file("./opt/.wh..wh..opq", b"")
            .finish();
        let idx = index_blob(&tar[..], &expect(&tar), "test layer").unwrap();
        let by: HashMap<_, _> = idx.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        assert_eq!(by["/etc"].kind, EntryKind::Dir);
        let a = by["/etc/a.conf"];
        assert_eq!(a.kind, EntryKind::File);
        assert_eq!(a.sha256, Some(Sha256Digest::of(b"alpha")));
        assert_eq!(a.size, 5);
        assert_eq!(by["/etc/link"].kind, EntryKind::Symlink);
        assert_eq!(by["/etc/link"].link.as_deref(), Some("a.conf"));
        let h = by["/etc/hard"];
        assert_eq!(h.kind, EntryKind::Hardlink);
        assert_eq!(h.sha256, a.sha256, "a hard link carries its target's digest");
        assert_eq!(h.link.as_deref(), Some("/etc/a.conf"));
        assert_eq!(by["/var/gone"].kind, EntryKind::Whiteout);
        assert_eq!(by["/opt"].kind, EntryKind::Opaque);
    }

    #[test]
    fn sha1_is_computed() {
        let tar = TarMaker::new().file("x", b"abc").finish();
        let idx = index_blob(&tar[..], &expect(&tar), "t").unwrap();
        assert_eq!(idx.entries[0].sha1.as_deref(), Some("a9993e364706816aba3e25717850c26c9cd0d89d"));
    }

    #[test]
    fn long_gnu_and_pax_names() {
        let long = format!("./{}/file.txt", "d".repeat(180));
        let pax = format!("/{}/p.txt", "p".repeat(150));
        let tar = TarMaker::new().file(&long, b"long").pax_file(&pax, b"pax").finish();
        let idx = index_blob(&tar[..], &expect(&tar), "t").unwrap();
        assert_eq!(idx.entries[0].path, format!("/{}/file.txt", "d".repeat(180)));
        assert_eq!(idx.entries[1].path, pax);
        assert_eq!(idx.entries[1].sha256, Some(Sha256Digest::of(b"pax")));
    }

    #[test]
    fn gzip_and_zstd_blobs_verify_both_digests() {
        let tar = TarMaker::new().file("a", b"1").finish();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let zs = zstd::encode_all(&tar[..], 1).unwrap();
        for blob in [gz, zs] {
            let e = Expect { diff_id: Sha256Digest::of(&tar), blob_digest: Some(Sha256Digest::of(&blob)) };
            let idx = index_blob(&blob[..], &e, "t").unwrap();
            assert_eq!(idx.entries.len(), 1);
            let bad = Expect { blob_digest: Some(Sha256Digest::of(b"other")), ..e };
            let err = format!("{:#}", index_blob(&blob[..], &bad, "layer 3").unwrap_err());
            assert!(err.contains("layer 3") && err.contains("blob digest mismatch"), "{err}");
        }
    }

    #[test]
    fn diff_id_mismatch_names_the_layer() {
        let tar = TarMaker::new().file("a", b"1").finish();
        let e = Expect { diff_id: Sha256Digest::of(b"something else"), blob_digest: None };
        let err = format!("{:#}", index_blob(&tar[..], &e, "layer 2 (sha256:x)").unwrap_err());
        assert!(err.contains("layer 2 (sha256:x)") && err.contains("diff_id mismatch"), "{err}");
    }

    #[test]
    fn hostile_parent_path_is_an_error() {
        let tar = TarMaker::new().file("ok", b"1").raw_name_file("../../etc/passwd", b"pwned").finish();
        let err = format!("{:#}", index_blob(&tar[..], &expect(&tar), "layer 0").unwrap_err());
        assert!(err.contains("../../etc/passwd") && err.contains("climbs above the root"), "{err}");
    }

    #[test]
    fn truncated_layer_is_an_error_not_a_panic() {
        let tar = TarMaker::new().file("a", &vec![7u8; 5000]).finish();
        let cut = &tar[..1000];
        let err = format!("{:#}", index_blob(cut, &expect(&tar), "layer 1").unwrap_err());
        assert!(err.contains("layer 1"), "{err}");
    }
}

/// Indexes every distinct layer of `images` once, in parallel across layers, through `cache`.
/// Returns the index of each diff_id.
pub fn index_images(
    images: &[&crate::image::Image],
    cache: &cache::LayerCache,
    progress: &crate::progress::Progress,
) -> Result<HashMap<Sha256Digest, std::sync::Arc<LayerIndex>>> {
    use rayon::prelude::*;
    let mut jobs: Vec<(Sha256Digest, &crate::image::Image, usize)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for img in images {
        for (i, l) in img.layers.iter().enumerate() {
            if seen.insert(l.diff_id) {
                jobs.push((l.diff_id, img, i));
            }
        }
    }
    let total = jobs.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<(Sha256Digest, std::sync::Arc<LayerIndex>)>> = jobs
        .par_iter()
        .map(|(diff_id, img, i)| {
            let idx = match cache.get(diff_id) {
                Some(idx) => idx,
                None => {
                    let what = format!("layer {} ({}) of {}", i, diff_id, img.reference);
                    let l = &img.layers[*i];
                    let expect = Expect { diff_id: *diff_id, blob_digest: l.blob_digest };
                    let idx = index_blob(img.open_layer(*i)?, &expect, &what)?;
                    cache.put(&idx)?;
                    idx
                }
            };
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress.note(&format!("indexed layer {n}/{total} {} ({} entries)", short(diff_id), idx.entries.len()));
            Ok((*diff_id, std::sync::Arc::new(idx)))
        })
        .collect();
    results.into_iter().collect()
}

fn short(d: &Sha256Digest) -> String {
    d.hex()[..12].to_string()
}
