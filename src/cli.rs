//! Command-line interface: every flag and its help in one place, and the dispatch to the commands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::build::builder::Builder;
use crate::build::record::BuildRecord;
use crate::build::{self, BuildRequest};
use crate::image::{ImageRef, StorageOpts};
use crate::layer::cache::LayerCache;
use crate::output::{self, Format, OutputSpec};
use crate::progress::Progress;
use crate::scan::{self, ScanRequest};

const ABOUT: &str = "Contextual SBOMs for multi-stage container builds: every file of the final image traced to the stage, base image or build context it came from.";

const BUILD_EXAMPLES: &str = "\
Examples:
  # build the current directory, keep every stage image, write SBOMs to ctxsbom-out/<build-id>/
  ctxsbom build .

  # a private store, chroot isolation (what CI machines without cgroup v2 delegation need)
  ctxsbom build examples/multistage -t localhost/app --root /tmp/store --runroot /tmp/run \\
      --storage-driver vfs --isolation chroot -o spdx-json=app.spdx.json -o table

  # extra builder flags after --
  ctxsbom build . -- --pull=never

Modes, from the builder's own `build --help`: --save-stages --stage-labels (buildah >= 1.44,
podman 6); --cache-stages --stage-labels --build-id-file (the original proposal); otherwise
emulated: one build per stage with references to earlier stages rewritten to their image IDs, so the
final image has a plain build's layers and reads exactly the kept stage images. Stage images are
tagged localhost/ctxsbom-stages/<build-id>:<stage>: see `ctxsbom stages` and `ctxsbom prune`.";

const SCAN_EXAMPLES: &str = "\
Examples:
  # an image and its builder stage, exported as OCI layouts
  ctxsbom scan oci:out/app.oci --stage builder=oci:out/builder.oci -f Containerfile --context .

  # straight from buildah's storage; base images are looked up there too
  ctxsbom scan containers-storage:localhost/app --stage builder=containers-storage:<image-id> \\
      --root /var/lib/containers/storage -o spdx-json=app.spdx.json -o table

  # again, later, from the record `ctxsbom build` wrote
  ctxsbom scan --build-record ctxsbom-out/<build-id>/build-record.json -o cyclonedx-json

  # the files Konflux's mobster reads, with the names the images will be pushed under
  ctxsbom scan --build-record ctxsbom-out/<build-id>/build-record.json \
      --pullspec-map localhost=quay.io/org --spdx-shape syft -o spdx-json=sbom-image.json \
      -o capo-json=builder-metadata.json -o buildprobe-yaml=buildprobe-metadata.yaml

  # a base image on its own (no Containerfile: every file is the image's), e.g. as a parent SBOM
  ctxsbom scan containers-storage:registry.example.local/base:1 -o spdx-json=base.spdx.json

Image references: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE, dir:DIR,
containers-storage:REF.";

#[derive(Parser, Debug)]
#[command(name = "ctxsbom", version, about = ABOUT, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build with buildah or podman, keep and tag every stage image, then trace and write SBOMs.
    #[command(after_long_help = BUILD_EXAMPLES)]
    Build(Box<BuildArgs>),
    /// Trace every file of an image to its origin and write SBOMs.
    #[command(after_long_help = SCAN_EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// Explain, in words, where one path of a scanned image came from.
    Explain(ExplainArgs),
    /// List the stage images a build kept.
    Stages(StagesArgs),
    /// Remove the stage images a build kept.
    Prune(StagesArgs),
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The build context directory.
    #[arg(value_name = "CONTEXT", default_value = ".")]
    pub context: PathBuf,
    /// The Containerfile [default: Containerfile or Dockerfile in the context].
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A name for the final image; repeatable.
    #[arg(short = 't', long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// Build up to this stage (it becomes the final image).
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// A build argument; repeatable.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// An additional build context, passed to the builder; repeatable.
    #[arg(long = "build-context", value_name = "NAME=VALUE")]
    pub build_contexts: Vec<String>,
    /// Write the build ID (a UUID and a newline) to FILE.
    #[arg(long, value_name = "FILE")]
    pub build_id_file: Option<PathBuf>,
    /// Where to write the build record [default: OUTPUT-DIR/build-record.json].
    #[arg(long, value_name = "FILE")]
    pub build_record: Option<PathBuf>,
    /// Where outputs go when no -o is given [default: ctxsbom-out/<build-id>].
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Output format, optionally to a file; repeatable (see `ctxsbom scan --help`). Without -o:
    /// the table on stdout and SPDX, CycloneDX and provenance JSON in OUTPUT-DIR.
    #[arg(short = 'o', long = "output", value_name = "FORMAT[=FILE]")]
    pub outputs: Vec<String>,
    #[command(flatten)]
    pub sbom: SbomArgs,
    /// The builder: buildah, podman, or a path [default: buildah, else podman].
    #[arg(long, value_name = "BUILDER")]
    pub builder: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Isolation for RUN steps, passed to the builder (chroot, oci, rootless).
    #[arg(long, value_name = "TYPE")]
    pub isolation: Option<String>,
    /// Keep the stage images of a build that failed.
    #[arg(long)]
    pub keep_failed: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// No progress on stderr (the builder's output still streams).
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the time each phase took (index layers, trace files, catalog packages) on stderr.
    #[arg(long)]
    pub timings: bool,
    /// Extra arguments for the builder's `build`, after `--`.
    #[arg(last = true, value_name = "BUILDER ARGS")]
    pub extra: Vec<String>,
}

/// What goes into the SBOMs.
#[derive(Args, Debug, Clone)]
pub struct SbomArgs {
    /// Add every regular file, with its SHA-1 and SHA-256, to the SPDX (as files the image
    /// CONTAINS, origin in the file's comment) and to the CycloneDX (as file components).
    #[arg(long, help_heading = "SBOM content")]
    pub spdx_files: bool,
    /// The SPDX's shape: `contextual` (packages under the image, its parent, builder and external
    /// images, and per-stage intermediate packages, as mobster writes them) or `syft` (every package
    /// under a syft-style root: the input for `mobster generate oci-image --from-syft`, which adds
    /// the context itself from -o capo-json and -o buildprobe-yaml).
    #[arg(long, value_name = "SHAPE", default_value = "contextual", value_parser = ["contextual", "syft"], help_heading = "SBOM content")]
    pub spdx_shape: String,
    /// The SBOM an `-o intoto` statement carries: spdx (predicateType https://spdx.dev/Document) or
    /// cyclonedx (https://cyclonedx.org/bom).
    #[arg(long, value_name = "FORMAT", default_value = "spdx", value_parser = ["spdx", "cyclonedx"], help_heading = "SBOM content")]
    pub predicate: String,
    /// The name the image will be pushed and pulled by (e.g. quay.io/org/app:1.0), written instead
    /// of its local name.
    #[arg(long, value_name = "NAME", help_heading = "SBOM content")]
    pub image_pullspec: Option<String>,
    /// Write images named LOCAL... as REMOTE... (a repository prefix); repeatable.
    #[arg(long, value_name = "LOCAL=REMOTE", help_heading = "SBOM content")]
    pub pullspec_map: Vec<String>,
}

impl SbomArgs {
    pub fn options(&self) -> Result<output::Options> {
        let mut map = Vec::new();
        for m in &self.pullspec_map {
            let (l, r) = m
                .split_once('=')
                .filter(|(l, r)| !l.is_empty() && !r.is_empty())
                .ok_or_else(|| anyhow::anyhow!("--pullspec-map {m:?}: expected LOCAL=REMOTE"))?;
            map.push((l.to_string(), r.to_string()));
        }
        Ok(output::Options {
            files: self.spdx_files,
            syft_shape: self.spdx_shape == "syft",
            pullspec: self.image_pullspec.clone(),
            pullspec_map: map,
            predicate: if self.predicate == "cyclonedx" {
                output::attest::Predicate::Cyclonedx
            } else {
                output::attest::Predicate::Spdx
            },
        })
    }
}

#[derive(Args, Debug, Clone)]
pub struct CacheArgs {
    /// Where layer indexes are cached [default: $XDG_CACHE_HOME/ctxsbom/layers].
    #[arg(long, value_name = "DIR", env = "CTXSBOM_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the layer index cache.
    #[arg(long)]
    pub no_cache: bool,
}

impl CacheArgs {
    fn cache(&self) -> LayerCache {
        if self.no_cache {
            LayerCache::new(None)
        } else {
            LayerCache::new(self.cache_dir.clone().or_else(LayerCache::default_dir))
        }
    }
}

#[derive(Args, Debug)]
pub struct StagesArgs {
    /// The build ID `ctxsbom build` printed (and wrote with --build-id-file).
    pub build_id: String,
    /// The builder: buildah, podman, or a path.
    #[arg(long, value_name = "BUILDER")]
    pub builder: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Args, Debug, Clone)]
pub struct StorageArgs {
    /// containers-storage root (buildah's --root), for containers-storage: images.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// containers-storage run root (buildah's --runroot).
    #[arg(long, value_name = "DIR")]
    pub runroot: Option<PathBuf>,
    /// containers-storage driver (vfs, overlay).
    #[arg(long, value_name = "NAME")]
    pub storage_driver: Option<String>,
}

impl StorageArgs {
    pub fn opts(&self) -> StorageOpts {
        StorageOpts { root: self.root.clone(), runroot: self.runroot.clone(), driver: self.storage_driver.clone() }
    }
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The final image (the build's target stage). Not needed with --build-record.
    #[arg(value_name = "IMAGE", required_unless_present = "build_record")]
    pub image: Option<String>,
    /// Analyse a build again from the record `ctxsbom build` wrote: images, stages, Containerfile,
    /// context, build arguments, target, build ID and storage all come from it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stages", "file", "target", "build_id"])]
    pub build_record: Option<PathBuf>,
    /// The image of a build stage, by alias or index: `--stage builder=oci:out/builder.oci`.
    /// Repeat for each stage; stages without an image are traced from the Containerfile alone.
    #[arg(long = "stage", value_name = "NAME=IMAGE")]
    pub stages: Vec<String>,
    /// An external image the Containerfile names (a FROM base or `COPY --from=<image>`), as written
    /// there: `--image localhost/bb=oci:bb.oci`. Found in containers-storage automatically when the
    /// scanned image is in containers-storage.
    #[arg(long = "image", value_name = "REF=IMAGE")]
    pub images: Vec<String>,
    /// The Containerfile the image was built from [default: Containerfile or Dockerfile in the
    /// context directory, else in the current directory].
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The build context directory: files COPYed from it are hashed and matched.
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// A build argument, as given to the build.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// The stage the image was built as (buildah's --target) [default: the last stage].
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// The build ID to record in the outputs.
    #[arg(long, value_name = "ID")]
    pub build_id: Option<String>,
    /// Output format, optionally to a file; repeatable. Formats: table (default on a terminal),
    /// provenance-json (default otherwise), spdx-json (SPDX 2.3), cyclonedx-json (CycloneDX 1.6),
    /// capo-json (Konflux builder-metadata.json), buildprobe-yaml (mobster --metadata-path),
    /// intoto (in-toto Statement v1 carrying the SBOM), slsa (SLSA Provenance v1 statement),
    /// graph (Mermaid), graph-dot (Graphviz).
    #[arg(short = 'o', long = "output", value_name = "FORMAT[=FILE]")]
    pub outputs: Vec<String>,
    #[command(flatten)]
    pub sbom: SbomArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// No progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the time each phase took (index layers, trace files, catalog packages) on stderr.
    #[arg(long)]
    pub timings: bool,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A path of the final image.
    pub path: String,
    /// A provenance-json document written by `ctxsbom scan -o provenance-json=FILE`.
    #[arg(long, value_name = "FILE")]
    pub provenance: PathBuf,
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build(a) => run_build(*a),
        Command::Scan(a) => run_scan(*a),
        Command::Stages(a) => {
            let b = Builder::detect(a.builder.as_deref())?;
            let list = build::list_stages(&b, &a.storage.opts(), &a.build_id)?;
            if list.is_empty() {
                bail!("no stage images of build {} in this store\nhint: pass the --root/--runroot/--storage-driver the build used", a.build_id);
            }
            println!("{:<20} {:<14} TAG", "STAGE", "IMAGE ID");
            for (tag, stage, id) in list {
                println!("{stage:<20} {:<14} {tag}", &id[..id.len().min(12)]);
            }
            Ok(())
        }
        Command::Prune(a) => {
            let b = Builder::detect(a.builder.as_deref())?;
            let st = a.storage.opts();
            let list = build::list_stages(&b, &st, &a.build_id)?;
            if list.is_empty() {
                bail!("no stage images of build {} in this store", a.build_id);
            }
            for (tag, stage, _) in list {
                b.run(&st, &["rmi", &tag])?;
                println!("removed {stage} ({tag})");
            }
            Ok(())
        }
        Command::Explain(a) => {
            let bytes = std::fs::read(&a.provenance).with_context(|| format!("reading {}", a.provenance.display()))?;
            let p = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a ctxsbom provenance-json document", a.provenance.display()))?;
            print!("{}", output::explain::explain(&p, &a.path)?);
            Ok(())
        }
    }
}

pub fn key_value(s: &str, flag: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => bail!("{flag} {s:?}: expected KEY=VALUE"),
    }
}

/// `Containerfile`, else `Dockerfile`, in `dir`.
pub fn find_containerfile(dir: &Path) -> Option<PathBuf> {
    ["Containerfile", "Dockerfile"].iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

fn parse_outputs(list: &[String]) -> Result<Vec<OutputSpec>> {
    list.iter().map(|s| s.parse()).collect()
}

fn pairs(list: &[String], flag: &str) -> Result<Vec<(String, String)>> {
    list.iter().map(|s| key_value(s, flag)).collect()
}

fn image_pairs(list: &[String], flag: &str) -> Result<Vec<(String, ImageRef)>> {
    pairs(list, flag)?
        .into_iter()
        .map(|(k, v)| Ok((k.clone(), v.parse::<ImageRef>().with_context(|| format!("{flag} {k}={v}"))?)))
        .collect()
}

/// A scan of what a build record describes.
pub fn request_from_record(
    r: &BuildRecord,
    storage: Option<StorageOpts>,
    cache: LayerCache,
    progress: Progress,
) -> ScanRequest {
    let storage = storage.unwrap_or_else(|| r.storage.opts());
    let stages = r
        .stages
        .iter()
        .filter(|s| !s.target)
        .map(|s| (s.name.clone(), ImageRef::ContainersStorage { reference: s.image.hex() }))
        .collect();
    ScanRequest {
        image: ImageRef::ContainersStorage { reference: r.image.id.hex() },
        image_name: r.tags.first().cloned(),
        stages,
        images: Vec::new(),
        containerfile: Some(r.containerfile.path.clone()),
        context: Some(r.context.clone()),
        build_args: r.build_args.clone().into_iter().collect(),
        target: r.target.clone(),
        build_id: Some(r.build_id.clone()),
        builder: Some(crate::provenance::model::BuilderInfo {
            name: r.builder.name.clone(),
            version: r.builder.version.clone(),
            mode: serde_json::to_value(r.builder.mode)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
        }),
        invocation: Some(crate::provenance::model::Invocation {
            tags: r.tags.clone(),
            started: Some(r.started.clone()),
            finished: Some(r.finished.clone()),
            stage_tags: r.stages.iter().filter_map(|s| s.tag.clone().map(|t| (s.name.clone(), t))).collect(),
            ..Default::default()
        }),
        storage,
        cache,
        progress,
    }
}

fn default_outputs(list: Vec<OutputSpec>) -> Vec<OutputSpec> {
    if !list.is_empty() {
        return list;
    }
    let format = if std::io::stdout().is_terminal() { Format::Table } else { Format::ProvenanceJson };
    vec![OutputSpec { format, file: None }]
}

fn finish(
    prov: &crate::provenance::model::Provenance,
    outputs: &[OutputSpec],
    opts: &output::Options,
    quiet: bool,
) -> Result<()> {
    output::write_all(prov, outputs, opts)?;
    let table_on_stdout = outputs.iter().any(|o| o.format == Format::Table && o.file.is_none());
    if !quiet {
        if !table_on_stdout {
            for w in &prov.warnings {
                eprintln!("warning: {w}");
            }
        }
        for o in outputs {
            if let Some(f) = &o.file {
                eprintln!("wrote {}", f.display());
            }
        }
    }
    Ok(())
}

fn run_scan(a: ScanArgs) -> Result<()> {
    let sbom = a.sbom.options()?;
    let outputs = default_outputs(parse_outputs(&a.outputs)?);
    let progress = Progress::new(a.quiet).with_timings(a.timings);
    let req = if let Some(rec) = &a.build_record {
        let r = BuildRecord::read(rec)?;
        let given = a.storage.root.is_some() || a.storage.runroot.is_some() || a.storage.storage_driver.is_some();
        let mut req = request_from_record(&r, given.then(|| a.storage.opts()), a.cache.cache(), progress);
        if let Some(img) = &a.image {
            req.image = img.parse()?;
        }
        req.images = image_pairs(&a.images, "--image")?;
        if let Some(c) = &a.context {
            req.context = Some(c.clone());
        }
        req
    } else {
        let containerfile = match &a.file {
            Some(f) => Some(f.clone()),
            None => a.context.as_deref().and_then(find_containerfile).or_else(|| find_containerfile(Path::new("."))),
        };
        if containerfile.is_none() && !a.stages.is_empty() {
            bail!("--stage needs the Containerfile the image was built from, and none was found\nhint: pass -f PATH/TO/Containerfile");
        }
        if containerfile.is_none() && !a.quiet {
            eprintln!("ctxsbom: no Containerfile given or found: every file is attributed to the image itself");
        }
        ScanRequest {
            image: a.image.as_deref().unwrap_or_default().parse()?,
            image_name: None,
            stages: image_pairs(&a.stages, "--stage")?,
            images: image_pairs(&a.images, "--image")?,
            containerfile,
            context: a.context.clone(),
            build_args: pairs(&a.build_args, "--build-arg")?.into_iter().collect(),
            target: a.target.clone(),
            build_id: a.build_id.clone(),
            builder: None,
            invocation: None,
            storage: a.storage.opts(),
            cache: a.cache.cache(),
            progress,
        }
    };
    let prov = scan::scan(&req)?;
    finish(&prov, &outputs, &sbom, a.quiet)
}

fn run_build(a: BuildArgs) -> Result<()> {
    let sbom = a.sbom.options()?;
    let mut outputs = parse_outputs(&a.outputs)?;
    if !a.context.is_dir() {
        bail!("build context {}: not a directory", a.context.display());
    }
    let containerfile = match &a.file {
        Some(f) => f.clone(),
        None => find_containerfile(&a.context).ok_or_else(|| {
            anyhow!("no Containerfile or Dockerfile in {}\nhint: pass -f PATH/TO/Containerfile", a.context.display())
        })?,
    };
    let req = BuildRequest {
        context: a.context.clone(),
        containerfile,
        tags: a.tags.clone(),
        target: a.target.clone(),
        build_args: pairs(&a.build_args, "--build-arg")?,
        build_contexts: a.build_contexts.clone(),
        builder: a.builder.clone(),
        storage: a.storage.opts(),
        isolation: a.isolation.clone(),
        extra: a.extra.clone(),
        keep_failed: a.keep_failed,
    };
    let record = build::build(&req)?;
    eprintln!("ctxsbom: build {} done: image {}", record.build_id, record.image.id);
    let dir = a.output_dir.clone().unwrap_or_else(|| PathBuf::from("ctxsbom-out").join(&record.build_id));
    if outputs.is_empty() {
        outputs = vec![
            OutputSpec { format: Format::Table, file: None },
            OutputSpec { format: Format::SpdxJson, file: Some(dir.join("sbom.spdx.json")) },
            OutputSpec { format: Format::CyclonedxJson, file: Some(dir.join("sbom.cdx.json")) },
            OutputSpec { format: Format::ProvenanceJson, file: Some(dir.join("provenance.json")) },
        ];
    }
    let record_path = a.build_record.clone().unwrap_or_else(|| dir.join("build-record.json"));
    for p in outputs.iter().filter_map(|o| o.file.as_ref()).chain([&record_path]) {
        if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
    }
    output::write_atomic(&record_path, &serde_json::to_vec_pretty(&record)?)?;
    if let Some(f) = &a.build_id_file {
        output::write_atomic(f, format!("{}\n", record.build_id).as_bytes())?;
    }
    let req = request_from_record(&record, None, a.cache.cache(), Progress::new(a.quiet).with_timings(a.timings));
    let prov = scan::scan(&req).context("the build succeeded, but tracing its files failed")?;
    finish(&prov, &outputs, &sbom, a.quiet)?;
    eprintln!(
        "wrote {} (the build record: `ctxsbom scan --build-record` analyses this build again)",
        record_path.display()
    );
    Ok(())
}
