//! CycloneDX 1.6 JSON: the image as `metadata.component`; one `container` component per external
//! image; one `library` component per package with the properties `ctxsbom:stage`,
//! `ctxsbom:origin`, `ctxsbom:base-image`, `ctxsbom:build-id` and the files it owns (or that
//! arrived without it) as `evidence.occurrences`; with `--spdx-files`, one `file` component per
//! regular file. The build is the `formulation`: one formula per stage, with the stage image, its
//! base, and what it contributed to the final image.
//!
//! A typed model of our own: cyclonedx-bom stops at CycloneDX 1.5.

use serde::Serialize;

use std::collections::BTreeMap;

use super::{root_base, timestamp, Options};
use crate::provenance::model::{Place, Provenance};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    pub bom_format: &'static str,
    pub spec_version: &'static str,
    pub serial_number: String,
    pub version: u32,
    pub metadata: Metadata,
    pub components: Vec<Component>,
    /// The image depends on the packages in it; a binary's or archive's main package on the
    /// modules and nested packages it carries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub formulation: Vec<Formula>,
}

#[derive(Serialize)]
pub struct Dependency {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(rename = "dependsOn")]
    pub depends_on: Vec<String>,
}

/// One stage of the build.
#[derive(Serialize)]
pub struct Formula {
    #[serde(rename = "bom-ref")]
    pub bom_ref: String,
    pub components: Vec<Component>,
    pub workflows: Vec<Workflow>,
    pub properties: Vec<Property>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    #[serde(rename = "bom-ref")]
    pub bom_ref: String,
    pub uid: String,
    pub name: String,
    pub description: String,
    pub task_types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Io>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Io>,
}

/// A workflow input or output: a reference to a component of this document.
#[derive(Serialize)]
pub struct Io {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub resource: Ref,
}

#[derive(Serialize)]
pub struct Ref {
    #[serde(rename = "ref")]
    pub reference: String,
}

#[derive(Serialize)]
pub struct Metadata {
    pub timestamp: String,
    pub tools: Tools,
    pub component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Serialize)]
pub struct Tools {
    pub components: Vec<Component>,
}

#[derive(Serialize, Default)]
pub struct Component {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

#[derive(Serialize)]
pub struct LicenseChoice {
    pub license: License,
}

#[derive(Serialize)]
pub struct License {
    pub name: String,
}

#[derive(Serialize)]
pub struct Evidence {
    pub occurrences: Vec<Occurrence>,
}

#[derive(Serialize)]
pub struct Occurrence {
    pub location: String,
}

#[derive(Serialize)]
pub struct Hash {
    pub alg: &'static str,
    pub content: String,
}

#[derive(Serialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

fn prop(n: &str, v: impl Into<String>) -> Property {
    Property { name: n.to_string(), value: v.into() }
}

fn image_ref(r: &str) -> String {
    format!("image:{r}")
}

fn stage_ref(s: &str) -> String {
    format!("stage:{s}")
}

/// `ctxsbom:stage` and `ctxsbom:base-image` of content made in `created`.
fn place_props(p: &Provenance, created: Option<&Place>) -> Vec<Property> {
    let mut props = Vec::new();
    match created {
        Some(Place { stage: Some(s), .. }) => {
            props.push(prop("ctxsbom:stage", s.clone()));
            if let Some(b) = root_base(p, s) {
                props.push(prop("ctxsbom:base-image", b));
            }
        }
        Some(Place { image: Some(i), .. }) => props.push(prop("ctxsbom:base-image", i.clone())),
        _ => {}
    }
    props.push(prop(
        "ctxsbom:origin",
        created.map(|c| serde_json::to_string(c).unwrap_or_default()).unwrap_or_else(|| "unknown".into()),
    ));
    if let Some(b) = &p.build_id {
        props.push(prop("ctxsbom:build-id", b.clone()));
    }
    props
}

pub fn document(p: &Provenance, opts: &Options) -> Bom {
    let arch = p.image.architecture.as_deref();
    let image_name = opts.image_name(p);
    let mut meta_props = vec![];
    if let Some(b) = &p.build_id {
        meta_props.push(prop("ctxsbom:build-id", b.clone()));
    }
    if let Some(b) = &p.builder {
        meta_props.push(prop("ctxsbom:builder", format!("{} {}", b.name, b.version)));
        meta_props.push(prop("ctxsbom:builder-mode", b.mode.clone()));
    }
    let mut components = Vec::new();
    for e in &p.external_images {
        let name = opts.map_ref(&e.reference);
        components.push(Component {
            kind: "container",
            bom_ref: Some(image_ref(&e.reference)),
            version: e.digest.map(|d| d.to_string()),
            purl: e.digest.map(|d| super::spdx::oci_purl(&name, &d.to_string(), arch)),
            hashes: e.digest.iter().map(|d| Hash { alg: "SHA-256", content: d.hex() }).collect(),
            properties: e.uses.iter().map(|u| prop("ctxsbom:use", u.clone())).collect(),
            name,
            ..Default::default()
        });
    }
    // Packages, and which stage made each (for the formulation's outputs).
    let mut made_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let package_ref = |n: usize| format!("package:{n}:{}", p.packages[n].package.purl);
    let parents = crate::provenance::packages::dependency_parents(&p.packages);
    let mut dependencies = vec![Dependency {
        reference: "image".into(),
        depends_on: (0..p.packages.len())
            .filter(|n| p.packages[*n].in_image && !parents.contains_key(n))
            .map(package_ref)
            .collect(),
    }];
    let mut children: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (dep, main) in &parents {
        children.entry(*main).or_default().push(package_ref(*dep));
    }
    dependencies.extend(children.into_iter().map(|(m, d)| Dependency { reference: package_ref(m), depends_on: d }));
    for (n, rec) in p.packages.iter().enumerate() {
        let pk = &rec.package;
        let bom_ref = package_ref(n);
        let created = rec.origin.created_in.as_ref();
        if let Some(s) = created.and_then(|c| c.stage.as_ref()) {
            made_by.entry(s.clone()).or_default().push(bom_ref.clone());
        }
        let mut props = place_props(p, created);
        if let Some(c) = &rec.origin.copied_from {
            props.push(prop("ctxsbom:copied-from", serde_json::to_string(c).unwrap_or_default()));
        }
        for m in &rec.origin.mixed {
            props.push(prop("ctxsbom:mixed-origin", format!("{} files from {}", m.files, m.created_in.describe())));
        }
        props.push(prop("ctxsbom:in-image", rec.in_image.to_string()));
        props.push(prop("ctxsbom:package-type", pk.kind.clone()));
        props.push(prop("ctxsbom:found-by", pk.found_by.clone()));
        props.push(prop("ctxsbom:location", pk.location.clone()));
        let files = if rec.in_image { &pk.files } else { &rec.arrived };
        components.push(Component {
            kind: "library",
            bom_ref: Some(bom_ref),
            name: pk.name.clone(),
            version: Some(pk.version.clone()),
            purl: Some(pk.purl.clone()),
            licenses: pk.licenses.iter().map(|l| LicenseChoice { license: License { name: l.clone() } }).collect(),
            properties: props,
            evidence: (!files.is_empty())
                .then(|| Evidence { occurrences: files.iter().map(|f| Occurrence { location: f.clone() }).collect() }),
            ..Default::default()
        });
    }
    if opts.files {
        for f in &p.files {
            let (Some(s256), Some(s1)) = (f.sha256, f.sha1.as_ref()) else {
                continue;
            };
            let o = &f.origin;
            let mut props = place_props(p, Some(&o.created_in));
            if let Some(c) = &o.copied_from {
                props.push(prop("ctxsbom:copied-from", serde_json::to_string(c).unwrap_or_default()));
            }
            props.push(prop("ctxsbom:evidence", o.evidence.clone()));
            components.push(Component {
                kind: "file",
                bom_ref: Some(format!("file:{}", f.path)),
                name: f.path.clone(),
                hashes: vec![Hash { alg: "SHA-256", content: s256.hex() }, Hash { alg: "SHA-1", content: s1.clone() }],
                properties: props,
                ..Default::default()
            });
        }
    }
    Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        version: 1,
        metadata: Metadata {
            timestamp: timestamp(),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: "ctxsbom".into(),
                    version: Some(p.tool.version.clone()),
                    ..Default::default()
                }],
            },
            component: Component {
                kind: "container",
                bom_ref: Some("image".into()),
                name: image_name.clone(),
                version: Some(p.image.digest.to_string()),
                purl: Some(super::spdx::oci_purl(&image_name, &p.image.digest.to_string(), arch)),
                hashes: vec![Hash { alg: "SHA-256", content: p.image.digest.hex() }],
                ..Default::default()
            },
            properties: meta_props,
        },
        components,
        dependencies,
        formulation: formulation(p, &made_by),
    }
}

/// One formula per stage: the stage image as a component, a workflow whose input is the stage's
/// base (an external image's component, or the parent stage's image) and whose outputs are the
/// packages the stage made that reached the final image; files and bytes it contributed as
/// properties.
fn formulation(p: &Provenance, made_by: &BTreeMap<String, Vec<String>>) -> Vec<Formula> {
    let mut contributed: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for f in &p.files {
        if let Some(s) = &f.origin.created_in.stage {
            let c = contributed.entry(s.as_str()).or_default();
            c.0 += 1;
            if f.kind == "file" || f.kind == "hardlink" {
                c.1 += f.size;
            }
        }
    }
    let build = p.build_id.clone().unwrap_or_else(|| "unknown-build".into());
    p.stages
        .iter()
        .map(|st| {
            let sref = stage_ref(&st.name);
            let input = match &st.parent {
                Some(parent) => Some(stage_ref(parent)),
                None if st.base.eq_ignore_ascii_case("scratch") => None,
                None => Some(image_ref(&st.base)),
            };
            let (files, bytes) = contributed.get(st.name.as_str()).copied().unwrap_or_default();
            let packages = made_by.get(&st.name).cloned().unwrap_or_default();
            let mut props = vec![
                prop("ctxsbom:stage", st.name.clone()),
                prop("ctxsbom:stage-index", st.index.to_string()),
                prop("ctxsbom:base", st.base.clone()),
                prop("ctxsbom:files-contributed", files.to_string()),
                prop("ctxsbom:bytes-contributed", bytes.to_string()),
                prop("ctxsbom:packages-contributed", packages.len().to_string()),
                prop("ctxsbom:final-stage", st.target.to_string()),
            ];
            if let Some(parent) = &st.parent {
                props.push(prop("ctxsbom:parent-stage", parent.clone()));
            }
            if let Some(b) = root_base(p, &st.name) {
                props.push(prop("ctxsbom:base-image", b));
            }
            if let Some(b) = &p.build_id {
                props.push(prop("ctxsbom:build-id", b.clone()));
            }
            let mut outputs: Vec<Io> = vec![Io { kind: Some("artifact"), resource: Ref { reference: sref.clone() } }];
            outputs.extend(packages.into_iter().map(|r| Io { kind: Some("artifact"), resource: Ref { reference: r } }));
            Formula {
                bom_ref: format!("formula:{}", st.name),
                components: vec![Component {
                    kind: "container",
                    bom_ref: Some(sref.clone()),
                    name: format!("stage {}", st.name),
                    version: st.image.map(|d| d.to_string()),
                    description: Some(if st.target {
                        "the final stage: its image is the built image".to_string()
                    } else {
                        format!("intermediate stage {} of build {build}", st.index)
                    }),
                    hashes: st.image.iter().map(|d| Hash { alg: "SHA-256", content: d.hex() }).collect(),
                    ..Default::default()
                }],
                workflows: vec![Workflow {
                    bom_ref: format!("workflow:{}", st.name),
                    uid: format!("{build}/{}", st.name),
                    name: format!("build stage {}", st.name),
                    description: format!("FROM {}", st.base),
                    task_types: vec!["build"],
                    inputs: input.into_iter().map(|r| Io { kind: None, resource: Ref { reference: r } }).collect(),
                    outputs,
                }],
                properties: props,
            }
        })
        .collect()
}
