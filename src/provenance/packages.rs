//! Package provenance: a package takes its origin from the files it owns. Beyond the final image's
//! own databases, files that arrived without their package metadata (a `COPY --from=builder
//! /usr/bin/jq /usr/bin/jq`) are matched to the package that owns them in the stage or image they
//! were copied from.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::catalog::Package;

use super::model::{FileRecord, PackageOrigin, PackageRecord, Place};

/// Where to find the packages of a place (a stage or an external image), by its `Place` key.
pub type Catalogs<'a> = HashMap<String, &'a [Package]>;

/// The key of the stage or image a place names (its path left out).
pub fn place_key(p: &Place) -> String {
    if let Some(s) = &p.stage {
        format!("stage:{s}")
    } else if let Some(i) = &p.image {
        format!("image:{i}")
    } else if let Some(c) = &p.context {
        format!("context:{c}")
    } else {
        String::new()
    }
}

fn without_path(p: &Place) -> Place {
    Place { path: None, ..p.clone() }
}

/// Shared databases (dpkg's status, apk's installed) say nothing about one package's origin.
fn shared_db(path: &str) -> bool {
    matches!(path, "/var/lib/dpkg/status" | "/lib/apk/db/installed")
}

pub fn package_records(files: &[FileRecord], final_pkgs: &[Package], sources: &Catalogs) -> Vec<PackageRecord> {
    let by_path: HashMap<&str, &FileRecord> = files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut out = Vec::new();
    let mut owned: HashSet<&str> = HashSet::new();
    for p in final_pkgs {
        let present: Vec<&FileRecord> = p
            .files
            .iter()
            .filter(|f| !shared_db(f))
            .filter_map(|f| by_path.get(f.as_str()).copied())
            .filter(|f| f.kind != "dir")
            .collect();
        // Files a package database of the final image accounts for. A binary's or an archive's own
        // packages (Go modules, crates, Maven) do not: the jar may still have left its Debian
        // package behind in the stage it came from.
        if !p.is_embedded() {
            owned.extend(p.files.iter().map(String::as_str));
        }
        let evidence: Vec<&FileRecord> = if present.is_empty() {
            by_path.get(p.location.as_str()).copied().into_iter().collect()
        } else {
            present.clone()
        };
        out.push(PackageRecord {
            package: p.clone(),
            in_image: true,
            origin: origin_of(&evidence),
            arrived: Vec::new(),
        });
    }
    // Files that arrived from elsewhere and no package of the final image owns.
    let mut found: BTreeMap<(String, String), (Package, Vec<&FileRecord>)> = BTreeMap::new();
    for f in files {
        if f.kind == "dir" || owned.contains(f.path.as_str()) {
            continue;
        }
        let Some(from) = &f.origin.copied_from else { continue };
        let Some(src_path) = from.path.as_deref() else { continue };
        let Some(pkgs) = sources.get(&place_key(from)) else { continue };
        for pk in pkgs.iter().filter(|pk| pk.files.iter().any(|x| x == src_path)) {
            let e = found.entry((place_key(from), pk.purl.clone())).or_insert_with(|| (pk.clone(), Vec::new()));
            e.1.push(f);
        }
    }
    let in_image: HashSet<&str> = final_pkgs.iter().map(|p| p.purl.as_str()).collect();
    for ((_, _), (pk, arrived)) in found {
        // The same package is in the image with its own metadata (a jar is its Maven package).
        if in_image.contains(pk.purl.as_str()) {
            continue;
        }
        let mut origin = origin_of(&arrived);
        if origin.copied_from.is_none() {
            origin.copied_from = arrived.first().and_then(|f| f.origin.copied_from.as_ref()).map(without_path);
        }
        out.push(PackageRecord {
            package: pk,
            in_image: false,
            origin,
            arrived: arrived.iter().map(|f| f.path.clone()).collect(),
        });
    }
    out
}

/// The package that the other packages of one binary or archive depend on: the first one
/// cataloged at the same file (Go's main module, a jar's own package), by index into `records`.
pub fn dependency_parents(records: &[PackageRecord]) -> BTreeMap<usize, usize> {
    let mut first: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        let pk = &rec.package;
        if !pk.is_embedded() {
            continue;
        }
        // A nested archive's location is `outer:inner`: its packages belong to the outer file.
        let file = pk.location.split(':').next().unwrap_or(&pk.location);
        match first.entry((pk.found_by.as_str(), file)) {
            std::collections::btree_map::Entry::Occupied(m) => {
                out.insert(i, *m.get());
            }
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
    }
    out
}

/// The directory of a relative path (`.` for a top-level name).
fn dir_of(p: &str) -> String {
    p.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_else(|| ".".into())
}

/// The longest common directory of two relative directories (`.` when none).
fn common_dir(a: &str, b: &str) -> String {
    let common: Vec<&str> = a.split('/').zip(b.split('/')).take_while(|(x, y)| x == y).map(|(x, _)| x).collect();
    if common.is_empty() {
        ".".to_string()
    } else {
        common.join("/")
    }
}

/// The origin most of the files share, and the others when there are several.
fn origin_of(files: &[&FileRecord]) -> PackageOrigin {
    let mut groups: Vec<(String, Place, Option<Place>, usize)> = Vec::new();
    for f in files {
        let created = without_path(&f.origin.created_in);
        // Context files group as one place: the file itself, or the directory several share.
        let key = if created.context.is_some() { "context".to_string() } else { place_key(&created) };
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => {
                if let (Some(a), Some(b)) = (&g.1.context, &created.context) {
                    let a = if g.3 == 1 { dir_of(a) } else { a.clone() };
                    g.1.context = Some(common_dir(&a, &dir_of(b)));
                }
                g.3 += 1;
            }
            None => groups.push((key, created, f.origin.copied_from.as_ref().map(without_path), 1)),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.3));
    let Some(first) = groups.first() else {
        return PackageOrigin { created_in: None, copied_from: None, mixed: Vec::new() };
    };
    let mixed = if groups.len() > 1 {
        groups.iter().map(|g| super::model::OriginShare { created_in: g.1.clone(), files: g.3 }).collect()
    } else {
        Vec::new()
    };
    PackageOrigin { created_in: Some(first.1.clone()), copied_from: first.2.clone(), mixed }
}
