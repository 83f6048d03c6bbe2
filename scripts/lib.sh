# Shared by scripts/example and scripts/test: install what is missing, make a busybox base image.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# install_packages: buildah and busybox-static from the distribution (apt or dnf).
install_packages() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  busybox_bin >/dev/null || missing+=(busybox-static)
  command -v skopeo >/dev/null || missing+=(skopeo)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  if command -v apt-get >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v dnf >/dev/null; then
    local pk=("${missing[@]/busybox-static/busybox}")
    as_root dnf install -y -q "${pk[@]}"
  else
    echo "error: install ${missing[*]} with your package manager" >&2; exit 1
  fi
}

# busybox_bin: a static busybox (Debian's busybox-static puts it in /bin, Fedora's busybox in /usr/sbin).
busybox_bin() {
  local b
  for b in /bin/busybox /usr/sbin/busybox /usr/bin/busybox; do
    if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then echo "$b"; return 0; fi
    if [ -x "$b" ] && ! command -v file >/dev/null; then echo "$b"; return 0; fi
  done
  return 1
}

# make_busybox_base B NAME: a one-layer image of Debian's busybox-static (~2 MB, has /bin/sh).
make_busybox_base() {
  local name=$2 work; work=$(mktemp -d)
  local r=$work/rootfs
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,dev,proc,sys,run}
  chmod 1777 "$r/tmp"
  local bb; bb=$(busybox_bin)
  cp "$bb" "$r/bin/busybox"
  for a in $("$bb" --list-full); do [ -e "$r/$a" ] || ln -s /bin/busybox "$r/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$r/etc/passwd"
  printf 'root:x:0:\n' > "$r/etc/group"
  tar -C "$r" --numeric-owner --sort=name --mtime=@1700000000 -cf "$work/rootfs.tar" .
  local c; c=$($1 from scratch)
  $1 add "$c" "$work/rootfs.tar" / >/dev/null
  $1 config --env PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd sh "$c"
  $1 commit -q --rm "$c" "$name" >/dev/null
  rm -rf "$work"
}
