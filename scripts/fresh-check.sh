#!/usr/bin/env bash
# Check the README on clean Debian 12 roots (slow; not part of CI). As root:
#
#   scripts/fresh-check.sh [REF]        REF: branch or commit of this repository, default main
#
# root1: a clean clone of REF; the README's two commands. scripts/run.sh in the background
#        must answer an A-ASSOCIATE-RQ, then scripts/test.sh must pass; afterwards run.sh
#        again must answer echoscu's C-ECHO. Then cpack -G DEB in a /usr build.
# root2: apt-get install ./cloudfilm_*.deb only; /usr/bin/cloudfilm serve must answer C-ECHO
#        (echoscu from root1), the configuration must be 0640 and a conffile, the unit
#        installed with matching paths.
#
# Environment:
#   CF_FRESH_DIR     work folder (default /var/tmp/cloudfilm-fresh); base-root.tar.gz there
#                    is the cached debootstrap result, apt-archives/ the cached .debs
#   CF_FRESH_CCACHE  ccache folder bind-mounted at /root/.cache/ccache in root1 (default
#                    $CF_FRESH_DIR/ccache, so a re-run compiles warm)
#   CF_FRESH_LOCK    file to flock around run.sh's build (e.g. /tmp/cf-build.lock), none by default
#   CF_FRESH_PORT    DICOM port for the nodes (default 11190); they bind 127.0.0.1 only
#   CF_FRESH_KEEP=1  keep root1/root2 afterwards
#
# The roots use this machine's apt sources and settings (the Debian mirror it reaches).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:-main}
work=${CF_FRESH_DIR:-/var/tmp/cloudfilm-fresh}
ccache_dir=${CF_FRESH_CCACHE:-$work/ccache}
lock=${CF_FRESH_LOCK:-}
port=${CF_FRESH_PORT:-11190}
suite=bookworm
root1=$work/root1
root2=$work/root2

log() { printf '[fresh-check %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAIL: $*"; exit 1; }

((EUID == 0)) || die "run as root (debootstrap, chroot, mount)"
command -v debootstrap >/dev/null || "$repo/scripts/setup-deps.sh" --fresh-check

# The mirror: the first URI serving $suite in this machine's sources (one-line or deb822).
mirror=$(
  {
    cat /etc/apt/sources.list 2>/dev/null | awk -v s="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == s) print $i; break } }'
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -f $f ]] || continue
      awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
        { uri = ""; ok = 0
          for (i = 1; i <= NF; i++) {
            if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
            if ($i ~ /^Suites:/) { n = split($i, a, /[ \t]+/); for (j = 2; j <= n; j++) if (a[j] == s) ok = 1 }
          }
          if (ok && uri != "") print uri }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.list; do
      [[ -f $f ]] || continue
      awk -v s="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == s) print $i; break } }' "$f"
    done
  } | head -n 1
)
[[ -n $mirror ]] || die "no apt source for $suite in /etc/apt/sources.list*"
log "mirror $mirror, ref $ref, work $work"

mkdir -p "$work/apt-archives/partial" "$ccache_dir"

mounted=()
bg_pids=()
cleanup() {
  local rc=$?
  for pid in "${bg_pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  sleep 1
  for pid in "${bg_pids[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2>/dev/null || umount -lR "${mounted[i]}" 2>/dev/null || true
  done
  if [[ ${CF_FRESH_KEEP:-0} != 1 ]]; then
    rm -rf --one-file-system "$root1" "$root2" 2>/dev/null || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A pristine root, made once and cached as a tarball.
base_tar=$work/base-root.tar.gz
if [[ ! -f $base_tar ]]; then
  log "debootstrap $suite (cached in $base_tar afterwards)"
  rm -rf --one-file-system "$work/pristine"
  debootstrap --arch=amd64 "$suite" "$work/pristine" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log"; die "debootstrap"; }
  tar -C "$work/pristine" -czf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
  rm -rf --one-file-system "$work/pristine"
fi

make_root() { # make_root DIR: unpack the base, this machine's apt sources, mounts
  local dir=$1
  rm -rf --one-file-system "$dir"
  mkdir -p "$dir"
  tar -C "$dir" -xzf "$base_tar"
  rm -f "$dir/etc/apt/sources.list"
  rm -f "$dir"/etc/apt/sources.list.d/*
  [[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$dir/etc/apt/"
  local f
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && grep -qF "$mirror" "$f" && cp "$f" "$dir/etc/apt/sources.list.d/"
  done
  # Settings the mirror needs (a snapshot mirror's old Release files, a proxy).
  for f in /etc/apt/apt.conf.d/*; do
    [[ -f $f ]] && grep -qE 'Check-Valid-Until|Check-Date|::Proxy' "$f" && cp "$f" "$dir/etc/apt/apt.conf.d/"
  done
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
  # This machine's own CAs (a TLS-inspecting egress proxy), for npm's registry requests:
  # like the apt settings above, a property of the machine, not of Debian.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$dir/etc/ssl"
    cat /usr/local/share/ca-certificates/*.crt > "$dir/etc/ssl/host-extra-ca.pem"
  fi
  mount -t proc proc "$dir/proc"; mounted+=("$dir/proc")
  mount --rbind /sys "$dir/sys"; mount --make-rslave "$dir/sys"; mounted+=("$dir/sys")
  mount --rbind /dev "$dir/dev"; mount --make-rslave "$dir/dev"; mounted+=("$dir/dev")
  mount --bind "$work/apt-archives" "$dir/var/cache/apt/archives"; mounted+=("$dir/var/cache/apt/archives")
}

# A clean environment inside the roots (CCACHE_MAXSIZE passes through: a shared cache
# must not be trimmed to ccache's 5 GB default).
root_env=(/usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8
          PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
[[ -n ${CCACHE_MAXSIZE:-} ]] && root_env+=("CCACHE_MAXSIZE=$CCACHE_MAXSIZE")
compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null &&
  root_env+=("NODE_EXTRA_CA_CERTS=/etc/ssl/host-extra-ca.pem")

in_root() { # in_root DIR COMMAND: run COMMAND with bash in DIR
  chroot "$1" "${root_env[@]}" /bin/bash -c "$2"
}

# associate DIR: an A-ASSOCIATE-RQ (Verification, Implicit VR LE; PS3.8 9.3.2) to the node
# on 127.0.0.1:$port with bash only; true when the answer is an A-ASSOCIATE-AC (type 02H).
associate() {
  in_root "$1" "
    exec 3<>/dev/tcp/127.0.0.1/$port || exit 1
    pad() { printf '%-16s' \"\$1\"; }
    {
      printf '\\x01\\x00\\x00\\x00\\x00\\xa6\\x00\\x01\\x00\\x00'
      pad CLOUDFILM; pad FRESHCHECK; printf '%.0s\\x00' {1..32}
      printf '\\x10\\x00\\x00\\x15%s' 1.2.840.10008.3.1.1.1
      printf '\\x20\\x00\\x00\\x2e\\x01\\x00\\x00\\x00'
      printf '\\x30\\x00\\x00\\x11%s' 1.2.840.10008.1.1
      printf '\\x40\\x00\\x00\\x11%s' 1.2.840.10008.1.2
      printf '\\x50\\x00\\x00\\x13\\x51\\x00\\x00\\x04\\x00\\x00\\x40\\x00'
      printf '\\x52\\x00\\x00\\x07%s' 1.2.3.4
    } >&3
    type=\$(timeout 10 head -c 1 <&3 | od -An -tx1 | tr -d ' ')
    printf '\\x05\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x00' >&3  # A-RELEASE-RQ
    exec 3>&-
    [ \"\$type\" = 02 ]"
}

# wait_node DIR PID LIMIT: until the node answers, the process exits, or LIMIT seconds pass
wait_node() {
  local dir=$1 pid=$2 limit=$3 waited=0
  while ((waited < limit)); do
    if associate "$dir" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 5
    ((waited += 5))
  done
  return 1
}

stop_bg() { # stop_bg PID: SIGTERM its process group, wait (bounded)
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || true
  for i in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# The node's configuration for the checks: loopback only, ports of ours (DICOM $port,
# HTTP $port + 1000). Only the node: and http: sections are touched.
node_config() { # node_config SRC DEST (paths inside the root)
  echo "sed -e '/^node:/,/^[a-z]/{s/^  bind: .*/  bind: 127.0.0.1/;s/^  port: .*/  port: $port/}'" \
    "-e '/^http:/,/^[a-z]/{s/^  bind: .*/  bind: 127.0.0.1/;s/^  port: .*/  port: $((port + 1000))/}' '$1' > '$2'"
}

# ---- root1: the README's commands on a clean clone -----------------------------------
log "root1: unpack"
make_root "$root1"
mkdir -p "$root1/root/.cache/ccache"
mount --bind "$ccache_dir" "$root1/root/.cache/ccache"; mounted+=("$root1/root/.cache/ccache")
git clone -q --no-local --branch "$ref" "$repo" "$root1/root/cloudfilm" 2>/dev/null ||
  { git clone -q --no-local "$repo" "$root1/root/cloudfilm" && git -C "$root1/root/cloudfilm" checkout -q "$ref"; }
log "root1: clone of $ref at $(git -C "$root1/root/cloudfilm" log -1 --format='%h %s')"
in_root "$root1" "$(node_config /root/cloudfilm/etc/cloudfilm.yaml /root/fresh.yaml)"

# run.sh's first step, outside the build lock (apt is slow, and it is the same command).
log "root1: scripts/setup-deps.sh (run.sh's first step)"
in_root "$root1" "cd /root/cloudfilm && scripts/setup-deps.sh" > "$work/setup1.log" 2>&1 ||
  { tail -n 30 "$work/setup1.log"; die "scripts/setup-deps.sh"; }
log "root1: scripts/run.sh (setup, build, serve) in the background"
lock_cmd=()
[[ -n $lock ]] && lock_cmd=(flock "$lock")
setsid "${lock_cmd[@]}" chroot "$root1" "${root_env[@]}" \
  /bin/bash -c "cd /root/cloudfilm && exec scripts/run.sh --config /root/fresh.yaml" > "$work/run1.log" 2>&1 &
run_pid=$!
bg_pids+=("$run_pid")
if ! wait_node "$root1" "$run_pid" 7200; then
  tail -n 30 "$work/run1.log"
  die "scripts/run.sh: the node did not answer an A-ASSOCIATE-RQ on 127.0.0.1:$port"
fi
log "root1: run.sh node answers A-ASSOCIATE (A-ASSOCIATE-AC)"
stop_bg "$run_pid"

log "root1: scripts/test.sh"
if ! in_root "$root1" "cd /root/cloudfilm && scripts/test.sh" > "$work/test1.log" 2>&1; then
  tail -n 40 "$work/test1.log"
  die "scripts/test.sh"
fi
grep -E 'tests passed|tests failed|passed|failed' "$work/test1.log" | tail -n 4

log "root1: scripts/run.sh again, C-ECHO with echoscu"
setsid chroot "$root1" "${root_env[@]}" /bin/bash -c "cd /root/cloudfilm && exec scripts/run.sh --config /root/fresh.yaml" > "$work/run1b.log" 2>&1 &
run_pid=$!
bg_pids+=("$run_pid")
wait_node "$root1" "$run_pid" 600 || die "run.sh (second start) did not answer"
in_root "$root1" "echoscu -aec CLOUDFILM 127.0.0.1 $port" || die "echoscu against run.sh's node"
log "root1: echoscu C-ECHO ok"
stop_bg "$run_pid"

log "root1: cpack -G DEB (build-deb, prefix /usr)"
in_root "$root1" "cd /root/cloudfilm && scripts/setup-deps.sh --package && export CCACHE_BASEDIR=/root/cloudfilm CCACHE_NOHASHDIR=1 &&
  cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DCF_BUILD_TESTS=OFF &&
  cmake --build build-deb --target cloudfilm && cd build-deb && cpack -G DEB" > "$work/cpack.log" 2>&1 ||
  { tail -n 30 "$work/cpack.log"; die "cpack"; }
deb=$(ls "$root1"/root/cloudfilm/build-deb/cloudfilm_*_amd64.deb)
log "root1: built $(basename "$deb")"

# ---- root2: the package alone ---------------------------------------------------------
log "root2: unpack, apt-get install ./$(basename "$deb")"
make_root "$root2"
cp "$deb" "$root2/tmp/"
in_root "$root2" "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/$(basename "$deb")" \
  > "$work/install2.log" 2>&1 || { tail -n 30 "$work/install2.log"; die "apt-get install ./deb"; }

mode=$(stat -c '%a %U:%G' "$root2/etc/cloudfilm/cloudfilm.yaml")
[[ $mode == "640 root:root" ]] || die "/etc/cloudfilm/cloudfilm.yaml is $mode, not 640 root:root"
grep -qx /etc/cloudfilm/cloudfilm.yaml "$root2/var/lib/dpkg/info/cloudfilm.conffiles" ||
  die "/etc/cloudfilm/cloudfilm.yaml is not a conffile"
unit=$root2/lib/systemd/system/cloudfilm.service
[[ -f $unit ]] || die "no /lib/systemd/system/cloudfilm.service"
grep -q '^ExecStart=/usr/bin/cloudfilm serve --config %d/cloudfilm.yaml$' "$unit" || die "unit ExecStart: $(grep ExecStart "$unit")"
grep -q '^LoadCredential=cloudfilm.yaml:/etc/cloudfilm/cloudfilm.yaml$' "$unit" || die "unit LoadCredential"
[[ -x $root2/usr/bin/cloudfilm ]] || die "no /usr/bin/cloudfilm"
if [[ -x $root2/usr/bin/systemd-analyze ]]; then
  in_root "$root2" "systemd-analyze verify /lib/systemd/system/cloudfilm.service" || die "systemd-analyze verify"
fi
log "root2: config 640 root:root, conffile; unit installed, paths match"

in_root "$root2" "mkdir -p /var/lib/cloudfilm && $(node_config /etc/cloudfilm/cloudfilm.yaml /tmp/fresh.yaml)"
setsid chroot "$root2" "${root_env[@]}" /bin/bash -c "cd /var/lib/cloudfilm && exec /usr/bin/cloudfilm serve --config /tmp/fresh.yaml" > "$work/serve2.log" 2>&1 &
run_pid=$!
bg_pids+=("$run_pid")
wait_node "$root2" "$run_pid" 60 || { tail -n 20 "$work/serve2.log"; die "installed node did not answer"; }
in_root "$root1" "echoscu -aec CLOUDFILM 127.0.0.1 $port" || die "echoscu (root1) against root2's installed node"
log "root2: installed /usr/bin/cloudfilm serve answers C-ECHO"
stop_bg "$run_pid"

# An edited configuration survives reinstalling the package (conffile).
echo "# edited by fresh-check" >> "$root2/etc/cloudfilm/cloudfilm.yaml"
in_root "$root2" "DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/$(basename "$deb")" >> "$work/install2.log" 2>&1 ||
  die "dpkg -i again"
grep -q '^# edited by fresh-check$' "$root2/etc/cloudfilm/cloudfilm.yaml" || die "reinstall overwrote the edited configuration"
log "root2: edited /etc/cloudfilm/cloudfilm.yaml kept on reinstall"

log "PASS: README commands on a clean clone of $ref, and the .deb on a clean root"
