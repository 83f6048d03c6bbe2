//! Java archives (jar, war, ear and the other zip-based kinds syft reads): `META-INF/MANIFEST.MF`,
//! `pom.properties`, and archives nested inside archives (`WEB-INF/lib/*.jar`, `BOOT-INF/lib/*.jar`).
//!
//! The layer indexer calls [`summarize`] on every Java archive as it streams by and keeps the
//! small [`Summary`] (manifest text, pom.properties texts, nested summaries) under `<path>#java`;
//! the cataloger reads only that. Names, versions and Maven group IDs are chosen the way syft
//! chooses them, so purls match: pom.properties first, then the archive's file name, then the
//! manifest's fields.

use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

use super::purl::purl;
use super::{Cataloger, Env, Package};
use crate::layer::view::FsView;

/// File name endings of Java archives.
pub const EXTENSIONS: [&str; 11] =
    [".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".lpkg", ".kar", ".rar"];
/// How deep archives inside archives are followed.
const MAX_DEPTH: usize = 4;
/// Nested archives larger than this are not decompressed.
const MAX_NESTED: u64 = 256 << 20;
/// Metadata entries larger than this are not kept.
const MAX_META: u64 = 1 << 20;

pub fn is_java_archive(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

/// What a cataloger needs from one archive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// `(path inside the archive, text)` of every `pom.properties`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pom_properties: Vec<(String, String)>,
    /// How many `pom.xml` files the archive holds (syft's "exactly one" rule counts them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pom_xml: usize,
    /// `(path inside the archive, summary)` of nested archives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<(String, Summary)>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Reads a zip held in memory. `None` when it is not a readable zip.
pub fn summarize(bytes: &[u8]) -> Option<Summary> {
    summarize_at(bytes, 0)
}

fn summarize_at(bytes: &[u8], depth: usize) -> Option<Summary> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut s = Summary::default();
    for i in 0..zip.len() {
        let Ok(mut f) = zip.by_index(i) else { continue };
        if f.is_dir() {
            continue;
        }
        let Ok(name) = f.name().map(|n| n.to_string()) else { continue };
        let base = name.rsplit('/').next().unwrap_or(&name);
        let size = f.size();
        if name == "META-INF/MANIFEST.MF" && size <= MAX_META {
            s.manifest = read_text(&mut f, size);
        } else if base == "pom.properties" && size <= MAX_META {
            if let Some(t) = read_text(&mut f, size) {
                s.pom_properties.push((name, t));
            }
        } else if base == "pom.xml" {
            s.pom_xml += 1;
        } else if depth < MAX_DEPTH && is_java_archive(&name) && size <= MAX_NESTED {
            let mut inner = Vec::with_capacity(size as usize);
            if (&mut f).take(size).read_to_end(&mut inner).is_ok() {
                if let Some(n) = summarize_at(&inner, depth + 1) {
                    s.nested.push((name, n));
                }
            }
        }
    }
    s.pom_properties.sort();
    s.nested.sort_by(|a, b| a.0.cmp(&b.0));
    Some(s)
}

fn read_text(r: &mut impl Read, size: u64) -> Option<String> {
    let mut b = Vec::with_capacity(size as usize);
    r.take(size).read_to_end(&mut b).ok()?;
    Some(String::from_utf8_lossy(&b).into_owned())
}

/// The main section and the named sections of a manifest, continuation lines joined.
#[derive(Debug, Default)]
struct Manifest {
    sections: Vec<Vec<(String, String)>>,
}

impl Manifest {
    fn parse(text: &str) -> Manifest {
        let mut sections: Vec<Vec<(String, String)>> = vec![Vec::new()];
        let mut fresh = false;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                fresh = true;
                continue;
            }
            if fresh {
                sections.push(Vec::new());
                fresh = false;
            }
            let cur = sections.last_mut().expect("one section at least");
            if let Some(rest) = line.strip_prefix(' ') {
                if let Some(last) = cur.last_mut() {
                    last.1.push_str(rest.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                cur.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        Manifest { sections }
    }

    fn main(&self, key: &str) -> Option<&str> {
        self.sections.first()?.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// A field from the main section, else from any named section.
    fn any(&self, key: &str) -> Option<&str> {
        self.sections.iter().flat_map(|s| s.iter()).find(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.sections.iter().flat_map(|s| s.iter()).filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct PomProperties {
    group_id: String,
    artifact_id: String,
    version: String,
}

impl PomProperties {
    fn parse(text: &str) -> PomProperties {
        let mut p = PomProperties::default();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((k, v)) = line.split_once(['=', ':']) else { continue };
            let v = v.trim().to_string();
            match k.trim() {
                "groupId" => p.group_id = v,
                "artifactId" => p.artifact_id = v,
                "version" => p.version = v,
                _ => {}
            }
        }
        p
    }
}

/// Name and version from an archive's file name: `commons-io-2.8.0.jar` is `commons-io`, `2.8.0`.
/// A dash-separated group that starts with a digit, or is `build<N>`, `r<N>` or `rc<N>`, starts the
/// version; failing that, the first `.`, `_` or `-` followed by a digit does.
fn split_file_name(path: &str) -> (String, String) {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = match base.rfind('.') {
        Some(i) => &base[..i],
        None => base,
    };
    let groups: Vec<&str> = stem.split('-').collect();
    let is_version = |g: &str| {
        let l = g.to_ascii_lowercase();
        let after = |p: &str| l.strip_prefix(p).is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
        l.starts_with(|c: char| c.is_ascii_digit()) || after("build") || after("rc") || after("r")
    };
    let name_ok = |g: &str| {
        g.starts_with(|c: char| c.is_ascii_alphabetic())
            && g.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    let mut cut = groups.len();
    for (i, g) in groups.iter().enumerate().skip(1) {
        if is_version(g) {
            cut = i;
            break;
        }
    }
    if !groups[..cut].iter().all(|g| name_ok(g)) {
        return (String::new(), String::new());
    }
    let name = groups[..cut].join("-");
    if cut < groups.len() {
        return (name, groups[cut..].join("-"));
    }
    let b = name.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        if matches!(b[i], b'.' | b'_' | b'-') && b[i + 1].is_ascii_digit() {
            return (name[..i].to_string(), name[i + 1..].to_string());
        }
    }
    (name, String::new())
}

const DOMAINS: [&str; 5] = ["com", "org", "net", "io", "be"];
const PRIMARY_GROUP_FIELDS: [&str; 8] = [
    "Group-Id",
    "Bundle-SymbolicName",
    "Extension-Name",
    "Specification-Vendor",
    "Implementation-Vendor",
    "Implementation-Vendor-Id",
    "Implementation-Title",
    "Bundle-Activator",
];
const SECONDARY_GROUP_FIELDS: [&str; 3] = ["Automatic-Module-Name", "Main-Class", "Package"];

fn clean_group(g: &str) -> String {
    g.split(';').next().unwrap_or("").split('#').next().unwrap_or("").trim().to_string()
}

fn group_from_manifest(m: &Manifest) -> Option<String> {
    for fields in [&PRIMARY_GROUP_FIELDS[..], &SECONDARY_GROUP_FIELDS[..]] {
        let mut ids: Vec<String> = fields
            .iter()
            .flat_map(|f| m.all(f))
            .filter(|v| DOMAINS.iter().any(|d| v.starts_with(d)))
            .map(clean_group)
            .collect();
        ids.sort();
        if let Some(first) = ids.into_iter().next() {
            return Some(first);
        }
    }
    None
}

/// One Java package before its purl is spelled.
#[derive(Debug)]
struct Found {
    name: String,
    version: String,
    pom: Option<PomProperties>,
    manifest: Option<Manifest>,
    /// `/app/x.war:WEB-INF/lib/y.jar`, syft's virtual path.
    virtual_path: String,
    jenkins: bool,
}

impl Found {
    fn group(&self) -> String {
        if let Some(p) = &self.pom {
            if !p.group_id.is_empty() {
                return clean_group(&p.group_id);
            }
            if p.artifact_id.contains('.') {
                return clean_group(&p.artifact_id);
            }
        }
        self.manifest.as_ref().and_then(group_from_manifest).unwrap_or_else(|| self.name.clone())
    }
}

/// The packages of one archive and of the archives inside it.
fn packages_of(virtual_path: &str, s: &Summary, out: &mut Vec<Found>) {
    let inner_name = virtual_path.rsplit(':').next().unwrap_or(virtual_path);
    let jenkins = [".jpi", ".hpi"].iter().any(|e| inner_name.to_ascii_lowercase().ends_with(e));
    let poms: Vec<(String, PomProperties)> = s
        .pom_properties
        .iter()
        .map(|(p, t)| (p.clone(), PomProperties::parse(t)))
        .filter(|(_, p)| !p.artifact_id.is_empty() && !p.version.is_empty())
        .collect();
    // The main package needs a manifest; without one, only nested archives count.
    if let Some(mtext) = &s.manifest {
        let manifest = Manifest::parse(mtext);
        let (file_name, file_version) = split_file_name(inner_name);
        let mut main_pom: Option<PomProperties> = None;
        if s.pom_properties.len() == 1 || s.pom_xml == 1 {
            for (_, p) in &poms {
                if !file_name.is_empty() && p.artifact_id.starts_with(&file_name) {
                    main_pom = Some(p.clone());
                }
            }
        }
        let mut name = main_pom.as_ref().map(|p| p.artifact_id.clone()).unwrap_or_default();
        if name.is_empty() {
            name = if !file_name.is_empty() {
                file_name.clone()
            } else {
                ["Name", "Bundle-Name", "Short-Name", "Extension-Name", "Implementation-Title"]
                    .iter()
                    .find_map(|k| manifest.main(k))
                    .unwrap_or_default()
                    .to_string()
            };
        }
        let mut version = main_pom.as_ref().map(|p| p.version.clone()).unwrap_or_default();
        if version.is_empty() {
            version = if !file_version.is_empty() {
                file_version
            } else {
                ["Implementation-Version", "Specification-Version", "Plugin-Version"]
                    .iter()
                    .find_map(|k| manifest.any(k))
                    .unwrap_or_default()
                    .to_string()
            };
        }
        let mut main = Found {
            name,
            version,
            pom: None,
            manifest: Some(manifest),
            virtual_path: virtual_path.to_string(),
            jenkins,
        };
        let mut aux = Vec::new();
        for (_, p) in poms {
            // syft's identity test (same group, name and version, or the pom's artifactId is the
            // main package's name) comes down to the name.
            let same = main.name == p.artifact_id;
            if same {
                // The pom.properties says more about the main package than the file name does.
                main.name = p.artifact_id.clone();
                main.version = p.version.clone();
                if main.pom.is_none() {
                    main.pom = Some(p);
                }
                continue;
            }
            aux.push(Found {
                name: p.artifact_id.clone(),
                version: p.version.clone(),
                virtual_path: format!("{virtual_path}:{}:{}", p.group_id, p.artifact_id),
                pom: Some(p),
                manifest: None,
                jenkins: false,
            });
        }
        out.push(main);
        out.extend(aux);
    }
    for (inner, n) in &s.nested {
        packages_of(&format!("{virtual_path}:{inner}"), n, out);
    }
}

pub struct JavaArchive;

impl Cataloger for JavaArchive {
    fn name(&self) -> &'static str {
        "java-archive-cataloger"
    }

    fn catalog(&self, view: &FsView, _env: &Env) -> Vec<Package> {
        let mut out = Vec::new();
        for (path, section) in view.captured_paths() {
            if section != Some("java") {
                continue;
            }
            let Some(summary) = view.content(path, section).and_then(|b| serde_json::from_slice::<Summary>(b).ok())
            else {
                continue;
            };
            let mut found = Vec::new();
            packages_of(path, &summary, &mut found);
            for f in found {
                if f.name.is_empty() {
                    continue;
                }
                let group = f.group();
                let licenses = f
                    .manifest
                    .as_ref()
                    .and_then(|m| m.main("Bundle-License"))
                    .map(|l| vec![l.to_string()])
                    .unwrap_or_default();
                out.push(Package {
                    purl: purl("maven", Some(&group), &f.name, &f.version, &[]),
                    name: f.name,
                    version: f.version,
                    kind: if f.jenkins { "jenkins-plugin" } else { "java-archive" }.into(),
                    licenses,
                    location: f.virtual_path,
                    files: vec![path.to_string()],
                    found_by: self.name().into(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::catalog::testutil::view;

    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn manifest(fields: &str) -> Vec<u8> {
        format!("Manifest-Version: 1.0\r\n{fields}\r\n").into_bytes()
    }

    #[test]
    fn file_names() {
        for (f, n, v) in [
            ("/x/commons-io-2.8.0.jar", "commons-io", "2.8.0"),
            ("prefix.thing-4.jar", "prefix.thing", "4"),
            ("my-http2-server-5.jar", "my-http2-server", "5"),
            ("jetpack-build235-rc5.jar", "jetpack", "build235-rc5"),
            ("ironman-r4-2009.jar", "ironman", "r4-2009"),
            ("commons-lang3.jar", "commons-lang3", ""),
            ("foo_1.2.jar", "foo", "1.2"),
            ("spring-boot-3.1.0-SNAPSHOT.jar", "spring-boot", "3.1.0-SNAPSHOT"),
        ] {
            assert_eq!(split_file_name(f), (n.to_string(), v.to_string()), "{f}");
        }
    }

    #[test]
    fn manifest_continuations_and_sections() {
        let m = Manifest::parse("Manifest-Version: 1.0\r\nBundle-Description: a lon\r\n g line\r\n\r\nName: x/\r\nImplementation-Version: 2\r\n");
        assert_eq!(m.main("Bundle-Description"), Some("a long line"));
        assert_eq!(m.main("Implementation-Version"), None);
        assert_eq!(m.any("Implementation-Version"), Some("2"));
    }

    #[test]
    fn a_war_with_nested_jars_and_shaded_poms() {
        let inner = zip(&[
            ("META-INF/MANIFEST.MF", &manifest("Implementation-Title: Guava\r\nBundle-SymbolicName: com.google.guava")),
            (
                "META-INF/maven/com.google.guava/guava/pom.properties",
                b"#x\ngroupId=com.google.guava\nartifactId=guava\nversion=33.0.0-jre\n",
            ),
            ("META-INF/maven/com.google.guava/guava/pom.xml", b"<project/>"),
        ]);
        let no_manifest = zip(&[("a/B.class", b"\xca\xfe\xba\xbe")]);
        let war = zip(&[
            ("META-INF/MANIFEST.MF", &manifest("Implementation-Title: shop\r\nImplementation-Version: 1.4\r\nImplementation-Vendor-Id: org.example")),
            ("META-INF/maven/org.example/shop/pom.properties", b"groupId=org.example\nartifactId=shop\nversion=1.4.0\n"),
            ("META-INF/maven/org.shaded/json/pom.properties", b"groupId=org.shaded\nartifactId=json\nversion=20231013\n"),
            ("WEB-INF/lib/guava-33.0.0-jre.jar", &inner),
            ("WEB-INF/lib/plain.jar", &no_manifest),
        ]);
        let s = summarize(&war).unwrap();
        assert_eq!(s.nested.len(), 2);
        let v = view(&[("srv/shop.war", &war)]);
        // The indexer keeps the summary, not the archive.
        assert!(v.content("/srv/shop.war", Some("java")).is_some());
        assert!(v.content("/srv/shop.war", None).is_none());
        let pkgs = JavaArchive.catalog(&v, &Env::default());
        let purls: Vec<&str> = pkgs.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                // two pom.properties: the file name names the main package, the manifest its version
                "pkg:maven/org.example/shop@1.4.0",
                "pkg:maven/org.shaded/json@20231013",
                "pkg:maven/com.google.guava/guava@33.0.0-jre",
            ]
        );
        assert!(pkgs.iter().all(|p| p.files == ["/srv/shop.war"]));
        assert_eq!(pkgs[2].location, "/srv/shop.war:WEB-INF/lib/guava-33.0.0-jre.jar");
    }

    #[test]
    fn manifest_only_jar_takes_its_group_from_the_manifest() {
        let jar = zip(&[(
            "META-INF/MANIFEST.MF",
            &manifest("Implementation-Title: Tiny\r\nImplementation-Version: 0.9\r\nBundle-SymbolicName: org.tiny.core;singleton:=true"),
        )]);
        let v = view(&[("opt/tiny.jar", &jar)]);
        let pkgs = JavaArchive.catalog(&v, &Env::default());
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].purl, "pkg:maven/org.tiny.core/tiny@0.9");
    }

    #[test]
    fn not_a_zip_is_not_a_package() {
        assert!(summarize(b"PK\x03\x04 truncated").is_none());
        let v = view(&[("opt/broken.jar", b"PK\x03\x04 truncated")]);
        assert!(JavaArchive.catalog(&v, &Env::default()).is_empty());
    }
}
