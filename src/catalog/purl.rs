//! Package URLs as the purl spec and syft write them: percent-encoded segments (`+` as `%2B`, `@`
//! as `%40`, `:` kept), namespace split on `/`, qualifiers sorted by key.

pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS` (empty namespace, version and qualifiers left out).
pub fn purl(ty: &str, namespace: Option<&str>, name: &str, version: &str, qualifiers: &[(&str, String)]) -> String {
    let mut s = format!("pkg:{ty}/");
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        for seg in ns.split('/').filter(|x| !x.is_empty()) {
            s.push_str(&encode(seg));
            s.push('/');
        }
    }
    s.push_str(&encode(name));
    if !version.is_empty() {
        s.push('@');
        s.push_str(&encode(version));
    }
    let mut q: Vec<&(&str, String)> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    q.sort_by_key(|(k, _)| *k);
    if !q.is_empty() {
        s.push('?');
        s.push_str(&q.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelled_as_syft_spells_them() {
        // Seen in syft 1.18.1's SPDX of a Debian 12 image.
        assert_eq!(
            purl("deb", Some("debian"), "bsdutils", "1:2.38.1-5+deb12u3", &[("arch", "amd64".into()), ("upstream", "util-linux@2.38.1-5+deb12u3".into()), ("distro", "debian-12".into())]),
            "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5%2Bdeb12u3"
        );
        assert_eq!(
            purl("golang", Some("github.com/anchore"), "syft", "v1.18.1", &[]),
            "pkg:golang/github.com/anchore/syft@v1.18.1"
        );
        assert_eq!(purl("npm", Some("@babel"), "core", "7.0.0", &[]), "pkg:npm/%40babel/core@7.0.0");
        assert_eq!(purl("pypi", None, "charset-normalizer", "3.5.3", &[]), "pkg:pypi/charset-normalizer@3.5.3");
    }
}
