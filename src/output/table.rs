//! `-o table`: per origin (stage, external image, build context), what reached the final image.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::provenance::model::Provenance;

pub fn render(p: &Provenance) -> String {
    #[derive(Default)]
    struct Row {
        paths: usize,
        files: usize,
        bytes: u64,
        verified: usize,
        ambiguous: usize,
    }
    let mut rows: BTreeMap<(u8, String), Row> = BTreeMap::new();
    for f in &p.files {
        let c = &f.origin.created_in;
        let key = if let Some(s) = &c.stage {
            let st = p.stages.iter().find(|x| &x.name == s);
            let what = if st.is_some_and(|x| x.target) { "own instructions" } else { "its instructions" };
            (0, format!("stage {s} ({what})"))
        } else if let Some(i) = &c.image {
            (1, format!("image {i}"))
        } else {
            (2, "build context".to_string())
        };
        let r = rows.entry(key).or_default();
        r.paths += 1;
        if f.kind == "file" || f.kind == "hardlink" {
            r.files += 1;
            r.bytes += f.size;
        }
        if f.origin.evidence == "content" {
            r.verified += 1;
        }
        if !f.origin.candidates.is_empty() {
            r.ambiguous += 1;
        }
    }
    let mut s = String::new();
    let name = p.image.name.as_deref().unwrap_or(&p.image.reference);
    let _ = writeln!(s, "{name}  {}", p.image.digest);
    if let Some(b) = &p.build_id {
        let _ = writeln!(s, "build {b}");
    }
    let _ = writeln!(s, "{} paths from {} stages\n", p.files.len(), p.stages.len());
    let _ = writeln!(
        s,
        "{:<48} {:>7} {:>7} {:>11} {:>9} {:>9}",
        "CREATED IN", "PATHS", "FILES", "BYTES", "VERIFIED", "AMBIGUOUS"
    );
    for ((_, k), r) in &rows {
        let _ = writeln!(
            s,
            "{:<48} {:>7} {:>7} {:>11} {:>9} {:>9}",
            k,
            r.paths,
            r.files,
            human(r.bytes),
            r.verified,
            r.ambiguous
        );
    }
    let mut arrived: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for f in &p.files {
        if let Some(c) = &f.origin.copied_from {
            let e = arrived.entry(c.describe()).or_default();
            e.0 += 1;
            e.1 += f.size;
        }
    }
    if !arrived.is_empty() {
        let _ = writeln!(s, "\n{:<48} {:>7} {:>11}", "COPIED FROM", "PATHS", "BYTES");
        for (k, (n, b)) in &arrived {
            let _ = writeln!(s, "{:<48} {:>7} {:>11}", k, n, human(*b));
        }
    }
    if !p.packages.is_empty() {
        let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for pk in &p.packages {
            let k = pk.origin.created_in.as_ref().map(|c| c.describe()).unwrap_or_else(|| "unknown".into());
            let e = by.entry(k).or_default();
            if pk.in_image {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let _ = writeln!(s, "\n{:<48} {:>9} {:>17}", "PACKAGES CREATED IN", "PACKAGES", "WITHOUT METADATA");
        for (k, (a, b)) in &by {
            let _ = writeln!(s, "{:<48} {:>9} {:>17}", k, a + b, b);
        }
    }
    for w in &p.warnings {
        let _ = writeln!(s, "\nwarning: {w}");
    }
    s
}

fn human(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}
