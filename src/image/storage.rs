//! containers-storage access through the builder's own tools, always with argument vectors.
//!
//! An image in containers-storage is exported uncompressed with `buildah push -D REF dir:TMP`
//! (which keeps the stored manifest byte for byte, so its digest is the storage digest), or with
//! `skopeo copy` when buildah is absent. The storage flags (`--root`, `--runroot`,
//! `--storage-driver`) are passed to every such command.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Where containers-storage lives; empty fields mean the tools' defaults.
#[derive(Clone, Debug, Default)]
pub struct StorageOpts {
    pub root: Option<PathBuf>,
    pub runroot: Option<PathBuf>,
    pub driver: Option<String>,
}

impl StorageOpts {
    /// The global flags buildah and podman take before their subcommand.
    pub fn buildah_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(r) = &self.root {
            a.extend(["--root".to_string(), r.display().to_string()]);
        }
        if let Some(r) = &self.runroot {
            a.extend(["--runroot".to_string(), r.display().to_string()]);
        }
        if let Some(d) = &self.driver {
            a.extend(["--storage-driver".to_string(), d.clone()]);
        }
        a
    }

    /// `containers-storage:[driver@root+runroot]REF`, skopeo's spelling of the same store.
    fn skopeo_ref(&self, reference: &str) -> String {
        match (&self.root, &self.runroot) {
            (Some(root), Some(run)) => format!(
                "containers-storage:[{}@{}+{}]{reference}",
                self.driver.as_deref().unwrap_or("overlay"),
                root.display(),
                run.display()
            ),
            _ => format!("containers-storage:{reference}"),
        }
    }
}

pub fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

/// Exports `reference` to a fresh temporary `dir:` layout.
pub fn export(reference: &str, storage: &StorageOpts) -> Result<tempfile::TempDir> {
    let tmp = tempfile::Builder::new().prefix("ctxsbom-export-").tempdir().context("creating a temporary directory")?;
    let dest = format!("dir:{}", tmp.path().display());
    let mut cmd;
    if which("buildah").is_some() {
        cmd = Command::new("buildah");
        cmd.args(storage.buildah_args()).args(["push", "--quiet", "-D", reference, &dest]);
    } else if which("skopeo").is_some() {
        cmd = Command::new("skopeo");
        cmd.args(["copy", "--quiet", &storage.skopeo_ref(reference), &dest]);
    } else {
        bail!(
            "reading containers-storage:{reference} needs buildah or skopeo, and neither is on PATH\nhint: apt-get install buildah (or dnf install buildah), or export the image yourself and pass oci:DIR"
        );
    }
    let out = cmd.output().with_context(|| format!("running {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "exporting {reference} from containers-storage failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(tmp)
}
