//! `ctxsbom explain PATH --provenance FILE`: one path's origin chain, in words.

use std::fmt::Write;

use anyhow::{anyhow, Result};

use crate::provenance::model::{FileRecord, Provenance};

pub fn explain(p: &Provenance, path: &str) -> Result<String> {
    let want = crate::paths::normalize(path)?;
    let f: &FileRecord = p.files.iter().find(|f| f.path == want).ok_or_else(|| {
        anyhow!(
            "{want} is not in the image {} (deleted, or never there)",
            p.image.name.as_deref().unwrap_or(&p.image.reference)
        )
    })?;
    let mut s = String::new();
    let what = match f.sha256 {
        Some(d) => format!("{} ({} bytes, {})", f.kind, f.size, d),
        None => f.kind.clone(),
    };
    let _ = writeln!(s, "{want}: {what}, written by layer {} of the final image", f.layer);
    for (i, h) in f.origin.via.iter().enumerate() {
        let line = h.line.map(|l| format!(" (Containerfile line {l})")).unwrap_or_default();
        let from = h.from.as_ref().map(|pl| {
            let at = pl.path.as_deref().map(|x| format!(" at {x}")).unwrap_or_default();
            format!("{}{at}", pl.describe())
        });
        let step = match (h.how.as_str(), from) {
            ("inherited", Some(f)) => format!("inherited from its base, {f}"),
            ("copy", Some(f)) => format!("copied by COPY{line} from {f}"),
            ("add", Some(f)) => format!("added by ADD{line} from {f}"),
            ("copy" | "add", None) => format!("created as a parent directory by {}{line}", h.how.to_uppercase()),
            ("mount", Some(f)) => {
                format!("copied by a RUN{line} from its --mount of {f} (same content)")
            }
            ("run", _) => format!("written by RUN{line}"),
            ("heredoc", _) => format!("written inline by a heredoc{line}"),
            ("layer", _) => "written by the stage's own layer; no instruction explains it".to_string(),
            (other, f) => format!("{other} {}", f.unwrap_or_default()),
        };
        let _ = writeln!(s, "{}in stage {}, {} {step}", "  ".repeat(i + 1), h.stage, h.path);
    }
    let _ = writeln!(s, "created in: {}", f.origin.created_in.describe());
    let _ = writeln!(
        s,
        "evidence: {}",
        match f.origin.evidence.as_str() {
            "content" => "content hashes match at every hop",
            "instruction" => "Containerfile instructions only (content not available to compare)",
            "layer" => "the layer that wrote it",
            _ => "none: the instructions do not explain this content",
        }
    );
    if !f.origin.candidates.is_empty() {
        let _ = writeln!(s, "the same content is also in:");
        for c in &f.origin.candidates {
            let _ =
                writeln!(s, "  {}{}", c.describe(), c.path.as_deref().map(|p| format!(" at {p}")).unwrap_or_default());
        }
    }
    Ok(s)
}
