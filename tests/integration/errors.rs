//! Bad input gets a clear error naming what was wrong and where, and no output file.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::common::Store;
use crate::provenance::multi;

fn fails(args: &[&str]) -> String {
    let out = Store::get().ctxsbom_raw(args);
    assert!(!out.status.success(), "ctxsbom {args:?} should fail");
    assert_eq!(out.status.code(), Some(1), "an error, not a crash: {args:?}");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn hex_sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Writes a one-layer OCI layout whose layer is `layer` (a plain tar) with `diff_id` as declared.
fn oci_layout(dir: &Path, layer: &[u8], diff_id: &str) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let h = hex_sha(b);
        std::fs::write(blobs.join(&h), b).unwrap();
        (format!("sha256:{h}"), b.len())
    };
    let (ld, ls) = put(layer);
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": [{"created_by": "test"}]});
    let (cd, cs) = put(&serde_json::to_vec(&config).unwrap());
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls}]});
    let (md, ms) = put(&serde_json::to_vec(&manifest).unwrap());
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

fn tar_with(name: &str, body: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    // Raw name bytes: the tar crate's setters refuse `..`, a hostile producer does not.
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_cksum();
    b.append(&h, body).unwrap();
    b.into_inner().unwrap()
}

fn work(name: &str) -> PathBuf {
    let d = Store::get().dir.join(format!("errors-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn containerfile(d: &Path, text: &str) -> String {
    let p = d.join("Containerfile");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn malformed_containerfile_names_the_line() {
    let d = work("cf");
    let cf = containerfile(&d, "FROM localhost/bb\n\nCOPY only-one-arg\n");
    let out = d.join("out.json");
    let err = fails(&[
        "scan",
        "containers-storage:localhost/bb",
        "-f",
        &cf,
        "-o",
        &format!("provenance-json={}", out.display()),
    ]);
    assert!(err.contains("line 3") && err.contains("Containerfile"), "{err}");
    assert!(!out.exists(), "no output file on failure");
}

#[test]
fn unknown_stage_and_target_are_named() {
    let m = multi();
    let cf = m.ctx.join("Containerfile").display().to_string();
    let err = fails(&[
        "scan",
        "containers-storage:localhost/multi",
        "-f",
        &cf,
        "--stage",
        "nosuch=containers-storage:localhost/bb",
    ]);
    assert!(err.contains("nosuch") && err.contains("builder"), "{err}");
    let err = fails(&["scan", "containers-storage:localhost/multi", "-f", &cf, "--target", "ghost"]);
    assert!(err.contains("ghost"), "{err}");
    let err = fails(&["scan", "containers-storage:localhost/does-not-exist", "-f", &cf]);
    assert!(err.contains("localhost/does-not-exist"), "{err}");
}

#[test]
fn corrupt_and_truncated_layers_are_named_and_leave_outputs_alone() {
    let d = work("corrupt");
    let cf = containerfile(&d, "FROM scratch\nCOPY x /x\n");
    let good = tar_with("x", b"payload");
    // Declared diff_id of other content: a mismatch.
    oci_layout(&d.join("mismatch"), &good, &format!("sha256:{}", hex_sha(b"something else")));
    let out = d.join("sbom.spdx.json");
    std::fs::write(&out, "previous content").unwrap();
    let err = fails(&[
        "scan",
        &format!("oci:{}", d.join("mismatch").display()),
        "-f",
        &cf,
        "--no-cache",
        "-o",
        &format!("spdx-json={}", out.display()),
    ]);
    assert!(err.contains("diff_id mismatch") && err.contains("layer 0"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous content", "a failed run must not touch outputs");
    // Truncated blob: the layer's digest still matches the manifest's claim only if untouched.
    let trunc = &good[..700];
    oci_layout(&d.join("trunc"), trunc, &format!("sha256:{}", hex_sha(&good)));
    let err = fails(&["scan", &format!("oci:{}", d.join("trunc").display()), "-f", &cf, "--no-cache"]);
    assert!(err.contains("layer 0"), "{err}");
    // A hostile `../` name.
    let evil = tar_with("../../etc/evil", b"x");
    oci_layout(&d.join("evil"), &evil, &format!("sha256:{}", hex_sha(&evil)));
    let err = fails(&["scan", &format!("oci:{}", d.join("evil").display()), "-f", &cf, "--no-cache"]);
    assert!(err.contains("../../etc/evil") && err.contains("climbs above the root"), "{err}");
    // And a sane layout of the same shape scans fine (the failures above are the inputs' fault).
    oci_layout(&d.join("ok"), &good, &format!("sha256:{}", hex_sha(&good)));
    let out = Store::get().ctxsbom(&[
        "scan",
        &format!("oci:{}", d.join("ok").display()),
        "-f",
        &cf,
        "--no-cache",
        "-o",
        "provenance-json",
    ]);
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["files"][0]["path"], "/x");
    assert_eq!(p["files"][0]["origin"]["createdIn"], serde_json::json!({"context": "x"}));
}

/// Layer indexes are cached by diff_id: a warm cache answers without reading the blob at all.
#[test]
fn layer_index_cache_is_keyed_by_diff_id() {
    let d = work("cache");
    let cf = containerfile(&d, "FROM scratch\nCOPY x /x\n");
    let good = tar_with("x", b"cached payload");
    let diff_id = hex_sha(&good);
    oci_layout(&d.join("img"), &good, &format!("sha256:{diff_id}"));
    let cache = d.join("cache");
    let img = format!("oci:{}", d.join("img").display());
    let scan = |extra: &[&str]| {
        let mut a = vec!["scan", img.as_str(), "-f", cf.as_str(), "-o", "provenance-json"];
        a.extend_from_slice(extra);
        Store::get().ctxsbom_raw(&a)
    };
    let cache_arg = cache.display().to_string();
    assert!(scan(&["--cache-dir", &cache_arg]).status.success());
    assert!(cache.join(format!("{diff_id}.json")).is_file(), "one index file per diff_id");
    // Break the blob: the cached index still answers; without the cache the damage is found.
    std::fs::write(d.join("img/blobs/sha256").join(&diff_id), &good[..600]).unwrap();
    let warm = scan(&["--cache-dir", &cache_arg]);
    assert!(warm.status.success(), "{}", String::from_utf8_lossy(&warm.stderr));
    let p: serde_json::Value = serde_json::from_slice(&warm.stdout).unwrap();
    assert_eq!(p["files"][0]["sha256"], format!("sha256:{}", hex_sha(b"cached payload")));
    assert!(!scan(&["--no-cache"]).status.success());
}

#[test]
fn bad_arguments_are_explained() {
    let err = fails(&["scan", "/just/a/path", "-f", "/nonexistent"]);
    assert!(err.contains("no transport") && err.contains("hint"), "{err}");
    let m = multi();
    let cf = m.ctx.join("Containerfile").display().to_string();
    let err = fails(&["scan", "containers-storage:localhost/multi", "-f", &cf, "-o", "xml"]);
    assert!(err.contains("unknown output format") && err.contains("spdx-json"), "{err}");
}
