//! Real buildah builds, traced file by file.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::common::{file, origin, read_json, Store};

pub const MULTI: &str = r#"# every way content reaches a final image
FROM localhost/bb AS base
RUN mkdir -p /etc/x && echo base > /etc/x/base

FROM base AS builder
RUN mkdir -p /out && cat /proc/sys/kernel/random/uuid > /out/stamp \
 && echo same > /out/same && echo builder-wins > /out/dest

FROM localhost/bb AS other
RUN mkdir -p /out && echo same > /out/same && echo other-loses > /out/dest

FROM other AS cascade
COPY --from=builder /out/stamp /b/stamp

FROM localhost/bb AS overwrite
RUN echo 'root:x:0:0:overwritten:/root:/bin/sh' > /etc/passwd

FROM localhost/bb
ARG APP=/app
COPY --from=builder /out/stamp ${APP}/stamp
COPY --from=builder /etc/x/base $APP/inherited
COPY --from=builder /bin/busybox $APP/busybox
COPY --from=other /out/dest $APP/dest
COPY --from=builder /out/dest $APP/dest
COPY --from=other /out/same $APP/same
COPY --from=cascade /b/stamp $APP/cascade-stamp
COPY --from=overwrite /etc/passwd $APP/passwd
COPY --from=localhost/tools /opt/tool/ $APP/tool/
COPY --from=0 /etc/x/base $APP/unnamed
COPY ctx.txt sub/ $APP/ctx/
COPY mod.txt $APP/mod.txt
RUN echo changed >> $APP/mod.txt && echo final > $APP/final && rm /bin/vi
"#;

pub struct Multi {
    pub ctx: std::path::PathBuf,
    /// Where tests write what they make: never inside the build context, which scans read.
    pub out: std::path::PathBuf,
    pub final_id: String,
    pub stages: Vec<(&'static str, String)>,
    pub prov: Value,
    pub prov_path: std::path::PathBuf,
}

/// Builds MULTI the way buildah 1.28 keeps stage images (`--target` builds with `--layers`, then the
/// full `--layers` build, which reuses them), and scans it once.
pub fn multi() -> &'static Multi {
    static M: OnceLock<Multi> = OnceLock::new();
    M.get_or_init(|| {
        let s = Store::get();
        let ctx = s.context(
            "multi",
            MULTI,
            &[("ctx.txt", "from the context\n"), ("sub/nested.txt", "nested\n"), ("mod.txt", "original\n")],
        );
        let mut stages = Vec::new();
        for st in ["base", "builder", "other", "cascade", "overwrite"] {
            stages.push((st, s.build(&ctx, &["--layers", "--target", st])));
        }
        let final_id = s.build(&ctx, &["--layers", "-t", "localhost/multi"]);
        let out = s.dir.join("out-multi");
        std::fs::create_dir_all(&out).unwrap();
        let prov_path = out.join("prov.json");
        let mut args: Vec<String> = vec!["scan".into(), "containers-storage:localhost/multi".into()];
        for (n, id) in &stages {
            args.push("--stage".into());
            args.push(format!("{n}=containers-storage:{id}"));
        }
        args.extend(["-f".into(), ctx.join("Containerfile").display().to_string()]);
        args.extend(["--context".into(), ctx.display().to_string()]);
        args.extend(["--build-id".into(), "7d5a3f0e-4c1b-4a9e-9d2f-0a1b2c3d4e5f".into()]);
        args.extend(["-o".into(), format!("provenance-json={}", prov_path.display())]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        s.ctxsbom(&a);
        Multi { prov: read_json(&prov_path), prov_path, ctx, out, final_id, stages }
    })
}

fn stage(s: &str) -> Value {
    json!({ "stage": s })
}

fn sha_of_stage_file(image_id: &str, path: &str) -> String {
    // Read the file straight from the stage image with buildah, independently of ctxsbom.
    let s = Store::get();
    let c = String::from_utf8(s.buildah(&["from", "-q", image_id]).stdout).unwrap().trim().to_string();
    let m = String::from_utf8(s.buildah(&["mount", &c]).stdout).unwrap().trim().to_string();
    let bytes = std::fs::read(format!("{m}{path}")).unwrap();
    s.buildah(&["umount", &c]);
    s.buildah(&["rm", &c]);
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)))
}

#[test]
fn file_created_in_a_builder_stage() {
    let m = multi();
    let (created, copied) = origin(&m.prov, "/app/stamp");
    assert_eq!(created, stage("builder"));
    assert_eq!(copied, json!({"stage": "builder", "path": "/out/stamp"}));
    let f = file(&m.prov, "/app/stamp").unwrap();
    assert_eq!(f["origin"]["evidence"], "content");
    // The stamp is random per build: the kept builder image holds exactly the bytes the final got.
    let builder = &m.stages.iter().find(|(n, _)| *n == "builder").unwrap().1;
    assert_eq!(f["sha256"].as_str().unwrap(), sha_of_stage_file(builder, "/out/stamp"));
}

#[test]
fn file_the_builder_inherited_from_its_bases() {
    let m = multi();
    // /etc/x/base: builder got it FROM stage base, whose RUN made it.
    let (created, copied) = origin(&m.prov, "/app/inherited");
    assert_eq!(created, stage("base"));
    assert_eq!(copied, json!({"stage": "builder", "path": "/etc/x/base"}));
    let hops = file(&m.prov, "/app/inherited").unwrap()["origin"]["via"].as_array().unwrap().clone();
    assert_eq!(hops.iter().map(|h| h["how"].as_str().unwrap()).collect::<Vec<_>>(), ["copy", "inherited", "run"]);
    // /bin/busybox: builder -> base -> external image localhost/bb.
    let (created, _) = origin(&m.prov, "/app/busybox");
    assert_eq!(created["image"], "localhost/bb");
    assert!(created["digest"].as_str().unwrap().starts_with("sha256:"));
}

#[test]
fn two_stages_writing_one_destination_last_writer_wins() {
    let m = multi();
    let (created, copied) = origin(&m.prov, "/app/dest");
    assert_eq!(created, stage("builder"));
    assert_eq!(copied["stage"], "builder");
}

#[test]
fn identical_content_in_two_stages_is_settled_by_the_copy() {
    let m = multi();
    // builder and other both hold "same\n" at /out/same; the COPY names other.
    let (created, copied) = origin(&m.prov, "/app/same");
    assert_eq!(created, stage("other"));
    assert_eq!(copied, json!({"stage": "other", "path": "/out/same"}));
}

#[test]
fn cascade_through_an_intermediate_stage() {
    let m = multi();
    let f = file(&m.prov, "/app/cascade-stamp").unwrap();
    assert_eq!(f["origin"]["copiedFrom"], json!({"stage": "cascade", "path": "/b/stamp"}));
    assert_eq!(f["origin"]["createdIn"], stage("builder"));
    assert_eq!(f["sha256"], file(&m.prov, "/app/stamp").unwrap()["sha256"]);
    let stages: Vec<&str> =
        f["origin"]["via"].as_array().unwrap().iter().map(|h| h["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["5", "cascade", "builder"]);
}

#[test]
fn stage_overwriting_a_file_of_its_base() {
    let m = multi();
    assert_eq!(origin(&m.prov, "/app/passwd").0, stage("overwrite"));
    // The final image's own /etc/passwd is the untouched base file.
    assert_eq!(origin(&m.prov, "/etc/passwd").0["image"], "localhost/bb");
}

#[test]
fn copy_from_an_external_image() {
    let m = multi();
    let (created, copied) = origin(&m.prov, "/app/tool/tool.txt");
    assert_eq!(created["image"], "localhost/tools");
    assert_eq!(created["path"], "/opt/tool/tool.txt");
    assert_eq!(copied["image"], "localhost/tools");
    let ext: Vec<&str> =
        m.prov["externalImages"].as_array().unwrap().iter().map(|e| e["ref"].as_str().unwrap()).collect();
    assert_eq!(ext, ["localhost/bb", "localhost/tools"]);
}

#[test]
fn unnamed_stage_by_index() {
    let m = multi();
    let (created, copied) = origin(&m.prov, "/app/unnamed");
    assert_eq!(created, stage("base"));
    assert_eq!(copied["stage"], "base", "--from=0 is stage base");
    // The unnamed final stage is called by its index.
    assert_eq!(origin(&m.prov, "/app/final").0, stage("5"));
}

#[test]
fn build_context_files() {
    let m = multi();
    let f = file(&m.prov, "/app/ctx/ctx.txt").unwrap();
    assert_eq!(f["origin"]["createdIn"], json!({"context": "ctx.txt"}));
    assert_eq!(f["origin"]["evidence"], "content");
    assert_eq!(origin(&m.prov, "/app/ctx/nested.txt").0, json!({"context": "sub/nested.txt"}));
}

#[test]
fn file_modified_by_a_later_run_and_deleted_files() {
    let m = multi();
    assert_eq!(origin(&m.prov, "/app/mod.txt"), (stage("5"), Value::Null));
    assert!(file(&m.prov, "/bin/vi").is_none(), "deleted by the final RUN");
    assert!(file(&m.prov, "/bin/sh").is_some());
}

#[test]
fn stages_and_build_id_are_recorded() {
    let m = multi();
    assert_eq!(m.prov["buildId"], "7d5a3f0e-4c1b-4a9e-9d2f-0a1b2c3d4e5f");
    let st = m.prov["stages"].as_array().unwrap();
    let names: Vec<&str> = st.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["base", "builder", "other", "cascade", "overwrite", "5"]);
    assert_eq!(st[1]["parent"], "base");
    assert_eq!(st[1]["base"], "base");
    assert_eq!(st[0]["parent"], Value::Null);
    assert_eq!(st[5]["image"], format!("sha256:{}", m.final_id));
    assert_eq!(m.prov["warnings"], json!([]));
}

#[test]
fn explain_tells_the_chain_in_words() {
    let m = multi();
    let s = Store::get();
    let out = s.ctxsbom(&["explain", "/app/inherited", "--provenance", m.prov_path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("copied by COPY (Containerfile line"), "{text}");
    assert!(text.contains("inherited from its base, stage base"), "{text}");
    assert!(text.contains("created in: stage base"), "{text}");
    let out = s.ctxsbom_raw(&["explain", "/bin/vi", "--provenance", m.prov_path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the image"));
}

/// buildah's default shape (no --layers): each stage is its base plus ONE layer, so a COPY and a
/// later RUN share a layer and content decides. Stage images are made the way ctxsbom's emulation
/// does on buildah 1.28: each stage built alone with references to earlier stages rewritten to
/// their image IDs.
#[test]
fn single_layer_stages_from_stage_chains_and_unnamed_stages() {
    let s = Store::get();
    let original = "FROM localhost/bb AS base2\nRUN echo b2 > /etc/b2 && echo keep > /etc/keep\n\nFROM localhost/bb\nRUN echo s1 > /s1.txt\n\nFROM base2\nCOPY --from=1 /s1.txt /app/s1.txt\nCOPY mod.txt keep.txt /app/\nRUN echo changed >> /app/mod.txt && rm /etc/keep\n";
    let ctx = s.context("single", original, &[("mod.txt", "original\n"), ("keep.txt", "kept\n")]);
    let stage_file = |name: &str, text: &str| {
        let p = ctx.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let f0 = stage_file("s0.Containerfile", "FROM localhost/bb\nRUN echo b2 > /etc/b2 && echo keep > /etc/keep\n");
    let id0 = s.build(&ctx, &["-f", f0.to_str().unwrap()]);
    let f1 = stage_file("s1.Containerfile", "FROM localhost/bb\nRUN echo s1 > /s1.txt\n");
    let id1 = s.build(&ctx, &["-f", f1.to_str().unwrap()]);
    let f2 = stage_file(
        "s2.Containerfile",
        &format!("FROM {id0}\nCOPY --from={id1} /s1.txt /app/s1.txt\nCOPY mod.txt keep.txt /app/\nRUN echo changed >> /app/mod.txt && rm /etc/keep\n"),
    );
    s.build(&ctx, &["-f", f2.to_str().unwrap(), "-t", "localhost/single"]);
    let out = ctx.join("prov.json");
    let p = s.scan_prov(
        &out,
        &[
            "containers-storage:localhost/single",
            "--stage",
            &format!("base2=containers-storage:{id0}"),
            "--stage",
            &format!("1=containers-storage:{id1}"),
            "-f",
            ctx.join("Containerfile").to_str().unwrap(),
            "--context",
            ctx.to_str().unwrap(),
        ],
    );
    // FROM base2 chain: the final stage inherits base2's content, which base2 made.
    assert_eq!(origin(&p, "/etc/b2").0, stage("base2"));
    let hops = file(&p, "/etc/b2").unwrap()["origin"]["via"].as_array().unwrap().clone();
    assert_eq!(hops[0]["how"], "inherited");
    assert_eq!(origin(&p, "/bin/busybox").0["image"], "localhost/bb");
    assert_eq!(origin(&p, "/app/s1.txt"), (stage("1"), json!({"stage": "1", "path": "/s1.txt"})));
    // Same layer as the COPY, other content than the context's: the RUN changed it.
    assert_eq!(origin(&p, "/app/mod.txt"), (stage("2"), Value::Null));
    assert_eq!(origin(&p, "/app/keep.txt").0, json!({"context": "keep.txt"}));
    assert!(file(&p, "/etc/keep").is_none(), "deleted by the final stage (a whiteout over base2's layer)");
    assert_eq!(p["warnings"], json!([]));
}

/// `RUN --mount=type=bind,from=<stage>`: content the RUN copied out of the mount is traced to the
/// mounted stage. Built the emulation's way (buildah 1.28 breaks this mount on `--layers` cache hits).
#[test]
fn run_mount_from_a_stage() {
    let s = Store::get();
    let original = "FROM localhost/bb AS src\nRUN mkdir -p /build && echo mounted-content > /build/build.txt\n\nFROM localhost/bb\nRUN --mount=type=bind,from=src,source=/build,target=/mnt cp /mnt/build.txt /copied.txt && echo own > /own.txt\n";
    let ctx = s.context("mount", original, &[]);
    let f0 = ctx.join("s0.Containerfile");
    std::fs::write(&f0, "FROM localhost/bb\nRUN mkdir -p /build && echo mounted-content > /build/build.txt\n").unwrap();
    let id0 = s.build(&ctx, &["-f", f0.to_str().unwrap()]);
    let f1 = ctx.join("s1.Containerfile");
    std::fs::write(&f1, format!("FROM localhost/bb\nRUN --mount=type=bind,from={id0},source=/build,target=/mnt cp /mnt/build.txt /copied.txt && echo own > /own.txt\n")).unwrap();
    s.build(&ctx, &["-f", f1.to_str().unwrap(), "-t", "localhost/mount"]);
    let out = ctx.join("prov.json");
    let p = s.scan_prov(
        &out,
        &[
            "containers-storage:localhost/mount",
            "--stage",
            &format!("src=containers-storage:{id0}"),
            "-f",
            ctx.join("Containerfile").to_str().unwrap(),
        ],
    );
    assert_eq!(origin(&p, "/copied.txt"), (stage("src"), json!({"stage": "src", "path": "/build/build.txt"})));
    assert_eq!(file(&p, "/copied.txt").unwrap()["origin"]["via"][0]["how"], "mount");
    assert_eq!(origin(&p, "/own.txt"), (stage("1"), Value::Null));
}

/// `--target`: a builder stage's own image scanned as the final image.
#[test]
fn target_stage_scanned_as_the_final_image() {
    let m = multi();
    let s = Store::get();
    let base = &m.stages.iter().find(|(n, _)| *n == "base").unwrap().1;
    let builder = &m.stages.iter().find(|(n, _)| *n == "builder").unwrap().1;
    let out = m.out.join("prov-builder.json");
    let p = s.scan_prov(
        &out,
        &[
            &format!("containers-storage:{builder}"),
            "--target",
            "builder",
            "--stage",
            &format!("base=containers-storage:{base}"),
            "-f",
            m.ctx.join("Containerfile").to_str().unwrap(),
        ],
    );
    assert_eq!(origin(&p, "/out/stamp"), (stage("builder"), Value::Null));
    assert_eq!(origin(&p, "/etc/x/base").0, stage("base"));
    let names: Vec<&str> = p["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["base", "builder"], "only the stages the target needs");
}

/// A stage starts in its base image's WORKDIR with its ENV: relative and `$VAR` destinations are
/// resolved as the builder resolved them.
#[test]
fn base_image_workdir_and_env_place_copies() {
    let s = Store::get();
    let cf = "FROM localhost/wd-base\nCOPY hello.txt .\nCOPY app.conf $CONF/\n";
    let ctx = s.context("workdir", cf, &[("hello.txt", "hello\n"), ("app.conf", "x=1\n")]);
    let base = ctx.join("base.Containerfile");
    std::fs::write(&base, "FROM localhost/bb\nWORKDIR /srv/app\nENV CONF=/etc/app\n").unwrap();
    s.build(&ctx, &["-f", base.to_str().unwrap(), "-t", "localhost/wd-base"]);
    s.build(&ctx, &["-t", "localhost/wd"]);
    let out = ctx.join("prov.json");
    let p = s.scan_prov(
        &out,
        &[
            "containers-storage:localhost/wd",
            "-f",
            ctx.join("Containerfile").to_str().unwrap(),
            "--context",
            ctx.to_str().unwrap(),
        ],
    );
    for (path, src) in [("/srv/app/hello.txt", "hello.txt"), ("/etc/app/app.conf", "app.conf")] {
        assert_eq!(origin(&p, path), (json!({"context": src}), json!({"context": src})), "{path}");
        assert_eq!(file(&p, path).unwrap()["origin"]["evidence"], "content", "{path}");
    }
    assert_eq!(p["warnings"], json!([]));
}
