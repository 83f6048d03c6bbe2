//! Attestations for a release job: in-toto Statement v1 with the SBOM as predicate (`intoto`), and
//! SLSA Provenance v1 (`slsa`), both about the final image by its manifest digest.
//!
//! The statement is complete (subject, predicateType, predicate); `cosign attest --type spdxjson
//! --predicate FILE` wants the predicate alone: `jq .predicate` of this output, or the
//! `spdx-json` output itself.

use serde_json::{json, Map, Value};

use super::{cyclonedx, root_base, spdx, split_tag, target_stage, Options};
use crate::provenance::model::Provenance;

pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";
pub const CYCLONEDX_PREDICATE: &str = "https://cyclonedx.org/bom";
pub const SLSA_PREDICATE: &str = "https://slsa.dev/provenance/v1";
/// The build type ctxsbom's SLSA provenance describes: a Containerfile built by buildah or podman,
/// driven (or analysed) by ctxsbom.
pub const BUILD_TYPE: &str = "https://ctxsbom.dev/buildtypes/containerfile/v1";

/// Which document an in-toto statement carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Predicate {
    #[default]
    Spdx,
    Cyclonedx,
}

/// `repo` of the final image, no tag: the subject name cosign uses.
fn subject(p: &Provenance, opts: &Options) -> Value {
    let name = opts.image_name(p);
    json!([{ "name": split_tag(&name).0, "digest": { "sha256": p.image.digest.hex() } }])
}

pub fn intoto(p: &Provenance, opts: &Options, predicate: Predicate) -> serde_json::Result<Value> {
    let (ty, doc) = match predicate {
        Predicate::Spdx => (SPDX_PREDICATE, serde_json::to_value(spdx::document(p, opts))?),
        Predicate::Cyclonedx => (CYCLONEDX_PREDICATE, serde_json::to_value(cyclonedx::document(p, opts))?),
    };
    Ok(json!({ "_type": STATEMENT_V1, "subject": subject(p, opts), "predicateType": ty, "predicate": doc }))
}

fn digest_set(d: &crate::digest::Sha256Digest) -> Value {
    json!({ "sha256": d.hex() })
}

pub fn slsa(p: &Provenance, opts: &Options) -> Value {
    let inv = p.invocation.clone().unwrap_or_default();
    let mut external = Map::new();
    if let Some(c) = &inv.containerfile {
        let mut cf = json!({ "path": c });
        if let Some(d) = &inv.containerfile_digest {
            cf["digest"] = digest_set(d);
        }
        external.insert("containerfile".into(), cf);
    }
    if let Some(c) = &inv.context {
        external.insert("context".into(), json!(c));
    }
    external.insert("target".into(), json!(inv.target.clone().or_else(|| target_stage(p).map(String::from))));
    external.insert("buildArgs".into(), json!(inv.build_args));
    if !inv.tags.is_empty() {
        external.insert("tags".into(), json!(inv.tags.iter().map(|t| opts.map_ref(t)).collect::<Vec<_>>()));
    }
    let mut internal = Map::new();
    if let Some(b) = &p.builder {
        internal.insert("builder".into(), json!({ "name": b.name, "version": b.version, "mode": b.mode }));
    }
    if let Some(b) = &p.build_id {
        internal.insert("buildId".into(), json!(b));
    }
    // Every base and external image, by digest.
    let deps: Vec<Value> = p
        .external_images
        .iter()
        .map(|e| {
            let name = opts.map_ref(&e.reference);
            let mut d = json!({ "name": name, "uri": format!("oci://{name}"), "annotations": { "uses": e.uses } });
            match &e.digest {
                Some(x) => d["digest"] = digest_set(x),
                None => d["annotations"]["digest"] = json!("unknown: the image was not available to ctxsbom"),
            }
            d
        })
        .collect();
    // The kept stage images are what the build made besides the image.
    let byproducts: Vec<Value> = p
        .stages
        .iter()
        .filter(|s| !s.target)
        .filter_map(|s| {
            let id = s.image?;
            let uri = inv
                .stage_tags
                .get(&s.name)
                .map(|t| format!("containers-storage:{t}"))
                .unwrap_or_else(|| format!("containers-storage:{}", id.hex()));
            Some(json!({
                "name": format!("stage {}", s.name),
                "uri": uri,
                "digest": digest_set(&id),
                "annotations": { "stage": s.name, "index": s.index, "base": s.base, "parent": s.parent,
                                 "baseImage": root_base(p, &s.name), "imageId": id.to_string() },
            }))
        })
        .collect();
    let builder_id = match &p.builder {
        Some(b) => format!("https://ctxsbom.dev/builders/{}@{}", b.name, b.version),
        None => "https://ctxsbom.dev/builders/unknown".to_string(),
    };
    let mut version = Map::new();
    version.insert("ctxsbom".into(), json!(p.tool.version));
    if let Some(b) = &p.builder {
        version.insert(b.name.clone(), json!(b.version));
    }
    let mut metadata = Map::new();
    if let Some(b) = &p.build_id {
        metadata.insert("invocationId".into(), json!(b));
    }
    if let Some(t) = &inv.started {
        metadata.insert("startedOn".into(), json!(t));
    }
    if let Some(t) = &inv.finished {
        metadata.insert("finishedOn".into(), json!(t));
    }
    json!({
        "_type": STATEMENT_V1,
        "subject": subject(p, opts),
        "predicateType": SLSA_PREDICATE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": internal,
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": { "id": builder_id, "version": version },
                "metadata": metadata,
                "byproducts": byproducts,
            },
        },
    })
}
