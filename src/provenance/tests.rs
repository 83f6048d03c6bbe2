//! The engine on hand-made layers: decisions that real builds rarely show.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::layer::testutil::TarMaker;
use crate::layer::{index_blob, Expect, LayerIndex};

fn layer(t: TarMaker) -> Arc<LayerIndex> {
    let tar = t.finish();
    Arc::new(index_blob(&tar[..], &Expect { diff_id: Sha256Digest::of(&tar), blob_digest: None }, "t").unwrap())
}

fn image(layers: &[Arc<LayerIndex>]) -> ImageView {
    ImageView {
        view: FsView::fold(layers),
        diff_ids: layers.iter().map(|l| l.diff_id).collect(),
        digest: Sha256Digest::of(b"image"),
        layer_comments: vec![None; layers.len()],
    }
}

fn model<'a>(cf: &Containerfile, index: usize, img: &'a ImageView, base_layers: usize) -> StageModel<'a> {
    StageModel {
        index,
        label: cf.stages[index].label(),
        image: Some(img),
        base_layers,
        groups: layer_groups(cf, index, img.diff_ids.len(), base_layers),
    }
}

fn record<'r>(files: &'r [FileRecord], path: &str) -> &'r FileRecord {
    files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("{path} missing"))
}

#[test]
fn unexplained_content_lists_candidates() {
    let cf = Containerfile::parse("FROM base AS a\nRUN make\nFROM base\nCOPY --from=a /out/x /y\n", &HashMap::new())
        .unwrap();
    let base = layer(TarMaker::new().file("etc/os", b"base"));
    let a = image(&[base.clone(), layer(TarMaker::new().file("out/x", b"x").file("out/z", b"zzz"))]);
    // The final stage's one layer holds /y (explained by the COPY) and /z (explained by nothing).
    let fin = image(&[base, layer(TarMaker::new().file("y", b"x").file("z", b"zzz"))]);
    let engine = Engine::new(&cf, vec![model(&cf, 0, &a, 1), model(&cf, 1, &fin, 1)]);
    let files = engine.trace_all(1);
    let y = record(&files, "/y");
    assert_eq!(y.origin.created_in, Place::stage("a"));
    assert_eq!(y.origin.evidence, "content");
    let z = record(&files, "/z");
    assert_eq!(z.origin.evidence, "none");
    assert_eq!(z.origin.candidates, vec![Place::stage("a").with_path("/out/z")]);
    assert_eq!(record(&files, "/etc/os").origin.created_in, Place::image("base", None));
    assert_eq!(record(&files, "/etc/os").origin.evidence, "layer", "the base image was not given");
}

#[test]
fn copy_whose_source_differs_is_not_trusted() {
    let cf = Containerfile::parse("FROM scratch AS a\nCOPY f /f\nFROM scratch\nCOPY --from=a /f /f\n", &HashMap::new())
        .unwrap();
    let a = image(&[layer(TarMaker::new().file("f", b"one"))]);
    let fin = image(&[layer(TarMaker::new().file("f", b"two"))]);
    let engine = Engine::new(&cf, vec![model(&cf, 0, &a, 0), model(&cf, 1, &fin, 0)]);
    let f = &engine.trace_all(1)[0];
    assert_eq!(f.origin.evidence, "none");
    assert_eq!(f.origin.created_in, Place::stage("1"));
}

#[test]
fn run_mount_from_a_stage_is_followed_by_content() {
    let cf = Containerfile::parse(
        "FROM scratch AS src\nCOPY b /build/b.txt\nFROM scratch\nRUN --mount=type=bind,from=src,source=/build,target=/m cp /m/b.txt /copied && echo > /own\n",
        &HashMap::new(),
    )
    .unwrap();
    let src = image(&[layer(TarMaker::new().dir("build").file("build/b.txt", b"payload"))]);
    let fin = image(&[layer(TarMaker::new().file("copied", b"payload").file("own", b"\n"))]);
    let mut engine = Engine::new(&cf, vec![model(&cf, 0, &src, 0), model(&cf, 1, &fin, 0)]);
    engine.context = None;
    let files = engine.trace_all(1);
    let c = record(&files, "/copied");
    assert_eq!(c.origin.copied_from, Some(Place::stage("src").with_path("/build/b.txt")));
    assert_eq!(c.origin.via[0].how, "mount");
    assert_eq!(c.origin.created_in, Place::context("b"));
    assert_eq!(record(&files, "/own").origin.created_in, Place::stage("1"));
}

#[test]
fn stage_without_image_falls_back_to_instructions() {
    let cf = Containerfile::parse("FROM base AS a\nRUN make\nFROM base\nCOPY --from=a /out/ /app/\n", &HashMap::new())
        .unwrap();
    let base = layer(TarMaker::new().file("etc/os", b"base"));
    let fin = image(&[base, layer(TarMaker::new().dir("app").file("app/bin", b"bin"))]);
    let engine = Engine::new(&cf, vec![model(&cf, 1, &fin, 1)]);
    let f = record(&engine.trace_all(1), "/app/bin").clone();
    assert_eq!(f.origin.copied_from, Some(Place::stage("a").with_path("/out/bin")));
    assert_eq!(f.origin.evidence, "instruction");
}

#[test]
fn glob_roots() {
    assert_eq!(glob_root("/out/*.txt"), "/out");
    assert_eq!(glob_root("/a/b*/c"), "/a");
    assert_eq!(glob_root("/*.txt"), "/");
    assert_eq!(glob_root("/plain/path"), "/plain");
}

#[test]
fn copy_of_a_symlink_source_follows_it() {
    let cf = Containerfile::parse(
        "FROM scratch AS a\nRUN make\nFROM scratch\nCOPY --from=a /usr/lib/libx.so /lib/libx.so\n",
        &HashMap::new(),
    )
    .unwrap();
    let a = image(&[layer(TarMaker::new().file("usr/lib/libx.so.1", b"lib").symlink("usr/lib/libx.so", "libx.so.1"))]);
    let fin = image(&[layer(TarMaker::new().file("lib/libx.so", b"lib"))]);
    let engine = Engine::new(&cf, vec![model(&cf, 0, &a, 0), model(&cf, 1, &fin, 0)]);
    let f = record(&engine.trace_all(1), "/lib/libx.so").clone();
    assert_eq!(f.origin.copied_from, Some(Place::stage("a").with_path("/usr/lib/libx.so.1")));
    assert_eq!(f.origin.evidence, "content");
}

#[test]
fn base_layers_from_buildah_history_marks() {
    let mut img = image(&[
        layer(TarMaker::new().file("a", b"1")),
        layer(TarMaker::new().file("b", b"2")),
        layer(TarMaker::new().file("c", b"3")),
    ]);
    // --layers: every own layer carries a FROM comment, the first one naming the base.
    img.layer_comments = vec![None, Some("FROM localhost/bb:latest".into()), Some("FROM 3354ce3fbb7a".into())];
    assert_eq!(base_layers_from_history(&img, "localhost/bb"), Some(1));
    img.layer_comments = vec![Some("FROM other:1".into()), None, Some("FROM localhost/bb:2".into())];
    assert_eq!(base_layers_from_history(&img, "localhost/bb:2"), Some(2));
    assert_eq!(base_layers_from_history(&img, "nothing/here"), None);
}
