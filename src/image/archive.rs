//! Random access into an uncompressed tar archive (oci-archive, docker-archive) without unpacking it:
//! one pass records where each member's bytes start; a blob is then a seek and a bounded read.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};

use super::Loc;
use crate::paths;

pub struct ArchiveIndex {
    file: Arc<std::path::PathBuf>,
    members: HashMap<String, (u64, u64)>,
}

impl ArchiveIndex {
    pub fn read(file: &Path) -> Result<ArchiveIndex> {
        let f = File::open(file).with_context(|| format!("opening {}", file.display()))?;
        let mut head = [0u8; 4];
        let n = File::open(file)?.read(&mut head)?;
        if n >= 2 && (head[..2] == [0x1f, 0x8b] || head[..4] == [0x28, 0xb5, 0x2f, 0xfd]) {
            bail!(
                "{} is a compressed archive; ctxsbom reads image archives in place and needs them uncompressed\nhint: decompress it first (gunzip / zstd -d)",
                file.display()
            );
        }
        let mut ar = tar::Archive::new(BufReader::new(f));
        let mut members = HashMap::new();
        for e in ar.entries().with_context(|| format!("reading {} as a tar archive", file.display()))? {
            let e = e.with_context(|| format!("reading {} (truncated or not a tar archive?)", file.display()))?;
            if e.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = paths::normalize(&e.path()?.to_string_lossy())?;
            members.insert(name.trim_start_matches('/').to_string(), (e.raw_file_position(), e.size()));
        }
        Ok(ArchiveIndex { file: Arc::new(file.to_path_buf()), members })
    }

    pub fn loc(&self, member: &str) -> Result<Loc> {
        let key = paths::normalize(member)?.trim_start_matches('/').to_string();
        let (offset, size) =
            self.members.get(&key).ok_or_else(|| anyhow!("{} has no member {member:?}", self.file.display()))?;
        Ok(Loc::InArchive { file: self.file.clone(), offset: *offset, size: *size })
    }
}
