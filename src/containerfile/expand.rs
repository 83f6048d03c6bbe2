//! `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}` and `\$`, as
//! BuildKit and buildah expand them in FROM, COPY, ADD, ENV, ARG and WORKDIR (not in RUN).

use std::collections::HashMap;

use anyhow::{bail, Result};

pub fn expand(s: &str, vars: &HashMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'$') => {
                out.push('$');
                chars.next();
            }
            '$' => match chars.peek() {
                Some('{') => {
                    chars.next();
                    let mut depth = 1;
                    let mut inner = String::new();
                    for c in chars.by_ref() {
                        match c {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            _ => {}
                        }
                        if depth == 0 {
                            break;
                        }
                        inner.push(c);
                    }
                    if depth != 0 {
                        bail!("unterminated ${{ in {s:?}");
                    }
                    out.push_str(&braced(&inner, vars, s)?);
                }
                Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
                    let mut name = String::new();
                    while let Some(c) = chars.peek().copied().filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
                        name.push(c);
                        chars.next();
                    }
                    out.push_str(vars.get(&name).map(String::as_str).unwrap_or(""));
                }
                _ => out.push('$'),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

fn braced(inner: &str, vars: &HashMap<String, String>, whole: &str) -> Result<String> {
    let name_end = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len());
    let (name, op) = inner.split_at(name_end);
    if name.is_empty() {
        bail!("bad substitution ${{{inner}}} in {whole:?}");
    }
    let val = vars.get(name);
    let set_nonempty = val.is_some_and(|v| !v.is_empty());
    Ok(match op {
        "" => val.cloned().unwrap_or_default(),
        _ if op.starts_with(":-") => {
            if set_nonempty {
                val.cloned().unwrap_or_default()
            } else {
                expand(&op[2..], vars)?
            }
        }
        _ if op.starts_with(":+") => {
            if set_nonempty {
                expand(&op[2..], vars)?
            } else {
                String::new()
            }
        }
        _ if op.starts_with('-') => match val {
            Some(v) => v.clone(),
            None => expand(&op[1..], vars)?,
        },
        _ if op.starts_with('+') => {
            if val.is_some() {
                expand(&op[1..], vars)?
            } else {
                String::new()
            }
        }
        _ => bail!("unsupported substitution ${{{inner}}} in {whole:?}"),
    })
}
