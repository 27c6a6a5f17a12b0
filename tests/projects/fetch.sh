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
packages=(${MACHLINK_FETCH_PACKAGES:-zlib lua5.4 sqlite3 bzip2})

# as_root, apt_get
source "$root/scripts/apt.sh"

# An unpacked tree is <package>-<version>/ next to its .dsc.
have() { compgen -G "$dest/${1}_*.dsc" >/dev/null && [ -n "$(find -H "$dest" -maxdepth 1 -type d -name "${1}-*" -print -quit)" ]; }

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
    apt_get update -qq
    apt_get install -y -qq "${tools[@]}"
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
    apt_get update -qq
fi

mkdir -p "$dest"
cd "$dest"
# As root, apt downloads as user _apt unless told otherwise, and warns when
# _apt cannot write here.
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)

# Every source version the archive lists for a package, newest first. The
# newest is not always downloadable: a security update can stay listed after
# the archive stops serving its files (404), so each is tried in turn.
# MACHLINK_FETCH_TRY_FIRST="pkg=version ..." puts versions at the head of
# their package's list (the tests use it to show the fallback).
versions() {
    local p="$1" v sorted=() out=() i j
    for v in ${MACHLINK_FETCH_TRY_FIRST:-}; do
        [ "${v%%=*}" = "$p" ] && out+=("${v#*=}")
    done
    while read -r v; do
        # Insertion sort with Debian's version order.
        for ((i = 0; i < ${#sorted[@]}; i++)); do
            [ "${sorted[i]}" = "$v" ] && continue 2
            dpkg --compare-versions "$v" gt "${sorted[i]}" && break
        done
        sorted=("${sorted[@]:0:i}" "$v" "${sorted[@]:i}")
    done < <(apt-cache showsrc "$p" 2>/dev/null | awk '/^Version:/ { print $2 }')
    for j in "${sorted[@]}"; do out+=("$j"); done
    printf '%s\n' "${out[@]}"
}

# fetch PACKAGE: downloads and unpacks the newest version that downloads.
fetch() {
    local p="$1" v tried=() log
    log="$(mktemp)"
    while read -r v; do
        [ -n "$v" ] || continue
        tried+=("$v")
        echo "fetch.sh: apt-get source $p=$v" >&2
        if apt-get source -qq "${sandbox[@]}" "$p=$v" >"$log" 2>&1; then
            rm -f "$log"
            return 0
        fi
        echo "fetch.sh: $p $v could not be fetched, trying the next version:" >&2
        sed 's/^/    /' "$log" | head -n 5 >&2
        # Leave nothing of the failed attempt behind (partial downloads).
        rm -f "${p}_"*"${v#*:}"* 2>/dev/null || true
    done < <(versions "$p")
    rm -f "$log"
    if [ ${#tried[@]} -eq 0 ]; then
        echo "fetch.sh: apt lists no source package $p (is there a deb-src entry? try: apt-get update)" >&2
    else
        echo "fetch.sh: no source version of $p could be downloaded (tried: ${tried[*]})" >&2
    fi
    return 1
}

failed=()
for p in "${missing[@]}"; do fetch "$p" || failed+=("$p"); done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fetch.sh: could not fetch the sources of: ${failed[*]}" >&2
    exit 1
fi
