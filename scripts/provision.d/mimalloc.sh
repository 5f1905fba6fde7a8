#!/usr/bin/env bash
# mimalloc's C sources for pkg/pipeline's mimalloc fixture (testdata/mimalloc):
# Debian bookworm's *source* package, unpacked into the test cache, where
# internal/testinfra.MimallocSource finds it. Nothing third-party is
# committed; the test copies src/ and include/ into the fixture's build
# context.
#
# apt does the fetching and the checking, with its own private sources list,
# lists and cache (the machine's apt configuration is not touched): the
# InRelease file is checked against debian-archive-keyring, the Sources index
# against InRelease's hashes, and the .dsc and tarballs against the Sources
# index; dpkg-source then checks the tarballs against the .dsc and applies
# Debian's patches. The version is pinned so that every machine builds the
# same C code.
# Idempotent: once unpacked, a second run changes nothing and downloads
# nothing. Run as root by provision.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../env.sh
. "$here/env.sh"

# Keep in step with internal/testinfra.MimallocVersion.
MIMALLOC_VERSION="2.0.9+ds-2"
# Debian's archive: the one this machine's apt already uses for bookworm
# main (the only package source these machines reach), unless set.
mirror="${MUSLRUST_CHEF_TEST_DEBIAN_MIRROR:-$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' 2>/dev/null | awk '$2 == "bookworm" && $3 == "main" {print $1; exit}')}"
mirror="${mirror%/}"
if [ -z "$mirror" ]; then
  echo "mimalloc: apt has no bookworm main source to take the archive from; set MUSLRUST_CHEF_TEST_DEBIAN_MIRROR to Debian's archive URL" >&2
  exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

cache="${MUSLRUST_CHEF_TEST_ROOT}/cache/mimalloc"
dest="$cache/mimalloc-$MIMALLOC_VERSION"
if [ -f "$dest/include/mimalloc.h" ] && [ -f "$dest/src/static.c" ]; then
  exit 0
fi

# dpkg-source unpacks and patches the source package.
apt_install_missing mimalloc dpkg-dev xz-utils debian-archive-keyring

mkdir -p "$cache"
work="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" "$work/download"
echo "deb-src [signed-by=$keyring] $mirror bookworm main" > "$work/sources.list"
# Root does the downloads (the private directories are root's; apt's _apt
# sandbox user could not write them).
apt_opts=(-q -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")

start=$(date +%s)
echo "mimalloc: fetching Debian's source package mimalloc $MIMALLOC_VERSION from $mirror"
if ! apt-get "${apt_opts[@]}" update > "$work/apt.log" 2>&1 ||
  ! (cd "$work/download" && apt-get "${apt_opts[@]}" source --download-only "mimalloc=$MIMALLOC_VERSION") >> "$work/apt.log" 2>&1; then
  cat "$work/apt.log" >&2
  echo "mimalloc: apt-get could not fetch the source package mimalloc=$MIMALLOC_VERSION from $mirror bookworm; check that the archive (MUSLRUST_CHEF_TEST_DEBIAN_MIRROR) is reachable and still has that version" >&2
  exit 1
fi
# The .dsc's own signature cannot be checked (the Debian developers' keyring
# is not installed); its checksums were checked by apt through the signed
# Release file, so dpkg-source's warning about it is not shown.
if ! dpkg-source -x "$work/download/mimalloc_$MIMALLOC_VERSION.dsc" "$work/tree" > "$work/dpkg-source.log" 2>&1; then
  cat "$work/dpkg-source.log" >&2
  echo "mimalloc: dpkg-source could not unpack mimalloc_$MIMALLOC_VERSION.dsc" >&2
  exit 1
fi
for f in include/mimalloc.h src/static.c; do
  if [ ! -f "$work/tree/$f" ]; then
    echo "mimalloc: the unpacked source package has no $f; the fixture needs mimalloc 2.x's layout" >&2
    exit 1
  fi
done
rm -rf "$dest"
mv "$work/tree" "$dest"
fetched=$(grep '^Fetched' "$work/apt.log" | sed 's/ in .*//' | paste -sd+ | sed 's/+/, /g')
echo "mimalloc: unpacked into $dest in $(( $(date +%s) - start ))s (apt: $fetched)"
