//! SPDX 2.3 JSON, file level, in the shapes Konflux's mobster writes: the image package that the
//! document DESCRIBES, one package per external image (the final stage's base is DESCENDANT_OF,
//! builder bases and `COPY --from` images are BUILD_TOOL_OF), `konflux:jsonencoded` annotations on
//! packages, and with `--spdx-files` every regular file with SHA-1 and SHA-256. Per-file origin goes
//! in the file's `comment` (mobster breaks on file annotations and on relationships that start from
//! a file).
//!
//! A typed model of our own: spdx-rs writes SPDX 2.2 shapes that fail the 2.3 validators.

use serde::Serialize;
use sha1::{Digest, Sha1};

use super::{root_base, split_tag, target_stage, timestamp, Options};
use crate::provenance::model::Provenance;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub spdx_version: &'static str,
    pub data_license: &'static str,
    #[serde(rename = "SPDXID")]
    pub spdxid: String,
    pub name: String,
    pub document_namespace: String,
    pub creation_info: CreationInfo,
    pub packages: Vec<Package>,
    pub files: Vec<File>,
    pub relationships: Vec<Relationship>,
}

#[derive(Serialize)]
pub struct CreationInfo {
    pub created: String,
    pub creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    #[serde(rename = "SPDXID")]
    pub spdxid: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_info: Option<String>,
    pub download_location: &'static str,
    pub files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_verification_code: Option<VerificationCode>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checksums: Vec<Checksum>,
    pub license_concluded: &'static str,
    pub license_declared: &'static str,
    pub copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_package_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationCode {
    pub package_verification_code_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checksum {
    pub algorithm: &'static str,
    pub checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRef {
    pub reference_category: &'static str,
    pub reference_type: &'static str,
    pub reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub annotator: &'static str,
    pub annotation_date: String,
    pub annotation_type: &'static str,
    pub comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct File {
    #[serde(rename = "SPDXID")]
    pub spdxid: String,
    pub file_name: String,
    pub checksums: Vec<Checksum>,
    pub license_concluded: &'static str,
    pub copyright_text: &'static str,
    pub comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    pub spdx_element_id: String,
    pub relationship_type: &'static str,
    pub related_spdx_element: String,
}

const JSONENCODED: &str = "Tool: konflux:jsonencoded";

impl Package {
    /// A package with nothing asserted beyond its identity.
    fn new(spdxid: String, name: String) -> Package {
        Package {
            spdxid,
            name,
            version_info: None,
            download_location: "NOASSERTION",
            files_analyzed: false,
            package_verification_code: None,
            checksums: Vec::new(),
            license_concluded: "NOASSERTION",
            license_declared: "NOASSERTION",
            copyright_text: "NOASSERTION",
            external_refs: Vec::new(),
            primary_package_purpose: None,
            annotations: Vec::new(),
        }
    }
}

fn purl_ref(purl: String) -> ExternalRef {
    ExternalRef { reference_category: "PACKAGE-MANAGER", reference_type: "purl", reference_locator: purl }
}

fn sha256(d: &crate::digest::Sha256Digest) -> Checksum {
    Checksum { algorithm: "SHA256", checksum_value: d.hex() }
}

/// `konflux:jsonencoded` annotations, one per `(name, value)`.
fn annotations<K: AsRef<str>, V: AsRef<str>>(now: &str, pairs: &[(K, V)]) -> Vec<Annotation> {
    pairs
        .iter()
        .map(|(k, v)| Annotation {
            annotator: JSONENCODED,
            annotation_date: now.to_string(),
            annotation_type: "OTHER",
            comment: prop(k.as_ref(), v.as_ref()),
        })
        .collect()
}

fn prop(name: &str, value: &str) -> String {
    serde_json::json!({ "name": name, "value": value }).to_string()
}

/// A package URL for an image as Konflux writes it: `pkg:oci/<name>@sha256:<hex>?arch=…&repository_url=…&tag=…`
/// (the colon of the digest left as is, as mobster and its release job spell it).
pub fn oci_purl(reference: &str, digest: &str, arch: Option<&str>) -> String {
    let r = reference.trim_start_matches("containers-storage:");
    let (repo, tag) = split_tag(r);
    let name = repo.rsplit('/').next().unwrap_or(repo).to_ascii_lowercase();
    let mut q = Vec::new();
    if let Some(a) = arch {
        q.push(format!("arch={a}"));
    }
    q.push(format!("repository_url={repo}"));
    if let Some(t) = tag {
        q.push(format!("tag={t}"));
    }
    format!("pkg:oci/{name}@{digest}?{}", q.join("&"))
}

/// The image package's SPDXID: `SPDXRef-image`, or in syft's shape syft's root name (which mobster
/// replaces with its own image package).
fn root_id(p: &Provenance, opts: &Options) -> String {
    if opts.syft_shape {
        spdx_id("DocumentRoot-Image", &opts.image_name(p))
    } else {
        "SPDXRef-image".into()
    }
}

fn spdx_id(prefix: &str, s: &str) -> String {
    let clean: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    format!("SPDXRef-{prefix}-{clean}")
}

pub fn document(p: &Provenance, opts: &Options) -> Document {
    let now = timestamp();
    let image_name = opts.image_name(p);
    let doc_name = format!("{}@{}", split_tag(image_name.trim_start_matches("containers-storage:")).0, p.image.digest);
    let safe: String =
        doc_name.chars().map(|c| if c.is_ascii_alphanumeric() || "./@:_-".contains(c) { c } else { '-' }).collect();
    let build_id = p.build_id.clone().unwrap_or_default();
    let final_stage = target_stage(p).unwrap_or_default().to_string();
    let root = root_id(p, opts);

    let mut files = Vec::new();
    let mut rels = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".into(),
        relationship_type: "DESCRIBES",
        related_spdx_element: root.clone(),
    }];
    let mut sha1s = Vec::new();
    for (n, f) in p.files.iter().enumerate().filter(|_| opts.files) {
        let (Some(s256), Some(s1)) = (f.sha256, f.sha1.as_ref()) else {
            continue;
        };
        sha1s.push(s1.clone());
        let o = &f.origin;
        let stage = o.created_in.stage.clone();
        let base = match &stage {
            Some(s) => root_base(p, s),
            None => o.created_in.image.clone(),
        };
        let comment = serde_json::json!({
            "ctxsbom:createdIn": o.created_in,
            "ctxsbom:copiedFrom": o.copied_from,
            "ctxsbom:stage": stage,
            "ctxsbom:base-image": base,
            "ctxsbom:build-id": p.build_id,
            "ctxsbom:evidence": o.evidence,
        });
        let id = format!("SPDXRef-File-{n}");
        files.push(File {
            spdxid: id.clone(),
            // syft's spelling (relative to the image root); SPDX forbids a leading `/`.
            file_name: f.path.trim_start_matches('/').to_string(),
            checksums: vec![
                Checksum { algorithm: "SHA1", checksum_value: s1.clone() },
                Checksum { algorithm: "SHA256", checksum_value: s256.hex() },
            ],
            license_concluded: "NOASSERTION",
            copyright_text: "NOASSERTION",
            comment: comment.to_string(),
        });
        rels.push(Relationship {
            spdx_element_id: root.clone(),
            relationship_type: "CONTAINS",
            related_spdx_element: id,
        });
    }
    sha1s.sort();
    let code = hex::encode(Sha1::digest(sha1s.concat().as_bytes()));

    let arch = p.image.architecture.as_deref();
    let mut image_ann = vec![("konflux:container:stage_name", final_stage.as_str())];
    if !build_id.is_empty() {
        image_ann.push(("ctxsbom:build-id", build_id.as_str()));
    }
    let builder = p.builder.as_ref().map(|b| (format!("{} {}", b.name, b.version), b.mode.clone()));
    if let Some((name, mode)) = &builder {
        image_ann.push(("ctxsbom:builder", name.as_str()));
        image_ann.push(("ctxsbom:builder-mode", mode.as_str()));
    }
    let mut packages = vec![Package {
        version_info: Some(p.image.digest.to_string()),
        files_analyzed: !files.is_empty(),
        package_verification_code: (!files.is_empty())
            .then_some(VerificationCode { package_verification_code_value: code }),
        checksums: vec![sha256(&p.image.digest)],
        external_refs: vec![purl_ref(oci_purl(&image_name, &p.image.digest.to_string(), arch))],
        primary_package_purpose: Some("CONTAINER"),
        // mobster drops a syft-style root; annotations on it would dangle.
        annotations: if opts.syft_shape { Vec::new() } else { annotations(&now, &image_ann) },
        ..Package::new(root.clone(), image_name.clone())
    }];

    // External images: the final stage's base, builder bases, COPY/mount sources.
    let final_base = target_stage(p).and_then(|s| root_base(p, s));
    let mut builder_idx = 0usize;
    for e in p.external_images.iter().filter(|_| !opts.syft_shape) {
        let id = spdx_id("image", &e.reference);
        let mut ann: Vec<(String, String)> = Vec::new();
        let is_parent = final_base.as_deref() == Some(e.reference.as_str());
        if is_parent {
            ann.push(("konflux:container:is_base_image".into(), "true".into()));
        }
        let stages_using: Vec<&str> = p
            .stages
            .iter()
            .filter(|s| !s.target && s.parent.is_none() && s.base == e.reference)
            .map(|s| s.name.as_str())
            .collect();
        if !stages_using.is_empty() {
            ann.push(("konflux:container:is_builder_image:for_stage".into(), builder_idx.to_string()));
            builder_idx += 1;
            for s in &stages_using {
                ann.push(("konflux:container:stage_name".into(), s.to_string()));
            }
        }
        if e.uses.iter().any(|u| u == "copy" || u == "mount") {
            ann.push((
                "konflux:container:is_builder_image:additional_builder_image".into(),
                "script-runner-image".into(),
            ));
        }
        if !build_id.is_empty() {
            ann.push(("ctxsbom:build-id".into(), build_id.clone()));
        }
        let name = opts.map_ref(&e.reference);
        packages.push(Package {
            version_info: e.digest.map(|d| d.to_string()),
            checksums: e.digest.iter().map(sha256).collect(),
            external_refs: e.digest.iter().map(|d| purl_ref(oci_purl(&name, &d.to_string(), arch))).collect(),
            primary_package_purpose: Some("CONTAINER"),
            annotations: annotations(&now, &ann),
            ..Package::new(id.clone(), name.clone())
        });
        if is_parent {
            rels.push(Relationship {
                spdx_element_id: "SPDXRef-image".into(),
                relationship_type: "DESCENDANT_OF",
                related_spdx_element: id.clone(),
            });
        }
        if !stages_using.is_empty() || e.uses.iter().any(|u| u == "copy" || u == "mount") {
            rels.push(Relationship {
                spdx_element_id: id,
                relationship_type: "BUILD_TOOL_OF",
                related_spdx_element: "SPDXRef-image".into(),
            });
        }
    }

    add_packages(p, opts, &now, &mut packages, &mut rels);

    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdxid: "SPDXRef-DOCUMENT".into(),
        name: doc_name,
        document_namespace: format!("https://ctxsbom.dev/spdxdocs/{safe}-{}", uuid::Uuid::new_v4()),
        creation_info: CreationInfo {
            created: now.clone(),
            creators: vec![format!("Tool: ctxsbom-{}", p.tool.version)],
        },
        packages,
        files,
        relationships: rels,
    }
}

/// Packages hang from where they came from, in mobster's shapes: the image CONTAINS what the
/// final stage added (and what came from the build context); the parent image CONTAINS what was
/// inherited; a builder base or external image CONTAINS what was copied from it; content a builder
/// stage made hangs from that stage's own `-intermediate` package, DESCENDANT_OF its base.
fn add_packages(p: &Provenance, opts: &Options, now: &str, packages: &mut Vec<Package>, rels: &mut Vec<Relationship>) {
    let root = root_id(p, opts);
    let build_id = p.build_id.clone().unwrap_or_default();
    let image_ids: std::collections::HashMap<&str, String> =
        p.external_images.iter().map(|e| (e.reference.as_str(), spdx_id("image", &e.reference))).collect();
    let final_stage = target_stage(p).unwrap_or_default().to_string();
    let mut intermediates: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let package_id = |n: usize| {
        format!("SPDXRef-Package-{n}-{}", spdx_id("", &p.packages[n].package.name).trim_start_matches("SPDXRef--"))
    };
    // A binary's modules and an archive's nested packages depend on its main package (as syft
    // says); mobster uses these edges to tell apart packages with the same purl.
    for (dep, main) in crate::provenance::packages::dependency_parents(&p.packages) {
        rels.push(Relationship {
            spdx_element_id: package_id(dep),
            relationship_type: "DEPENDENCY_OF",
            related_spdx_element: package_id(main),
        });
    }
    for (n, rec) in p.packages.iter().enumerate() {
        let id = package_id(n);
        let created = rec.origin.created_in.as_ref();
        let stage = created.and_then(|c| c.stage.clone());
        let base = match &stage {
            Some(s) => root_base(p, s),
            None => created.and_then(|c| c.image.clone()),
        };
        let origin = created.map(|c| serde_json::to_string(c).unwrap_or_default()).unwrap_or_else(|| "unknown".into());
        let mut ann: Vec<(&str, String)> = vec![("ctxsbom:origin", origin)];
        if let Some(s) = &stage {
            ann.push(("ctxsbom:stage", s.clone()));
        }
        if let Some(b) = &base {
            ann.push(("ctxsbom:base-image", b.clone()));
        }
        if !build_id.is_empty() {
            ann.push(("ctxsbom:build-id", build_id.clone()));
        }
        if !rec.in_image {
            ann.push(("ctxsbom:arrived-without-metadata", rec.arrived.join(" ")));
        }
        if !rec.package.licenses.is_empty() {
            ann.push(("ctxsbom:declared-licenses", rec.package.licenses.join(" ")));
        }
        packages.push(Package {
            version_info: Some(rec.package.version.clone()),
            external_refs: vec![purl_ref(rec.package.purl.clone())],
            annotations: annotations(now, &ann),
            ..Package::new(id.clone(), rec.package.name.clone())
        });
        // Who CONTAINS it.
        let holder = match (created, &stage) {
            _ if opts.syft_shape => root.clone(),
            (_, Some(s)) if *s != final_stage => {
                let entry = intermediates.entry(s.clone()).or_insert_with(|| {
                    format!("SPDXRef-stage-{}-intermediate", spdx_id("", s).trim_start_matches("SPDXRef--"))
                });
                entry.clone()
            }
            (Some(c), None) if c.image.is_some() => {
                image_ids.get(c.image.as_deref().unwrap_or_default()).cloned().unwrap_or_else(|| root.clone())
            }
            _ => root.clone(),
        };
        rels.push(Relationship { spdx_element_id: holder, relationship_type: "CONTAINS", related_spdx_element: id });
    }
    for (stage, id) in intermediates {
        let info = p.stages.iter().find(|s| s.name == stage);
        let index = info.map(|s| s.index.to_string()).unwrap_or_default();
        let mut ann = vec![
            ("konflux:container:is_intermediate_image:for_stage".to_string(), index),
            ("ctxsbom:stage".to_string(), stage.clone()),
        ];
        if !build_id.is_empty() {
            ann.push(("ctxsbom:build-id".into(), build_id.clone()));
        }
        let image = info.and_then(|s| s.image);
        packages.push(Package {
            version_info: image.map(|d| d.to_string()),
            checksums: image.iter().map(sha256).collect(),
            primary_package_purpose: Some("CONTAINER"),
            annotations: annotations(now, &ann),
            ..Package::new(id.clone(), format!("{stage} (intermediate stage)"))
        });
        if let Some(base) = root_base(p, &stage).and_then(|b| image_ids.get(b.as_str()).cloned()) {
            rels.push(Relationship {
                spdx_element_id: id,
                relationship_type: "DESCENDANT_OF",
                related_spdx_element: base,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_purls_like_mobster() {
        assert_eq!(
            oci_purl("quay.io/org/App:1.0", "sha256:ab", Some("amd64")),
            "pkg:oci/app@sha256:ab?arch=amd64&repository_url=quay.io/org/App&tag=1.0"
        );
        assert_eq!(
            oci_purl("localhost:5000/x", "sha256:cd", None),
            "pkg:oci/x@sha256:cd?repository_url=localhost:5000/x"
        );
    }
}
