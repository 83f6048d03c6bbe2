//! `scan`: opens the images, indexes their layers, folds views, runs the provenance engine and
//! assembles the provenance document. The only module that wires I/O (images, context, cache) to
//! the pure engine.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use crate::containerfile::{Containerfile, Op, Source};
use crate::digest::Sha256Digest;
use crate::image::{Image, ImageRef, StorageOpts};
use crate::layer::cache::LayerCache;
use crate::layer::view::FsView;
use crate::layer::{self, Entry, EntryKind, LayerIndex};
use crate::progress::Progress;
use crate::provenance::model::{ExternalImage, ImageInfo, Provenance, StageInfo, ToolInfo};
use crate::provenance::{self, Engine, ImageView, StageModel};

/// Everything `scan` needs.
pub struct ScanRequest {
    pub image: ImageRef,
    /// The name to report for the image (say, the tag a build gave it), when it is read by ID.
    pub image_name: Option<String>,
    /// `--stage NAME=IMAGE`: stage alias or index to image.
    pub stages: Vec<(String, ImageRef)>,
    /// `--image REF=IMAGE`: an external image (as written in the Containerfile) to image.
    pub images: Vec<(String, ImageRef)>,
    /// `None`: the image is read on its own, as if built `FROM scratch` in one stage (what syft
    /// would see): every file is the image's own.
    pub containerfile: Option<PathBuf>,
    pub context: Option<PathBuf>,
    pub build_args: HashMap<String, String>,
    pub target: Option<String>,
    pub build_id: Option<String>,
    pub builder: Option<crate::provenance::model::BuilderInfo>,
    /// What the build record says of the build (times, tags); `scan` fills in the rest.
    pub invocation: Option<crate::provenance::model::Invocation>,
    pub storage: StorageOpts,
    pub cache: LayerCache,
    pub progress: Progress,
}

pub fn scan(req: &ScanRequest) -> Result<Provenance> {
    // Read once: parsed now, parsed again with the base images' configs, and hashed.
    let cf_text = match &req.containerfile {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let parse = |bases: &HashMap<String, crate::containerfile::BaseConfig>| {
        let text = cf_text.as_deref().unwrap_or("FROM scratch\n");
        Containerfile::parse_with_bases(text, &req.build_args, bases).with_context(|| match &req.containerfile {
            Some(path) => format!("parsing {}", path.display()),
            None => "parsing the stand-in Containerfile".into(),
        })
    };
    let cf = parse(&HashMap::new())?;
    let target = cf.target_index(req.target.as_deref())?;
    let needed = cf.needed_stages(target);
    let mut warnings = Vec::new();

    req.progress.note(&format!("opening {}", req.image));
    let final_img = Image::open(&req.image, &req.storage)?;

    // Stage images, keyed by stage index.
    let mut stage_imgs: BTreeMap<usize, Image> = BTreeMap::new();
    for (name, r) in &req.stages {
        let idx = cf.target_index(Some(name)).with_context(|| format!("--stage {name}={r}"))?;
        if idx == target {
            bail!("--stage {name}={r}: {name} is the target stage; its image is the scanned image itself");
        }
        stage_imgs.insert(idx, Image::open(r, &req.storage).with_context(|| format!("--stage {name}"))?);
    }
    for &s in &needed {
        if s != target && !stage_imgs.contains_key(&s) {
            warnings.push(format!(
                "no image for stage {} (pass --stage {}=IMAGE): its content is traced from the Containerfile alone, unverified",
                cf.stages[s].label(),
                cf.stages[s].label()
            ));
        }
    }

    // External images: given with --image, else looked up in the same containers-storage.
    let ext_refs = external_refs(&cf, &needed);
    let mut ext_imgs: BTreeMap<String, Image> = BTreeMap::new();
    for (r, src) in &req.images {
        ext_imgs.insert(r.clone(), Image::open(src, &req.storage).with_context(|| format!("--image {r}"))?);
    }
    for r in ext_refs.keys() {
        if ext_imgs.contains_key(r) {
            continue;
        }
        if matches!(req.image, ImageRef::ContainersStorage { .. }) {
            match Image::open(&ImageRef::ContainersStorage { reference: r.clone() }, &req.storage) {
                Ok(img) => {
                    ext_imgs.insert(r.clone(), img);
                    continue;
                }
                Err(e) => warnings.push(format!("external image {r} not readable from containers-storage: {e:#}")),
            }
        } else {
            warnings.push(format!(
                "no image given for external image {r} (pass --image {r}=IMAGE): its content is not verified"
            ));
        }
    }

    // A stage built FROM an external image starts in that image's WORKDIR, with its ENV: parse
    // again with them, so relative COPY destinations land where the builder put them.
    let bases: HashMap<String, crate::containerfile::BaseConfig> = ext_imgs
        .iter()
        .filter(|(_, i)| i.base_config != Default::default())
        .map(|(r, i)| (r.clone(), i.base_config.clone()))
        .collect();
    let cf = if bases.is_empty() { cf } else { parse(&bases)? };

    // Index every distinct layer once.
    let mut all: Vec<&Image> = vec![&final_img];
    all.extend(stage_imgs.values());
    all.extend(ext_imgs.values());
    let t = std::time::Instant::now();
    let layers = layer::index_images(&all, &req.cache, &req.progress)?;
    req.progress.timed("index layers", t);
    req.progress.done();
    let view_of = |img: &Image| make_view(img, &layers);
    let final_view = view_of(&final_img);
    let stage_views: BTreeMap<usize, ImageView> = stage_imgs.iter().map(|(k, v)| (*k, view_of(v))).collect();
    let ext_views: BTreeMap<String, ImageView> = ext_imgs.iter().map(|(k, v)| (k.clone(), view_of(v))).collect();

    let context = match &req.context {
        Some(dir) => Some(context_view(dir)?),
        None => None,
    };
    let archives = match &req.context {
        Some(dir) => context_archives(&cf, &needed, dir, &mut warnings),
        None => HashMap::new(),
    };

    // Stage models: how many layers each took from its base, and which instructions made the rest.
    let mut models = Vec::new();
    for &s in &needed {
        let img = if s == target { Some(&final_view) } else { stage_views.get(&s) };
        let label = cf.stages[s].label();
        let (base_layers, groups) = match img {
            None => (0, Vec::new()),
            Some(v) => {
                let n = v.diff_ids.len();
                let base_ids: Option<&[Sha256Digest]> = match cf.base_of(s) {
                    Source::Scratch => Some(&[]),
                    Source::Stage(b) => stage_views.get(&b).map(|b| b.diff_ids.as_slice()),
                    Source::Image(r) => ext_views.get(&r).map(|b| b.diff_ids.as_slice()),
                };
                let base_layers = match base_ids {
                    Some(ids) => {
                        let common = ids.iter().zip(&v.diff_ids).take_while(|(a, b)| a == b).count();
                        if common != ids.len() {
                            warnings.push(format!(
                                "stage {label}: its image shares only {common} of its base's {} layers; the base given is not the one it was built from",
                                ids.len()
                            ));
                        }
                        common
                    }
                    None => match provenance::base_layers_from_history(v, &cf.stages[s].base) {
                        Some(k) => k,
                        None => {
                            warnings.push(format!(
                                "stage {label}: cannot tell its base layers apart (no base image, no buildah history mark); assuming only its last layer is its own"
                            ));
                            n.saturating_sub(1)
                        }
                    },
                };
                (base_layers, provenance::layer_groups(&cf, s, n, base_layers))
            }
        };
        models.push(StageModel { index: s, label, image: img, base_layers, groups });
    }

    let mut engine = Engine::new(&cf, models);
    engine.externals = ext_views.iter().map(|(k, v)| (k.clone(), v)).collect();
    if let Source::Image(r) = cf.base_of(target) {
        if let Some(d) = final_img.annotations.get("org.opencontainers.image.base.digest") {
            let name = final_img.annotations.get("org.opencontainers.image.base.name");
            if name.is_none_or(|n| *n == r || *n == provenance::normalize_ref(&r)) {
                if let Ok(d) = Sha256Digest::parse(d) {
                    engine.external_digests.insert(r, d);
                }
            }
        }
    }
    engine.context = context.as_ref();
    engine.archives = archives;
    req.progress.note("tracing files");
    let t = std::time::Instant::now();
    let files = engine.trace_all(target);
    req.progress.timed("trace files", t);
    warnings.extend(engine.warnings);

    // Packages: the final image's, and those of every stage and external image, for files that
    // arrived without their metadata.
    req.progress.note("cataloging packages");
    let t = std::time::Instant::now();
    let mut views: Vec<(String, &FsView)> = vec![("final".into(), &final_view.view)];
    views.extend(stage_views.iter().map(|(s, v)| (format!("stage:{}", cf.stages[*s].label()), &v.view)));
    views.extend(ext_views.iter().map(|(r, v)| (format!("image:{r}"), &v.view)));
    let catalogs: HashMap<String, Vec<crate::catalog::Package>> =
        views.par_iter().map(|(k, v)| (k.clone(), crate::catalog::catalog(v))).collect();
    let sources: crate::provenance::packages::Catalogs =
        catalogs.iter().filter(|(k, _)| k.as_str() != "final").map(|(k, v)| (k.clone(), v.as_slice())).collect();
    let packages = crate::provenance::packages::package_records(&files, &catalogs["final"], &sources);
    req.progress.timed("catalog packages", t);
    req.progress.done();

    let stages = needed
        .iter()
        .map(|&s| {
            let st = &cf.stages[s];
            let parent = match cf.base_of(s) {
                Source::Stage(b) => Some(cf.stages[b].label()),
                _ => None,
            };
            let image = if s == target { Some(final_img.id) } else { stage_imgs.get(&s).map(|i| i.id) };
            StageInfo { index: s, name: st.label(), base: st.base.clone(), parent, image, target: s == target }
        })
        .collect();
    let external_images = ext_refs
        .into_iter()
        .map(|(r, uses)| {
            let digest = ext_views.get(&r).map(|v| v.digest).or_else(|| engine_digest(&final_img, &cf, target, &r));
            ExternalImage { reference: r, digest, uses }
        })
        .collect();
    let build_id = req.build_id.clone().or_else(|| {
        ["io.buildah.build.id", "io.ctxsbom.build-id"].iter().find_map(|k| final_img.labels.get(*k).cloned())
    });
    Ok(Provenance {
        build_id,
        image: ImageInfo {
            reference: req.image.to_string(),
            digest: final_img.manifest_digest.unwrap_or(final_img.id),
            id: final_img.id,
            name: req.image_name.clone().or_else(|| final_img.name.clone()),
            architecture: final_img.architecture.clone(),
        },
        stages,
        external_images,
        files,
        packages,
        warnings,
        tool: ToolInfo { name: "ctxsbom".into(), version: env!("CARGO_PKG_VERSION").into() },
        builder: req.builder.clone(),
        invocation: Some(invocation(req, cf_text.as_deref())),
    })
}

fn engine_digest(final_img: &Image, cf: &Containerfile, target: usize, r: &str) -> Option<Sha256Digest> {
    if cf.base_of(target) != Source::Image(r.to_string()) {
        return None;
    }
    final_img.annotations.get("org.opencontainers.image.base.digest").and_then(|d| Sha256Digest::parse(d).ok())
}

/// External images the needed stages use, with how they use them.
fn external_refs(cf: &Containerfile, needed: &[usize]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |r: String, how: &str| {
        let v = out.entry(r).or_default();
        if !v.iter().any(|x| x == how) {
            v.push(how.to_string());
        }
    };
    for &s in needed {
        if let Source::Image(r) = cf.base_of(s) {
            add(r, "base");
        }
        for i in &cf.stages[s].instructions {
            match &i.op {
                Op::Copy(c) => {
                    if let Some(f) = &c.from {
                        if let Source::Image(r) = cf.resolve(s, f) {
                            add(r, "copy");
                        }
                    }
                }
                Op::Run(run) => {
                    for m in &run.mounts {
                        if let Some(f) = &m.from {
                            if let Source::Image(r) = cf.resolve(s, f) {
                                add(r, "mount");
                            }
                        }
                    }
                }
                Op::Meta => {}
            }
        }
    }
    out
}

fn make_view(img: &Image, layers: &HashMap<Sha256Digest, Arc<LayerIndex>>) -> ImageView {
    let idx: Vec<Arc<LayerIndex>> = img.layers.iter().map(|l| layers[&l.diff_id].clone()).collect();
    let non_empty: Vec<Option<String>> =
        img.history.iter().filter(|h| !h.empty_layer).map(|h| h.comment.clone()).collect();
    let layer_comments = if non_empty.len() == img.layers.len() { non_empty } else { vec![None; img.layers.len()] };
    ImageView {
        view: FsView::fold(&idx),
        diff_ids: img.diff_ids(),
        digest: img.manifest_digest.unwrap_or(img.id),
        layer_comments,
    }
}

/// The build context as a filesystem view (paths relative to the context, rooted at `/`).
fn context_view(dir: &Path) -> Result<FsView> {
    if !dir.is_dir() {
        bail!("--context {}: not a directory", dir.display());
    }
    let mut found: Vec<(String, PathBuf, std::fs::Metadata)> = Vec::new();
    let mut todo = vec![(String::new(), dir.to_path_buf())];
    while let Some((rel, p)) = todo.pop() {
        for e in std::fs::read_dir(&p).with_context(|| format!("reading {}", p.display()))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let r = format!("{rel}/{name}");
            let md = std::fs::symlink_metadata(e.path())?;
            if md.is_dir() {
                todo.push((r.clone(), e.path()));
            }
            found.push((r, e.path(), md));
        }
    }
    let entries: Vec<Entry> = found
        .par_iter()
        .map(|(r, p, md)| {
            use std::os::unix::fs::MetadataExt;
            let ft = md.file_type();
            let mut e = Entry {
                path: r.clone(),
                kind: if ft.is_dir() {
                    EntryKind::Dir
                } else if ft.is_symlink() {
                    EntryKind::Symlink
                } else {
                    EntryKind::File
                },
                mode: md.mode() & 0o7777,
                uid: md.uid() as u64,
                gid: md.gid() as u64,
                size: 0,
                link: None,
                sha256: None,
                sha1: None,
            };
            if ft.is_symlink() {
                e.link = Some(std::fs::read_link(p)?.to_string_lossy().into_owned());
            } else if ft.is_file() {
                let (d, h1, n) = hash_file(p)?;
                e.sha256 = Some(d);
                e.sha1 = Some(h1);
                e.size = n;
            }
            Ok(e)
        })
        .collect::<Result<_>>()?;
    let idx = LayerIndex { diff_id: Sha256Digest([0; 32]), entries, captured: Default::default() };
    Ok(FsView::fold(&[Arc::new(idx)]))
}

fn hash_file(p: &Path) -> Result<(Sha256Digest, String, u64)> {
    let f = std::fs::File::open(p).with_context(|| format!("reading {}", p.display()))?;
    crate::digest::hash_content(f).with_context(|| format!("reading {}", p.display()))
}

/// Local archives that `ADD` unpacks, indexed as views.
fn context_archives(
    cf: &Containerfile,
    needed: &[usize],
    dir: &Path,
    warnings: &mut Vec<String>,
) -> HashMap<String, FsView> {
    let mut out = HashMap::new();
    for &s in needed {
        for i in &cf.stages[s].instructions {
            let Op::Copy(c) = &i.op else { continue };
            if !c.add || c.from.is_some() {
                continue;
            }
            for src in &c.sources {
                let rel = src.trim_start_matches("./").trim_start_matches('/').to_string();
                let p = dir.join(&rel);
                let looks = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst"].iter().any(|x| rel.ends_with(x));
                if !looks || !p.is_file() || out.contains_key(&rel) {
                    continue;
                }
                match std::fs::File::open(&p).map_err(anyhow::Error::from).and_then(layer::index_archive) {
                    Ok(entries) => {
                        let idx = LayerIndex { diff_id: Sha256Digest([0; 32]), entries, captured: Default::default() };
                        out.insert(rel, FsView::fold(&[Arc::new(idx)]));
                    }
                    Err(e) => {
                        warnings.push(format!("ADD {rel} (line {}): not readable as a tar archive: {e:#}", i.line))
                    }
                }
            }
        }
    }
    out
}

/// The build's parameters as far as the request knows them.
fn invocation(req: &ScanRequest, cf_text: Option<&str>) -> crate::provenance::model::Invocation {
    let mut inv = req.invocation.clone().unwrap_or_default();
    if let (Some(path), Some(text)) = (&req.containerfile, cf_text) {
        inv.containerfile = Some(path.display().to_string());
        inv.containerfile_digest = Some(crate::digest::Sha256Digest::of(text.as_bytes()));
    }
    if inv.context.is_none() {
        inv.context = req.context.as_ref().map(|c| c.display().to_string());
    }
    if inv.build_args.is_empty() {
        inv.build_args = req.build_args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    if inv.target.is_none() {
        inv.target = req.target.clone();
    }
    inv
}
