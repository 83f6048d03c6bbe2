//! Builder driver: runs buildah or podman so that every stage image of the build is kept and
//! findable by build ID and stage name, whatever the builder's version, and writes the build record.
//!
//! Modes (chosen from the builder's own `build --help`): `--save-stages --stage-labels` (buildah
//! 1.44 and later, podman 6); the original proposal's `--cache-stages --stage-labels --build-id-file`;
//! otherwise emulation ([`emulate`]). Stage images are tagged
//! `localhost/ctxsbom-stages/<build-id>:<stage>`: a tag never changes an image or the build cache,
//! unlike labels (buildah 1.28 drops labels on cache hits and leaks them into child stages).
//!
//! Not for: analysing images. The driver hands a [`record::BuildRecord`] to `scan`.

pub mod builder;
pub mod emulate;
pub mod record;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use crate::containerfile::{Containerfile, Source};
use crate::digest::Sha256Digest;
use crate::image::StorageOpts;
use builder::{run_streaming, Builder, Mode};
use record::{BuildRecord, FileRecord, FinalImage, StageRecord, StorageRecord};

/// The repository stage images are tagged into.
pub const STAGE_REPO: &str = "localhost/ctxsbom-stages";

pub struct BuildRequest {
    pub context: PathBuf,
    pub containerfile: PathBuf,
    pub tags: Vec<String>,
    pub target: Option<String>,
    pub build_args: Vec<(String, String)>,
    pub build_contexts: Vec<String>,
    pub builder: Option<String>,
    pub storage: StorageOpts,
    pub isolation: Option<String>,
    pub extra: Vec<String>,
    /// Keep the stage images a failed build made.
    pub keep_failed: bool,
}

/// The tag of a stage image: `localhost/ctxsbom-stages/<build-id>:<stage>`.
pub fn stage_tag(build_id: &str, stage: &str) -> String {
    let t: String = stage
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' { c } else { '-' })
        .take(128)
        .collect();
    format!("{STAGE_REPO}/{build_id}:{t}")
}

pub fn build(req: &BuildRequest) -> Result<BuildRecord> {
    let started = crate::output::timestamp_now();
    let args: HashMap<String, String> = req.build_args.iter().cloned().collect();
    // Read once: the digest in the record is of the text that was parsed and built.
    let text = std::fs::read_to_string(&req.containerfile)
        .with_context(|| format!("reading {}", req.containerfile.display()))?;
    let cf = Containerfile::parse(&text, &args).with_context(|| format!("parsing {}", req.containerfile.display()))?;
    let target = cf.target_index(req.target.as_deref())?;
    let needed = cf.needed_stages(target);
    let b = Builder::detect(req.builder.as_deref())?;
    eprintln!("ctxsbom: {} {} ({}), mode {}", b.name, b.version, b.path.display(), b.mode.describe());
    if !req.build_contexts.is_empty() && !b.supports("--build-context") {
        bail!("{} {} has no --build-context\nhint: use a newer buildah (1.31 or later) or podman, or put the content in the build context", b.name, b.version);
    }

    // Images that exist before the build are never removed on failure (a FROM-only stage "builds"
    // to its base image; a user's --layers may reuse cache images).
    let before = image_ids(&b, &req.storage).unwrap_or_default();
    let mut made: Vec<String> = Vec::new();
    let result = match b.mode {
        Mode::Emulated => emulated(req, &b, &cf, &needed, target, &mut made),
        Mode::SaveStages | Mode::CacheStages => native(req, &b, &cf, &needed, target),
    };
    let (build_id, final_id, ids) = match result {
        Ok(r) => r,
        Err(e) => {
            if !req.keep_failed {
                for id in made.iter().rev().filter(|id| !before.iter().any(|short| id.starts_with(short.as_str()))) {
                    let _ = b.run(&req.storage, &["rmi", id]);
                }
            }
            return Err(e);
        }
    };

    // Tag every stage image (the target too) so the build can be found by ID and stage name.
    let mut stages = Vec::new();
    for &s in &needed {
        let st = &cf.stages[s];
        let id = if s == target {
            final_id.clone()
        } else {
            ids.get(&s).cloned().ok_or_else(|| anyhow!("no image for stage {}", st.label()))?
        };
        let tag = stage_tag(&build_id, &st.label());
        b.run(&req.storage, &["tag", &id, &tag])?;
        let (parent, base_digest) = match cf.base_of(s) {
            Source::Stage(p) => (Some(cf.stages[p].label()), None),
            Source::Image(r) => (None, inspect(&b, &req.storage, &r).ok().and_then(|i| i.digest)),
            Source::Scratch => (None, None),
        };
        stages.push(StageRecord {
            index: s,
            name: st.label(),
            base: st.base.clone(),
            base_digest,
            parent,
            image: Sha256Digest::parse(&id)?,
            tag: Some(tag),
            target: s == target,
        });
    }
    let fin = inspect(&b, &req.storage, &final_id)?;
    Ok(BuildRecord {
        build_id,
        builder: b,
        containerfile: FileRecord { path: absolute(&req.containerfile), digest: Sha256Digest::of(text.as_bytes()) },
        context: absolute(&req.context),
        build_args: req.build_args.iter().cloned().collect::<BTreeMap<_, _>>(),
        target: req.target.clone(),
        tags: req.tags.clone(),
        storage: StorageRecord::from_opts(&req.storage),
        stages,
        image: FinalImage { id: Sha256Digest::parse(&final_id)?, digest: fin.digest },
        started,
        finished: crate::output::timestamp_now(),
    })
}

/// Arguments every `build` invocation gets, after the mode's own.
fn common_args(req: &BuildRequest) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(i) = &req.isolation {
        a.extend(["--isolation".to_string(), i.clone()]);
    }
    for (k, v) in &req.build_args {
        a.extend(["--build-arg".to_string(), format!("{k}={v}")]);
    }
    for c in &req.build_contexts {
        a.extend(["--build-context".to_string(), c.clone()]);
    }
    a.extend(req.extra.iter().cloned());
    a
}

type Built = (String, String, HashMap<usize, String>);

/// One build per needed stage, in order, with stage references rewritten to image IDs.
fn emulated(
    req: &BuildRequest,
    b: &Builder,
    cf: &Containerfile,
    needed: &[usize],
    target: usize,
    made: &mut Vec<String>,
) -> Result<Built> {
    let build_id = uuid::Uuid::new_v4().to_string();
    let tmp = tempfile::Builder::new().prefix("ctxsbom-build-").tempdir()?;
    let mut ids: HashMap<usize, String> = HashMap::new();
    let mut final_id = String::new();
    for (k, &s) in needed.iter().enumerate() {
        let label = cf.stages[s].label();
        if s != target && cf.stages[s].instructions.is_empty() {
            // Nothing to build (and buildah 1.28 would leave a working container behind).
            eprintln!("ctxsbom: [{}/{}] stage {label}: FROM only, its image is its base's", k + 1, needed.len());
            ids.insert(s, from_only_image(b, &req.storage, cf, s, &ids)?);
            continue;
        }
        let file = tmp.path().join(format!("stage-{s}.Containerfile"));
        std::fs::write(&file, emulate::stage_containerfile(cf, s, &ids)?)?;
        let iid = tmp.path().join(format!("stage-{s}.iid"));
        let mut args: Vec<String> = vec![
            "build".into(),
            "--iidfile".into(),
            iid.display().to_string(),
            "-f".into(),
            file.display().to_string(),
        ];
        if s == target {
            for t in &req.tags {
                args.extend(["-t".to_string(), t.clone()]);
            }
        }
        args.extend(common_args(req));
        args.push(req.context.display().to_string());
        eprintln!("ctxsbom: [{}/{}] stage {label}", k + 1, needed.len());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_streaming(b.command(&req.storage, &refs)).with_context(|| {
            format!("building stage {label} (line {} of {})", cf.stages[s].line, req.containerfile.display())
        })?;
        let id = read_iid(&iid)?;
        made.push(id.clone());
        if s == target {
            final_id = id;
        } else {
            ids.insert(s, id);
        }
    }
    Ok((build_id, final_id, ids))
}

/// Builders that keep stages themselves: one build, then find this build's stage images.
fn native(req: &BuildRequest, b: &Builder, cf: &Containerfile, needed: &[usize], target: usize) -> Result<Built> {
    let tmp = tempfile::Builder::new().prefix("ctxsbom-build-").tempdir()?;
    let iid = tmp.path().join("final.iid");
    let id_file = tmp.path().join("build-id");
    let mut args: Vec<String> = vec!["build".into(), "--iidfile".into(), iid.display().to_string()];
    match b.mode {
        Mode::SaveStages => args.extend(["--save-stages".into(), "--stage-labels".into()]),
        _ => args.extend([
            "--cache-stages".into(),
            "--stage-labels".into(),
            "--build-id-file".into(),
            id_file.display().to_string(),
        ]),
    }
    args.extend(["-f".into(), req.containerfile.display().to_string()]);
    if let Some(t) = &req.target {
        args.extend(["--target".into(), t.clone()]);
    }
    for t in &req.tags {
        args.extend(["-t".into(), t.clone()]);
    }
    args.extend(common_args(req));
    args.push(req.context.display().to_string());
    let since =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0) - 2;
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_streaming(b.command(&req.storage, &refs)).context("the build failed")?;
    let final_id = read_iid(&iid)?;
    let build_id = match b.mode {
        Mode::CacheStages => {
            std::fs::read_to_string(&id_file).context("reading the builder's build ID file")?.trim().to_string()
        }
        _ => uuid::Uuid::new_v4().to_string(),
    };
    let mut ids = HashMap::new();
    for &s in needed.iter().filter(|&&s| s != target) {
        let label = cf.stages[s].label();
        if cf.stages[s].instructions.is_empty() {
            ids.insert(s, from_only_image(b, &req.storage, cf, s, &ids)?);
            continue;
        }
        let mut filter = vec![
            "images".to_string(),
            "-a".into(),
            "--json".into(),
            "--filter".into(),
            format!("label=io.buildah.stage.name={label}"),
        ];
        if b.mode == Mode::CacheStages {
            filter.extend(["--filter".into(), format!("label=io.buildah.build.id={build_id}")]);
        }
        let refs: Vec<&str> = filter.iter().map(String::as_str).collect();
        let listed = b.run(&req.storage, &refs)?;
        let short = newest_since(&listed, since).ok_or_else(|| {
            anyhow!("stage {label}: the builder kept no stage image labelled io.buildah.stage.name={label} in this build (a stage with no instructions is its base image)")
        })?;
        ids.insert(s, inspect(b, &req.storage, &short)?.id);
    }
    Ok((build_id, final_id, ids))
}

/// The image of a stage with no instructions: its base's (pulled if the store lacks it).
fn from_only_image(
    b: &Builder,
    storage: &StorageOpts,
    cf: &Containerfile,
    s: usize,
    ids: &HashMap<usize, String>,
) -> Result<String> {
    match cf.base_of(s) {
        Source::Stage(p) => ids.get(&p).cloned().ok_or_else(|| anyhow!("no image for stage {}", cf.stages[p].label())),
        Source::Image(r) => match inspect(b, storage, &r) {
            Ok(i) => Ok(i.id),
            Err(_) => {
                b.run(storage, &["pull", "--quiet", &r])
                    .with_context(|| format!("pulling {r}, the base of stage {}", cf.stages[s].label()))?;
                Ok(inspect(b, storage, &r)?.id)
            }
        },
        Source::Scratch => {
            bail!("stage {} is an empty FROM scratch stage: there is no image to keep", cf.stages[s].label())
        }
    }
}

#[derive(Deserialize)]
struct Listed {
    id: String,
    #[serde(default)]
    created: i64,
}

/// The newest image of a `buildah images --json` listing created at or after `since` (unix seconds).
pub fn newest_since(json: &str, since: i64) -> Option<String> {
    let list: Vec<Listed> = serde_json::from_str(json).ok()?;
    list.into_iter().filter(|l| l.created >= since).max_by_key(|l| l.created).map(|l| l.id)
}

struct Inspected {
    id: String,
    digest: Option<Sha256Digest>,
}

fn inspect(b: &Builder, storage: &StorageOpts, image: &str) -> Result<Inspected> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Info {
        #[serde(rename = "FromImageID")]
        from_image_id: String,
        from_image_digest: Option<String>,
    }
    let out = b.run(storage, &["inspect", "--type", "image", image])?;
    let info: Info = serde_json::from_str(&out).with_context(|| format!("parsing `inspect {image}`"))?;
    Ok(Inspected { id: info.from_image_id, digest: info.from_image_digest.and_then(|d| Sha256Digest::parse(&d).ok()) })
}

fn read_iid(p: &Path) -> Result<String> {
    let s = std::fs::read_to_string(p).with_context(|| format!("the builder wrote no image ID to {}", p.display()))?;
    let id = s.trim().trim_start_matches("sha256:").to_string();
    if id.len() != 64 || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
        bail!("{} holds no image ID: {s:?}", p.display());
    }
    Ok(id)
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// IDs (as listed, 12 hex or more) of every image in the store.
fn image_ids(b: &Builder, storage: &StorageOpts) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct Img {
        id: String,
    }
    let out = b.run(storage, &["images", "-a", "--json"])?;
    if out.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_str::<Vec<Img>>(&out)?.into_iter().map(|i| i.id).collect())
}

/// The stage images of a build: (tag, stage, image ID) from the builder's image list.
pub fn list_stages(b: &Builder, storage: &StorageOpts, build_id: &str) -> Result<Vec<(String, String, String)>> {
    #[derive(Deserialize)]
    struct Img {
        id: String,
        #[serde(default)]
        names: Option<Vec<String>>,
    }
    let out = b.run(storage, &["images", "-a", "--json"])?;
    let list: Vec<Img> = if out.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&out).context("parsing the image list")?
    };
    let prefix = format!("{STAGE_REPO}/{build_id}:");
    let mut found = Vec::new();
    for img in list {
        for n in img.names.unwrap_or_default() {
            if let Some(stage) = n.strip_prefix(&prefix) {
                found.push((n.clone(), stage.to_string(), img.id.clone()));
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_tags_are_valid_names() {
        assert_eq!(stage_tag("b1", "Builder"), "localhost/ctxsbom-stages/b1:builder");
        assert_eq!(stage_tag("b1", "0"), "localhost/ctxsbom-stages/b1:0");
        assert_eq!(stage_tag("b1", "a/b"), "localhost/ctxsbom-stages/b1:a-b");
    }

    #[test]
    fn newest_stage_image_of_this_build() {
        let json = r#"[{"id":"aaa","created":100},{"id":"bbb","created":205},{"id":"ccc","created":203}]"#;
        assert_eq!(newest_since(json, 200).as_deref(), Some("bbb"));
        assert_eq!(newest_since(json, 300), None, "images older than the build are not this build's");
    }
}
