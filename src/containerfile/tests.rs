use super::*;

fn parse(text: &str) -> Containerfile {
    Containerfile::parse(text, &HashMap::new()).unwrap()
}
fn copy(i: &Instruction) -> &Copy {
    match &i.op {
        Op::Copy(c) => c,
        other => panic!("not a COPY: {other:?}"),
    }
}

#[test]
fn args_before_and_after_from_with_overrides() {
    let text = "ARG BASE=localhost/bb\nARG TAG\nFROM ${BASE}:${TAG:-1.35} AS builder\nARG OUT=/out\nARG TAG\nCOPY a.txt ${OUT}/${TAG:-none}/\nFROM $BASE\nCOPY --from=builder /out /app\n";
    let cf = parse(text);
    assert_eq!(cf.stages[0].base, "localhost/bb:1.35");
    assert_eq!(copy(&cf.stages[0].instructions[2]).dest, "/out/none");
    let mut args = HashMap::new();
    args.insert("TAG".to_string(), "2".to_string());
    args.insert("OUT".to_string(), "/o".to_string());
    let cf = Containerfile::parse(text, &args).unwrap();
    assert_eq!(cf.stages[0].base, "localhost/bb:2");
    assert_eq!(copy(&cf.stages[0].instructions[2]).dest, "/o/2");
    assert_eq!(cf.resolve(1, "builder"), Source::Stage(0));
    assert_eq!(cf.base_of(1), Source::Image("localhost/bb".into()));
}

#[test]
fn stages_by_alias_index_and_scratch() {
    let cf = parse("FROM scratch\nCOPY a /a\nFROM --platform=linux/amd64 img:1 AS B\nFROM b\nCOPY --from=0 /a /b\nCOPY --from=other/image:2 /x /y\n");
    assert_eq!(cf.base_of(0), Source::Scratch);
    assert_eq!(cf.stages[1].platform.as_deref(), Some("linux/amd64"));
    assert_eq!(cf.base_of(2), Source::Stage(1));
    assert_eq!(cf.resolve(2, "0"), Source::Stage(0));
    assert_eq!(cf.resolve(2, "other/image:2"), Source::Image("other/image:2".into()));
    assert_eq!(cf.stages[2].label(), "2");
    assert_eq!(cf.needed_stages(2), vec![0, 1, 2]);
    assert_eq!(cf.target_index(Some("b")).unwrap(), 1);
    let e = cf.target_index(Some("nope")).unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("B"), "{e}");
}

#[test]
fn copy_forms_workdir_and_flags() {
    let cf = parse(concat!(
        "FROM x\n",
        "WORKDIR /app\n",
        "COPY --chown=1:1 --link a b c/ sub/\n",
        "COPY [\"with space.txt\", \"dst\"]\n",
        "WORKDIR rel\n",
        "ADD *.tar .\n",
        "ENV D=/env/dir\n",
        "COPY one $D\n",
    ));
    let i = &cf.stages[0].instructions;
    let c = copy(&i[1]);
    assert_eq!(c.sources, vec!["a", "b", "c/"]);
    assert_eq!(c.dest, "/app/sub");
    assert!(c.dest_is_dir && c.link);
    assert_eq!(c.chown.as_deref(), Some("1:1"));
    let c = copy(&i[2]);
    assert_eq!(c.sources, vec!["with space.txt"]);
    assert_eq!(c.dest, "/app/dst");
    assert!(!c.dest_is_dir);
    let c = copy(&i[4]);
    assert!(c.add && c.dest_is_dir);
    assert_eq!(c.dest, "/app/rel");
    assert_eq!(copy(&i[6]).dest, "/env/dir");
}

#[test]
fn continuations_comments_escape_and_heredocs() {
    let cf = parse(concat!(
        "# escape=`\n",
        "FROM x AS a\n",
        "FROM a AS b\n",
        "RUN echo one `\n",
        "# a comment inside\n",
        "    two\n",
        "COPY <<EOF /etc/conf\n",
        "hello\n",
        "EOF\n",
        "RUN --mount=type=bind,from=a,source=/s,target=/m <<-SCRIPT\n",
        "\tcat /m/x\n",
        "SCRIPT\n",
        "RUN --mount=type=cache,target=/root/.cache true\n",
    ));
    let i = &cf.stages[1].instructions;
    match &i[0].op {
        Op::Run(r) => assert_eq!(r.command, "echo one     two"),
        o => panic!("{o:?}"),
    }
    let c = copy(&i[1]);
    assert_eq!(c.heredocs, vec!["EOF"]);
    assert_eq!(c.sources, vec!["EOF"]);
    assert_eq!(i[1].line, 7);
    match &i[2].op {
        Op::Run(r) => {
            assert_eq!(r.mounts[0].from.as_deref(), Some("a"));
            assert_eq!(r.mounts[0].source.as_deref(), Some("/s"));
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(i[3].line, 13);
    match &i[3].op {
        Op::Run(r) => assert_eq!(r.mounts[0].kind, "cache"),
        o => panic!("{o:?}"),
    }
}

#[test]
fn errors_name_the_line() {
    let e = |t: &str| format!("{:#}", Containerfile::parse(t, &HashMap::new()).unwrap_err());
    assert!(e("FROM x\nCOPY onlyone\n").contains("line 2"));
    assert!(e("COPY a b\nFROM x\n").contains("line 1"));
    assert!(e("FROM x\nFROBNICATE y\n").contains("line 2: unknown instruction"));
    assert!(e("FROM x\nCOPY --from=1 /a /b\nFROM y\n").contains("line 2"));
    assert!(e("FROM x\nCOPY --from=later /a /b\nFROM y AS later\n").contains("not an earlier stage"));
    assert!(e("FROM x\nRUN <<EOF\nnever ends\n").contains("never terminated"));
    assert!(e("# just a comment\n").contains("no FROM"));
    assert!(e("FROM x AS a\nFROM y AS A\n").contains("used twice"));
}

#[test]
fn expansion_forms() {
    let mut v = HashMap::new();
    v.insert("A".to_string(), "1".to_string());
    v.insert("E".to_string(), String::new());
    assert_eq!(expand("$A-${A}-${B:-d}-${E:-d}-${E-d}-${A:+s}-${B:+s}-\\$A", &v).unwrap(), "1-1-d-d--s--$A");
    assert!(expand("${A", &v).is_err());
}

#[test]
fn a_base_images_workdir_and_env_start_its_stages() {
    let bases: HashMap<String, BaseConfig> = [(
        "golang:1.22".to_string(),
        BaseConfig { workdir: Some("/go".into()), env: vec![("GOPATH".into(), "/go".into())] },
    )]
    .into();
    let text = "FROM golang:1.22 AS b\nCOPY . .\nCOPY tool $GOPATH/bin/\nFROM b\nCOPY x y\nFROM other\nCOPY z .\n";
    let cf = Containerfile::parse_with_bases(text, &HashMap::new(), &bases).unwrap();
    let dests: Vec<&str> =
        cf.stages.iter().flat_map(|s| s.instructions.iter().map(|i| copy(i).dest.as_str())).collect();
    assert_eq!(dests, ["/go", "/go/bin", "/go/y", "/"]);
    // Without the image's config the same file resolves against `/`.
    let plain = Containerfile::parse(text, &HashMap::new()).unwrap();
    assert_eq!(copy(&plain.stages[0].instructions[0]).dest, "/");
}
