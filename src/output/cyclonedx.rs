//! CycloneDX 1.6 JSON, file level: the image as `metadata.component`, one `container` component per
//! external image, one `file` component per regular file with SHA-256/SHA-1 and the properties
//! `ctxsbom:stage`, `ctxsbom:origin`, `ctxsbom:base-image`, `ctxsbom:build-id`.
//!
//! A typed model of our own: cyclonedx-bom stops at CycloneDX 1.5.

use serde::Serialize;

use super::{root_base, timestamp};
use crate::provenance::model::Provenance;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    pub bom_format: &'static str,
    pub spec_version: &'static str,
    pub serial_number: String,
    pub version: u32,
    pub metadata: Metadata,
    pub components: Vec<Component>,
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

pub fn document(p: &Provenance) -> Bom {
    let arch = p.image.architecture.as_deref();
    let image_name = p.image.name.clone().unwrap_or_else(|| p.image.reference.clone());
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
        components.push(Component {
            kind: "container",
            bom_ref: Some(format!("image:{}", e.reference)),
            name: e.reference.clone(),
            version: e.digest.map(|d| d.to_string()),
            purl: e.digest.map(|d| super::spdx::oci_purl(&e.reference, &d.to_string(), arch)),
            properties: e.uses.iter().map(|u| prop("ctxsbom:use", u.clone())).collect(),
            ..Default::default()
        });
    }
    for f in &p.files {
        let (Some(s256), Some(s1)) = (f.sha256, f.sha1.as_ref()) else {
            continue;
        };
        let o = &f.origin;
        let mut props = Vec::new();
        if let Some(s) = &o.created_in.stage {
            props.push(prop("ctxsbom:stage", s.clone()));
            if let Some(b) = root_base(p, s) {
                props.push(prop("ctxsbom:base-image", b));
            }
        } else if let Some(i) = &o.created_in.image {
            props.push(prop("ctxsbom:base-image", i.clone()));
        }
        props.push(prop("ctxsbom:origin", serde_json::to_string(&o.created_in).unwrap_or_default()));
        if let Some(c) = &o.copied_from {
            props.push(prop("ctxsbom:copied-from", serde_json::to_string(c).unwrap_or_default()));
        }
        props.push(prop("ctxsbom:evidence", o.evidence.clone()));
        if let Some(b) = &p.build_id {
            props.push(prop("ctxsbom:build-id", b.clone()));
        }
        components.push(Component {
            kind: "file",
            bom_ref: Some(format!("file:{}", f.path)),
            name: f.path.clone(),
            hashes: vec![Hash { alg: "SHA-256", content: s256.hex() }, Hash { alg: "SHA-1", content: s1.clone() }],
            properties: props,
            ..Default::default()
        });
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
    }
}
