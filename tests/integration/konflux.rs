//! Konflux and the release job: ctxsbom's capo JSON and buildprobe YAML fed to the real mobster
//! 2.3.0 (from PyPI, in the venv scripts/test makes), with ctxsbom's SPDX of the base image standing
//! in for the parent SBOM that mobster would download with cosign (mobster exits 0 whatever
//! happens, so the tests read its log and the graph it wrote); in-toto and SLSA statements checked
//! against their specs' field requirements; the build graph.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{read_json, Store};
use crate::packages::{pkgs, syft};

const MAP: &str = "localhost=registry.example.local";

struct Konflux {
    dir: PathBuf,
    parent: PathBuf,
    capo: PathBuf,
    probe: PathBuf,
    ours: PathBuf,
    syft: PathBuf,
}

fn mobster_python() -> PathBuf {
    let p = std::env::var_os("CTXSBOM_MOBSTER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-mobster/bin/python"));
    assert!(p.exists(), "mobster is missing ({}): run scripts/test, which installs mobster==2.3.0", p.display());
    p
}

fn konflux() -> &'static Konflux {
    static K: OnceLock<Konflux> = OnceLock::new();
    K.get_or_init(|| {
        let s = Store::get();
        let p = pkgs();
        let dir = s.dir.join("out-konflux");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // The parent image's SBOM, as a scan of the image alone (no Containerfile).
        let parent = dir.join("parent.spdx.json");
        let mut a = vec!["scan", "containers-storage:localhost/debian:12", "--pullspec-map", MAP, "-q"];
        let o = format!("spdx-json={}", parent.display());
        a.extend(["-o", &o]);
        s.ctxsbom(&a);
        // The build, analysed again from its record: capo JSON, buildprobe YAML, syft-shaped SPDX.
        let record = s.dir.join("out-pkgs/build-record.json");
        let (capo, probe, ours) = (dir.join("capo.json"), dir.join("buildprobe.yaml"), dir.join("ours.spdx.json"));
        let outs = [
            format!("capo-json={}", capo.display()),
            format!("buildprobe-yaml={}", probe.display()),
            format!("spdx-json={}", ours.display()),
        ];
        let mut a = vec![
            "scan",
            "--build-record",
            record.to_str().unwrap(),
            "--pullspec-map",
            MAP,
            "--spdx-shape",
            "syft",
            "-q",
        ];
        for o in &outs {
            a.extend(["-o", o.as_str()]);
        }
        s.ctxsbom(&a);
        // What Konflux's build step gives mobster today: syft's SBOM of the final image.
        let syft_sbom = dir.join("syft.spdx.json");
        let out = Command::new(syft())
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .args(["scan", "-q"])
            .arg(format!("oci-dir:{}", p.oci.display()))
            .arg("-o")
            .arg(format!("spdx-json={}", syft_sbom.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Konflux { dir, parent, capo, probe, ours, syft: syft_sbom }
    })
}

/// Runs `mobster generate oci-image --contextualize` with the parent SBOM download replaced;
/// returns the log and the SBOM it wrote.
fn mobster(k: &Konflux, input: &Path, out_name: &str) -> (String, Value) {
    let out = k.dir.join(out_name);
    let driver = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/integration/py/mobster_offline.py");
    let res = Command::new(mobster_python())
        .arg(driver)
        .arg(&k.parent)
        .args(["--verbose", "generate", "--skip-validation", "--output"])
        .arg(&out)
        .args(["oci-image", "--from-syft"])
        .arg(input)
        .arg("--metadata-path")
        .arg(&k.probe)
        .arg("--build-metadata-path")
        .arg(&k.capo)
        .args(["--contextualize", "--arch", "amd64"])
        .output()
        .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&res.stdout), String::from_utf8_lossy(&res.stderr));
    assert!(res.status.success(), "mobster failed:\n{log}");
    (log, read_json(&out))
}

/// `(from name, relationship, to name)` triples of an SPDX document, by package name.
fn edges(doc: &Value) -> BTreeSet<(String, String, String)> {
    let name = |id: &str| {
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["SPDXID"] == id)
            .map(|p| p["name"].as_str().unwrap().to_string())
            .unwrap_or_else(|| id.to_string())
    };
    doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                name(r["spdxElementId"].as_str().unwrap()),
                r["relationshipType"].as_str().unwrap().to_string(),
                name(r["relatedSpdxElement"].as_str().unwrap()),
            )
        })
        .collect()
}

fn assert_contextualized(log: &str, doc: &Value) -> BTreeSet<(String, String, String)> {
    assert!(log.contains("Contextual SBOM workflow finished successfully."), "mobster fell back:\n{log}");
    assert!(!log.contains("Contextual SBOM workflow failed"), "{log}");
    let e = edges(doc);
    // The builder stage's base, with its -intermediate package holding what the stage installed.
    assert!(e.contains(&("debian-intermediate".into(), "DESCENDANT_OF".into(), "debian".into())), "{e:?}");
    assert!(e.contains(&("debian-intermediate".into(), "CONTAINS".into(), "commons-lang3".into())), "{e:?}");
    // Parent matching against ctxsbom's SPDX of the base image: inherited packages hang from it.
    assert!(e.contains(&("debian".into(), "CONTAINS".into(), "bash".into())), "{e:?}");
    assert!(log.contains("parent SBOM requests: ['registry.example.local/debian@sha256:"), "{log}");
    // Every package of ctxsbom's parent SBOM found its match in the component SBOM.
    let stat = |label: &str| -> usize {
        let line = log.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("no {label:?} in the log"));
        line.rsplit(':').next().unwrap().trim().parse().unwrap()
    };
    let total = stat("Total parent packages:");
    assert!(total > 50, "a Debian minbase has about 90 packages: {total}");
    assert_eq!(stat("Parent packages matched:"), total);
    e
}

#[test]
fn mobster_contextualizes_syft_sbom_with_ctxsbom_capo_and_buildprobe() {
    let k = konflux();
    let (log, doc) = mobster(k, &k.syft, "from-syft.spdx.json");
    assert_contextualized(&log, &doc);
}

#[test]
fn mobster_contextualizes_ctxsbom_own_spdx() {
    let k = konflux();
    let (log, doc) = mobster(k, &k.ours, "from-ctxsbom.spdx.json");
    let e = assert_contextualized(&log, &doc);
    // Beyond syft: the package a binary-only copy left behind in the builder.
    assert!(e.contains(&("debian-intermediate".into(), "CONTAINS".into(), "jq".into())), "{e:?}");
    // The output is still valid SPDX 2.3.
    let tool = crate::common::python().parent().unwrap().join("pyspdxtools");
    let v = Command::new(tool).arg("-i").arg(k.dir.join("from-ctxsbom.spdx.json")).output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}

#[test]
fn capo_json_and_buildprobe_yaml_keep_mobsters_contract() {
    let k = konflux();
    let capo = read_json(&k.capo);
    let items = capo["packages"].as_array().unwrap();
    assert!(!items.is_empty());
    let probe = std::fs::read_to_string(&k.probe).unwrap();
    // The builder base's pullspec as mobster derives it from the YAML: repository@digest.
    let digest_line = probe.lines().skip_while(|l| !l.starts_with("builder_base_images")).nth(2).unwrap();
    let digest = digest_line.trim().trim_start_matches("digest: ").trim_matches('"');
    assert!(probe.contains("base_image:\n  pullspec: \"registry.example.local/debian:12\""), "{probe}");
    let mut seen = BTreeSet::new();
    for it in items {
        let pullspec = it["pullspec"].as_str().unwrap();
        assert_eq!(pullspec, format!("registry.example.local/debian@{digest}"), "no tag, no transport");
        assert!(["builder", "intermediate", "external"].contains(&it["origin_type"].as_str().unwrap()));
        for c in it["checksums"].as_array().into_iter().flatten() {
            let c = c.as_str().unwrap();
            assert!(c.len() == 71 && c.starts_with("sha256:") && c[7..].chars().all(|x| x.is_ascii_hexdigit()), "{c}");
        }
        let key = (it["purl"].as_str().unwrap().to_string(), it["dependency_of_purl"].as_str().map(String::from));
        assert!(seen.insert(key), "one origin per package: {it}");
    }
    let jq = items.iter().find(|i| i["purl"].as_str().unwrap().starts_with("pkg:deb/debian/jq@")).unwrap();
    assert_eq!(jq["origin_type"], "intermediate");
    assert_eq!(jq["stage_alias"], "builder");
    // The checksum is the real hash of the copied binary.
    let prov = &pkgs().prov;
    let f = prov["files"].as_array().unwrap().iter().find(|f| f["path"] == "/usr/local/bin/jq").unwrap();
    assert_eq!(jq["checksums"][0], f["sha256"]);
}

/// `ctxsbom scan --build-record` of the package build, with extra arguments; the output's JSON.
fn from_record(name: &str, format: &str, extra: &[&str]) -> PathBuf {
    let s = Store::get();
    pkgs();
    let out = konflux().dir.join(name);
    let record = s.dir.join("out-pkgs/build-record.json");
    let o = format!("{format}={}", out.display());
    let mut a = vec!["scan", "--build-record", record.to_str().unwrap(), "-q", "-o", &o];
    a.extend(extra);
    s.ctxsbom(&a);
    out
}

/// The manifest digest buildah has for the built image.
fn image_digest() -> String {
    let out = Store::get().buildah(&["images", "--digests", "--format", "{{.Digest}}", "localhost/pkgs"]);
    String::from_utf8(out.stdout).unwrap().lines().next().unwrap().trim().to_string()
}

/// The in-toto Statement v1 layer (in-toto/attestation spec/v1/statement.md): `_type`, a
/// non-empty `subject` of name + digest set (lowercase hex), a `predicateType` URI, an object
/// `predicate`.
fn check_statement(st: &Value, predicate_type: &str) {
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    let subject = st["subject"].as_array().unwrap();
    assert_eq!(subject.len(), 1);
    assert_eq!(subject[0]["name"], "registry.example.local/pkgs", "the repository, no tag");
    let hex = subject[0]["digest"]["sha256"].as_str().unwrap();
    assert!(hex.len() == 64 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    assert_eq!(format!("sha256:{hex}"), image_digest(), "the subject is the image's manifest digest");
    assert_eq!(st["predicateType"], predicate_type);
    assert!(st["predicate"].is_object());
}

#[test]
fn intoto_statements_carry_valid_sboms_about_the_image() {
    let spdx = read_json(&from_record("intoto-spdx.json", "intoto", &["--pullspec-map", MAP]));
    check_statement(&spdx, "https://spdx.dev/Document");
    let pred = konflux().dir.join("intoto-spdx.predicate.json");
    std::fs::write(&pred, serde_json::to_vec(&spdx["predicate"]).unwrap()).unwrap();
    let tool = crate::common::python().parent().unwrap().join("pyspdxtools");
    let v = Command::new(tool).arg("-i").arg(&pred).output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    // The release job finds the image package by its checksum: the first package with the digest.
    let first = spdx["predicate"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["checksums"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| format!("sha256:{}", c["checksumValue"].as_str().unwrap()) == image_digest())
        })
        .unwrap();
    assert_eq!(first["SPDXID"], "SPDXRef-image");
    assert!(first["externalRefs"][0]["referenceLocator"].as_str().unwrap().contains("arch=amd64"));

    let cdx =
        read_json(&from_record("intoto-cdx.json", "intoto", &["--pullspec-map", MAP, "--predicate", "cyclonedx"]));
    check_statement(&cdx, "https://cyclonedx.org/bom");
    let pred = konflux().dir.join("intoto-cdx.predicate.json");
    std::fs::write(&pred, serde_json::to_vec(&cdx["predicate"]).unwrap()).unwrap();
    let (ok, text) = crate::validate::run_python(crate::validate::CDX_CHECK, &[&pred]);
    assert!(ok, "{text}");
}

/// SLSA Provenance v1 (slsa.dev/spec/v1.0/provenance): required `buildDefinition.buildType`,
/// `buildDefinition.externalParameters`, `runDetails.builder.id`; ResourceDescriptors with a uri or
/// a digest; RFC 3339 timestamps.
#[test]
fn slsa_provenance_names_parameters_dependencies_and_stage_byproducts() {
    let st = read_json(&from_record("slsa.json", "slsa", &["--pullspec-map", MAP]));
    check_statement(&st, "https://slsa.dev/provenance/v1");
    let p = &st["predicate"];
    let bd = &p["buildDefinition"];
    assert!(bd["buildType"].as_str().unwrap().starts_with("https://"));
    let ext = &bd["externalParameters"];
    let cf = std::fs::read(pkgs().prov["invocation"]["containerfile"].as_str().unwrap()).unwrap();
    let want = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&cf));
    assert_eq!(ext["containerfile"]["digest"]["sha256"], want.as_str());
    assert!(ext["context"].as_str().unwrap().ends_with("ctx-pkgs"));
    assert!(ext["buildArgs"].is_object());
    assert_eq!(bd["internalParameters"]["builder"]["name"], "buildah");
    assert_eq!(bd["internalParameters"]["builder"]["mode"], "emulated");
    let deps = bd["resolvedDependencies"].as_array().unwrap();
    let debian = deps.iter().find(|d| d["name"] == "registry.example.local/debian:12").unwrap();
    assert_eq!(debian["uri"], "oci://registry.example.local/debian:12");
    assert_eq!(debian["digest"]["sha256"].as_str().unwrap().len(), 64);
    let rd = &p["runDetails"];
    assert!(rd["builder"]["id"].as_str().unwrap().starts_with("https://"));
    assert_eq!(rd["metadata"]["invocationId"], pkgs().build_id.as_str());
    for t in ["startedOn", "finishedOn"] {
        let v = rd["metadata"][t].as_str().unwrap();
        assert!(v.len() == 20 && v.ends_with('Z') && &v[10..11] == "T", "{t}: {v}");
    }
    let by = rd["byproducts"].as_array().unwrap();
    let builder = by.iter().find(|b| b["annotations"]["stage"] == "builder").unwrap();
    assert_eq!(builder["uri"], format!("containers-storage:localhost/ctxsbom-stages/{}:builder", pkgs().build_id));
    let stage = pkgs().prov["stages"].as_array().unwrap().iter().find(|s| s["name"] == "builder").unwrap().clone();
    assert_eq!(format!("sha256:{}", builder["digest"]["sha256"].as_str().unwrap()), stage["image"].as_str().unwrap());
}

#[test]
fn graph_shows_stages_bases_and_what_crossed_each_copy() {
    let mermaid = std::fs::read_to_string(from_record("graph.mmd", "graph", &[])).unwrap();
    assert!(mermaid.contains("flowchart LR"), "{mermaid}");
    assert!(mermaid.contains("nimage_localhost_debian_12 -->|FROM| nstage_builder"), "{mermaid}");
    // jq and commons-lang3.jar crossed from the builder: the jar's Maven package, and the Debian
    // packages both files belonged to there.
    let line = mermaid.lines().find(|l| l.starts_with("  nstage_builder -->")).unwrap();
    assert!(line.contains("COPY 2 files, 3 packages"), "{line}");
    let dot = std::fs::read_to_string(from_record("graph.dot", "graph-dot", &[])).unwrap();
    assert!(dot.starts_with("digraph build {") && dot.trim_end().ends_with('}'), "{dot}");
    assert!(dot.contains("nstage_builder -> nstage_1 [label=\"COPY 2 files, 3 packages\"]"), "{dot}");
}

/// The release job's augmentation (`mobster augment`, minus the cosign download): it must find the
/// image package by the manifest digest, and rewrite its purls with the public repository and tags.
#[test]
fn mobster_release_augmentation_finds_the_image_package() {
    let p = pkgs();
    let digest = p.prov["image"]["digest"].as_str().unwrap().to_string();
    let driver = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/integration/py/mobster_release.py");
    let out = Command::new(mobster_python())
        .arg(driver)
        .arg(&p.spdx)
        .args([digest.as_str(), "quay.io/org/pkgs", "1.0", "latest"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["name"], format!("quay.io/org/pkgs@{digest}"));
    let image = doc["packages"].as_array().unwrap().iter().find(|x| x["SPDXID"] == "SPDXRef-image").unwrap();
    let purls: Vec<&str> =
        image["externalRefs"].as_array().unwrap().iter().map(|r| r["referenceLocator"].as_str().unwrap()).collect();
    let hex = digest.trim_start_matches("sha256:");
    assert_eq!(
        purls,
        [
            format!("pkg:oci/pkgs@sha256:{hex}?arch=amd64&repository_url=quay.io/org/pkgs&tag=1.0"),
            format!("pkg:oci/pkgs@sha256:{hex}?arch=amd64&repository_url=quay.io/org/pkgs&tag=latest"),
        ]
    );
    // The contextual graph passes through untouched, and the result is still valid SPDX.
    assert_eq!(edges(&doc), edges(&read_json(&p.spdx)));
    let augmented = konflux().dir.join("released.spdx.json");
    std::fs::write(&augmented, &out.stdout).unwrap();
    let tool = crate::common::python().parent().unwrap().join("pyspdxtools");
    let v = Command::new(tool).arg("-i").arg(&augmented).output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}
