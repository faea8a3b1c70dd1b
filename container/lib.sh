# shellcheck shell=bash
# Shared by container/test.sh and deploy/test.sh (sourced, never run): podman as these machines
# need it, and the local images that stand in for registry ones.
#
# No container registry is reachable from the machines this runs on, so the base image is made
# here: debootstrap Debian bookworm from the apt mirror this machine already uses and import it;
# stand-ins for the official python, postgres and redis images are built on it from the
# container/*-standin.Containerfile recipes. They stay in podman's storage, so only the first run
# pays for them; REBUILD_BASE=1 remakes them.
#
# The sourcing script sets NAME (its name in messages) and WORK (a scratch folder) first, and
# runs as root (rootful podman, debootstrap).

LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Some of these are used only by the scripts that source this one.
# shellcheck disable=SC2034
SUITE=bookworm
DEBIAN_IMAGE=localhost/otp-service-base/debian:$SUITE
PYTHON_IMAGE=localhost/otp-service-base/python:3.11-slim-$SUITE
# shellcheck disable=SC2034
APP_UID=10001
# Upper bounds, so a stuck mirror or a hung build ends the run instead of CI's clock.
BOOTSTRAP_TIMEOUT=1200
BUILD_TIMEOUT=1800

log() { printf '==> %s\n' "$*"; }
fail() {
    printf '%s: FAIL: %s\n' "${NAME:-container}" "$*" >&2
    exit 1
}

# crun 1.8 (bookworm's default runtime) refuses to start containers on a host that uses cgroup v1
# and v2 controllers at once ("hybrid"), which these machines do; runc runs on hybrid and pure v2.
PODMAN=(podman --runtime runc)
pod() { "${PODMAN[@]}" "$@"; }

# Unless told otherwise, podman asks for 1048576 open files and processes in a container, which a
# root without CAP_SYS_RESOURCE (as in a sandbox) cannot grant. Ask for what the service needs,
# capped at this shell's own hard limits.
capped() { if [[ $1 == unlimited ]] || (($1 > $2)); then echo "$2"; else echo "$1"; fi; }
NOFILE=$(capped "$(ulimit -Hn)" 4096)
NPROC=$(capped "$(ulimit -Hu)" 4096)
# shellcheck disable=SC2034
RUN_LIMITS=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")

# `ensure_packages [MORE...]`: installs with apt-get what is missing of the base list and MORE.
ensure_packages() {
    # runc: see PODMAN; netavark and iptables publish the container port; debootstrap needs the
    # archive keyring to check what it downloads. Recommends are left out: for rootful podman
    # they add only rootless helpers, buildah and systemd/dbus, which would replace init.
    local wanted=(podman runc netavark iptables debootstrap debian-archive-keyring curl ca-certificates "$@")
    local missing=() package
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed ||
            missing+=("$package")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        timeout 600 apt-get update -q
        DEBIAN_FRONTEND=noninteractive timeout 1200 \
            apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

# The first mirror apt uses for $SUITE itself (not -updates or -security), from one-line .list
# files or deb822 .sources files; deb.debian.org if none names it.
debian_mirror() {
    local files=() file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $file ]] && files+=("$file")
    done
    local mirror=""
    if ((${#files[@]})); then
        mirror=$(awk -v suite="$SUITE" '
            function flush() {
                if (!done && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "") {
                    split(uris, u, " "); print u[1]; done = 1
                }
                types = suites = uris = ""
            }
            FNR == 1 { flush() }
            done || /^[ \t]*#/ { next }
            FILENAME ~ /\.sources$/ {
                if ($0 ~ /^[ \t]*$/) { flush(); next }
                key = tolower($1); $1 = ""
                if (key == "types:") types = $0
                else if (key == "uris:") uris = $0
                else if (key == "suites:") suites = $0
                next
            }
            $1 == "deb" {
                line = $0; gsub(/\[[^]]*\]/, "", line); split(line, f, " ")
                if (f[3] == suite) { print f[2]; done = 1 }
            }
            END { flush() }
        ' "${files[@]}")
    fi
    echo "${mirror:-http://deb.debian.org/debian}"
}

build_debian_image() {
    local mirror rootfs="$WORK/rootfs"
    mirror=$(debian_mirror)
    log "debootstrap $SUITE (minbase) from $mirror"
    if ! timeout "$BOOTSTRAP_TIMEOUT" debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" \
        >"$WORK/debootstrap.log" 2>&1; then
        tail -n 30 "$WORK/debootstrap.log"
        fail "debootstrap of $SUITE failed"
    fi
    # Downloaded packages and indexes only make the image bigger.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    if ! tar --numeric-owner -C "$rootfs" -c . |
        pod import --change 'CMD ["/bin/bash"]' - "$DEBIAN_IMAGE" >"$WORK/import.log" 2>&1; then
        cat "$WORK/import.log"
        fail "importing the debootstrapped $SUITE failed"
    fi
    rm -rf --one-file-system "$rootfs"
}

# The Debian image, debootstrapped unless it is in storage already (or REBUILD_BASE=1).
ensure_debian_image() {
    if [[ ${REBUILD_BASE:-0} == 1 ]] || ! pod image exists "$DEBIAN_IMAGE"; then
        build_debian_image
    else
        log "debian image $DEBIAN_IMAGE: cached"
    fi
}

# `build_standin RECIPE IMAGE [FILE...]`: builds container/RECIPE on the Debian image as IMAGE,
# with the FILEs of container/ (an entrypoint) as its build context. Rebuilt when the recipe, a
# FILE or the Debian image under it changes, else taken from storage.
build_standin() {
    local recipe=$1 image=$2 context="$WORK/context-${1%%.*}" recipe_id file
    shift 2
    recipe_id=$({ cat "$LIB_ROOT/container/$recipe" &&
        for file in "$@"; do cat "$LIB_ROOT/container/$file"; done &&
        pod image inspect --format '{{.Id}}' "$DEBIAN_IMAGE"; } | sha256sum | cut -d' ' -f1)
    if [[ ${REBUILD_BASE:-0} != 1 ]] && [[ $(pod image inspect \
        --format '{{index .Labels "otp-service.recipe"}}' "$image" 2>/dev/null) == "$recipe_id" ]]; then
        log "stand-in $image: cached"
        return
    fi
    log "building stand-in $image"
    mkdir -p "$context"
    for file in "$@"; do cp "$LIB_ROOT/container/$file" "$context/"; done
    if ! timeout "$BUILD_TIMEOUT" "${PODMAN[@]}" build --format docker \
        --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" --label "otp-service.recipe=$recipe_id" \
        -t "$image" -f "$LIB_ROOT/container/$recipe" "$context" >"$WORK/standin.log" 2>&1; then
        tail -n 40 "$WORK/standin.log"
        fail "building the stand-in $image failed"
    fi
}

build_python_standin() {
    build_standin python-standin.Containerfile "$PYTHON_IMAGE"
}

# `build_app_image TAG`: the repository's Dockerfile on the python stand-in.
build_app_image() {
    local tag=$1
    # pip in the build reaches PyPI through whatever TLS path this machine has (here a proxy with
    # its own CA): hand it this machine's CA bundle as a build secret, which lands in no layer.
    local ca_bundle=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt} secrets=() old_id new_id
    if [[ -f $ca_bundle ]]; then
        printf '[global]\ncert = /run/secrets/pip_ca\n' >"$WORK/pip.conf"
        secrets=(--secret "id=pip_conf,src=$WORK/pip.conf" --secret "id=pip_ca,src=$ca_bundle")
    fi
    old_id=$(pod image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
    log "building $tag from Dockerfile"
    # --format docker: the OCI format (podman's default) has no HEALTHCHECK and drops it.
    if ! timeout "$BUILD_TIMEOUT" "${PODMAN[@]}" build --format docker \
        --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" "${secrets[@]}" -t "$tag" "$LIB_ROOT" \
        >"$WORK/build.log" 2>&1; then
        tail -n 40 "$WORK/build.log"
        fail "building the image from Dockerfile failed"
    fi
    # The image this run replaced is no longer used by anything: do not let them pile up.
    new_id=$(pod image inspect --format '{{.Id}}' "$tag")
    if [[ -n $old_id && $old_id != "$new_id" ]]; then
        pod rmi "$old_id" >/dev/null 2>&1 || true
    fi
}

# --- checks: each returns non-zero on failure, and every one runs ---

PASSED=0
FAILED=()
check() {
    local name=$1
    shift
    if "$@"; then
        PASSED=$((PASSED + 1))
        printf 'PASS  %s\n' "$name"
    else
        FAILED+=("$name")
        printf 'FAIL  %s\n' "$name"
    fi
}
