//! Containerfile model: the stages of a build and the instructions that move content between them.
//!
//! Parses what buildah and BuildKit accept: parser directives (`# escape=`), line continuations,
//! comments, heredocs, JSON and shell forms, `ARG` before and after `FROM` with `${VAR}`,
//! `${VAR:-x}`, `${VAR:+x}` and `--build-arg` overrides, `FROM [--platform] IMAGE [AS name]`,
//! `COPY`/`ADD` with `--from`, `--chown`, `--chmod`, `--link`, several sources and globs, relative
//! destinations resolved against `WORKDIR`, and `RUN --mount=type=bind|cache,from=…`.
//! Errors name the Containerfile line.
//!
//! Not for: running anything or looking at images. A base image's own WORKDIR and ENV come in as
//! [`BaseConfig`]s from whoever read the image (`parse_with_bases`); without them a stage built
//! FROM an external image starts at `/` with an empty environment.

mod expand;
mod lex;

use std::collections::HashMap;

use anyhow::{anyhow, bail, Result};

use crate::paths;
pub use expand::expand;
pub use lex::Span;

/// A parsed Containerfile.
#[derive(Clone, Debug)]
pub struct Containerfile {
    pub stages: Vec<Stage>,
    /// The text as parsed, for tools that rewrite it (the build emulation).
    pub source: String,
    /// Physical lines before the first FROM: parser directives, comments, heading ARGs.
    pub prelude: Span,
}

#[derive(Clone, Debug)]
pub struct Stage {
    pub index: usize,
    /// The `AS` alias, if any.
    pub name: Option<String>,
    /// The `FROM` argument after ARG expansion, as written otherwise.
    pub base: String,
    pub platform: Option<String>,
    pub line: usize,
    pub instructions: Vec<Instruction>,
    /// The FROM instruction's place in the text.
    pub span: Span,
}

impl Stage {
    /// The alias, or the stage index as a string (what buildah's `io.buildah.stage.name` holds).
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.index.to_string())
    }
}

#[derive(Clone, Debug)]
pub struct Instruction {
    pub line: usize,
    pub keyword: String,
    pub op: Op,
    /// The arguments as written (continuations joined), before expansion.
    pub raw_args: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Op {
    /// `COPY` or `ADD`.
    Copy(Copy),
    Run(Run),
    /// Any other instruction (ENV, LABEL, WORKDIR, USER, ...): no file content of its own.
    Meta,
}

impl Op {
    /// Whether buildah commits a layer for this instruction when it builds with `--layers`.
    pub fn makes_layer(&self) -> bool {
        matches!(self, Op::Copy(_) | Op::Run(_))
    }
}

#[derive(Clone, Debug)]
pub struct Copy {
    pub add: bool,
    /// `--from=` as written (after expansion): a stage alias, a stage index or an image reference.
    pub from: Option<String>,
    /// Sources as written (after expansion). Heredoc sources are named in `heredocs`.
    pub sources: Vec<String>,
    /// The destination, absolute and normalised.
    pub dest: String,
    /// True when the destination is a directory (written with a trailing `/`, or several sources).
    pub dest_is_dir: bool,
    pub chown: Option<String>,
    pub link: bool,
    /// Inline sources (`COPY <<EOF /dest`): their names.
    pub heredocs: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Run {
    pub mounts: Vec<Mount>,
    pub command: String,
}

#[derive(Clone, Debug, Default)]
pub struct Mount {
    pub kind: String,
    pub from: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
}

/// What a `FROM` or a `--from=` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Stage(usize),
    Image(String),
    Scratch,
}

/// What a stage starts with when it is built FROM an external image: the image config's
/// `WorkingDir` and `Env`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaseConfig {
    pub workdir: Option<String>,
    pub env: Vec<(String, String)>,
}

impl Containerfile {
    pub fn parse(text: &str, build_args: &HashMap<String, String>) -> Result<Containerfile> {
        Containerfile::parse_with_bases(text, build_args, &HashMap::new())
    }

    /// Parses with the WORKDIR and ENV that external base images (by the reference the FROM line
    /// names, ARGs expanded) start their stages with.
    pub fn parse_with_bases(
        text: &str,
        build_args: &HashMap<String, String>,
        bases: &HashMap<String, BaseConfig>,
    ) -> Result<Containerfile> {
        let lines = lex::logical_lines(text)?;
        let mut global: HashMap<String, String> = predefined_args();
        let mut stages: Vec<Stage> = Vec::new();
        // Per-stage state.
        let mut env: HashMap<String, String> = HashMap::new();
        let mut workdir = "/".to_string();
        let mut stage_env: Vec<(HashMap<String, String>, String)> = Vec::new();

        for l in lines {
            let at = |e: anyhow::Error| e.context(format!("line {}: {}", l.line, l.keyword));
            let kw = l.keyword.to_ascii_uppercase();
            if kw == "FROM" {
                if !stages.is_empty() {
                    stage_env.push((env.clone(), workdir.clone()));
                }
                let (flags, words) = lex::split_flags(&l.args);
                let words: Vec<String> = words.iter().map(|w| expand(w, &global)).collect::<Result<_>>().map_err(at)?;
                let (base, name) = match words.as_slice() {
                    [b] => (b.clone(), None),
                    [b, as_, n] if as_.eq_ignore_ascii_case("as") => (b.clone(), Some(n.clone())),
                    _ => bail!("line {}: FROM takes an image and optionally `AS name`, got {:?}", l.line, l.args),
                };
                if base.is_empty() {
                    bail!("line {}: FROM names no image (an ARG that expanded to nothing?)", l.line);
                }
                if let Some(n) = &name {
                    if stages.iter().any(|s| s.name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(n))) {
                        bail!("line {}: stage name {n:?} is used twice", l.line);
                    }
                }
                let platform = flag(&flags, "platform").map(|p| expand(&p, &global)).transpose().map_err(at)?;
                let index = stages.len();
                // A stage based on an earlier stage inherits its ENV and WORKDIR.
                let parent = Containerfile::resolve_in(&stages, index, &base);
                (env, workdir) = match parent {
                    Source::Stage(p) => stage_env[p].clone(),
                    _ => match bases.get(&base) {
                        Some(b) => (
                            b.env.iter().cloned().collect(),
                            b.workdir
                                .as_deref()
                                .map(|w| paths::resolve("/", w))
                                .transpose()
                                .map_err(at)?
                                .unwrap_or_else(|| "/".into()),
                        ),
                        None => (HashMap::new(), "/".to_string()),
                    },
                };
                stages.push(Stage {
                    index,
                    name,
                    base,
                    platform,
                    line: l.line,
                    instructions: Vec::new(),
                    span: l.span,
                });
                continue;
            }
            let Some(stage) = stages.last_mut() else {
                if kw == "ARG" {
                    for (k, v) in lex::parse_arg(&l.args) {
                        let v = match build_args.get(&k) {
                            Some(o) => o.clone(),
                            None => v.map(|v| expand(&v, &global)).transpose().map_err(at)?.unwrap_or_default(),
                        };
                        global.insert(k, v);
                    }
                    continue;
                }
                bail!("line {}: {} before the first FROM (only ARG may come first)", l.line, l.keyword);
            };
            let op = match kw.as_str() {
                "COPY" | "ADD" => Op::Copy(parse_copy(&l, kw == "ADD", &env, &workdir).map_err(at)?),
                "RUN" => {
                    let (flags, _) = lex::split_flags(&l.args);
                    let mounts = flags
                        .iter()
                        .filter(|(k, _)| k == "mount")
                        .map(|(_, v)| parse_mount(&expand(v, &env)?))
                        .collect::<Result<Vec<_>>>()
                        .map_err(at)?;
                    Op::Run(Run { mounts, command: lex::strip_flags(&l.args) })
                }
                "ARG" => {
                    for (k, v) in lex::parse_arg(&l.args) {
                        let v = match (build_args.get(&k), v) {
                            (Some(o), _) => o.clone(),
                            (None, Some(v)) => expand(&v, &env).map_err(at)?,
                            (None, None) => global.get(&k).cloned().unwrap_or_default(),
                        };
                        env.insert(k, v);
                    }
                    Op::Meta
                }
                "ENV" => {
                    for (k, v) in lex::parse_env(&l.args).map_err(at)? {
                        let v = expand(&v, &env).map_err(at)?;
                        env.insert(k, v);
                    }
                    Op::Meta
                }
                "WORKDIR" => {
                    let w = expand(l.args.trim(), &env).map_err(at)?;
                    workdir = paths::resolve(&workdir, &w).map_err(at)?;
                    Op::Meta
                }
                "LABEL" | "USER" | "CMD" | "ENTRYPOINT" | "EXPOSE" | "VOLUME" | "STOPSIGNAL" | "HEALTHCHECK"
                | "SHELL" | "ONBUILD" | "MAINTAINER" => Op::Meta,
                _ => bail!("line {}: unknown instruction {:?}", l.line, l.keyword),
            };
            stage.instructions.push(Instruction {
                line: l.line,
                keyword: kw,
                op,
                raw_args: l.args.clone(),
                span: l.span,
            });
        }
        if stages.is_empty() {
            bail!("no FROM instruction: a Containerfile needs at least one stage");
        }
        let first_from = stages[0].span.start;
        let prelude = Span { start: 0, body: first_from, end: first_from };
        let cf = Containerfile { stages, source: text.to_string(), prelude };
        cf.check_references()?;
        Ok(cf)
    }

    fn resolve_in(stages: &[Stage], current: usize, name: &str) -> Source {
        if name.eq_ignore_ascii_case("scratch") {
            return Source::Scratch;
        }
        if let Some(s) = stages[..current.min(stages.len())]
            .iter()
            .find(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        {
            return Source::Stage(s.index);
        }
        if let Ok(i) = name.parse::<usize>() {
            if i < current {
                return Source::Stage(i);
            }
        }
        Source::Image(name.to_string())
    }

    /// What `name` (a FROM base or a `--from=` value) refers to, seen from stage `current`.
    pub fn resolve(&self, current: usize, name: &str) -> Source {
        Containerfile::resolve_in(&self.stages, current, name)
    }

    /// The base of a stage.
    pub fn base_of(&self, stage: usize) -> Source {
        self.resolve(stage, &self.stages[stage].base)
    }

    fn check_references(&self) -> Result<()> {
        for s in &self.stages {
            for i in &s.instructions {
                let from = match &i.op {
                    Op::Copy(c) => c.from.clone().into_iter().collect::<Vec<_>>(),
                    Op::Run(r) => r.mounts.iter().filter_map(|m| m.from.clone()).collect(),
                    Op::Meta => vec![],
                };
                for f in from {
                    if let Ok(n) = f.parse::<usize>() {
                        if n >= s.index {
                            bail!(
                                "line {}: --from={n} refers to stage {n}, which is not an earlier stage (this is stage {})",
                                i.line,
                                s.index
                            );
                        }
                    }
                    if let Some(later) = self.stages[s.index..]
                        .iter()
                        .find(|t| t.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&f)))
                    {
                        bail!(
                            "line {}: --from={f} refers to stage {} (line {}), which is not an earlier stage",
                            i.line,
                            later.label(),
                            later.line
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Index of the stage a `--target` names (alias or index).
    pub fn target_index(&self, target: Option<&str>) -> Result<usize> {
        let Some(t) = target else {
            return Ok(self.stages.len() - 1);
        };
        self.stages
            .iter()
            .find(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(t)) || s.index.to_string() == t)
            .map(|s| s.index)
            .ok_or_else(|| {
                let names: Vec<String> = self.stages.iter().map(|s| s.label()).collect();
                anyhow!("--target {t:?}: no such stage (stages: {})", names.join(", "))
            })
    }

    /// The stages the target needs, in order (the target last).
    pub fn needed_stages(&self, target: usize) -> Vec<usize> {
        let mut need = vec![false; self.stages.len()];
        let mut todo = vec![target];
        while let Some(s) = todo.pop() {
            if need[s] {
                continue;
            }
            need[s] = true;
            let mut refs = vec![self.base_of(s)];
            for i in &self.stages[s].instructions {
                match &i.op {
                    Op::Copy(c) => refs.extend(c.from.iter().map(|f| self.resolve(s, f))),
                    Op::Run(r) => {
                        refs.extend(r.mounts.iter().filter_map(|m| m.from.as_ref()).map(|f| self.resolve(s, f)))
                    }
                    Op::Meta => {}
                }
            }
            todo.extend(refs.into_iter().filter_map(|r| match r {
                Source::Stage(i) => Some(i),
                _ => None,
            }));
        }
        (0..=target).filter(|&i| need[i]).collect()
    }
}

fn predefined_args() -> HashMap<String, String> {
    let arch = crate::image::host_arch();
    let mut m = HashMap::new();
    for p in ["TARGET", "BUILD"] {
        m.insert(format!("{p}OS"), "linux".to_string());
        m.insert(format!("{p}ARCH"), arch.to_string());
        m.insert(format!("{p}PLATFORM"), format!("linux/{arch}"));
    }
    m
}

fn flag(flags: &[(String, String)], name: &str) -> Option<String> {
    flags.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn parse_copy(l: &lex::Line, add: bool, env: &HashMap<String, String>, workdir: &str) -> Result<Copy> {
    let (flags, words) = lex::split_flags(&l.args);
    let words = match lex::json_array(&lex::strip_flags(&l.args)) {
        Some(list) => list,
        None => words,
    };
    let mut words: Vec<String> = words.iter().map(|w| expand(w, env)).collect::<Result<_>>()?;
    if words.len() < 2 {
        bail!("needs at least one source and a destination, got {:?}", l.args.trim());
    }
    let raw_dest = words.pop().unwrap_or_default();
    let heredocs: Vec<String> = l.heredocs.iter().map(|h| h.name.clone()).collect();
    let sources: Vec<String> = words.into_iter().map(|w| lex::heredoc_name(&w).unwrap_or(w)).collect();
    let dest = paths::resolve(workdir, &raw_dest)?;
    let dest_is_dir =
        raw_dest.ends_with('/') || raw_dest == "." || sources.len() > 1 || sources.iter().any(|s| paths::has_glob(s));
    let from = flag(&flags, "from").map(|f| expand(&f, env)).transpose()?;
    if from.as_deref() == Some("") {
        bail!("--from= is empty");
    }
    Ok(Copy {
        add,
        from,
        sources,
        dest,
        dest_is_dir,
        chown: flag(&flags, "chown"),
        link: flags.iter().any(|(k, v)| k == "link" && v != "false"),
        heredocs,
    })
}

fn parse_mount(spec: &str) -> Result<Mount> {
    let mut m = Mount { kind: "bind".to_string(), ..Default::default() };
    for part in spec.split(',') {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match k.trim() {
            "type" => m.kind = v.to_string(),
            "from" => m.from = Some(v.to_string()),
            "source" | "src" => m.source = Some(v.to_string()),
            "target" | "dst" | "destination" => m.target = Some(v.to_string()),
            _ => {}
        }
    }
    if m.kind.is_empty() {
        bail!("--mount={spec}: empty type");
    }
    Ok(m)
}

#[cfg(test)]
mod tests;
