//! Debian packages: `/var/lib/dpkg/status` (and distroless `status.d/*`), owned files from
//! `/var/lib/dpkg/info/<name>[:<arch>].list`.

use super::purl::purl;
use super::{field, stanzas, Cataloger, Env, Package};
use crate::layer::view::FsView;
use crate::layer::EntryKind;

pub struct Dpkg;

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg-db-cataloger"
    }

    fn catalog(&self, view: &FsView, env: &Env) -> Vec<Package> {
        let mut dbs: Vec<String> = Vec::new();
        if view.content("/var/lib/dpkg/status", None).is_some() {
            dbs.push("/var/lib/dpkg/status".into());
        }
        dbs.extend(
            view.subtree("/var/lib/dpkg/status.d")
                .filter(|(p, n)| n.entry.kind == EntryKind::File && !p.ends_with(".md5sums"))
                .map(|(p, _)| p.clone()),
        );
        let mut out = Vec::new();
        for db in dbs {
            let Some(text) = view.content(&db, None) else { continue };
            for st in stanzas(&String::from_utf8_lossy(text)) {
                if let Some(p) = package(view, env, &st, &db) {
                    out.push(p);
                }
            }
        }
        out
    }
}

fn package(view: &FsView, env: &Env, st: &[(String, String)], db: &str) -> Option<Package> {
    let name = field(st, "Package")?;
    let version = field(st, "Version")?;
    if let Some(status) = field(st, "Status") {
        if !status.ends_with(" installed") {
            return None;
        }
    }
    let arch = field(st, "Architecture").unwrap_or_default();
    let upstream = field(st, "Source").map(|s| match s.split_once(' ') {
        Some((n, v)) => format!("{n}@{}", v.trim().trim_start_matches('(').trim_end_matches(')')),
        None => s.to_string(),
    });
    let distro_ns = env.distro_id.clone().unwrap_or_else(|| "debian".into());
    let mut q = vec![("arch", arch.to_string())];
    if let Some(d) = env.distro_qualifier() {
        q.push(("distro", d));
    }
    if let Some(u) = upstream {
        q.push(("upstream", u));
    }
    let files = [format!("/var/lib/dpkg/info/{name}:{arch}.list"), format!("/var/lib/dpkg/info/{name}.list")]
        .iter()
        .find_map(|l| view.content(l, None).map(|b| (l.clone(), b)))
        .map(|(list, b)| {
            let mut files: Vec<String> = String::from_utf8_lossy(b)
                .lines()
                .filter_map(|l| crate::paths::normalize(l.trim()).ok())
                .filter(|p| view.get(p).is_some_and(|n| n.entry.kind != EntryKind::Dir))
                .collect();
            files.push(list);
            files
        })
        .unwrap_or_default();
    Some(Package {
        name: name.to_string(),
        version: version.to_string(),
        kind: "deb".into(),
        purl: purl("deb", Some(&distro_ns), name, version, &q),
        licenses: Vec::new(),
        location: db.to_string(),
        files,
        found_by: "dpkg-db-cataloger".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testutil::view;

    #[test]
    fn status_and_lists() {
        let v = view(&[
            ("etc/os-release", b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"),
            (
                "var/lib/dpkg/status",
                b"Package: bash\nStatus: install ok installed\nArchitecture: amd64\nSource: bash (5.2.15-2)\nVersion: 5.2.15-2+b7\nDescription: shell\n multi-line\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n",
            ),
            ("var/lib/dpkg/info/bash.list", b"/.\n/bin\n/bin/bash\n/usr/share/doc/bash/copyright\n"),
            ("bin/bash", b"ELF..."),
        ]);
        let env = Env::read(&v);
        let pk = Dpkg.catalog(&v, &env);
        assert_eq!(pk.len(), 2, "config-files only packages are not installed");
        assert_eq!(
            pk[0].purl,
            "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"
        );
        assert_eq!(pk[0].files, vec!["/bin/bash", "/var/lib/dpkg/info/bash.list"], "listed paths present in the image");
        assert_eq!(pk[1].purl, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc");
    }
}
