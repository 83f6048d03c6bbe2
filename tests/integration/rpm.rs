//! RPM databases of all three backends, made with real tools: packages built by rpmbuild and
//! installed by Debian's rpm (sqlite), the same headers loaded into a Berkeley DB hash with
//! db5.3_load (RHEL 7/8 layout) and written as SUSE's ndb `Packages.db`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{which, Store};

const SPEC: &str = "Name: %{pkg}\nVersion: %{ver}\nRelease: %{rel}.fx\n%{?ep:Epoch: %{ep}}\nSummary: test package %{pkg}\nLicense: MIT\nBuildArch: noarch\n%description\nTest package.\n%install\nmkdir -p %{buildroot}/usr/share/%{pkg} %{buildroot}/etc\necho '%{pkg} %{version}' > %{buildroot}/usr/share/%{pkg}/README\necho 'name=%{pkg}' > %{buildroot}/etc/%{pkg}.conf\n%files\n%config(noreplace) /etc/%{pkg}.conf\n/usr/share/%{pkg}\n";

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Installs three packages into `root` with rpm's sqlite backend; returns `rpm -qa` as NEVRA lines.
fn sqlite_root(work: &Path, root: &Path) -> BTreeSet<String> {
    let top = work.join("top");
    std::fs::write(work.join("t.spec"), SPEC).unwrap();
    for (pkg, ver, rel, ep) in
        [("fx-base", "1.0.0", "1", ""), ("fx-tools", "2.3.1", "4", "2"), ("fx-data", "0.9", "2", "")]
    {
        let mut c = Command::new("rpmbuild");
        c.args([
            "--define",
            &format!("_topdir {}", top.display()),
            "-D",
            &format!("pkg {pkg}"),
            "-D",
            &format!("ver {ver}"),
            "-D",
            &format!("rel {rel}"),
        ]);
        if !ep.is_empty() {
            c.args(["-D", &format!("ep {ep}")]);
        }
        run(c.arg("-bb").arg(work.join("t.spec")));
    }
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=\"rhel\"\nVERSION_ID=\"9.4\"\n").unwrap();
    let rpm =
        |args: &[&str]| run(Command::new("rpm").arg("--root").arg(root).args(["--dbpath", "/var/lib/rpm"]).args(args));
    rpm(&["--initdb"]);
    let rpms: Vec<PathBuf> = std::fs::read_dir(top.join("RPMS/noarch")).unwrap().flatten().map(|e| e.path()).collect();
    let mut args = vec!["-i".to_string(), "--nodeps".into()];
    args.extend(rpms.iter().map(|p| p.display().to_string()));
    rpm(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let qa = rpm(&["-qa", "--qf", "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n"]);
    String::from_utf8(qa).unwrap().lines().map(String::from).collect()
}

/// The header blobs of an sqlite rpmdb, by the sqlite3 command of the test machine (python).
fn blobs(db: &Path) -> Vec<(u32, Vec<u8>)> {
    let code = "import sqlite3,sys\nfor h,b in sqlite3.connect(sys.argv[1]).execute('select hnum, blob from Packages order by hnum'): print(h, b.hex())";
    let out = run(Command::new("python3").arg("-c").arg(code).arg(db));
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let (h, b) = l.split_once(' ').unwrap();
            (h.parse().unwrap(), hex::decode(b).unwrap())
        })
        .collect()
}

/// db5.3_load's text input: printable bytes as is, others `\xx`.
fn db_text(b: &[u8]) -> String {
    b.iter()
        .map(|&c| if c > 0x20 && c < 0x7f && c != b'\\' { (c as char).to_string() } else { format!("\\{c:02x}") })
        .collect()
}

fn bdb(path: &Path, rows: &[(u32, Vec<u8>)]) {
    let mut text = String::new();
    let max = rows.iter().map(|r| r.0).max().unwrap();
    text.push_str(&format!("{}\n{}\n", db_text(&0u32.to_le_bytes()), db_text(&max.to_le_bytes())));
    for (h, b) in rows {
        text.push_str(&format!("{}\n{}\n", db_text(&h.to_le_bytes()), db_text(b)));
    }
    let mut child = Command::new("db5.3_load")
        .args(["-T", "-t", "hash"])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

/// SUSE's ndb layout: `RpmP` header, `Slot` entries, `BlbS` blobs in 16-byte blocks.
fn ndb(path: &Path, rows: &[(u32, Vec<u8>)]) {
    let le = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let slot_pages = 1u32;
    let mut slots = Vec::new();
    let mut blobs = Vec::new();
    let mut blk = slot_pages * 4096 / 16;
    for (h, b) in rows {
        let cnt = (16 + b.len() + 12).div_ceil(16) as u32;
        let mut body = b"BlbS".to_vec();
        body.extend(le(&[*h, 0, b.len() as u32]));
        body.extend_from_slice(b);
        body.resize(cnt as usize * 16 - 12, 0);
        let sum = adler32(&body);
        body.extend(le(&[sum, b.len() as u32]));
        body.extend_from_slice(b"BlbE");
        blobs.extend(body);
        slots.extend_from_slice(b"Slot");
        slots.extend(le(&[*h, blk, cnt]));
        blk += cnt;
    }
    let mut out = b"RpmP".to_vec();
    out.extend(le(&[0, rows.len() as u32 + 1, slot_pages, rows.len() as u32 + 1]));
    out.resize(32, 0);
    out.extend(slots);
    out.resize(slot_pages as usize * 4096, 0);
    out.extend(blobs);
    std::fs::write(path, out).unwrap();
}

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s) = (1u32, 0u32);
    for &c in b {
        a = (a + c as u32) % 65521;
        s = (s + a) % 65521;
    }
    (s << 16) | a
}

fn scan_rootfs(name: &str, root: &Path) -> Value {
    let s = Store::get();
    let ctx = s.context(&format!("rpm-{name}"), "FROM localhost/bb\nADD rootfs.tar /\n", &[]);
    run(Command::new("tar").arg("-C").arg(root).args(["--numeric-owner", "-cf"]).arg(ctx.join("rootfs.tar")).arg("."));
    let tag = format!("localhost/rpm-{name}");
    s.build(&ctx, &["-t", &tag]);
    let out = s.dir.join(format!("out-rpm-{name}.json"));
    s.scan_prov(
        &out,
        &[
            &format!("containers-storage:{tag}"),
            "-f",
            ctx.join("Containerfile").to_str().unwrap(),
            "--context",
            ctx.to_str().unwrap(),
        ],
    )
}

fn nevras(p: &Value) -> BTreeSet<String> {
    p["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["type"] == "rpm")
        .map(|x| format!("{} {}", x["name"].as_str().unwrap(), x["version"].as_str().unwrap()))
        .collect()
}

#[test]
fn rpm_databases_of_every_backend() {
    assert!(which("rpmbuild") && which("db5.3_load"), "needs rpm and db5.3-util: run .ci/run");
    let s = Store::get();
    let work = s.dir.join("rpm-work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let sq = work.join("sqlite");
    let want = sqlite_root(&work, &sq);
    assert_eq!(want.len(), 3);
    assert!(want.contains("fx-tools 2:2.3.1-4.fx"), "{want:?}");
    let rows = blobs(&sq.join("var/lib/rpm/rpmdb.sqlite"));

    let p = scan_rootfs("sqlite", &sq);
    assert_eq!(nevras(&p), want, "sqlite backend");
    let tools = p["packages"].as_array().unwrap().iter().find(|x| x["name"] == "fx-tools").unwrap();
    assert_eq!(
        tools["purl"],
        "pkg:rpm/redhat/fx-tools@2.3.1-4.fx?arch=noarch&distro=rhel-9.4&epoch=2&upstream=fx-tools-2.3.1-4.fx.src.rpm"
    );
    let files: Vec<&str> = tools["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(files, ["/etc/fx-tools.conf", "/usr/share/fx-tools/README"]);
    assert_eq!(tools["origin"]["createdIn"]["context"], ".", "unpacked from rootfs.tar of the context by ADD");

    // Berkeley DB: RHEL 8's /var/lib/rpm/Packages, readable by rpm's own bdb_ro backend.
    let bd = work.join("bdb");
    std::fs::create_dir_all(bd.join("var/lib/rpm")).unwrap();
    run(Command::new("cp").arg("-a").arg(sq.join("usr")).arg(sq.join("etc")).arg(&bd));
    bdb(&bd.join("var/lib/rpm/Packages"), &rows);
    let by_rpm = run(Command::new("rpm").args(["--define", "_db_backend bdb_ro", "--root"]).arg(&bd).args([
        "--dbpath",
        "/var/lib/rpm",
        "-qa",
    ]));
    assert_eq!(String::from_utf8_lossy(&by_rpm).lines().count(), 3, "rpm reads the BDB back");
    assert_eq!(nevras(&scan_rootfs("bdb", &bd)), want, "bdb backend");

    // ndb: SUSE's /usr/lib/sysimage/rpm/Packages.db, with /var/lib/rpm a symlink to it.
    let nd = work.join("ndb");
    std::fs::create_dir_all(nd.join("usr/lib/sysimage/rpm")).unwrap();
    std::fs::create_dir_all(nd.join("var/lib")).unwrap();
    run(Command::new("cp").arg("-a").arg(sq.join("usr")).arg(sq.join("etc")).arg(&nd));
    ndb(&nd.join("usr/lib/sysimage/rpm/Packages.db"), &rows);
    std::os::unix::fs::symlink("../../usr/lib/sysimage/rpm", nd.join("var/lib/rpm")).unwrap();
    assert_eq!(nevras(&scan_rootfs("ndb", &nd)), want, "ndb backend");
}
