#!/usr/bin/env bash
# Sets up a file-backed zfs-fuse pool for the datasets crate's ZFS tests and
# prints the pool's name on stdout (and nothing else; progress goes to stderr).
# Idempotent: installs zfs-fuse if missing, starts its daemon if it is not
# running, imports or creates the pool if it is not there.
#
#   pool=$(bash .ci/zfs-setup.sh) && export HONEYGRAPH_TEST_ZFS_POOL="$pool"
#
# Settings (environment): HG_ZFS_POOL (hgtest), HG_ZFS_VDEV_DIR
# (/tmp/hgpool-vdev), HG_ZFS_MOUNT (/tmp/hgpool), HG_ZFS_SIZE (1G),
# HG_ZFS_WAIT_SECONDS (30). Needs root and /dev/fuse.
set -euo pipefail

pool=${HG_ZFS_POOL:-hgtest}
vdev_dir=${HG_ZFS_VDEV_DIR:-/tmp/hgpool-vdev}
vdev="$vdev_dir/$pool.img"
mountpoint=${HG_ZFS_MOUNT:-/tmp/hgpool}
size=${HG_ZFS_SIZE:-1G}
wait_seconds=${HG_ZFS_WAIT_SECONDS:-30}
pidfile=/var/run/zfs-fuse.pid

say() { echo "zfs-setup: $*" >&2; }
die() { say "$*"; exit 1; }

# Runs "$@" until it succeeds or the deadline passes; returns its last status.
wait_for() {
  local deadline=$((SECONDS + wait_seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.2
  done
}

[[ $(id -u) -eq 0 ]] || die "must run as root (zfs-fuse needs it)"

if ! command -v zpool >/dev/null 2>&1 || ! command -v zfs-fuse >/dev/null 2>&1; then
  say "installing zfs-fuse"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq zfs-fuse >&2
fi

[[ -c /dev/fuse ]] || die "/dev/fuse is missing: this machine cannot run zfs-fuse"

# Lazily unmounts every mount at or under the pool's mountpoint, deepest first.
unmount_under_mountpoint() {
  awk -v m="$mountpoint" '$2 == m || index($2, m "/") == 1 { print $2 }' /proc/mounts \
    | sort -r | while read -r stale; do umount -l "$stale" >&2 || true; done
}

if ! zpool list >/dev/null 2>&1; then
  if [[ -f $pidfile ]] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    rm -f "$pidfile"
  fi
  # With no daemon running, mounts left at the mountpoint belong to one that
  # died. Left there, the new daemon's mounts would stack on top of them; the
  # one time the stale-mount path below unmounted them after the new daemon
  # had started, every lookup under the pool hung afterwards. So they go
  # before the daemon starts.
  if grep -q " $mountpoint[ /]" /proc/mounts; then
    say "unmounting what a dead zfs-fuse daemon left at $mountpoint"
    unmount_under_mountpoint
  fi
  say "starting the zfs-fuse daemon"
  zfs-fuse --pidfile "$pidfile" >&2 || die "the zfs-fuse daemon did not start (see its messages above)"
  wait_for zpool list || die "the zfs-fuse daemon did not answer within ${wait_seconds}s"
fi

# A pool whose file vanished (a cleaned /tmp) stays known to the daemon as
# FAULTED: forget it and make a new one.
if health=$(zpool list -H -o health "$pool" 2>/dev/null) && [[ $health != ONLINE ]]; then
  say "pool $pool is $health: recreating it"
  zpool destroy -f "$pool" >&2 || zpool export -f "$pool" >&2 || die "cannot remove the $health pool $pool"
fi

if ! zpool list -H -o name "$pool" >/dev/null 2>&1; then
  mkdir -p "$vdev_dir"
  if [[ -f $vdev ]] && zpool import -d "$vdev_dir" "$pool" >&2; then
    say "imported pool $pool from $vdev"
  else
    say "creating pool $pool on $vdev ($size)"
    rm -f "$vdev"
    truncate -s "$size" "$vdev"
    zpool create -f -m "$mountpoint" "$pool" "$vdev" >&2
  fi
  wait_for zfs list "$pool" || die "pool $pool did not come up within ${wait_seconds}s"
fi

# A daemon that died and was started again leaves the old FUSE mounts
# behind, answering "Transport endpoint is not connected": unmount them and
# make the pool again (its contents are test scratch).
if ! ls "$mountpoint" >/dev/null 2>&1; then
  say "the mount at $mountpoint is stale: recreating pool $pool"
  unmount_under_mountpoint
  zpool destroy -f "$pool" >&2 || die "cannot remove pool $pool"
  rm -f "$vdev"
  mkdir -p "$vdev_dir"
  truncate -s "$size" "$vdev"
  zpool create -f -m "$mountpoint" "$pool" "$vdev" >&2
  wait_for ls "$mountpoint" || die "pool $pool is not mounted at $mountpoint within ${wait_seconds}s"
fi

health=$(zpool list -H -o health "$pool")
[[ $health == ONLINE ]] || die "pool $pool is $health"
echo "$pool"
