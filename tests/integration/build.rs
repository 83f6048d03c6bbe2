//! `ctxsbom build` with Debian's buildah 1.28 (emulated mode): stage images kept, tagged by build ID,
//! byte for byte what the final image used, and each build traced to its own stages.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

use crate::common::{file, origin, read_json, Store};
use crate::validate::{run_python, SCHEMA_CHECK};

const APP: &str = r#"ARG BASE=localhost/bb
FROM ${BASE} AS builder
RUN mkdir -p /out && cat /proc/sys/kernel/random/uuid > /out/stamp

FROM builder AS tested
RUN echo tested > /out/tested

FROM tested AS release

FROM ${BASE}
COPY --from=release /out/ /app/
COPY app.conf /etc/app.conf
RUN echo ready > /app/ready
"#;

struct Built {
    build_id: String,
    prov: Value,
    record: Value,
    record_path: PathBuf,
    out: PathBuf,
}

fn build(ctx: &Path, name: &str, extra: &[&str]) -> (Output, PathBuf) {
    build_with(ctx, name, extra, true)
}

/// For a caller that already holds the store exclusively.
fn build_unlocked(ctx: &Path, name: &str, extra: &[&str]) -> (Output, PathBuf) {
    build_with(ctx, name, extra, false)
}

fn build_with(ctx: &Path, name: &str, extra: &[&str], lock: bool) -> (Output, PathBuf) {
    let s = Store::get();
    let out = s.dir.join(format!("out-build-{name}"));
    let _ = std::fs::remove_dir_all(&out);
    let mut args: Vec<String> = vec!["build".into(), ctx.display().to_string()];
    args.extend(s.storage_args());
    args.extend([
        "--isolation".into(),
        "chroot".into(),
        "--build-id-file".into(),
        out.join("build-id").display().to_string(),
    ]);
    args.extend([
        "--output-dir".into(),
        out.display().to_string(),
        "-o".into(),
        format!("provenance-json={}", out.join("prov.json").display()),
    ]);
    args.extend(["--build-record".into(), out.join("record.json").display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    std::fs::create_dir_all(&out).unwrap();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = if lock { s.ctxsbom_raw(&a) } else { s.ctxsbom_unlocked(&a) };
    (o, out)
}

fn build_ok(ctx: &Path, name: &str, extra: &[&str]) -> Built {
    let (o, out) = build(ctx, name, extra);
    assert!(o.status.success(), "ctxsbom build failed:\n{}", String::from_utf8_lossy(&o.stderr));
    let build_id = std::fs::read_to_string(out.join("build-id")).unwrap();
    assert!(build_id.ends_with('\n'), "the build ID file is the UUID and a newline");
    let build_id = build_id.trim().to_string();
    let u = uuid::Uuid::parse_str(&build_id).expect("a UUID");
    assert_eq!(u.get_version_num(), 4);
    Built {
        build_id,
        prov: read_json(&out.join("prov.json")),
        record: read_json(&out.join("record.json")),
        record_path: out.join("record.json"),
        out,
    }
}

/// sha256 of a file inside an image, read with buildah mount (independently of ctxsbom).
fn sha_in_image(image: &str, path: &str) -> String {
    let s = Store::get();
    let c = String::from_utf8(s.buildah(&["from", "-q", image]).stdout).unwrap().trim().to_string();
    let m = String::from_utf8(s.buildah(&["mount", &c]).stdout).unwrap().trim().to_string();
    let bytes = std::fs::read(format!("{m}{path}")).unwrap();
    s.buildah(&["umount", &c]);
    s.buildah(&["rm", &c]);
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)))
}

fn diff_id_count(image: &str) -> usize {
    let out = Store::get().buildah(&["inspect", "--type", "image", "--format", "{{len .OCIv1.RootFS.DiffIDs}}", image]);
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

fn app_context(name: &str) -> PathBuf {
    Store::get().context(name, APP, &[("app.conf", "answer=42\n")])
}

#[test]
fn build_keeps_tags_and_records_every_stage() {
    let s = Store::get();
    let ctx = app_context("build");
    let sboms = s.dir.join("sboms-build-one");
    std::fs::create_dir_all(&sboms).unwrap();
    let (spdx, cdx) = (sboms.join("s.spdx.json"), sboms.join("s.cdx.json"));
    let b = build_ok(
        &ctx,
        "one",
        &[
            "-t",
            "localhost/built:1",
            "-o",
            &format!("spdx-json={}", spdx.display()),
            "-o",
            &format!("cyclonedx-json={}", cdx.display()),
        ],
    );
    // The SBOMs name the builder and the mode, and still pass the validators.
    let ann: Vec<String> = read_json(&spdx)["packages"][0]["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["comment"].as_str().unwrap().to_string())
        .collect();
    assert!(ann.iter().any(|c| c.contains("ctxsbom:builder-mode") && c.contains("emulated")), "{ann:?}");
    let props = read_json(&cdx)["metadata"]["properties"].clone();
    assert!(props.as_array().unwrap().iter().any(|p| p["name"] == "ctxsbom:builder-mode" && p["value"] == "emulated"));
    let tool = crate::common::python().parent().unwrap().join("pyspdxtools");
    assert!(std::process::Command::new(tool).arg("-i").arg(&spdx).status().unwrap().success());
    // Mode and builder are recorded.
    assert_eq!(b.record["builder"]["mode"], "emulated");
    assert_eq!(b.record["builder"]["name"], "buildah");
    assert_eq!(b.prov["builder"]["mode"], "emulated");
    assert_eq!(b.prov["buildId"], b.build_id.as_str());
    assert_eq!(b.prov["image"]["name"], "localhost/built:1");
    // Every stage findable by build ID and stage name.
    let out = s.ctxsbom(&[
        "stages",
        &b.build_id,
        "--root",
        s.root.to_str().unwrap(),
        "--runroot",
        s.runroot.to_str().unwrap(),
        "--storage-driver",
        "vfs",
    ]);
    let listed = String::from_utf8(out.stdout).unwrap();
    for st in ["builder", "tested", "release", "3"] {
        assert!(
            listed.contains(&format!("localhost/ctxsbom-stages/{}:{st}", b.build_id)),
            "{st} missing in:\n{listed}"
        );
    }
    let stages = b.record["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["builder", "tested", "release", "3"]);
    assert_eq!(stages[2]["image"], stages[1]["image"], "a FROM-only stage is its base's image");
    assert_eq!(stages[0]["base"], "localhost/bb");
    assert!(stages[0]["baseDigest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(stages[1]["parent"], "builder");
    // The record matches its schema.
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/build-record.schema.json");
    let (ok, text) = run_python(SCHEMA_CHECK, &[&schema, &b.record_path]);
    assert!(ok, "{text}");
    // The stage images hold byte for byte what the final image got.
    let tested_tag = format!("localhost/ctxsbom-stages/{}:tested", b.build_id);
    assert_eq!(sha_in_image(&tested_tag, "/out/stamp"), sha_in_image("localhost/built:1", "/app/stamp"));
    assert_eq!(
        origin(&b.prov, "/app/stamp"),
        (json!({"stage": "builder"}), json!({"stage": "release", "path": "/out/stamp"}))
    );
    assert_eq!(file(&b.prov, "/app/stamp").unwrap()["origin"]["evidence"], "content");
    assert_eq!(origin(&b.prov, "/app/tested").0, json!({"stage": "tested"}));
    assert_eq!(origin(&b.prov, "/etc/app.conf").0, json!({"context": "app.conf"}));
    // The final image has a plain build's layers: base + 1.
    let plain = s.build(&ctx, &[]);
    assert_eq!(diff_id_count("localhost/built:1"), diff_id_count(&plain));
    assert_eq!(diff_id_count("localhost/built:1"), diff_id_count("localhost/bb") + 1);
    // `scan --build-record` analyses the same build again, without building.
    let again = s.ctxsbom(&["scan", "--build-record", b.record_path.to_str().unwrap(), "-o", "provenance-json"]);
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(origin(&again, "/app/stamp"), origin(&b.prov, "/app/stamp"));
    assert_eq!(again["buildId"], b.build_id.as_str());
    // prune removes the stage images; afterwards the build has none.
    let st = ["--root", s.root.to_str().unwrap(), "--runroot", s.runroot.to_str().unwrap(), "--storage-driver", "vfs"];
    let mut args = vec!["prune", b.build_id.as_str()];
    args.extend(st);
    {
        let _alone = crate::common::exclusive();
        s.ctxsbom(&args);
    }
    let mut args = vec!["stages", b.build_id.as_str()];
    args.extend(st);
    assert!(!s.ctxsbom_raw(&args).status.success());
    assert!(!b.out.join("sbom.spdx.json").exists(), "with -o given, only the outputs asked for are written");
}

#[test]
fn two_builds_each_trace_to_their_own_stages() {
    let ctx = app_context("twice");
    let first = build_ok(&ctx, "first", &[]);
    let second = build_ok(&ctx, "second", &[]);
    assert_ne!(first.build_id, second.build_id);
    let stamp = |b: &Built| file(&b.prov, "/app/stamp").unwrap()["sha256"].as_str().unwrap().to_string();
    assert_ne!(stamp(&first), stamp(&second), "the RUN writes a random UUID: each build has its own");
    for b in [&first, &second] {
        let f = file(&b.prov, "/app/stamp").unwrap();
        assert_eq!(f["origin"]["createdIn"], json!({"stage": "builder"}));
        assert_eq!(f["origin"]["evidence"], "content", "hashes match this build's own stage images");
        let builder = format!("localhost/ctxsbom-stages/{}:builder", b.build_id);
        assert_eq!(sha_in_image(&builder, "/out/stamp"), stamp(b));
    }
}

#[test]
fn failures_are_clear_and_leave_nothing_behind() {
    let s = Store::get();
    // A RUN that fails in the final stage, after a stage image was made.
    let ctx = s.context(
        "fails",
        "FROM localhost/bb AS one\nRUN echo one > /one\nFROM localhost/bb\nCOPY --from=one /one /one\nRUN exit 3\n",
        &[],
    );
    let (o, out) = {
        let _alone = crate::common::exclusive();
        build_unlocked(&ctx, "fail", &[])
    };
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("error: building stage 1"), "{err}");
    assert!(!out.join("prov.json").exists() && !out.join("record.json").exists() && !out.join("build-id").exists());
    // The final stage's rewritten COPY names the stage image the build made; it must be gone.
    let made: Vec<&str> = err.lines().filter_map(|l| l.split("--from=").nth(1)).map(|r| &r[..64]).collect();
    assert_eq!(made.len(), 1, "one stage image was made before the failure:\n{err}");
    let gone = std::process::Command::new("buildah")
        .args(s.storage_args())
        .args(["inspect", "--type", "image", made[0]])
        .output()
        .unwrap();
    assert!(!gone.status.success(), "the stage image of the failed build is removed");
    // An unknown target and a broken Containerfile fail before anything is built.
    let (o, _) = build(&ctx, "target", &["--target", "nosuch"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--target \"nosuch\""));
    let bad = s.context("badcf", "FROM localhost/bb\nCOPY\n", &[]);
    let (o, _) = build(&bad, "badcf", &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 2"));
    // A builder that is not there.
    let (o, _) = build(&ctx, "nobuilder", &["--builder", "/nonexistent/buildah"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/buildah"));
    let (o, _) = build(&ctx, "nobuilder2", &["--builder", "no-such-builder"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not installed") && err.contains("apt-get install buildah"), "{err}");
}
