//! Content digests: the `sha256:<hex>` strings of OCI, and readers that hash what flows through them.
//!
//! Not for: choosing what to hash. Callers decide; this module only counts and hashes bytes.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use anyhow::{bail, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest, written `sha256:<64 lowercase hex>` in OCI documents.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Digest(Sha256::digest(bytes).into())
    }
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parses `sha256:<hex>` or a bare 64-hex string.
    pub fn parse(s: &str) -> Result<Self> {
        let h = s.strip_prefix("sha256:").unwrap_or(s);
        if h.len() != 64 {
            bail!("not a sha256 digest: {s:?}");
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(h, &mut out).map_err(|_| anyhow::anyhow!("not a sha256 digest: {s:?}"))?;
        Ok(Sha256Digest(out))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}
impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}
impl FromStr for Sha256Digest {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}
impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha256Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// SHA-256, SHA-1 (hex, as SPDX file checksums want it) and length of everything `r` yields.
pub fn hash_content<R: Read>(mut r: R) -> io::Result<(Sha256Digest, String, u64)> {
    let mut s256 = Sha256::new();
    let mut s1 = sha1::Sha1::new();
    let mut n = 0u64;
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        let k = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        s256.update(&buf[..k]);
        s1.update(&buf[..k]);
        n += k as u64;
    }
    Ok((Sha256Digest(s256.finalize().into()), hex::encode(s1.finalize()), n))
}

/// A reader that hashes (SHA-256) and counts every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), count: 0 }
    }
    /// Reads the rest of the stream (so the digest covers all of it) and returns digest and length.
    pub fn finish(mut self) -> io::Result<(Sha256Digest, u64)> {
        io::copy(&mut self.inner_ref(), &mut io::sink())?;
        Ok((Sha256Digest(self.hasher.finalize().into()), self.count))
    }
    fn inner_ref(&mut self) -> &mut Self {
        self
    }
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(d.to_string(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(Sha256Digest::parse(&d.to_string()).unwrap(), d);
        assert_eq!(Sha256Digest::parse(&d.hex()).unwrap(), d);
        assert!(Sha256Digest::parse("sha256:abc").is_err());
    }

    #[test]
    fn hashing_reader_covers_unread_tail() {
        let mut r = HashingReader::new(&b"hello world"[..]);
        let mut buf = [0u8; 5];
        r.read_exact(&mut buf).unwrap();
        let (d, n) = r.finish().unwrap();
        assert_eq!(n, 11);
        assert_eq!(d, Sha256Digest::of(b"hello world"));
    }
}
