//! Konflux's build-step files, so ctxsbom drops in where capo and buildprobe run:
//! `capo-json` (capo's `builder-metadata.json`, mobster's `--build-metadata-path`) and
//! `buildprobe-yaml` (mobster 2.2+'s `--metadata-path`).
//!
//! Unlike capo, the origins come from ctxsbom's file-level provenance: one origin per package
//! (mobster keeps the last it sees), `checksums` from the real file hashes, binary-only copies
//! included, `RUN --mount=type=bind,from=` and cascades through stages followed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{root_base, split_tag, target_stage, Options};
use crate::provenance::model::{PackageRecord, Provenance};

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct CapoDoc {
    pub packages: Vec<CapoPackage>,
}

#[derive(Serialize, Debug, PartialEq, Eq, Clone)]
pub struct CapoPackage {
    pub purl: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checksums: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependency_of_purl: Option<String>,
    pub origin_type: &'static str,
    pub pullspec: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_alias: Option<String>,
}

/// `repo:tag` as buildprobe writes it (`:latest` when the reference has no tag).
fn with_tag(r: &str) -> String {
    let (repo, tag) = split_tag(r);
    format!("{repo}:{}", tag.unwrap_or("latest"))
}

/// `registry/repo@sha256:<hex>` of an external image, as mobster derives it from the buildprobe
/// YAML; `None` when its digest is unknown.
fn pullspec(p: &Provenance, opts: &Options, reference: &str) -> Option<String> {
    let e = p.external_images.iter().find(|e| e.reference == reference)?;
    Some(format!("{}@{}", split_tag(&opts.map_ref(reference)).0, e.digest?))
}

/// What every package's origin is judged against.
struct Build<'a> {
    final_stage: &'a str,
    final_base: Option<String>,
    /// Root bases of the non-final stages.
    builder_bases: BTreeSet<String>,
}

impl<'a> Build<'a> {
    fn of(p: &'a Provenance) -> Option<Build<'a>> {
        let final_stage = target_stage(p)?;
        Some(Build {
            final_stage,
            final_base: root_base(p, final_stage),
            builder_bases: p.stages.iter().filter(|s| !s.target).filter_map(|s| root_base(p, &s.name)).collect(),
        })
    }
}

/// The origin of one package in capo's terms, or `None` for content mobster attributes otherwise
/// (the parent image's, the final stage's own, the build context's).
fn origin(
    p: &Provenance,
    b: &Build,
    opts: &Options,
    rec: &PackageRecord,
) -> Option<(&'static str, String, Option<String>)> {
    let created = rec.origin.created_in.as_ref()?;
    let copied_stage = rec.origin.copied_from.as_ref().and_then(|c| c.stage.clone());
    if let Some(s) = &created.stage {
        if s == b.final_stage {
            return None;
        }
        // Made by a builder stage's own instructions: intermediate content of its root base.
        let base = root_base(p, s)?;
        return Some(("intermediate", pullspec(p, opts, &base)?, Some(s.clone())));
    }
    let image = created.image.as_ref()?;
    match copied_stage {
        // Inherited by a builder stage from its base, then copied.
        Some(s) if b.builder_bases.contains(image) => Some(("builder", pullspec(p, opts, image)?, Some(s))),
        Some(_) => None,
        None => {
            if b.final_base.as_deref() == Some(image.as_str()) {
                return None;
            }
            let e = p.external_images.iter().find(|e| &e.reference == image)?;
            e.uses.iter().any(|u| u == "copy" || u == "mount").then_some(())?;
            Some(("external", pullspec(p, opts, image)?, None))
        }
    }
}

pub fn capo(p: &Provenance, opts: &Options) -> CapoDoc {
    let Some(build) = Build::of(p) else { return CapoDoc { packages: Vec::new() } };
    let parents = crate::provenance::packages::dependency_parents(&p.packages);
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for rec in &p.packages {
        *count.entry(rec.package.purl.as_str()).or_default() += 1;
    }
    let digests: BTreeMap<&str, String> =
        p.files.iter().filter_map(|f| f.sha256.map(|d| (f.path.as_str(), d.to_string()))).collect();
    let mut seen: BTreeSet<(String, Option<String>)> = BTreeSet::new();
    let mut out: Vec<CapoPackage> = Vec::new();
    for (i, rec) in p.packages.iter().enumerate() {
        let Some((origin_type, pullspec, stage_alias)) = origin(p, &build, opts, rec) else { continue };
        let purl = rec.package.purl.clone();
        let dependency_of_purl = (count[purl.as_str()] > 1)
            .then(|| parents.get(&i).map(|m| p.packages[*m].package.purl.clone()))
            .flatten()
            .filter(|d| *d != purl);
        let files = if rec.in_image { &rec.package.files } else { &rec.arrived };
        let mut checksums: Vec<String> = files
            .iter()
            .filter_map(|f| digests.get(f.as_str()).cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        checksums.truncate(64);
        // One origin per package: the first record of a purl wins, the same way every time.
        if seen.insert((purl.clone(), dependency_of_purl.clone())) {
            out.push(CapoPackage { purl, checksums, dependency_of_purl, origin_type, pullspec, stage_alias });
        }
    }
    CapoDoc { packages: out }
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct ProbeImage {
    pub pullspec: String,
    pub digest: String,
}

/// buildprobe's YAML, in the order and shape mobster's `SBOMMetadata` reads.
pub fn buildprobe(p: &Provenance, opts: &Options) -> (String, Vec<String>) {
    let mut warnings = Vec::new();
    let mut y = String::new();
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let entry = |indent: &str, first: &str, i: &ProbeImage| {
        format!("{first}pullspec: {}\n{indent}digest: {}\n", q(&i.pullspec), q(&i.digest))
    };
    let image = ProbeImage { pullspec: with_tag(&opts.image_name(p)), digest: p.image.digest.to_string() };
    y.push_str("image:\n");
    y.push_str(&entry("  ", "  ", &image));
    let ext = |r: &str, warnings: &mut Vec<String>| -> Option<ProbeImage> {
        let e = p.external_images.iter().find(|e| e.reference == r);
        match e.and_then(|e| e.digest) {
            Some(d) => Some(ProbeImage { pullspec: with_tag(&opts.map_ref(r)), digest: d.to_string() }),
            None => {
                warnings.push(format!("buildprobe-yaml: no digest for {r}: left out"));
                None
            }
        }
    };
    let final_stage = target_stage(p).unwrap_or_default();
    // FROM scratch (or an unknown base) has no base_image at all: never an empty one.
    if let Some(b) = root_base(p, final_stage).and_then(|b| ext(&b, &mut warnings)) {
        y.push_str("base_image:\n");
        y.push_str(&entry("  ", "  ", &b));
    }
    let mut builders: Vec<String> = Vec::new();
    for s in p.stages.iter().filter(|s| !s.target && s.parent.is_none()) {
        if let Some(b) = root_base(p, &s.name) {
            if !builders.contains(&b) {
                builders.push(b);
            }
        }
    }
    let list = |name: &str, refs: &[String], y: &mut String, warnings: &mut Vec<String>| {
        let items: Vec<ProbeImage> = refs.iter().filter_map(|r| ext(r, warnings)).collect();
        if items.is_empty() {
            y.push_str(&format!("{name}: []\n"));
        } else {
            y.push_str(&format!("{name}:\n"));
            for i in &items {
                y.push_str(&entry("    ", "  - ", i));
            }
        }
    };
    list("builder_base_images", &builders, &mut y, &mut warnings);
    let extra: Vec<String> = p
        .external_images
        .iter()
        .filter(|e| e.uses.iter().any(|u| u == "copy" || u == "mount"))
        .filter(|e| !builders.contains(&e.reference))
        .map(|e| e.reference.clone())
        .collect();
    list("extra_images", &extra, &mut y, &mut warnings);
    (y, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prov(final_base: &str) -> Provenance {
        serde_json::from_value(serde_json::json!({
            "buildId": null,
            "image": {"ref": "containers-storage:localhost/app", "name": "localhost/app:1",
                      "digest": format!("sha256:{}", "a".repeat(64)), "id": format!("sha256:{}", "b".repeat(64))},
            "stages": [
                {"index": 0, "name": "builder", "base": "localhost/tools", "parent": null, "image": null},
                {"index": 1, "name": "1", "base": final_base, "parent": null, "image": null, "target": true}
            ],
            "externalImages": [
                {"ref": "localhost/tools", "digest": format!("sha256:{}", "c".repeat(64)), "uses": ["base"]},
                {"ref": "localhost/base:9", "digest": format!("sha256:{}", "d".repeat(64)), "uses": ["base"]}
            ],
            "files": [], "packages": [], "warnings": [],
            "tool": {"name": "ctxsbom", "version": "0"}
        }))
        .unwrap()
    }

    fn record(purl: &str, created: serde_json::Value, copied: serde_json::Value) -> PackageRecord {
        serde_json::from_value(serde_json::json!({
            "name": purl, "version": "1", "type": "deb", "purl": purl, "location": "/x", "foundBy": "t",
            "inImage": true, "origin": {"createdIn": created, "copiedFrom": copied}
        }))
        .unwrap()
    }

    #[test]
    fn capo_origins_one_per_package() {
        use serde_json::json;
        let mut p = prov("localhost/base:9");
        p.external_images.push(
            serde_json::from_value(json!({
                "ref": "localhost/ext:1", "digest": format!("sha256:{}", "e".repeat(64)), "uses": ["copy"]
            }))
            .unwrap(),
        );
        p.packages = vec![
            record("pkg:a", json!({"stage": "builder"}), json!({"stage": "builder"})),
            record("pkg:b", json!({"image": "localhost/tools"}), json!({"stage": "builder"})),
            record("pkg:c", json!({"image": "localhost/ext:1"}), json!({"image": "localhost/ext:1"})),
            record("pkg:d", json!({"image": "localhost/base:9"}), json!(null)),
            record("pkg:e", json!({"stage": "1"}), json!(null)),
            record("pkg:f", json!({"context": "app"}), json!({"context": "app/x"})),
            record("pkg:a", json!({"image": "localhost/tools"}), json!({"stage": "builder"})),
        ];
        let opts = Options { pullspec_map: vec![("localhost".into(), "quay.io/o".into())], ..Default::default() };
        let got: Vec<(String, &str, String, Option<String>)> =
            capo(&p, &opts).packages.into_iter().map(|c| (c.purl, c.origin_type, c.pullspec, c.stage_alias)).collect();
        let tools = format!("quay.io/o/tools@sha256:{}", "c".repeat(64));
        assert_eq!(
            got,
            vec![
                ("pkg:a".to_string(), "intermediate", tools.clone(), Some("builder".to_string())),
                ("pkg:b".to_string(), "builder", tools, Some("builder".to_string())),
                ("pkg:c".to_string(), "external", format!("quay.io/o/ext@sha256:{}", "e".repeat(64)), None),
            ],
            "parent, final-stage and context content are left to mobster's other steps; one origin per purl"
        );
    }

    #[test]
    fn buildprobe_leaves_out_a_scratch_base_and_maps_names() {
        let opts =
            Options { pullspec_map: vec![("localhost".into(), "registry.example.local".into())], ..Default::default() };
        let (y, w) = buildprobe(&prov("scratch"), &opts);
        assert!(w.is_empty(), "{w:?}");
        assert!(!y.contains("base_image:\n"), "{y}");
        assert!(!y.contains("\"\""), "never an empty string: {y}");
        assert!(y.starts_with("image:\n  pullspec: \"registry.example.local/app:1\"\n"), "{y}");
        assert!(
            y.contains(
                "builder_base_images:\n  - pullspec: \"registry.example.local/tools:latest\"\n    digest: \"sha256:ccc"
            ),
            "{y}"
        );
        let (y, _) = buildprobe(&prov("localhost/base:9"), &opts);
        assert!(
            y.contains("base_image:\n  pullspec: \"registry.example.local/base:9\"\n  digest: \"sha256:ddd"),
            "{y}"
        );
    }

    #[test]
    fn tags() {
        assert_eq!(split_tag("quay.io/a/b:1.0"), ("quay.io/a/b", Some("1.0")));
        assert_eq!(split_tag("localhost:5000/b"), ("localhost:5000/b", None));
        assert_eq!(split_tag("quay.io/a/b@sha256:ab"), ("quay.io/a/b", None));
        assert_eq!(with_tag("localhost:5000/b"), "localhost:5000/b:latest");
        assert_eq!(with_tag("quay.io/a/b:1"), "quay.io/a/b:1");
    }
}
