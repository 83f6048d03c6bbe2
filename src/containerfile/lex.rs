//! From Containerfile text to logical lines: directives, comments, continuations and heredocs.

use anyhow::{bail, Result};

#[derive(Clone, Debug)]
pub struct Heredoc {
    pub name: String,
    /// The inline text (kept for writers that want to show it).
    #[allow(dead_code)]
    pub body: String,
}

/// One instruction as written: its first line number, keyword, the rest, and any heredoc bodies.
#[derive(Clone, Debug)]
pub struct Line {
    pub line: usize,
    pub keyword: String,
    pub args: String,
    pub heredocs: Vec<Heredoc>,
    /// Physical lines (0-based, half-open) the instruction occupies, and where its heredoc
    /// bodies start (`body..end`; empty without heredocs).
    pub span: Span,
}

/// Where an instruction is in the Containerfile text, in 0-based physical lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub body: usize,
    pub end: usize,
}

/// Splits a Containerfile into instructions.
pub fn logical_lines(text: &str) -> Result<Vec<Line>> {
    let physical: Vec<&str> = text.lines().collect();
    let mut escape = '\\';
    let mut i = 0;
    // Parser directives: `# key=value` lines at the very top.
    while i < physical.len() {
        let t = physical[i].trim();
        let Some(d) = t.strip_prefix('#') else { break };
        let Some((k, v)) = d.split_once('=') else {
            break;
        };
        let k = k.trim().to_ascii_lowercase();
        if k.contains(' ') {
            break;
        }
        if k == "escape" {
            escape = match v.trim() {
                "\\" => '\\',
                "`" => '`',
                other => bail!("line {}: escape directive must be \\ or `, not {other:?}", i + 1),
            };
        }
        i += 1;
    }
    let mut out = Vec::new();
    while i < physical.len() {
        let start = i;
        let first = physical[i].trim_start();
        i += 1;
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        let mut text = String::new();
        let mut cur = first.to_string();
        loop {
            let t = cur.trim_end();
            if let Some(body) = t.strip_suffix(escape) {
                text.push_str(body);
                // Continuation: skip comment and empty lines in between.
                while i < physical.len() && {
                    let n = physical[i].trim_start();
                    n.is_empty() || n.starts_with('#')
                } {
                    i += 1;
                }
                if i >= physical.len() {
                    break;
                }
                cur = physical[i].to_string();
                i += 1;
            } else {
                text.push_str(t);
                break;
            }
        }
        let text = text.trim();
        let (kw, args) = match text.find(char::is_whitespace) {
            Some(p) => (&text[..p], text[p..].trim_start()),
            None => (text, ""),
        };
        let mut heredocs = Vec::new();
        let body_start = i;
        let upper = kw.to_ascii_uppercase();
        if matches!(upper.as_str(), "RUN" | "COPY" | "ADD") {
            for (name, strip_tabs) in heredoc_markers(args) {
                let mut body = String::new();
                loop {
                    if i >= physical.len() {
                        bail!("line {}: heredoc <<{name} is never terminated", start + 1);
                    }
                    let l = physical[i];
                    i += 1;
                    let cmp = if strip_tabs { l.trim_start_matches('\t') } else { l };
                    if cmp == name {
                        break;
                    }
                    body.push_str(cmp);
                    body.push('\n');
                }
                heredocs.push(Heredoc { name, body });
            }
        }
        let span = Span { start, body: body_start, end: i };
        out.push(Line { line: start + 1, keyword: kw.to_string(), args: args.to_string(), heredocs, span });
    }
    Ok(out)
}

/// Heredoc markers in an instruction's arguments: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`.
fn heredoc_markers(args: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for w in args.split_whitespace() {
        if w.starts_with("--") {
            continue;
        }
        if let Some(name) = heredoc_word(w) {
            out.push(name);
        }
    }
    out
}

fn heredoc_word(w: &str) -> Option<(String, bool)> {
    let pos = w.find("<<")?;
    let rest = &w[pos + 2..];
    let (strip, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_matches(|c| c == '"' || c == '\'');
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some((name, strip))
}

/// The heredoc name if the word is a heredoc marker.
pub fn heredoc_name(w: &str) -> Option<String> {
    if !w.starts_with("<<") {
        return None;
    }
    heredoc_word(w).map(|(n, _)| n)
}

/// Leading `--name=value` (or bare `--name`) flags, and the remaining whitespace-separated words.
pub fn split_flags(args: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut flags = Vec::new();
    let mut words = Vec::new();
    let mut in_flags = true;
    for w in args.split_whitespace() {
        if in_flags {
            if let Some(f) = w.strip_prefix("--") {
                let (k, v) = f.split_once('=').unwrap_or((f, "true"));
                flags.push((k.to_ascii_lowercase(), v.to_string()));
                continue;
            }
            in_flags = false;
        }
        words.push(w.to_string());
    }
    (flags, words)
}

/// The arguments with leading flags removed, otherwise as written.
pub fn strip_flags(args: &str) -> String {
    let mut rest = args.trim_start();
    while rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.to_string()
}

/// The JSON (exec) form `["a", "b"]`, when the arguments are one.
pub fn json_array(args: &str) -> Option<Vec<String>> {
    let t = args.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

/// `ARG a`, `ARG a=1 b=2`.
pub fn parse_arg(args: &str) -> Vec<(String, Option<String>)> {
    args.split_whitespace()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(unquote(v))),
            None => (w.to_string(), None),
        })
        .collect()
}

/// `ENV a=1 b="two words"` and the legacy `ENV a value with spaces`.
pub fn parse_env(args: &str) -> Result<Vec<(String, String)>> {
    let t = args.trim();
    let first = t.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        let (k, v) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        if k.is_empty() {
            bail!("ENV needs a name");
        }
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    let mut out = Vec::new();
    for w in shell_words(t) {
        match w.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None => bail!("ENV {w:?}: expected NAME=VALUE"),
        }
    }
    Ok(out)
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// Splits on whitespace outside quotes, removing the quotes.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                any = true;
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}
