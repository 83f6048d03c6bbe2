//! Command-line interface: every flag and its help in one place, and the dispatch to the commands.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::image::{ImageRef, StorageOpts};
use crate::layer::cache::LayerCache;
use crate::output::{self, Format, OutputSpec};
use crate::progress::Progress;
use crate::scan::{self, ScanRequest};

const ABOUT: &str = "Contextual SBOMs for multi-stage container builds: every file of the final image traced to the stage, base image or build context it came from.";

const SCAN_EXAMPLES: &str = "\
Examples:
  # an image and its builder stage, exported as OCI layouts
  ctxsbom scan oci:out/app.oci --stage builder=oci:out/builder.oci -f Containerfile --context .

  # straight from buildah's storage; base images are looked up there too
  ctxsbom scan containers-storage:localhost/app --stage builder=containers-storage:<image-id> \\
      --root /var/lib/containers/storage -o spdx-json=app.spdx.json -o table

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
    /// Trace every file of an image to its origin and write SBOMs.
    #[command(after_long_help = SCAN_EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// Explain, in words, where one path of a scanned image came from.
    Explain(ExplainArgs),
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
    /// The final image (the build's target stage).
    #[arg(value_name = "IMAGE")]
    pub image: String,
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
    /// provenance-json (default otherwise), spdx-json (SPDX 2.3), cyclonedx-json (CycloneDX 1.6).
    #[arg(short = 'o', long = "output", value_name = "FORMAT[=FILE]")]
    pub outputs: Vec<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Where layer indexes are cached [default: $XDG_CACHE_HOME/ctxsbom/layers].
    #[arg(long, value_name = "DIR", env = "CTXSBOM_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the layer index cache.
    #[arg(long)]
    pub no_cache: bool,
    /// No progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
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
        Command::Scan(a) => run_scan(*a),
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

fn run_scan(a: ScanArgs) -> Result<()> {
    let image: ImageRef = a.image.parse()?;
    let pair_refs = |list: &[String], flag: &str| -> Result<Vec<(String, ImageRef)>> {
        list.iter()
            .map(|s| {
                let (k, v) = key_value(s, flag)?;
                Ok((k, v.parse::<ImageRef>().with_context(|| format!("{flag} {s}"))?))
            })
            .collect()
    };
    let stages = pair_refs(&a.stages, "--stage")?;
    let images = pair_refs(&a.images, "--image")?;
    let build_args: HashMap<String, String> =
        a.build_args.iter().map(|s| key_value(s, "--build-arg")).collect::<Result<_>>()?;
    let containerfile = match &a.file {
        Some(f) => f.clone(),
        None => a
            .context
            .as_deref()
            .and_then(find_containerfile)
            .or_else(|| find_containerfile(Path::new(".")))
            .ok_or_else(|| anyhow!("no Containerfile given and none found\nhint: pass -f PATH/TO/Containerfile"))?,
    };
    let mut outputs: Vec<OutputSpec> = a.outputs.iter().map(|s| s.parse()).collect::<Result<_>>()?;
    if outputs.is_empty() {
        let format = if std::io::stdout().is_terminal() { Format::Table } else { Format::ProvenanceJson };
        outputs.push(OutputSpec { format, file: None });
    }
    let cache = if a.no_cache {
        LayerCache::new(None)
    } else {
        LayerCache::new(a.cache_dir.clone().or_else(LayerCache::default_dir))
    };
    let req = ScanRequest {
        image,
        stages,
        images,
        containerfile,
        context: a.context.clone(),
        build_args,
        target: a.target.clone(),
        build_id: a.build_id.clone(),
        storage: a.storage.opts(),
        cache,
        progress: Progress::new(a.quiet),
    };
    let prov = scan::scan(&req)?;
    output::write_all(&prov, &outputs)?;
    let table_on_stdout = outputs.iter().any(|o| o.format == Format::Table && o.file.is_none());
    if !a.quiet && !table_on_stdout {
        for w in &prov.warnings {
            eprintln!("warning: {w}");
        }
    }
    for o in &outputs {
        if let Some(f) = &o.file {
            if !a.quiet {
                eprintln!("wrote {}", f.display());
            }
        }
    }
    Ok(())
}
