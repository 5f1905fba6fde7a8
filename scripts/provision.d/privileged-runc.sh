#!/usr/bin/env bash
# Lets Docker run privileged containers (the BuildKit container the kit
# starts, as buildx's docker-container driver does) on a machine whose
# capability bounding set lacks some capabilities, as sandboxed VMs do:
# dockerd gives a privileged container every capability the kernel knows,
# and runc then fails with "unable to apply caps: operation not permitted".
# A runc wrapper, made dockerd's default runtime, drops just those
# capabilities from each container's spec; nothing else changes. On a
# machine with the full bounding set this step does nothing.
# Idempotent. Run as root by provision.sh, before services.sh starts
# dockerd (a running dockerd reloads the setting on SIGHUP).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/env.sh"

names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
  LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER
  SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
  SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
  MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
  CHECKPOINT_RESTORE)
last=$(cat /proc/sys/kernel/cap_last_cap)
bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
missing=()
for ((i = 0; i <= last && i < ${#names[@]}; i++)); do
  if (( (bnd >> i & 1) == 0 )); then missing+=("CAP_${names[$i]}"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "privileged-runc: the capability bounding set is complete; Docker's runc is used as is"
  exit 0
fi

wrapper="$MUSLRUST_CHEF_TEST_BIN/runc-bounded"
mkdir -p "$MUSLRUST_CHEF_TEST_BIN"
{
  echo '#!/bin/sh'
  echo "# Written by scripts/provision.d/privileged-runc.sh: runc without ${missing[*]},"
  echo '# which this machine cannot grant (its capability bounding set lacks them).'
  echo '# The container spec (create: --bundle DIR) and an exec process spec'
  echo '# (exec: --process FILE) both list the capabilities.'
  echo 'specs= prev='
  echo 'for a in "$@"; do'
  echo '  case "$prev" in --bundle|-b) specs="$specs $a/config.json" ;; --process|-p) specs="$specs $a" ;; esac'
  echo '  case "$a" in --bundle=*) specs="$specs ${a#--bundle=}/config.json" ;; --process=*) specs="$specs ${a#--process=}" ;; esac'
  echo '  prev=$a'
  echo 'done'
  echo 'for f in $specs; do'
  echo '  [ -f "$f" ] || continue'
  for c in "${missing[@]}"; do
    echo "  sed -i -e 's/\"$c\",//g' -e 's/,\"$c\"//g' -e 's/\"$c\"//g' \"\$f\""
  done
  echo 'done'
  echo 'exec /usr/sbin/runc "$@"'
} > "$wrapper.tmp"
chmod 755 "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"

conf=/etc/docker/daemon.json
want="{\"runtimes\": {\"runc-bounded\": {\"path\": \"$wrapper\"}}, \"default-runtime\": \"runc-bounded\"}"
if [ -s "$conf" ] && ! grep -q '"runc-bounded"' "$conf"; then
  echo "privileged-runc: $conf exists without the runc-bounded runtime; add $want to it by hand" >&2
  exit 1
fi
if [ ! -s "$conf" ]; then
  mkdir -p /etc/docker
  echo "$want" > "$conf.tmp" && mv "$conf.tmp" "$conf"
  echo "privileged-runc: dockerd's default runtime is now $wrapper (drops ${missing[*]})"
  if pid=$(pgrep -x dockerd); then
    kill -HUP "$pid"
    echo "privileged-runc: dockerd ($pid) reloaded $conf"
  fi
fi
