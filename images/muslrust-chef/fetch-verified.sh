#!/bin/sh
# fetch-verified NAME URL SHA256 HINT
#
# Downloads the release asset at URL (.tar.xz, or gzip: .tar.gz/.tgz), refuses it unless its sha256 is
# SHA256, unpacks it into a new temporary directory and prints that
# directory. One copy of the download/verify/unpack logic for every prebuilt
# tool the builder image installs (cargo-chef, zig). HINT
# says how to supply a missing checksum. POSIX sh: the tests' base is busybox.
set -eu
name=$1 url=$2 sum=$3 hint=$4

if [ -z "${sum}" ]; then
    echo "${name}: no sha256 given for ${TARGETARCH:-this platform}: ${hint}" >&2
    exit 1
fi
tmp="$(mktemp -d)"
if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "${tmp}/asset.tar.xz" "${url}" >&2
else
    wget -q -O "${tmp}/asset.tar.xz" "${url}" >&2
fi
got="$(sha256sum "${tmp}/asset.tar.xz" | cut -d' ' -f1)"
if [ "${got}" != "${sum}" ]; then
    echo "${name}: checksum mismatch for ${url}: expected ${sum}, got ${got}; refusing to install it" >&2
    rm -rf "${tmp}"
    exit 1
fi
# gzip starts with 1f 8b; anything else is taken for xz.
if [ "$(head -c 2 "${tmp}/asset.tar.xz" | od -An -tx1 | tr -d ' \n')" = "1f8b" ]; then
    tar -xzf "${tmp}/asset.tar.xz" -C "${tmp}"
else
    if ! command -v xz >/dev/null 2>&1 && ! command -v unxz >/dev/null 2>&1; then
        apt-get update >&2 && apt-get install -y --no-install-recommends xz-utils >&2 && rm -rf /var/lib/apt/lists/*
    fi
    tar -xJf "${tmp}/asset.tar.xz" -C "${tmp}"
fi
rm -f "${tmp}/asset.tar.xz"
echo "${tmp}"
