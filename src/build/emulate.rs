//! Stage saving for builders without it (buildah < 1.44): each needed stage becomes a one-stage
//! Containerfile whose references to earlier stages (`FROM`, `COPY --from`, `RUN --mount=…,from=`)
//! name those stages' image IDs, built in dependency order. The final build then reads exactly the
//! stage images that are kept, and has the layer shape of a plain build (base layers plus one).
//!
//! Everything else is kept as written: parser directives, comments and ARGs before the first FROM
//! (so `FROM ${BASE}` and stage ARGs resolve as before), and every other instruction's lines.

use std::collections::HashMap;

use anyhow::{anyhow, Result};

use crate::containerfile::{Containerfile, Op, Source};

/// The one-stage Containerfile that builds stage `s`, given the image IDs of the stages before it.
pub fn stage_containerfile(cf: &Containerfile, s: usize, ids: &HashMap<usize, String>) -> Result<String> {
    let lines: Vec<&str> = cf.source.lines().collect();
    let copy = |from: usize, to: usize, out: &mut String| {
        for l in &lines[from..to] {
            out.push_str(l);
            out.push('\n');
        }
    };
    let id_of = |name: &str| -> Result<Option<String>> {
        match cf.resolve(s, name) {
            Source::Stage(x) => ids.get(&x).cloned().map(Some).ok_or_else(|| {
                anyhow!("stage {} has not been built before stage {}", cf.stages[x].label(), cf.stages[s].label())
            }),
            _ => Ok(None),
        }
    };
    let stage = &cf.stages[s];
    let mut out = String::new();
    copy(cf.prelude.start, cf.prelude.end, &mut out);
    match cf.base_of(s) {
        Source::Stage(_) => {
            let id = id_of(&stage.base)?.unwrap_or_default();
            out.push_str(&format!("FROM {id}\n"));
        }
        _ => copy(stage.span.start, stage.span.end, &mut out),
    }
    for ins in &stage.instructions {
        let rewritten =
            match &ins.op {
                Op::Copy(c) => c.from.as_deref().map(id_of).transpose()?.flatten().map(|id| {
                    rewrite_flags(&ins.raw_args, |k, v| if k == "from" { id.clone() } else { v.to_string() })
                }),
                Op::Run(r) => {
                    let mut mount_ids = Vec::new();
                    for m in &r.mounts {
                        mount_ids.push(m.from.as_deref().map(id_of).transpose()?.flatten());
                    }
                    if mount_ids.iter().any(Option::is_some) {
                        let mut k = 0;
                        Some(rewrite_flags(&ins.raw_args, |name, v| {
                            if name != "mount" {
                                return v.to_string();
                            }
                            let id = mount_ids.get(k).cloned().flatten();
                            k += 1;
                            match id {
                                Some(id) => v
                                    .split(',')
                                    .map(|part| {
                                        if part.starts_with("from=") {
                                            format!("from={id}")
                                        } else {
                                            part.to_string()
                                        }
                                    })
                                    .collect::<Vec<_>>()
                                    .join(","),
                                None => v.to_string(),
                            }
                        }))
                    } else {
                        None
                    }
                }
                Op::Meta => None,
            };
        match rewritten {
            Some(args) => {
                out.push_str(&format!("{} {args}\n", ins.keyword));
                copy(ins.span.body, ins.span.end, &mut out);
            }
            None => copy(ins.span.start, ins.span.end, &mut out),
        }
    }
    Ok(out)
}

/// Rewrites the leading `--name=value` flags of an instruction's arguments with `f(name, value)`,
/// keeping the rest as written.
fn rewrite_flags(raw: &str, mut f: impl FnMut(&str, &str) -> String) -> String {
    let mut parts = Vec::new();
    let mut rest = raw.trim_start();
    while let Some(flag) = rest.strip_prefix("--") {
        let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
        let tok = &flag[..end];
        parts.push(match tok.split_once('=') {
            Some((k, v)) => format!("--{k}={}", f(&k.to_ascii_lowercase(), v)),
            None => format!("--{tok}"),
        });
        rest = flag[end..].trim_start();
    }
    parts.push(rest.to_string());
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "# escape=\\\nARG BASE=localhost/bb\n\nFROM ${BASE} AS base\nRUN echo base > /b\n\nFROM base AS builder\n# comment\nRUN make \\\n    all\n\nFROM $BASE\nCOPY --chown=1:1 --from=builder /out /app\nCOPY --from=docker.io/library/alpine:3 /etc/os-release /\nRUN --mount=type=cache,target=/c --mount=type=bind,from=0,source=/b,target=/m <<EOF\ncat /m\nEOF\nCOPY ctx.txt /\n";

    fn ids() -> HashMap<usize, String> {
        HashMap::from([(0, "a".repeat(64)), (1, "b".repeat(64))])
    }

    #[test]
    fn first_stage_keeps_its_text_and_the_prelude() {
        let cf = Containerfile::parse(CF, &HashMap::new()).unwrap();
        let s0 = stage_containerfile(&cf, 0, &HashMap::new()).unwrap();
        assert_eq!(s0, "# escape=\\\nARG BASE=localhost/bb\n\nFROM ${BASE} AS base\nRUN echo base > /b\n");
    }

    #[test]
    fn stage_references_become_image_ids() {
        let cf = Containerfile::parse(CF, &HashMap::new()).unwrap();
        let s1 = stage_containerfile(&cf, 1, &ids()).unwrap();
        assert_eq!(
            s1,
            format!("# escape=\\\nARG BASE=localhost/bb\n\nFROM {}\nRUN make \\\n    all\n", "a".repeat(64))
        );
        let s2 = stage_containerfile(&cf, 2, &ids()).unwrap();
        let want = format!(
            "# escape=\\\nARG BASE=localhost/bb\n\nFROM $BASE\nCOPY --chown=1:1 --from={b} /out /app\nCOPY --from=docker.io/library/alpine:3 /etc/os-release /\nRUN --mount=type=cache,target=/c --mount=type=bind,from={a},source=/b,target=/m <<EOF\ncat /m\nEOF\nCOPY ctx.txt /\n",
            a = "a".repeat(64),
            b = "b".repeat(64)
        );
        assert_eq!(s2, want);
        // The result parses, and its references are images now.
        let again = Containerfile::parse(&s2, &HashMap::new()).unwrap();
        assert_eq!(again.stages.len(), 1);
    }

    #[test]
    fn a_missing_stage_image_is_an_error() {
        let cf = Containerfile::parse(CF, &HashMap::new()).unwrap();
        let e = stage_containerfile(&cf, 2, &HashMap::new()).unwrap_err().to_string();
        assert!(e.contains("builder"), "{e}");
    }
}
