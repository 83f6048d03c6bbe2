//! The filesystem an image's layers add up to: layers folded in order, whiteouts and opaque
//! directories applied, each path remembering which layer last wrote it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use crate::digest::Sha256Digest;

use super::{Entry, EntryKind, LayerIndex};

/// One path of the folded filesystem.
#[derive(Clone, Debug)]
pub struct Node {
    pub entry: Entry,
    /// Position (0-based) of the layer that last wrote this path.
    pub layer: usize,
}

/// A folded filesystem, ordered by path.
#[derive(Clone, Debug, Default)]
pub struct FsView {
    nodes: BTreeMap<String, Node>,
    /// The layers folded, for the bytes they captured.
    layers: Vec<Arc<LayerIndex>>,
    /// Paths by content digest, built on first use.
    by_digest: OnceLock<HashMap<Sha256Digest, Vec<String>>>,
}

impl FsView {
    pub fn fold(layers: &[Arc<LayerIndex>]) -> FsView {
        let mut v = FsView { layers: layers.to_vec(), ..Default::default() };
        for (i, l) in layers.iter().enumerate() {
            v.apply(i, l);
        }
        v
    }

    fn apply(&mut self, layer: usize, idx: &LayerIndex) {
        // Whiteouts act on lower layers only, so apply all of them before this layer's own entries.
        for e in &idx.entries {
            match e.kind {
                EntryKind::Opaque => self.remove_below(&e.path),
                EntryKind::Whiteout => {
                    self.nodes.remove(&e.path);
                    self.remove_below(&e.path);
                }
                _ => {}
            }
        }
        for e in &idx.entries {
            if matches!(e.kind, EntryKind::Opaque | EntryKind::Whiteout) {
                continue;
            }
            if e.kind != EntryKind::Dir {
                // A non-directory replacing a directory hides everything below it.
                if self.nodes.get(&e.path).is_some_and(|n| n.entry.kind == EntryKind::Dir) {
                    self.remove_below(&e.path);
                }
            }
            let mut entry = e.clone();
            if entry.kind == EntryKind::Hardlink && entry.sha256.is_none() {
                // Target written by a lower layer.
                if let Some(t) = entry.link.as_ref().and_then(|t| self.nodes.get(t)) {
                    entry.sha256 = t.entry.sha256;
                    entry.sha1 = t.entry.sha1.clone();
                    entry.size = t.entry.size;
                }
            }
            self.nodes.insert(e.path.clone(), Node { entry, layer });
        }
    }

    fn remove_below(&mut self, dir: &str) {
        let prefix = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .filter(|k| k != "/")
            .collect();
        for k in doomed {
            self.nodes.remove(&k);
        }
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.nodes.iter()
    }

    /// `dir` itself (when present) and every path below it.
    pub fn subtree<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a String, &'a Node)> + 'a {
        // For `/` the range below starts at `/` itself, so it needs no separate first item.
        let prefix = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
        let own = if dir == "/" { None } else { self.nodes.get_key_value(dir) };
        own.into_iter().chain(self.nodes.range(prefix.clone()..).take_while(move |(k, _)| k.starts_with(&prefix)))
    }

    /// The captured content of `path` as the image has it (see [`super::capture`]), or a piece
    /// derived from it (`section` such as `go.buildinfo`).
    pub fn content(&self, path: &str, section: Option<&str>) -> Option<&[u8]> {
        let node = self.nodes.get(path)?;
        let key = match section {
            Some(s) => format!("{path}#{s}"),
            None => path.to_string(),
        };
        self.layers.get(node.layer)?.captured.0.get(&key).map(Vec::as_slice)
    }

    /// Paths that have captured content (the candidates catalogers look at), in path order, with
    /// the derived section when the content is one. Only content of the layer that last wrote the
    /// path counts: what an upper layer replaced or deleted is not the image's.
    pub fn captured_paths(&self) -> impl Iterator<Item = (&str, Option<&str>)> + '_ {
        let mut found: Vec<(&str, Option<&str>)> = self
            .layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.captured.0.keys().map(move |k| (i, k.as_str())))
            .filter_map(|(i, key)| {
                let (path, section) = match key.rsplit_once('#') {
                    Some((p, s)) if crate::layer::capture::SECTIONS.contains(&s) => (p, Some(s)),
                    _ => (key, None),
                };
                (self.nodes.get(path)?.layer == i).then_some((path, section))
            })
            .collect();
        found.sort_unstable();
        found.into_iter()
    }

    /// Follows `path` through symlinks (of its last component, up to 16 hops) to what it names.
    pub fn resolve<'a>(&'a self, path: &str) -> Option<(String, &'a Node)> {
        let mut cur = path.to_string();
        for _ in 0..16 {
            let n = self.nodes.get(&cur)?;
            if n.entry.kind != EntryKind::Symlink {
                return Some((cur, n));
            }
            let target = n.entry.link.as_deref()?;
            cur = crate::paths::resolve(crate::paths::parent(&cur), target).ok()?;
        }
        None
    }

    /// Paths whose content has digest `d`, in path order.
    pub fn with_digest(&self, d: &Sha256Digest) -> &[String] {
        let idx = self.by_digest.get_or_init(|| {
            let mut m: HashMap<Sha256Digest, Vec<String>> = HashMap::new();
            for (p, n) in &self.nodes {
                if let Some(h) = n.entry.sha256 {
                    m.entry(h).or_default().push(p.clone());
                }
            }
            m
        });
        idx.get(d).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Sha256Digest;
    use crate::layer::testutil::TarMaker;
    use crate::layer::{index_blob, Expect};

    fn layer(tar: Vec<u8>) -> Arc<LayerIndex> {
        let e = Expect { diff_id: Sha256Digest::of(&tar), blob_digest: None };
        Arc::new(index_blob(&tar[..], &e, "t").unwrap())
    }

    #[test]
    fn captured_paths_are_the_last_writers_only() {
        let l0 = TarMaker::new()
            .file("var/lib/dpkg/status", b"Package: a\n")
            .file("lib/apk/db/installed", b"P:old\n")
            .finish();
        // The upper layer deletes dpkg's status and rewrites apk's database.
        let l1 = TarMaker::new().file("var/lib/dpkg/.wh.status", b"").file("lib/apk/db/installed", b"P:new\n").finish();
        let v = FsView::fold(&[layer(l0), layer(l1)]);
        let got: Vec<(&str, Option<&str>)> = v.captured_paths().collect();
        assert_eq!(got, [("/lib/apk/db/installed", None)]);
        assert_eq!(v.content("/lib/apk/db/installed", None), Some(&b"P:new\n"[..]));
    }

    #[test]
    fn whiteouts_opaque_dirs_and_last_writer() {
        let l0 = layer(
            TarMaker::new()
                .dir("etc")
                .file("etc/keep", b"k")
                .file("etc/gone", b"g")
                .dir("opt")
                .file("opt/old1", b"1")
                .dir("opt/sub")
                .file("opt/sub/old2", b"2")
                .file("srv", b"file then dir")
                .dir("lib")
                .file("lib/x", b"x")
                .finish(),
        );
        let l1 = layer(
            TarMaker::new()
                .file("etc/.wh.gone", b"")
                .file("etc/keep", b"k2")
                .dir("opt")
                .file("opt/.wh..wh..opq", b"")
                .file("opt/new", b"n")
                .file("lib", b"file over dir")
                .finish(),
        );
        let v = FsView::fold(&[l0, l1]);
        assert!(v.get("/etc/gone").is_none());
        assert_eq!(v.get("/etc/keep").unwrap().layer, 1);
        assert_eq!(v.get("/etc/keep").unwrap().entry.sha256, Some(Sha256Digest::of(b"k2")));
        assert!(v.get("/opt/old1").is_none() && v.get("/opt/sub/old2").is_none() && v.get("/opt/sub").is_none());
        assert_eq!(v.get("/opt/new").unwrap().layer, 1);
        assert_eq!(v.get("/opt").unwrap().layer, 1);
        assert_eq!(v.get("/srv").unwrap().layer, 0);
        assert!(v.get("/lib/x").is_none(), "a file replacing a directory hides its children");
        assert_eq!(v.get("/lib").unwrap().entry.kind, EntryKind::File);
        let under_etc: Vec<_> = v.subtree("/etc").map(|(k, _)| k.as_str()).collect();
        assert_eq!(under_etc, vec!["/etc", "/etc/keep"]);
        assert_eq!(v.subtree("/").count(), v.len(), "every path once");
    }

    #[test]
    fn symlinks_resolve_relative_and_absolute() {
        let l = layer(
            TarMaker::new()
                .dir("usr/lib")
                .file("usr/lib/libx.so.1", b"lib")
                .symlink("usr/lib/libx.so", "libx.so.1")
                .symlink("lib", "/usr/lib")
                .finish(),
        );
        let v = FsView::fold(&[l]);
        assert_eq!(v.resolve("/usr/lib/libx.so").unwrap().0, "/usr/lib/libx.so.1");
        assert_eq!(v.resolve("/lib").unwrap().0, "/usr/lib");
    }

    #[test]
    fn hard_link_to_lower_layer_takes_its_digest() {
        let l0 = layer(TarMaker::new().file("bin/a", b"binary").finish());
        let l1 = layer(TarMaker::new().hardlink("bin/b", "bin/a").finish());
        let v = FsView::fold(&[l0, l1]);
        assert_eq!(v.get("/bin/b").unwrap().entry.sha256, Some(Sha256Digest::of(b"binary")));
    }

    #[test]
    fn whiteout_of_a_directory_removes_its_tree() {
        let l0 = layer(TarMaker::new().dir("d").file("d/a", b"a").file("d2", b"keep").finish());
        let l1 = layer(TarMaker::new().file(".wh.d", b"").finish());
        let v = FsView::fold(&[l0, l1]);
        assert!(v.get("/d").is_none() && v.get("/d/a").is_none());
        assert!(v.get("/d2").is_some());
    }
}
