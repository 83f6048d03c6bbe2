//! Outputs checked by the reference validators: pyspdxtools (SPDX 2.3), cyclonedx-python-lib's strict
//! CycloneDX 1.6 schema validator, and the provenance JSON Schema of this repository.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{python, read_json, Store};
use crate::provenance::multi;

pub fn run_python(code: &str, args: &[&Path]) -> (bool, String) {
    let out = Command::new(python()).arg("-c").arg(code).args(args).output().expect("running python");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn scan_to(format: &str, name: &str, extra: &[&str]) -> PathBuf {
    let m = multi();
    let s = Store::get();
    let out = m.out.join(name);
    let mut args: Vec<String> = vec!["scan".into(), "containers-storage:localhost/multi".into()];
    for (n, id) in &m.stages {
        args.push("--stage".into());
        args.push(format!("{n}=containers-storage:{id}"));
    }
    args.extend([
        "-f".into(),
        m.ctx.join("Containerfile").display().to_string(),
        "--context".into(),
        m.ctx.display().to_string(),
    ]);
    args.extend(["--build-id".into(), "7d5a3f0e-4c1b-4a9e-9d2f-0a1b2c3d4e5f".into()]);
    args.extend(["-o".into(), format!("{format}={}", out.display())]);
    args.extend(extra.iter().map(|x| x.to_string()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    s.ctxsbom(&a);
    out
}

pub const SCHEMA_CHECK: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))
Draft202012Validator.check_schema(schema)
errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=str)
for e in errors[:20]: print(list(e.absolute_path), e.message)
sys.exit(1 if errors else 0)
"#;

#[test]
fn provenance_json_matches_its_schema() {
    let m = multi();
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/provenance.schema.json");
    let (ok, text) = run_python(SCHEMA_CHECK, &[&schema, &m.prov_path]);
    assert!(ok, "provenance-json does not match schemas/provenance.schema.json:\n{text}");
    // The schema is not vacuous: a document missing a required field fails it.
    let mut broken = m.prov.clone();
    broken["files"][0]["origin"].as_object_mut().unwrap().remove("createdIn");
    let bad = m.out.join("broken-prov.json");
    std::fs::write(&bad, serde_json::to_vec(&broken).unwrap()).unwrap();
    let (ok, _) = run_python(SCHEMA_CHECK, &[&schema, &bad]);
    assert!(!ok, "the schema accepted a file record without createdIn");
}

#[test]
fn spdx_passes_pyspdxtools_and_has_mobster_shapes() {
    let out = scan_to("spdx-json", "sbom.spdx.json", &["--spdx-files"]);
    let tool = python().parent().unwrap().join("pyspdxtools");
    let res = Command::new(&tool).arg("-i").arg(&out).output().expect("running pyspdxtools");
    assert!(
        res.status.success(),
        "pyspdxtools rejected the SPDX:\n{}{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    let doc = read_json(&out);
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let rels = doc["relationships"].as_array().unwrap();
    let has = |a: &str, t: &str, b: &str| {
        rels.iter().any(|r| r["spdxElementId"] == a && r["relationshipType"] == t && r["relatedSpdxElement"] == b)
    };
    assert!(has("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-image"));
    assert!(has("SPDXRef-image", "DESCENDANT_OF", "SPDXRef-image-localhost-bb"));
    assert!(has("SPDXRef-image-localhost-tools", "BUILD_TOOL_OF", "SPDXRef-image"));
    assert!(
        rels.iter().all(|r| !r["spdxElementId"].as_str().unwrap().starts_with("SPDXRef-File")),
        "no relationship may start from a file"
    );
    let image = &doc["packages"][0];
    assert_eq!(image["primaryPackagePurpose"], "CONTAINER");
    let purl = image["externalRefs"][0]["referenceLocator"].as_str().unwrap();
    assert!(purl.starts_with("pkg:oci/multi@sha256:") && purl.contains("repository_url=localhost/multi"), "{purl}");
    // Every regular file of the image, with SHA-1 and SHA-256, and its origin in the comment.
    let prov = &multi().prov;
    let regular =
        prov["files"].as_array().unwrap().iter().filter(|f| f["type"] == "file" || f["type"] == "hardlink").count();
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), regular);
    let stamp = files.iter().find(|f| f["fileName"] == "app/stamp").unwrap();
    let c: Value = serde_json::from_str(stamp["comment"].as_str().unwrap()).unwrap();
    assert_eq!(c["ctxsbom:stage"], "builder");
    assert_eq!(c["ctxsbom:base-image"], "localhost/bb");
    assert_eq!(c["ctxsbom:build-id"], "7d5a3f0e-4c1b-4a9e-9d2f-0a1b2c3d4e5f");
    let algs: Vec<&str> =
        stamp["checksums"].as_array().unwrap().iter().map(|c| c["algorithm"].as_str().unwrap()).collect();
    assert_eq!(algs, ["SHA1", "SHA256"]);
    // Without --spdx-files: packages only.
    let lean = read_json(&scan_to("spdx-json", "lean.spdx.json", &[]));
    assert!(lean["files"].as_array().unwrap().is_empty());
    assert_eq!(lean["packages"].as_array().unwrap().len(), doc["packages"].as_array().unwrap().len());
}

pub const CDX_CHECK: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if err is not None:
    print(err); sys.exit(1)
"#;

#[test]
fn cyclonedx_passes_the_1_6_schema() {
    let out = scan_to("cyclonedx-json", "sbom.cdx.json", &["--spdx-files"]);
    let (ok, text) = run_python(CDX_CHECK, &[&out]);
    assert!(ok, "CycloneDX 1.6 validation failed:\n{text}");
    let doc = read_json(&out);
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["metadata"]["component"]["type"], "container");
    let comps = doc["components"].as_array().unwrap();
    let stamp = comps.iter().find(|c| c["name"] == "/app/stamp").unwrap();
    let prop =
        |n: &str| stamp["properties"].as_array().unwrap().iter().find(|p| p["name"] == n).map(|p| p["value"].clone());
    assert_eq!(prop("ctxsbom:stage").unwrap(), "builder");
    assert_eq!(prop("ctxsbom:base-image").unwrap(), "localhost/bb");
    assert_eq!(prop("ctxsbom:build-id").unwrap(), "7d5a3f0e-4c1b-4a9e-9d2f-0a1b2c3d4e5f");
    assert!(prop("ctxsbom:origin").is_some());
    // The build as the formulation: one formula per stage, with its base and what it contributed.
    let formulas = doc["formulation"].as_array().unwrap();
    let stages = multi().prov["stages"].as_array().unwrap();
    assert_eq!(formulas.len(), stages.len());
    let builder = formulas.iter().find(|f| f["bom-ref"] == "formula:builder").unwrap();
    let fprop = |n: &str| {
        builder["properties"].as_array().unwrap().iter().find(|p| p["name"] == n).map(|p| p["value"].as_str().unwrap())
    };
    assert_eq!(fprop("ctxsbom:base-image"), Some("localhost/bb"));
    let from_builder = multi().prov["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["origin"]["createdIn"]["stage"] == "builder")
        .count();
    assert!(from_builder > 0);
    assert_eq!(fprop("ctxsbom:files-contributed"), Some(from_builder.to_string().as_str()));
    // Each workflow's input is its base: the parent stage's formula component, or an external image.
    for st in stages {
        let f = formulas.iter().find(|f| f["bom-ref"] == format!("formula:{}", st["name"].as_str().unwrap())).unwrap();
        let input = f["workflows"][0]["inputs"][0]["resource"]["ref"].as_str().unwrap().to_string();
        match st["parent"].as_str() {
            Some(parent) => assert_eq!(input, format!("stage:{parent}")),
            None => {
                assert_eq!(input, format!("image:{}", st["base"].as_str().unwrap()));
                assert!(comps.iter().any(|c| c["bom-ref"] == input.as_str()), "{input} is a component");
            }
        }
    }
    // The validator is not vacuous: a broken document fails.
    let bad = out.with_extension("broken.json");
    std::fs::write(
        &bad,
        serde_json::to_vec(
            &serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "nonsense"}]}),
        )
        .unwrap(),
    )
    .unwrap();
    let (ok, _) = run_python(CDX_CHECK, &[&bad]);
    assert!(!ok);
}
