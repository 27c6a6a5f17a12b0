#!/usr/bin/env bash
# Fetches the Debian source packages of the test projects into
# target/projects-src/ (gitignored). Idempotent: silent when every source
# tree is already unpacked. Needs root (or sudo) the first time, to add a
# deb-src entry mirroring the Debian deb entry and to run apt-get update.
#
#   tests/projects/fetch.sh            -> prints nothing when up to date
#   PROJECTS_SRC=/elsewhere fetch.sh   -> another cache directory
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${PROJECTS_SRC:-$root/target/projects-src}"
packages=(zlib lua5.4 sqlite3 bzip2)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "fetch.sh: need root to run: $*" >&2; exit 1; fi
}

# An unpacked tree is <package>-<version>/ next to its .dsc.
have() { compgen -G "$dest/${1}_*.dsc" >/dev/null && [ -n "$(find "$dest" -maxdepth 1 -type d -name "${1}-*" -print -quit)" ]; }

missing=()
for p in "${packages[@]}"; do have "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && command -v tclsh >/dev/null && exit 0

# apt-get source unpacks with dpkg-source (dpkg-dev); SQLite's build
# generates sources with tclsh (tcl).
tools=()
command -v dpkg-source >/dev/null || tools+=(dpkg-dev)
command -v tclsh >/dev/null || tools+=(tcl)
if [ ${#tools[@]} -gt 0 ]; then
    echo "fetch.sh: installing ${tools[*]}" >&2
    as_root apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tools[@]}" >/dev/null
fi

# deb-src entry: the deb822 stanzas of debian.sources with Types: deb-src,
# or the one-line entries of sources.list with deb-src, in a file of ours.
added=""
if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    deb822=/etc/apt/sources.list.d/debian.sources
    if [ -f "$deb822" ]; then
        sed -E 's/^Types:.*/Types: deb-src/' "$deb822" \
            | as_root tee /etc/apt/sources.list.d/machlink-deb-src.sources >/dev/null
    elif [ -f /etc/apt/sources.list ]; then
        sed -nE 's/^deb (.*)/deb-src \1/p' /etc/apt/sources.list \
            | as_root tee /etc/apt/sources.list.d/machlink-deb-src.list >/dev/null
    else
        printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' \
            'Suites: bookworm bookworm-updates' 'Components: main' \
            'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
            | as_root tee /etc/apt/sources.list.d/machlink-deb-src.sources >/dev/null
    fi
    added=1
fi
if [ -n "$added" ] || ! apt-cache showsrc "${missing[0]}" 2>/dev/null | grep -q '^Package:'; then
    as_root apt-get update -qq >/dev/null
fi

mkdir -p "$dest"
cd "$dest"
# As root, apt downloads as user _apt unless told otherwise, and warns when
# _apt cannot write here.
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
for p in "${missing[@]}"; do
    echo "fetch.sh: apt-get source $p" >&2
    apt-get source -qq "${sandbox[@]}" "$p" >/dev/null
done
