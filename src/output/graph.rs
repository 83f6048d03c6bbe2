//! The build as a graph (`graph`: Mermaid, `graph-dot`: Graphviz DOT): base and external images,
//! stages, the build context; `FROM` edges, and COPY/ADD/mount edges labelled with how many files
//! of the final image (and packages) crossed them.

use std::collections::BTreeMap;

use crate::provenance::model::{Place, Provenance};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Mermaid,
    Dot,
}

#[derive(Default)]
struct Edge {
    how: BTreeMap<String, usize>,
    files: usize,
    packages: usize,
}

fn node_of(place: &Place) -> Option<String> {
    if let Some(s) = &place.stage {
        Some(format!("stage:{s}"))
    } else if let Some(i) = &place.image {
        Some(format!("image:{i}"))
    } else {
        place.context.as_ref().map(|_| "context".to_string())
    }
}

fn id(node: &str) -> String {
    let mut s: String = node.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    s.insert(0, 'n');
    s
}

pub fn render(p: &Provenance, style: Style) -> String {
    // Nodes with their labels, in a stable order: images, context, stages.
    let mut nodes: BTreeMap<String, String> = BTreeMap::new();
    for e in &p.external_images {
        let short = e.digest.map(|d| format!("\n{}", &d.to_string()[..19])).unwrap_or_default();
        nodes.insert(format!("image:{}", e.reference), format!("{}{short}", e.reference));
    }
    for s in &p.stages {
        let label = if s.target { format!("stage {} (final image)", s.name) } else { format!("stage {}", s.name) };
        nodes.insert(format!("stage:{}", s.name), label);
    }
    let mut from: Vec<(String, String)> = Vec::new();
    for s in &p.stages {
        let base = match &s.parent {
            Some(parent) => Some(format!("stage:{parent}")),
            None if s.base.eq_ignore_ascii_case("scratch") => None,
            None => Some(format!("image:{}", s.base)),
        };
        if let Some(b) = base {
            nodes.entry(b.clone()).or_insert_with(|| b.trim_start_matches("image:").to_string());
            from.push((b, format!("stage:{}", s.name)));
        }
    }
    let mut edges: BTreeMap<(String, String), Edge> = BTreeMap::new();
    for f in &p.files {
        for hop in &f.origin.via {
            if !matches!(hop.how.as_str(), "copy" | "add" | "mount" | "heredoc") {
                continue;
            }
            let Some(src) = hop.from.as_ref().and_then(node_of) else { continue };
            let e = edges.entry((src, format!("stage:{}", hop.stage))).or_default();
            e.files += 1;
            *e.how.entry(hop.how.to_uppercase()).or_default() += 1;
        }
    }
    let final_stage = p.stages.iter().find(|s| s.target).map(|s| format!("stage:{}", s.name));
    for rec in &p.packages {
        let (Some(src), Some(dst)) = (rec.origin.copied_from.as_ref().and_then(node_of), final_stage.clone()) else {
            continue;
        };
        edges.entry((src, dst)).or_default().packages += 1;
    }
    for (src, dst) in edges.keys() {
        for n in [src, dst] {
            nodes.entry(n.clone()).or_insert_with(|| {
                if n == "context" {
                    "build context".to_string()
                } else {
                    n.trim_start_matches("image:").to_string()
                }
            });
        }
    }
    let label = |e: &Edge| {
        let how: Vec<&str> = e.how.keys().map(String::as_str).collect();
        let how = if how.is_empty() { "COPY".to_string() } else { how.join("/") };
        let mut l = format!("{how} {} file{}", e.files, if e.files == 1 { "" } else { "s" });
        if e.packages > 0 {
            l.push_str(&format!(", {} package{}", e.packages, if e.packages == 1 { "" } else { "s" }));
        }
        l
    };
    let mut out = String::new();
    let title = format!("build {}", p.build_id.as_deref().unwrap_or("(no build ID)"));
    match style {
        Style::Mermaid => {
            out.push_str(&format!("---\ntitle: {title}\n---\nflowchart LR\n"));
            for (n, l) in &nodes {
                let l = l.replace('"', "#quot;").replace('\n', "<br/>");
                let shape = if n.starts_with("stage:") { format!("[\"{l}\"]") } else { format!("[(\"{l}\")]") };
                out.push_str(&format!("  {}{shape}\n", id(n)));
            }
            for (b, s) in &from {
                out.push_str(&format!("  {} -->|FROM| {}\n", id(b), id(s)));
            }
            for ((a, b), e) in &edges {
                out.push_str(&format!("  {} -->|\"{}\"| {}\n", id(a), label(e), id(b)));
            }
        }
        Style::Dot => {
            let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
            out.push_str(&format!("digraph build {{\n  label={};\n  rankdir=LR;\n", q(&title)));
            for (n, l) in &nodes {
                let shape = if n.starts_with("stage:") { "box" } else { "cylinder" };
                out.push_str(&format!("  {} [label={}, shape={shape}];\n", id(n), q(l)));
            }
            for (b, s) in &from {
                out.push_str(&format!("  {} -> {} [label=\"FROM\", style=dashed];\n", id(b), id(s)));
            }
            for ((a, b), e) in &edges {
                out.push_str(&format!("  {} -> {} [label={}];\n", id(a), id(b), q(&label(e))));
            }
            out.push_str("}\n");
        }
    }
    out
}
