# The test cluster's node (sourced by scripts/test-cluster.sh, which defines RUN, BIN, CACHE, the node's names and
# addresses, log, die, ours, free_port, api_ready, node_built and node_deps).

node_running() { ours kubelet && ours containerd; }

# The API as the admin (the node's own processes use the admin kubeconfig too: a throwaway cluster).
api() {
  local method=$1 path=$2
  shift 2
  curl -sf --max-time 10 -X "$method" --cacert "$RUN/pki/ca.crt" --cert "$RUN/pki/admin.crt" \
    --key "$RUN/pki/admin.key" "$(cat "$RUN/api.url")$path" "$@"
}

bridge_up() {
  local other
  other=$(ip -4 route show "$POD_CIDR" | grep -v "dev $BRIDGE " || true)
  [ -z "$other" ] || die "the pod network $POD_CIDR of this checkout is already routed elsewhere: $other"
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip -4 addr show dev "$BRIDGE" | grep -q "inet $BRIDGE_IP/" || ip addr add "$BRIDGE_IP/16" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Service addresses are virtual (kube-proxy rewrites them); should a packet for one miss its rule (a Service
  # kube-proxy has not seen yet), it goes to the bridge, never out of the machine by the default route.
  ip route replace 10.0.0.0/16 dev "$BRIDGE"
}

# Pods may talk to the host (the bridge address) and to each other, never beyond: the bridge plugin turns on IP
# forwarding, so without this a pod's packet for any other address would leave the machine.
forward_rule() { echo "FORWARD -s $POD_CIDR ! -d $POD_CIDR -m comment --comment linnstream-test-$HASH -j DROP"; }

start_node() {
  node_built || die "node binaries missing in $BIN: run $0 install-node"
  node_deps
  local owner
  owner=$(cat "$CACHE/node.owner" 2>/dev/null || true)
  if [ -n "$owner" ] && [ "$owner" != "$RUN" ] && [ -f "$owner/kubelet.pid" ] \
    && tr '\0' ' ' <"/proc/$(cat "$owner/kubelet.pid")/cmdline" 2>/dev/null | grep -q -- "$owner"; then
    die "another checkout's node runs ($owner): one node per machine (kube-proxy owns the host's KUBE-* chains)"
  fi
  echo "$RUN" >"$CACHE/node.owner"
  local node=$RUN/node pki=$RUN/pki
  mkdir -p "$node/cni" "$node/ipam"
  cat >"$node/cni/10-linnstream.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "linnstream-$HASH", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$node/ipam", "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$BRIDGE_IP"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}]}
JSON
  # restrict_oom_score_adj: this VM's bounding set lacks CAP_SYS_RESOURCE, so the sandbox's oom_score_adj -998
  # would be refused (runc reports it as "can't get final child's PID from pipe: EOF"). runc, not crun: crun
  # refuses the VM's hybrid cgroup v1/v2 layout.
  cat >"$node/containerd.toml" <<TOML
version = 2
root = "$node/containerd-root"
state = "$node/containerd-state"
[grpc]
  address = "$node/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node/cni"
TOML
  # Images are imported, never pulled: a pull would go to a public registry. A proxy on the discard port makes
  # any pull fail at once, on loopback.
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
    nohup containerd --config "$node/containerd.toml" >"$RUN/containerd.log" 2>&1 &
  echo $! >"$RUN/containerd.pid"
  local ok=0 _
  for _ in $(seq 1 100); do
    ctr --address "$node/containerd.sock" version >/dev/null 2>&1 && { ok=1; break; }
    ours containerd || break
    sleep 0.1
  done
  [ $ok = 1 ] || { tail -20 "$RUN/containerd.log" >&2; die "containerd did not start"; }
  ctr --address "$node/containerd.sock" -n k8s.io images import "$IMAGES/pause-3.2.tar" >/dev/null

  # Pods get no DNS server but their own loopback: nothing they do may query the machine's resolver.
  echo "nameserver 127.0.0.1" >"$node/resolv.conf"
  local kubelet_port sched_port proxy_health proxy_metrics
  kubelet_port=$(free_port); sched_port=$(free_port); proxy_health=$(free_port); proxy_metrics=$(free_port)
  # This VM: cgroupfs (no systemd), no QoS cgroups and no node-allocatable enforcement (the hybrid cgroup
  # layout), no eviction or image GC thresholds (a shared disk). The API server reaches the kubelet (logs,
  # exec) on the bridge address with the admin certificate, which the kubelet's client CA signed.
  nohup "$BIN/kubelet" --kubeconfig="$RUN/kubeconfig" --hostname-override="$NODE_NAME" --node-ip="$BRIDGE_IP" \
    --container-runtime=remote --container-runtime-endpoint="unix://$node/containerd.sock" \
    --runtime-request-timeout=5m --pod-infra-container-image="$PAUSE_IMAGE" \
    --cgroup-driver=cgroupfs --cgroups-per-qos=false --enforce-node-allocatable= --fail-swap-on=false \
    --eviction-hard= --image-gc-high-threshold=100 --image-gc-low-threshold=99 \
    --root-dir="$node/kubelet" --cert-dir="$node/kubelet-pki" --volume-plugin-dir="$node/volume-plugins" \
    --address="$BRIDGE_IP" --port="$kubelet_port" --read-only-port=0 --healthz-port=0 \
    --anonymous-auth=false --client-ca-file="$pki/ca.crt" --authorization-mode=AlwaysAllow \
    --register-with-taints="$NODE_TAINT=true:NoSchedule" --max-pods=40 --serialize-image-pulls=false \
    --cluster-domain=cluster.local --resolv-conf="$node/resolv.conf" --v=1 >"$RUN/kubelet.log" 2>&1 &
  echo $! >"$RUN/kubelet.pid"
  nohup "$BIN/kube-scheduler" --kubeconfig="$RUN/kubeconfig" \
    --authentication-kubeconfig="$RUN/kubeconfig" --authorization-kubeconfig="$RUN/kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$sched_port" --port=0 --leader-elect=false \
    --v=1 >"$RUN/scheduler.log" 2>&1 &
  echo $! >"$RUN/scheduler.pid"
  # conntrack-max-per-core=0: leave the host's conntrack table size alone.
  nohup "$BIN/kube-proxy" --kubeconfig="$RUN/kubeconfig" --hostname-override="$NODE_NAME" \
    --proxy-mode=iptables --cluster-cidr="$POD_CIDR" --conntrack-max-per-core=0 \
    --healthz-bind-address="127.0.0.1:$proxy_health" --metrics-bind-address="127.0.0.1:$proxy_metrics" \
    --v=1 >"$RUN/kube-proxy.log" 2>&1 &
  echo $! >"$RUN/kube-proxy.pid"
  # shellcheck disable=SC2046
  iptables -C $(forward_rule) 2>/dev/null || iptables -I $(forward_rule)

  ok=0
  for _ in $(seq 1 240); do
    api GET "/api/v1/nodes/$NODE_NAME" 2>/dev/null | tr -d ' \n' | grep -q '"type":"Ready","status":"True"' \
      && { ok=1; break; }
    ours kubelet || break
    sleep 0.25
  done
  [ $ok = 1 ] || { tail -30 "$RUN/kubelet.log" >&2; stop_all; die "the node did not become Ready"; }
  # kube-controller-manager's node lifecycle controller (off: it would evict on a busy machine) would lift the
  # not-ready taint; keep only the taint that reserves the node for the pod tests.
  api PATCH "/api/v1/nodes/$NODE_NAME" -H 'Content-Type: application/merge-patch+json' \
    -d "{\"spec\":{\"taints\":[{\"key\":\"$NODE_TAINT\",\"value\":\"true\",\"effect\":\"NoSchedule\"}]}}" >/dev/null
  log "node $NODE_NAME ready: pods on $POD_CIDR, the host is $BRIDGE_IP to them"
}

# Deletes the node's pods through the API and waits (bounded) for the kubelet to tear them down, so their
# containers, network namespaces and addresses go the normal way before the kubelet and containerd stop.
drain_node() {
  api GET "/api/v1/nodes/$NODE_NAME" >/dev/null 2>&1 || return 0
  local _
  # Cordoned first, or controllers would put replacements straight back on it.
  api PATCH "/api/v1/nodes/$NODE_NAME" -H 'Content-Type: application/merge-patch+json' \
    -d '{"spec":{"unschedulable":true}}' >/dev/null 2>&1 || true
  if [ -x "$TOOLS/kubectl" ]; then
    "$TOOLS/kubectl" --kubeconfig "$RUN/kubeconfig" delete pods --all-namespaces --wait=false \
      --field-selector "spec.nodeName=$NODE_NAME" --grace-period=2 >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do
      [ -z "$(ctr --address "$RUN/node/containerd.sock" -n k8s.io tasks ls -q 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  api DELETE "/api/v1/nodes/$NODE_NAME" >/dev/null 2>&1 || true
}

stop_node() {
  local sock=$RUN/node/containerd.sock t
  if node_running && api_ready; then drain_node; fi
  stop_procs kube-proxy scheduler kubelet
  if ours containerd; then
    # Whatever the drain left (no API server, a stuck pod): kill the tasks.
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
    sleep 0.5
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
    done
  fi
  stop_procs containerd
  if [ "$(cat "$CACHE/node.owner" 2>/dev/null)" = "$RUN" ]; then
    # kube-proxy's KUBE-* chains.
    "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
    remove_kube_chains
    rm -f "$CACHE/node.owner"
  fi
  # shellcheck disable=SC2046
  while iptables -C $(forward_rule) 2>/dev/null; do iptables -D $(forward_rule); done
  # Mounts left under this cluster's state (overlay snapshots, secret volumes, sandbox network namespaces).
  { grep -o " $RUN/[^ ]*" /proc/mounts 2>/dev/null || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
  true
}

# The chains the kubelet adds (KUBE-FIREWALL, KUBE-MARK-*, canaries) and whatever kube-proxy's cleanup left: the
# jumps to them from the built-in chains, then the chains.
remove_kube_chains() {
  local table rule chain
  for table in filter nat mangle; do
    { iptables -t "$table" -S 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-' || true; } \
      | while read -r rule; do
        # iptables -S quotes comments as a shell would.
        eval "iptables -t $table -D ${rule#-A }" 2>/dev/null || true
      done
    for chain in $(iptables -t "$table" -S 2>/dev/null | sed -n 's/^-N \(KUBE-[^ ]*\)$/\1/p'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | sed -n 's/^-N \(KUBE-[^ ]*\)$/\1/p'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}

# load IMAGE.tar: a docker-archive into the node's containerd (the kubelet then finds it, never pulls it).
load_image() {
  [ -f "${1:-}" ] || die "usage: $0 load IMAGE.tar"
  node_running || die "no node running for this checkout: LINNSTREAM_K8S_WITH_NODE=1 $0 start"
  ctr --address "$RUN/node/containerd.sock" -n k8s.io images import "$1" >/dev/null
  log "imported $1"
}
