# Shell functions shared by scripts/setup.sh and tests/projects/fetch.sh
# (sourced, not run): running a command as root, and apt-get as root.

# Runs a command as root: directly, through sudo, or not at all (exit 1,
# naming the command and the calling script).
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "$(basename "$0"): need root to run: $*" >&2; exit 1; fi
}

# apt-get as root, waiting while another apt run (a boot-time apt-daily
# update, a concurrent test's fetch) holds apt's locks: up to 10 minutes,
# then its error.
apt_get() {
    local tries=0 log
    log="$(mktemp)"
    until as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@" >"$log" 2>&1; do
        if grep -q "Could not get lock" "$log" && [ $((tries += 1)) -lt 60 ]; then
            sleep 10
            continue
        fi
        cat "$log" >&2
        rm -f "$log"
        return 1
    done
    rm -f "$log"
}
