//! RPM packages, from each of rpm's database backends, parsed in Rust:
//! - sqlite `rpmdb.sqlite` (RHEL 9, Fedora): the `Packages(hnum, blob)` table;
//! - Berkeley DB hash `Packages` (RHEL 7/8, CentOS 7): key/value pages, values on overflow pages;
//! - ndb `Packages.db` (SUSE): slot pages pointing at `BlbS` blobs.
//!
//! Every backend stores the same thing: one header blob per package (index entries + data store),
//! from which name, version, release, epoch, arch, license, source rpm and the file list are read.

use super::purl::purl;
use super::{Cataloger, Env, Package};
use crate::layer::view::FsView;

pub struct Rpm;

/// Database files, by backend.
pub const DBS: [(&str, Backend); 5] = [
    ("/var/lib/rpm/rpmdb.sqlite", Backend::Sqlite),
    ("/usr/lib/sysimage/rpm/rpmdb.sqlite", Backend::Sqlite),
    ("/var/lib/rpm/Packages", Backend::Bdb),
    ("/usr/lib/sysimage/rpm/Packages.db", Backend::Ndb),
    ("/var/lib/rpm/Packages.db", Backend::Ndb),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Bdb,
    Ndb,
}

impl Cataloger for Rpm {
    fn name(&self) -> &'static str {
        "rpm-db-cataloger"
    }

    fn catalog(&self, view: &FsView, env: &Env) -> Vec<Package> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (db, backend) in DBS {
            // `/var/lib/rpm` is often a symlink to `/usr/lib/sysimage/rpm`: read each file once.
            let Some((real, _)) = view.resolve(db).or_else(|| resolve_dir(view, db)) else { continue };
            if !seen.insert(real.clone()) {
                continue;
            }
            let Some(bytes) = view.content(&real, None) else { continue };
            let blobs = match backend {
                Backend::Sqlite => sqlite_blobs(bytes),
                Backend::Bdb => bdb_blobs(bytes),
                Backend::Ndb => ndb_blobs(bytes),
            };
            for blob in blobs {
                if let Some(h) = Header::parse(&blob) {
                    if let Some(p) = h.package(view, env, db) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }
}

/// `db` when a directory on its path is a symlink (`/var/lib/rpm -> ../../usr/lib/sysimage/rpm`).
fn resolve_dir<'v>(view: &'v FsView, db: &str) -> Option<(String, &'v crate::layer::view::Node)> {
    let dir = crate::paths::parent(db);
    let (real_dir, _) = view.resolve(dir)?;
    let p = format!("{real_dir}/{}", crate::paths::basename(db));
    view.get(&p).map(|n| (p, n))
}

fn sqlite_blobs(bytes: &[u8]) -> Vec<Vec<u8>> {
    // rpm keeps its sqlite database in WAL mode (file format bytes 18 and 19 are 2), which an
    // in-memory copy cannot open; a clean-closed WAL database reads the same in rollback mode.
    let mut db = bytes.to_vec();
    if db.len() > 100 && db.starts_with(b"SQLite format 3\0") && db[18] == 2 && db[19] == 2 {
        db[18] = 1;
        db[19] = 1;
    }
    let read = || -> rusqlite::Result<Vec<Vec<u8>>> {
        let mut conn = rusqlite::Connection::open_in_memory()?;
        conn.deserialize_read_exact(rusqlite::MAIN_DB, &db[..], db.len(), true)?;
        let mut st = conn.prepare("SELECT blob FROM Packages ORDER BY hnum")?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        rows.collect()
    };
    read().unwrap_or_default()
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_le_bytes([x[0], x[1]]))
}

/// SUSE's ndb: a 32-byte `RpmP` header, 16-byte `Slot` entries (package index, block offset, block
/// count; blocks of 16 bytes) and `BlbS` blobs (index, timestamp, length, header).
fn ndb_blobs(b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if !b.starts_with(b"RpmP") {
        return out;
    }
    let slot_pages = u32le(b, 12).unwrap_or(0) as usize;
    let end = (slot_pages * 4096).min(b.len());
    let mut at = 32;
    while at + 16 <= end {
        if &b[at..at + 4] == b"Slot" {
            let (idx, off) = (u32le(b, at + 4).unwrap_or(0), u32le(b, at + 8).unwrap_or(0) as usize * 16);
            if idx != 0 && b.get(off..off + 4) == Some(b"BlbS") && u32le(b, off + 4) == Some(idx) {
                let len = u32le(b, off + 12).unwrap_or(0) as usize;
                if let Some(blob) = b.get(off + 16..off + 16 + len) {
                    out.push(blob.to_vec());
                }
            }
        }
        at += 16;
    }
    out
}

/// Berkeley DB hash database (as rpm's db backend wrote it, little-endian): every hash page holds
/// key/data pairs; rpm's headers are larger than a page, so their data items point to chains of
/// overflow pages.
fn bdb_blobs(b: &[u8]) -> Vec<Vec<u8>> {
    const HASH_MAGIC: u32 = 0x061561;
    const P_HASH_UNSORTED: u8 = 2;
    const P_HASH: u8 = 13;
    const P_OVERFLOW: u8 = 7;
    const H_KEYDATA: u8 = 1;
    const H_OFFPAGE: u8 = 3;
    let mut out = Vec::new();
    if u32le(b, 12) != Some(HASH_MAGIC) {
        return out;
    }
    let psize = u32le(b, 20).unwrap_or(0) as usize;
    if !(512..=65536).contains(&psize) {
        return out;
    }
    let page = |n: usize| b.get(n * psize..(n + 1) * psize);
    let overflow = |mut pgno: usize| -> Option<Vec<u8>> {
        let mut data = Vec::new();
        for _ in 0..(b.len() / psize + 1) {
            let p = page(pgno)?;
            if p[25] != P_OVERFLOW {
                return None;
            }
            let used = u16le(p, 22)? as usize;
            data.extend_from_slice(p.get(26..26 + used)?);
            let next = u32le(p, 16)? as usize;
            if next == 0 {
                return Some(data);
            }
            pgno = next;
        }
        None
    };
    for n in 1..b.len() / psize {
        let Some(p) = page(n) else { break };
        if p[25] != P_HASH && p[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = u16le(p, 20).unwrap_or(0) as usize;
        let offs: Vec<usize> = (0..entries).filter_map(|i| u16le(p, 26 + 2 * i).map(|o| o as usize)).collect();
        // Items are pairs (key, data); data item i ends where item i-1 begins.
        for i in (1..offs.len()).step_by(2) {
            let (start, end) = (offs[i], offs[i - 1].max(offs[i]));
            let Some(item) = p.get(start..end.max(start + 1)) else { continue };
            match item[0] {
                H_OFFPAGE => {
                    if let Some(pg) = u32le(item, 4) {
                        if let Some(data) = overflow(pg as usize) {
                            out.push(data);
                        }
                    }
                }
                H_KEYDATA if item.len() > 16 => out.push(item[1..].to_vec()),
                _ => {}
            }
        }
    }
    out
}

/// An rpm header blob: big-endian index entries (tag, type, offset, count) over a data store.
pub struct Header<'a> {
    index: Vec<(u32, u32, usize, usize)>,
    data: &'a [u8],
}

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const OLDFILENAMES: u32 = 1027;
const SOURCERPM: u32 = 1044;
const DIRINDEXES: u32 = 1116;
const BASENAMES: u32 = 1117;
const DIRNAMES: u32 = 1118;

impl<'a> Header<'a> {
    pub fn parse(blob: &'a [u8]) -> Option<Header<'a>> {
        let be = |at: usize| blob.get(at..at + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
        let il = be(0)? as usize;
        let dl = be(4)? as usize;
        if il == 0 || il > 100_000 || 8 + il * 16 + dl > blob.len() {
            return None;
        }
        let mut index = Vec::with_capacity(il);
        for i in 0..il {
            let at = 8 + i * 16;
            index.push((be(at)?, be(at + 4)?, be(at + 8)? as usize, be(at + 12)? as usize));
        }
        let data = &blob[8 + il * 16..8 + il * 16 + dl];
        Some(Header { index, data })
    }

    fn entry(&self, tag: u32) -> Option<(u32, usize, usize)> {
        self.index.iter().find(|e| e.0 == tag).map(|e| (e.1, e.2, e.3))
    }

    fn strings(&self, tag: u32) -> Vec<String> {
        let Some((ty, off, count)) = self.entry(tag) else { return Vec::new() };
        if !matches!(ty, 6 | 8 | 9) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut at = off;
        let n = if ty == 6 { 1 } else { count };
        for _ in 0..n {
            let Some(rest) = self.data.get(at..) else { break };
            let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
            out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
            at += end + 1;
        }
        out
    }

    fn string(&self, tag: u32) -> Option<String> {
        self.strings(tag).into_iter().next()
    }

    fn int32s(&self, tag: u32) -> Vec<u32> {
        let Some((4, off, count)) = self.entry(tag) else { return Vec::new() };
        (0..count)
            .filter_map(|i| {
                self.data.get(off + 4 * i..off + 4 * i + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
            })
            .collect()
    }

    /// The paths the package installs.
    pub fn files(&self) -> Vec<String> {
        let (dirs, bases, idx) = (self.strings(DIRNAMES), self.strings(BASENAMES), self.int32s(DIRINDEXES));
        if !bases.is_empty() {
            return bases
                .iter()
                .zip(idx)
                .filter_map(|(b, i)| dirs.get(i as usize).map(|d| format!("{d}{b}")))
                .collect();
        }
        self.strings(OLDFILENAMES)
    }

    fn package(&self, view: &FsView, env: &Env, db: &str) -> Option<Package> {
        let name = self.string(NAME)?;
        if name == "gpg-pubkey" {
            return None; // imported signing keys are not packages
        }
        let version = self.string(VERSION)?;
        let release = self.string(RELEASE).unwrap_or_default();
        let full = if release.is_empty() { version.clone() } else { format!("{version}-{release}") };
        let epoch = self.int32s(EPOCH).first().copied();
        let arch = self.string(ARCH).unwrap_or_default();
        let ns = match env.distro_id.as_deref() {
            Some("rhel") | None => "redhat".to_string(),
            Some(id) => id.to_string(),
        };
        let mut q = vec![("arch", arch)];
        if let Some(d) = env.distro_qualifier() {
            q.push(("distro", d));
        }
        if let Some(e) = epoch {
            q.push(("epoch", e.to_string()));
        }
        if let Some(src) = self.string(SOURCERPM) {
            q.push(("upstream", src));
        }
        let files: Vec<String> = self
            .files()
            .into_iter()
            .filter(|f| view.get(f).is_some_and(|n| n.entry.kind != crate::layer::EntryKind::Dir))
            .collect();
        let shown = match epoch {
            Some(e) => format!("{e}:{full}"),
            None => full.clone(),
        };
        Some(Package {
            purl: purl("rpm", Some(&ns), &name, &full, &q),
            name,
            version: shown,
            kind: "rpm".into(),
            licenses: self.string(LICENSE).into_iter().collect(),
            location: db.to_string(),
            files,
            found_by: "rpm-db-cataloger".into(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header blob with the given string, string-array and int32 tags.
    pub fn header(strings: &[(u32, &str)], arrays: &[(u32, &[&str])], ints: &[(u32, &[u32])]) -> Vec<u8> {
        let mut index: Vec<[u32; 4]> = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, vals) in ints {
            while !data.len().is_multiple_of(4) {
                data.push(0);
            }
            index.push([*tag, 4, data.len() as u32, vals.len() as u32]);
            for v in *vals {
                data.extend_from_slice(&v.to_be_bytes());
            }
        }
        for (tag, s) in strings {
            index.push([*tag, 6, data.len() as u32, 1]);
            data.extend_from_slice(s.as_bytes());
            data.push(0);
        }
        for (tag, vals) in arrays {
            index.push([*tag, 8, data.len() as u32, vals.len() as u32]);
            for s in *vals {
                data.extend_from_slice(s.as_bytes());
                data.push(0);
            }
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(index.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for e in &index {
            for v in e {
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        out.extend_from_slice(&data);
        out
    }

    #[test]
    fn header_fields_and_files() {
        let blob = header(
            &[
                (NAME, "bash"),
                (VERSION, "5.1.8"),
                (RELEASE, "6.el9"),
                (ARCH, "x86_64"),
                (LICENSE, "GPLv3+"),
                (SOURCERPM, "bash-5.1.8-6.el9.src.rpm"),
            ],
            &[(DIRNAMES, &["/usr/bin/", "/etc/"]), (BASENAMES, &["bash", "bashrc"])],
            &[(DIRINDEXES, &[0, 1]), (EPOCH, &[1])],
        );
        let h = Header::parse(&blob).unwrap();
        assert_eq!(h.string(NAME).as_deref(), Some("bash"));
        assert_eq!(h.files(), vec!["/usr/bin/bash", "/etc/bashrc"]);
        let v = crate::catalog::testutil::view(&[
            ("usr/bin/bash", b"x"),
            ("etc/os-release", b"ID=\"rhel\"\nVERSION_ID=\"9.1\"\n"),
        ]);
        let p = h.package(&v, &Env::read(&v), "/var/lib/rpm/rpmdb.sqlite").unwrap();
        assert_eq!(
            p.purl,
            "pkg:rpm/redhat/bash@5.1.8-6.el9?arch=x86_64&distro=rhel-9.1&epoch=1&upstream=bash-5.1.8-6.el9.src.rpm"
        );
        assert_eq!(p.version, "1:5.1.8-6.el9");
        assert_eq!(p.files, vec!["/usr/bin/bash"]);
    }

    #[test]
    fn ndb_slots_and_blobs() {
        let blob = header(&[(NAME, "a"), (VERSION, "1"), (RELEASE, "1")], &[], &[]);
        // header, one slot page, the blob at block 256 (offset 4096)
        let mut b = b"RpmP".to_vec();
        for v in [0u32, 2, 1, 2] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.resize(32, 0);
        b.extend_from_slice(b"Slot");
        for v in [1u32, 256, 1] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.resize(4096, 0);
        b.extend_from_slice(b"BlbS");
        for v in [1u32, 0, blob.len() as u32] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&blob);
        assert_eq!(ndb_blobs(&b), vec![blob]);
        assert!(ndb_blobs(b"garbage").is_empty());
    }
}
