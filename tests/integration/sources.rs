//! Every image source gives the same answer: OCI layouts (gzip and zstd), oci-archive,
//! docker-archive and dir: exports of the same image trace to the same origins.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::{read_json, Store};
use crate::provenance::multi;

fn origins(p: &Value) -> BTreeMap<String, (Value, Value, Value)> {
    p["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let o = &f["origin"];
            (
                f["path"].as_str().unwrap().to_string(),
                (f["sha256"].clone(), o["createdIn"].clone(), o["copiedFrom"].clone()),
            )
        })
        .collect()
}

#[test]
fn all_transports_and_compressions_agree() {
    let m = multi();
    let s = Store::get();
    let d = m.out.join("exports");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let p = |n: &str| d.join(n).display().to_string();
    s.buildah(&["push", "--quiet", "localhost/multi", &format!("oci:{}:latest", p("gz.oci"))]);
    s.buildah(&[
        "push",
        "--quiet",
        "--compression-format",
        "zstd",
        "localhost/multi",
        &format!("oci:{}:latest", p("zstd.oci")),
    ]);
    s.buildah(&["push", "--quiet", "localhost/multi", &format!("oci-archive:{}:latest", p("img.oci.tar"))]);
    s.buildah(&[
        "push",
        "--quiet",
        "localhost/multi",
        &format!("docker-archive:{}:localhost/multi:latest", p("img.docker.tar")),
    ]);
    s.buildah(&["push", "--quiet", "-D", "localhost/multi", &format!("dir:{}", p("img.dir"))]);
    s.buildah(&["push", "--quiet", "-f", "v2s2", "localhost/multi", &format!("dir:{}", p("v2s2.dir"))]);
    let v2s2: serde_json::Value = read_json(&d.join("v2s2.dir/manifest.json"));
    assert_eq!(v2s2["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    let want = origins(&m.prov);
    assert!(want.len() > 250, "the busybox image alone has about 280 paths");
    let sources = [
        format!("oci:{}:latest", p("gz.oci")),
        format!("oci:{}", p("zstd.oci")),
        format!("oci-archive:{}", p("img.oci.tar")),
        format!("docker-archive:{}", p("img.docker.tar")),
        format!("dir:{}", p("img.dir")),
        format!("dir:{}", p("v2s2.dir")),
    ];
    for src in &sources {
        let out = d.join("prov.json");
        let mut args: Vec<String> = vec!["scan".into(), src.clone(), "--no-cache".into()];
        for (n, id) in &m.stages {
            args.extend(["--stage".into(), format!("{n}=containers-storage:{id}")]);
        }
        for r in ["localhost/bb", "localhost/tools"] {
            args.extend(["--image".into(), format!("{r}=containers-storage:{r}")]);
        }
        args.extend([
            "-f".into(),
            m.ctx.join("Containerfile").display().to_string(),
            "--context".into(),
            m.ctx.display().to_string(),
        ]);
        args.extend(["-o".into(), format!("provenance-json={}", out.display())]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        s.ctxsbom(&a);
        let got = read_json(&out);
        assert_eq!(got["warnings"], serde_json::json!([]), "{src}");
        let got = origins(&got);
        for (path, w) in &want {
            assert_eq!(got.get(path), Some(w), "{src}: {path}");
        }
        assert_eq!(got.len(), want.len(), "{src}");
    }
}
