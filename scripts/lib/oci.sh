# Container images without an engine or a registry: umoci builds an OCI layout from a root filesystem, skopeo
# turns it into a docker-archive that containerd (`ctr images import`) and other tools load.

ensure_oci_tools() {
  command -v umoci >/dev/null && command -v skopeo >/dev/null && return 0
  log "installing umoci and skopeo"
  apt_install umoci skopeo
}

# oci_image ROOTFS OUT.tar REF USER WORKDIR ENTRYPOINT [CMD...]: one layer holding ROOTFS's files, the given user,
# working directory, entrypoint and cmd (and PATH), written as a docker-archive tagged REF.
oci_image() {
  local rootfs=$1 out=$2 ref=$3 user=$4 workdir=$5 entry=$6
  shift 6
  local work c
  work=$(mktemp -d)
  umoci init --layout "$work/oci"
  umoci new --image "$work/oci:latest"
  umoci unpack --image "$work/oci:latest" "$work/bundle" >/dev/null
  # The root's own mode comes along with "."; a mktemp folder's 0700 would lock every non-root user out of /.
  chmod 0755 "$rootfs"
  cp -a "$rootfs/." "$work/bundle/rootfs/"
  umoci repack --image "$work/oci:latest" "$work/bundle"
  local config=(--config.user "$user" --config.workingdir "$workdir" --config.entrypoint "$entry"
    --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  for c in "$@"; do config+=(--config.cmd "$c"); done
  umoci config --image "$work/oci:latest" "${config[@]}"
  rm -f "$out.tmp"
  skopeo copy --quiet "oci:$work/oci:latest" "docker-archive:$out.tmp:$ref"
  mv "$out.tmp" "$out"
  rm -rf "$work"
}
