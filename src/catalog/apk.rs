//! Alpine packages: `/lib/apk/db/installed` (`P:` name, `V:` version, `A:` arch, `L:` license,
//! `o:` origin, `F:` directory, `R:` file in it).

use super::purl::purl;
use super::{Cataloger, Env, Package};
use crate::layer::view::FsView;

pub struct Apk;

const DB: &str = "/lib/apk/db/installed";

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        "apk-db-cataloger"
    }

    fn catalog(&self, view: &FsView, env: &Env) -> Vec<Package> {
        let Some(text) = view.content(DB, None) else { return Vec::new() };
        let text = String::from_utf8_lossy(text);
        let mut out = Vec::new();
        for record in text.split("\n\n") {
            let (mut name, mut version, mut arch, mut license, mut origin) = (None, None, None, None, None);
            let mut dir = String::new();
            let mut files = Vec::new();
            for line in record.lines() {
                let Some((k, v)) = line.split_once(':') else { continue };
                match k {
                    "P" => name = Some(v.to_string()),
                    "V" => version = Some(v.to_string()),
                    "A" => arch = Some(v.to_string()),
                    "L" => license = Some(v.to_string()),
                    "o" => origin = Some(v.to_string()),
                    "F" => dir = v.to_string(),
                    "R" => files.push(crate::paths::normalize(&format!("{dir}/{v}")).unwrap_or_default()),
                    _ => {}
                }
            }
            let (Some(name), Some(version)) = (name, version) else { continue };
            let mut q = vec![("arch", arch.unwrap_or_default())];
            if let Some(d) = env.distro_qualifier() {
                q.push(("distro", d));
            }
            if let Some(o) = origin.filter(|o| *o != name) {
                q.push(("upstream", o));
            }
            files.retain(|f| view.get(f).is_some());
            out.push(Package {
                purl: purl("apk", Some(env.distro_id.as_deref().unwrap_or("alpine")), &name, &version, &q),
                name,
                version,
                kind: "apk".into(),
                licenses: license.into_iter().collect(),
                location: DB.into(),
                files,
                found_by: self.name().into(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testutil::view;

    #[test]
    fn installed_db() {
        let v = view(&[
            ("etc/os-release", b"ID=alpine\nVERSION_ID=3.17.7\n"),
            ("lib/apk/db/installed", b"C:Q1abc=\nP:musl\nV:1.2.3-r5\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:busybox-binsh\nV:1.35.0-r31\nA:x86_64\nL:GPL-2.0-only\no:busybox\nF:bin\nR:sh\n"),
            ("lib/ld-musl-x86_64.so.1", b"x"),
        ]);
        let pk = Apk.catalog(&v, &Env::read(&v));
        assert_eq!(pk[0].purl, "pkg:apk/alpine/musl@1.2.3-r5?arch=x86_64&distro=alpine-3.17.7");
        assert_eq!(pk[0].files, vec!["/lib/ld-musl-x86_64.so.1"]);
        assert_eq!(pk[0].licenses, vec!["MIT"]);
        assert_eq!(
            pk[1].purl,
            "pkg:apk/alpine/busybox-binsh@1.35.0-r31?arch=x86_64&distro=alpine-3.17.7&upstream=busybox"
        );
    }
}
