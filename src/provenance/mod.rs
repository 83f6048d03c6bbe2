//! Provenance engine: for every path of the final image, where its content was made and how it got
//! there.
//!
//! Inputs are folded filesystem views (the final image, each stage image, external images, the build
//! context) and the Containerfile. A path's last writer layer says whether a stage inherited it from
//! its base or wrote it itself; the instructions of the stage that own that layer say how (COPY/ADD
//! from a stage, image or the context, RUN, RUN --mount); content hashes confirm each hop and settle
//! what the instructions leave open. Chains are followed through stages until the content's maker.
//!
//! Architecture invariant: no I/O here. Views and images are opened and indexed by the caller
//! (`scan`); this module only reasons over them, so it is testable on hand-made views.

pub mod model;
pub mod packages;

use std::collections::{BTreeMap, HashMap};

use crate::containerfile::{Containerfile, Copy, Op, Source};
use crate::digest::Sha256Digest;
use crate::layer::view::{FsView, Node};
use crate::layer::EntryKind;
use crate::paths;
use model::{FileRecord, Hop, Origin, Place};

/// What the engine knows about one image (a stage's image, an external image, or the final image).
pub struct ImageView {
    pub view: FsView,
    pub diff_ids: Vec<Sha256Digest>,
    /// Manifest digest, else the image ID.
    pub digest: Sha256Digest,
    /// Non-empty history entries' `comment`, in layer order (for base detection without the base).
    pub layer_comments: Vec<Option<String>>,
}

/// How a stage was built, as the engine needs it.
pub struct StageModel<'a> {
    pub index: usize,
    pub label: String,
    pub image: Option<&'a ImageView>,
    /// Number of leading layers that came from the base.
    pub base_layers: usize,
    /// For each own layer (position minus `base_layers`), the instructions (indexes into the stage's
    /// instruction list) that may have written it, in order.
    pub groups: Vec<Vec<usize>>,
}

pub struct Engine<'a> {
    pub cf: &'a Containerfile,
    pub stages: Vec<StageModel<'a>>,
    /// External images by reference as written in the Containerfile.
    pub externals: HashMap<String, &'a ImageView>,
    /// Base image digests known without the image (the final image's base annotation).
    pub external_digests: HashMap<String, Sha256Digest>,
    pub context: Option<&'a FsView>,
    /// Archives ADDed from the context, indexed as views, by context path.
    pub archives: HashMap<String, FsView>,
    pub warnings: Vec<String>,
}

/// Where the content for a path came from, found by walking instructions.
struct Trace {
    hops: Vec<Hop>,
    created: Place,
    evidence: Evidence,
    candidates: Vec<Place>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Evidence {
    None,
    Layer,
    Instruction,
    Content,
}

impl Evidence {
    fn as_str(self) -> &'static str {
        match self {
            Evidence::None => "none",
            Evidence::Layer => "layer",
            Evidence::Instruction => "instruction",
            Evidence::Content => "content",
        }
    }
}

/// What a COPY/ADD instruction says about a path it covers.
enum CopyOutcome {
    /// The instruction explains the path (content matched, or could not be checked).
    Traced(Trace),
    /// The instruction wrote this path, but its source holds other content.
    Mismatch(Trace),
}

/// A source filesystem a COPY reads from.
#[derive(Clone, Copy)]
enum Src<'v> {
    Stage(usize, Option<&'v FsView>),
    Image(&'v str, Option<&'v FsView>),
    Context(Option<&'v FsView>),
    Archive(&'v str, &'v FsView),
}

impl<'v> Src<'v> {
    fn view(&self) -> Option<&'v FsView> {
        match *self {
            Src::Stage(_, v) | Src::Image(_, v) | Src::Context(v) => v,
            Src::Archive(_, v) => Some(v),
        }
    }
}

const MAX_DEPTH: usize = 64;

impl<'a> Engine<'a> {
    pub fn new(cf: &'a Containerfile, stages: Vec<StageModel<'a>>) -> Self {
        Engine {
            cf,
            stages,
            externals: HashMap::new(),
            external_digests: HashMap::new(),
            context: None,
            archives: HashMap::new(),
            warnings: Vec::new(),
        }
    }

    fn model(&self, index: usize) -> Option<&StageModel<'a>> {
        self.stages.iter().find(|s| s.index == index)
    }

    /// Traces every path of the target stage's image.
    pub fn trace_all(&self, target: usize) -> Vec<FileRecord> {
        let Some(m) = self.model(target) else {
            return Vec::new();
        };
        let Some(img) = m.image else {
            return Vec::new();
        };
        let paths: Vec<(&String, &Node)> = img.view.iter().filter(|(p, _)| p.as_str() != "/").collect();
        use rayon::prelude::*;
        paths
            .par_iter()
            .map(|(p, node)| {
                let t = self.trace(target, p, 0);
                let copied_from = t.hops.first().filter(|h| h.how != "inherited").and_then(|h| h.from.clone());
                let copied_from = copied_from.filter(|f| f.stage.is_some() || f.image.is_some() || f.context.is_some());
                FileRecord {
                    path: p.to_string(),
                    kind: node.entry.kind.as_str().to_string(),
                    sha256: node.entry.sha256,
                    sha1: node.entry.sha1.clone(),
                    size: node.entry.size,
                    mode: node.entry.mode,
                    link: node.entry.link.clone(),
                    layer: node.layer,
                    origin: Origin {
                        copied_from,
                        created_in: t.created,
                        candidates: t.candidates,
                        evidence: t.evidence.as_str().to_string(),
                        via: t.hops,
                    },
                }
            })
            .collect()
    }

    fn label(&self, stage: usize) -> String {
        self.cf.stages[stage].label()
    }

    fn external_place(&self, r: &str) -> Place {
        let digest = self.externals.get(r).map(|v| v.digest).or_else(|| self.external_digests.get(r).copied());
        Place::image(r, digest)
    }

    /// Traces `path` as it is in stage `s`'s image.
    fn trace(&self, s: usize, path: &str, depth: usize) -> Trace {
        let label = self.label(s);
        let model = self.model(s);
        let node = model.and_then(|m| m.image).and_then(|i| i.view.get(path));
        let (Some(m), Some(node)) = (model, node) else {
            // No image for this stage: the Containerfile is all we have.
            return self.trace_by_instructions(s, path, depth);
        };
        if depth > MAX_DEPTH {
            return Trace { hops: vec![], created: Place::stage(&label), evidence: Evidence::None, candidates: vec![] };
        }
        if node.layer < m.base_layers {
            return self.inherited(s, path, depth);
        }
        let group = &m.groups[node.layer - m.base_layers];
        self.attribute(s, path, node, group, depth)
    }

    fn inherited(&self, s: usize, path: &str, depth: usize) -> Trace {
        let label = self.label(s);
        match self.cf.base_of(s) {
            Source::Stage(b) => {
                let mut t = self.trace(b, path, depth + 1);
                let from = Place::stage(&self.label(b)).with_path(path);
                t.hops.insert(
                    0,
                    Hop { stage: label, path: path.into(), how: "inherited".into(), line: None, from: Some(from) },
                );
                t
            }
            Source::Image(r) => {
                let created = self.external_place(&r);
                let hop = Hop {
                    stage: label,
                    path: path.into(),
                    how: "inherited".into(),
                    line: None,
                    from: Some(created.clone().with_path(path)),
                };
                // With the base image at hand its layers were matched by diff_id; without it only the
                // layer position says so.
                let evidence = if self.externals.contains_key(&r) { Evidence::Content } else { Evidence::Layer };
                Trace { hops: vec![hop], created, evidence, candidates: vec![] }
            }
            Source::Scratch => {
                Trace { hops: vec![], created: Place::stage(&label), evidence: Evidence::None, candidates: vec![] }
            }
        }
    }

    /// Without a stage image: decide by instructions alone (last one whose destination covers the
    /// path), else assume the base.
    fn trace_by_instructions(&self, s: usize, path: &str, depth: usize) -> Trace {
        let all: Vec<usize> = (0..self.cf.stages[s].instructions.len()).collect();
        if depth > MAX_DEPTH {
            return Trace {
                hops: vec![],
                created: Place::stage(&self.label(s)),
                evidence: Evidence::None,
                candidates: vec![],
            };
        }
        for &i in all.iter().rev() {
            if let Op::Copy(c) = &self.cf.stages[s].instructions[i].op {
                if let Some(CopyOutcome::Traced(t) | CopyOutcome::Mismatch(t)) =
                    self.via_copy(s, i, c, path, None, depth)
                {
                    return self.weaken(t);
                }
            }
        }
        // No COPY wrote it: a RUN of the stage did, if it has one; else it came with the base.
        let label = self.label(s);
        if let Some(i) = self.cf.stages[s].instructions.iter().rposition(|i| matches!(i.op, Op::Run(_))) {
            let line = self.cf.stages[s].instructions[i].line;
            let hop = Hop { stage: label.clone(), path: path.into(), how: "run".into(), line: Some(line), from: None };
            return Trace {
                hops: vec![hop],
                created: Place::stage(&label),
                evidence: Evidence::Instruction,
                candidates: vec![],
            };
        }
        self.weaken(self.inherited(s, path, depth))
    }

    fn weaken(&self, mut t: Trace) -> Trace {
        t.evidence = t.evidence.min(Evidence::Instruction);
        t
    }

    /// `path` was last written by one of the stage's own layers, which `group` instructions made.
    fn attribute(&self, s: usize, path: &str, node: &Node, group: &[usize], depth: usize) -> Trace {
        let label = self.label(s);
        let stage = &self.cf.stages[s];
        let exact = group.len() == 1;
        let runs = group.iter().filter(|&&i| matches!(stage.instructions[i].op, Op::Run(_))).count();
        // Walking the layer's instructions from the last: the latest RUN seen so far, which ran after
        // every COPY still to come.
        let mut later_run: Option<usize> = None;
        for &i in group.iter().rev() {
            let ins = &stage.instructions[i];
            match &ins.op {
                Op::Run(r) => {
                    if exact {
                        return self.made_by_run(s, i, r, path, node, depth);
                    }
                    later_run.get_or_insert(i);
                }
                Op::Copy(c) => {
                    let t = match self.via_copy(s, i, c, path, Some(node), depth) {
                        None => continue,
                        Some(CopyOutcome::Traced(t)) => return t,
                        Some(CopyOutcome::Mismatch(t)) => t,
                    };
                    // The COPY put something here, but not this content: a later RUN changed it;
                    // without one, nothing explains the content.
                    let Some(r) = later_run else { return t };
                    let line = stage.instructions[r].line;
                    let hop = Hop {
                        stage: label.clone(),
                        path: path.into(),
                        how: "run".into(),
                        line: Some(line),
                        from: None,
                    };
                    let evidence = if runs == 1 { Evidence::Content } else { Evidence::Instruction };
                    return Trace { hops: vec![hop], created: Place::stage(&label), evidence, candidates: vec![] };
                }
                Op::Meta => {}
            }
        }
        if let Some(r) = later_run {
            if let Op::Run(run) = &stage.instructions[r].op {
                // No COPY of the layer wrote the path: a RUN did. Which one is certain only when the
                // layer has a single RUN.
                let t = self.made_by_run(s, r, run, path, node, depth);
                return if runs == 1 { t } else { self.weaken(t) };
            }
        }
        // No instruction of the layer explains the path: it is the stage's, but say where else the
        // same content exists.
        let candidates = self.find_content(node, s);
        let hop = Hop { stage: label.clone(), path: path.into(), how: "layer".into(), line: None, from: None };
        let evidence = if group.is_empty() { Evidence::Layer } else { Evidence::None };
        Trace { hops: vec![hop], created: Place::stage(&label), evidence, candidates }
    }

    fn made_by_run(
        &self,
        s: usize,
        i: usize,
        r: &crate::containerfile::Run,
        path: &str,
        node: &Node,
        depth: usize,
    ) -> Trace {
        let label = self.label(s);
        let line = self.cf.stages[s].instructions[i].line;
        // RUN --mount=type=bind,from=X: content found in X's mounted tree came from X.
        if let Some(h) = node.entry.sha256 {
            for m in r.mounts.iter().filter(|m| m.kind == "bind") {
                let Some(from) = &m.from else { continue };
                let src = self.source(s, Some(from));
                let root = m
                    .source
                    .as_deref()
                    .map(|p| paths::resolve("/", p).unwrap_or_else(|_| "/".into()))
                    .unwrap_or_else(|| "/".into());
                let Some(v) = src.view() else { continue };
                let mut hits: Vec<String> =
                    v.with_digest(&h).iter().filter(|p| paths::strip_dir(p, &root).is_some()).cloned().collect();
                if hits.is_empty() {
                    continue;
                }
                hits.sort_by_key(|p| (paths::basename(p) != paths::basename(path), p.clone()));
                let src_path = hits[0].clone();
                let mut t = self.continue_from(src, &src_path, depth);
                let from_place = self.src_place(src).with_path(&src_path);
                t.hops.insert(
                    0,
                    Hop {
                        stage: label.clone(),
                        path: path.into(),
                        how: "mount".into(),
                        line: Some(line),
                        from: Some(from_place),
                    },
                );
                if hits.len() > 1 {
                    t.candidates = hits[1..].iter().map(|p| self.src_place(src).with_path(p)).collect();
                }
                return t;
            }
        }
        let hop = Hop { stage: label.clone(), path: path.into(), how: "run".into(), line: Some(line), from: None };
        Trace { hops: vec![hop], created: Place::stage(&label), evidence: Evidence::Content, candidates: vec![] }
    }

    fn source<'s>(&'s self, s: usize, from: Option<&'s str>) -> Src<'s> {
        match from {
            None => Src::Context(self.context),
            Some(f) => match self.cf.resolve(s, f) {
                Source::Stage(x) => Src::Stage(x, self.model(x).and_then(|m| m.image).map(|i| &i.view)),
                Source::Image(_) | Source::Scratch => Src::Image(f, self.externals.get(f).map(|v| &v.view)),
            },
        }
    }

    fn src_place(&self, src: Src) -> Place {
        match src {
            Src::Stage(x, _) => Place::stage(&self.label(x)),
            Src::Image(r, _) => self.external_place(r),
            Src::Context(_) => Place::context("."),
            Src::Archive(a, _) => Place::context(a),
        }
    }

    /// After a hop into `src` at `src_path`: where the content was made.
    fn continue_from(&self, src: Src, src_path: &str, depth: usize) -> Trace {
        match src {
            Src::Stage(x, _) => self.trace(x, src_path, depth + 1),
            Src::Image(r, v) => Trace {
                hops: vec![],
                created: self.external_place(r).with_path(src_path),
                evidence: if v.is_some() { Evidence::Content } else { Evidence::Instruction },
                candidates: vec![],
            },
            Src::Context(v) => {
                let rel = src_path.trim_start_matches('/');
                Trace {
                    hops: vec![],
                    created: Place::context(rel),
                    evidence: if v.is_some() { Evidence::Content } else { Evidence::Instruction },
                    candidates: vec![],
                }
            }
            Src::Archive(a, _) => Trace {
                hops: vec![],
                created: Place::context(a).with_path(src_path),
                evidence: Evidence::Content,
                candidates: vec![],
            },
        }
    }

    /// If COPY/ADD instruction `i` of stage `s` wrote `path`, the trace through it. Evidence `None`
    /// means the instruction covers the path but its source holds other content.
    fn via_copy(
        &self,
        s: usize,
        i: usize,
        c: &'a Copy,
        path: &str,
        node: Option<&Node>,
        depth: usize,
    ) -> Option<CopyOutcome> {
        let label = self.label(s);
        let line = self.cf.stages[s].instructions[i].line;
        let how = if c.add { "add" } else { "copy" };
        let stage_view = self.model(s).and_then(|m| m.image).map(|i| &i.view);
        // Inline heredoc content.
        if !c.heredocs.is_empty() && c.sources.iter().all(|src| c.heredocs.contains(src)) {
            let target = |src: &str| {
                if c.dest_is_dir {
                    join(&c.dest, src)
                } else {
                    c.dest.clone()
                }
            };
            if c.sources.iter().any(|src| target(src) == path) {
                let hop = Hop {
                    stage: label.clone(),
                    path: path.into(),
                    how: "heredoc".into(),
                    line: Some(line),
                    from: None,
                };
                return Some(CopyOutcome::Traced(Trace {
                    hops: vec![hop],
                    created: Place::stage(&label),
                    evidence: Evidence::Content,
                    candidates: vec![],
                }));
            }
        }
        let mut src = self.source(s, c.from.as_deref());
        let mut found: Option<(String, Option<&Node>)> = None;
        for pattern in &c.sources {
            if c.heredocs.contains(pattern) || pattern.contains("://") {
                continue;
            }
            let Ok(pat) = paths::resolve("/", pattern) else {
                continue;
            };
            // ADD of a local archive: its entries land below the destination.
            if c.add && c.from.is_none() && !paths::has_glob(&pat) {
                let rel = pat.trim_start_matches('/');
                if let Some((k, v)) = self.archives.get_key_value(rel) {
                    if let Some(rest) = paths::strip_dir(path, &c.dest) {
                        let inner = if rest.is_empty() { "/".to_string() } else { rest.to_string() };
                        if let Some(n) = v.get(&inner) {
                            src = Src::Archive(k.as_str(), v);
                            found = Some((inner, Some(n)));
                        }
                    }
                    continue;
                }
            }
            let matches: Vec<(String, Option<&Node>)> = match src.view() {
                Some(v) if paths::has_glob(&pat) => v
                    .subtree(glob_root(&pat))
                    .filter(|(p, _)| paths::glob_match(&pat, p))
                    .map(|(p, n)| (p.clone(), Some(n)))
                    .collect(),
                Some(v) => vec![(pat.clone(), v.get(&pat))],
                None => vec![(pat.clone(), None)],
            };
            for (m, mnode) in matches {
                // A source that is a symlink is followed (unless the path is itself a symlink).
                let followed = match (mnode, src.view()) {
                    (Some(n), Some(v))
                        if n.entry.kind == EntryKind::Symlink
                            && node.is_none_or(|f| f.entry.kind != EntryKind::Symlink) =>
                    {
                        v.resolve(&m)
                    }
                    _ => None,
                };
                let is_dir = followed.as_ref().map(|(_, n)| *n).or(mnode).map(|n| n.entry.kind == EntryKind::Dir);
                if let Some(mut cand) = map_source(c, &m, is_dir, path, stage_view) {
                    if let Some((real, _)) = &followed {
                        cand = format!("{real}{}", &cand[m.len()..]);
                    }
                    let n = src.view().and_then(|v| v.get(&cand));
                    if src.view().is_some() && n.is_none() {
                        continue;
                    }
                    found = Some((cand, n));
                }
            }
        }
        let Some((src_path, src_node)) = found else {
            // An implicit parent directory of the destination.
            if node.is_none_or(|n| n.entry.kind == EntryKind::Dir)
                && paths::strip_dir(&c.dest, path).is_some_and(|r| !r.is_empty())
            {
                let hop =
                    Hop { stage: label.clone(), path: path.into(), how: how.into(), line: Some(line), from: None };
                return Some(CopyOutcome::Traced(Trace {
                    hops: vec![hop],
                    created: Place::stage(&label),
                    evidence: Evidence::Instruction,
                    candidates: vec![],
                }));
            }
            return None;
        };
        let from_place = match src {
            Src::Context(_) => Place::context(src_path.trim_start_matches('/')),
            _ => self.src_place(src).with_path(&src_path),
        };
        let hop =
            Hop { stage: label.clone(), path: path.into(), how: how.into(), line: Some(line), from: Some(from_place) };
        let verdict = match (node, src_node) {
            (Some(a), Some(b)) => same_content(a, b),
            _ => None,
        };
        if verdict == Some(false) {
            // Covered by the instruction, but another content.
            let candidates = node.map(|n| self.find_content(n, s)).unwrap_or_default();
            return Some(CopyOutcome::Mismatch(Trace {
                hops: vec![hop],
                created: Place::stage(&label),
                evidence: Evidence::None,
                candidates,
            }));
        }
        let mut t = self.continue_from(src, &src_path, depth);
        if verdict.is_none() {
            t.evidence = t.evidence.min(Evidence::Instruction);
        }
        t.hops.insert(0, hop);
        Some(CopyOutcome::Traced(t))
    }

    /// Other places (stage images, external images, the context) holding the same content.
    fn find_content(&self, node: &Node, except: usize) -> Vec<Place> {
        let Some(h) = node.entry.sha256 else {
            return vec![];
        };
        let mut out = Vec::new();
        for m in self.stages.iter().filter(|m| m.index != except) {
            if let Some(img) = m.image {
                out.extend(img.view.with_digest(&h).iter().take(4).map(|p| Place::stage(&m.label).with_path(p)));
            }
        }
        let mut ext: Vec<_> = self.externals.iter().collect();
        ext.sort_by_key(|(k, _)| k.as_str());
        for (r, v) in ext {
            out.extend(v.view.with_digest(&h).first().map(|p| Place::image(r, Some(v.digest)).with_path(p)));
        }
        if let Some(ctx) = self.context {
            out.extend(ctx.with_digest(&h).first().map(|p| Place::context(p.trim_start_matches('/'))));
        }
        out.truncate(16);
        out
    }
}

/// Where `path` (in the destination stage) would come from if source `m` of COPY `c` produced it.
fn map_source(c: &Copy, m: &str, is_dir: Option<bool>, path: &str, stage_view: Option<&FsView>) -> Option<String> {
    let under =
        |dir: &str| paths::strip_dir(path, dir).map(|rest| if rest.is_empty() { m.to_string() } else { join(m, rest) });
    match is_dir {
        // A directory source: its contents go into the destination.
        Some(true) => under(&c.dest),
        Some(false) => {
            let into_dir = c.dest_is_dir
                || stage_view.and_then(|v| v.get(&c.dest)).is_some_and(|n| n.entry.kind == EntryKind::Dir);
            let target = if into_dir { join(&c.dest, paths::basename(m)) } else { c.dest.clone() };
            (target == path).then(|| m.to_string())
        }
        // Source not visible: a file at the destination, or a directory's contents below it.
        None => {
            if c.dest_is_dir && join(&c.dest, paths::basename(m)) == path {
                return Some(m.to_string());
            }
            under(&c.dest)
        }
    }
}

/// The directory a glob pattern cannot match outside of: its components before the first wildcard.
fn glob_root(pattern: &str) -> &str {
    let first = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    match pattern[..first].rfind('/') {
        Some(0) | None => "/",
        Some(i) => &pattern[..i],
    }
}

fn join(dir: &str, rest: &str) -> String {
    let rest = rest.trim_start_matches('/');
    if dir == "/" {
        format!("/{rest}")
    } else if rest.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{rest}")
    }
}

/// Whether two entries hold the same thing: equal digests for content, equal targets for symlinks,
/// equal types otherwise. `None` when the question has no answer (a file without a digest).
fn same_content(a: &Node, b: &Node) -> Option<bool> {
    let (a, b) = (&a.entry, &b.entry);
    if a.kind.has_content() && b.kind.has_content() {
        return match (a.sha256, b.sha256) {
            (Some(x), Some(y)) => Some(x == y),
            _ => None,
        };
    }
    Some(match (a.kind, b.kind) {
        (EntryKind::Symlink, EntryKind::Symlink) => a.link == b.link,
        (x, y) => x == y,
    })
}

/// How many leading layers of a stage image are its base's, and which instructions made the rest.
pub fn layer_groups(cf: &Containerfile, stage: usize, n_layers: usize, base_layers: usize) -> Vec<Vec<usize>> {
    let ins = &cf.stages[stage].instructions;
    let own = n_layers.saturating_sub(base_layers);
    let layered: Vec<usize> = (0..ins.len()).filter(|&i| ins[i].op.makes_layer()).collect();
    if own == layered.len() {
        layered.into_iter().map(|i| vec![i]).collect()
    } else {
        // buildah's default (no --layers): all instructions of the stage share its one new layer.
        vec![(0..ins.len()).collect(); own]
    }
}

/// Base layer count from the image alone: buildah marks the first layer it commits for a stage with
/// the comment `FROM <base>`; every layer before it came from the base.
pub fn base_layers_from_history(img: &ImageView, base: &str) -> Option<usize> {
    let want = [format!("FROM {base}"), format!("FROM {}", normalize_ref(base))];
    img.layer_comments.iter().position(|c| c.as_ref().is_some_and(|c| want.contains(c)))
}

/// `name` with `:latest` when it has no tag or digest, as buildah writes it in comments.
pub fn normalize_ref(r: &str) -> String {
    let last = r.rsplit('/').next().unwrap_or(r);
    if last.contains(':') || r.contains('@') {
        r.to_string()
    } else {
        format!("{r}:latest")
    }
}

/// Summary per place: files and bytes.
pub fn summarize(files: &[FileRecord]) -> BTreeMap<String, (usize, u64)> {
    let mut m: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for f in files {
        let e = m.entry(f.origin.created_in.describe()).or_default();
        e.0 += 1;
        e.1 += f.size;
    }
    m
}

#[cfg(test)]
mod tests;
