#!/usr/bin/env bash
# The container image the chart runs, built without a container engine or a registry (umoci and skopeo from
# Debian): the release binary and the shared libraries it links, as uid 65532, laid out as the Dockerfile's
# image (distroless cc-debian12:nonroot + /usr/local/bin/linnstream). tests/image.rs checks that the two agree.
#
#   scripts/image.sh                # builds the release binary (if needed) and the image; prints the archive's path
#
# Output: $CARGO_TARGET_DIR/image/linnstream.tar, a docker-archive tagged localhost/linnstream:VERSION (the
# crate's version, the chart's appVersion), for `ctr images import` (scripts/test-cluster.sh load) or
# `docker load`. Env: LINNSTREAM_IMAGE_REF (the tag), LINNSTREAM_IMAGE_BINARY (use this binary, no cargo build).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh
source scripts/lib/oci.sh

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/linnstream/target}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
ref=${LINNSTREAM_IMAGE_REF:-localhost/linnstream:$version}
out_dir=$CARGO_TARGET_DIR/image
out=$out_dir/linnstream.tar

ensure_oci_tools
binary=${LINNSTREAM_IMAGE_BINARY:-}
if [ -z "$binary" ]; then
  log "cargo build --release --bin linnstream"
  cargo build --release --locked --bin linnstream >&2
  binary=$CARGO_TARGET_DIR/release/linnstream
fi
[ -x "$binary" ] || { echo "image: no binary at $binary" >&2; exit 1; }

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
# What distroless's nonroot image provides that a process may look at: the users, a home, a sticky /tmp.
mkdir -p "$rootfs/etc" "$rootfs/home/nonroot" "$rootfs/tmp" "$rootfs/usr/local/bin"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
chown 65532:65532 "$rootfs/home/nonroot"
chmod 1777 "$rootfs/tmp"
install -m 0755 "$binary" "$rootfs/usr/local/bin/linnstream"
# The shared libraries the binary links (glibc, libgcc_s, the loader) at the paths the loader looks for them.
ldd "$binary" | grep -o '/[^ ]*' | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

mkdir -p "$out_dir"
oci_image "$rootfs" "$out" "$ref" 65532:65532 /home/nonroot /usr/local/bin/linnstream --help
log "image $ref in $out ($(du -h "$out" | cut -f1))"
echo "$out"
