#!/usr/bin/env bash
# Build the offline Docker image the `docker` code executor uses (default
# graphflow-python:local) without any registry: copy a minimal root filesystem
# from this machine -- a python3 binary, its shared libraries (found with ldd),
# its standard library, /bin/sh and a few basic commands -- into a temporary
# directory and `docker import` it.
#
#   bash .ci/docker-image.sh [IMAGE]        build IMAGE unless it exists already
#   GRAPHFLOW_IMAGE_FORCE=1 bash .ci/docker-image.sh    rebuild even if it exists
#
# Environment: GRAPHFLOW_DOCKER_IMAGE (image name, when no argument is given),
# GRAPHFLOW_IMAGE_PYTHON (the python to copy; default /usr/bin/python3, else python3).
# Needs a running Docker engine (see .ci/services.sh start).
set -euo pipefail

IMAGE="${1:-${GRAPHFLOW_DOCKER_IMAGE:-graphflow-python:local}}"
log() { echo "[docker-image] $*" >&2; }

if ! docker info >/dev/null 2>&1; then
    log "no Docker engine answers; start one first (bash .ci/services.sh start)"
    exit 1
fi
if [ "${GRAPHFLOW_IMAGE_FORCE:-0}" != "1" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE already exists; nothing to do (GRAPHFLOW_IMAGE_FORCE=1 rebuilds it)"
    exit 0
fi

PYTHON="${GRAPHFLOW_IMAGE_PYTHON:-}"
if [ -z "$PYTHON" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON="$(type -P python3)"; fi
fi
# Ask the interpreter itself where its binary and standard library are.
read -r PY_EXE PY_STDLIB PY_VERSION < <("$PYTHON" -c '
import os, sys, sysconfig
print(os.path.realpath(sys.executable), sysconfig.get_paths()["stdlib"],
      "%d.%d" % sys.version_info[:2])')
log "copying python $PY_VERSION from $PY_EXE (stdlib $PY_STDLIB)"

ROOT="$(mktemp -d "${TMPDIR:-/tmp}/graphflow-rootfs.XXXXXX")"
trap 'rm -rf "$ROOT"' EXIT

# A merged-/usr layout like Debian's: /bin, /lib, /lib64 and /sbin point into /usr.
mkdir -p "$ROOT"/usr/bin "$ROOT"/usr/lib "$ROOT"/usr/lib64 "$ROOT"/usr/sbin "$ROOT"/etc \
    "$ROOT"/tmp "$ROOT"/work "$ROOT"/dev "$ROOT"/proc "$ROOT"/sys "$ROOT"/root
chmod 1777 "$ROOT/tmp"
for d in bin lib lib64 sbin; do ln -s "usr/$d" "$ROOT/$d"; done

copy_file() {
    # Copy one file to the same path under $ROOT, following symlinks.
    local src="$1"
    local dest="$ROOT$src"
    [ -e "$dest" ] && return 0
    mkdir -p "$(dirname "$dest")"
    cp -L "$src" "$dest"
}

copy_with_libs() {
    # Copy a binary or shared object and every library ldd says it needs.
    local file="$1"
    copy_file "$file"
    local lib
    for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*' || true); do
        # /lib/... and /lib64/... are the same files as /usr/lib/... here.
        copy_file "$lib"
    done
}

# The interpreter, under its own path and as /usr/bin/python3 and /usr/bin/python.
copy_with_libs "$PY_EXE"
if [ "$PY_EXE" != "/usr/bin/python$PY_VERSION" ]; then
    cp -L "$PY_EXE" "$ROOT/usr/bin/python$PY_VERSION"
fi
ln -sf "python$PY_VERSION" "$ROOT/usr/bin/python3"
ln -sf "python$PY_VERSION" "$ROOT/usr/bin/python"

# The standard library, without its tests, GUI toolkits and installed packages.
mkdir -p "$ROOT$PY_STDLIB"
tar -C "$PY_STDLIB" -c -h \
    --exclude='./test' --exclude='./idlelib' --exclude='./tkinter' --exclude='./turtledemo' \
    --exclude='./ensurepip' --exclude='./lib2to3' --exclude='./site-packages' \
    --exclude='./dist-packages' --exclude='*_test*.so' --exclude='./config-*' . 2>/dev/null \
    | tar -C "$ROOT$PY_STDLIB" -x
# Extension modules link against more libraries (ssl, sqlite, lzma, ffi ...).
while IFS= read -r -d '' so; do
    for lib in $(ldd "$so" 2>/dev/null | grep -o '/[^ ]*' || true); do copy_file "$lib"; done
done < <(find "$ROOT$PY_STDLIB" -name '*.so' -print0)

# A shell and the basic commands scripts expect.
for tool in sh dash ls cat echo mkdir rm rmdir cp mv ln sleep env pwd head tail wc grep sed \
    true false id uname touch sort uniq chmod date tr cut printf test expr basename dirname \
    bash timeout kill ps \
    mktemp readlink seq tee xargs find; do
    path="/usr/bin/$tool"
    [ -e "$path" ] || continue
    copy_with_libs "$(readlink -f "$path")"
    if [ "$(readlink -f "$path")" != "$path" ]; then
        ln -sf "$(basename "$(readlink -f "$path")")" "$ROOT$path"
    fi
done

cat >"$ROOT/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$ROOT/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo "graphflow-sandbox" >"$ROOT/etc/hostname"

log "importing $(du -sh "$ROOT" | cut -f1) as $IMAGE"
tar -C "$ROOT" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
    --change 'WORKDIR /work' \
    --change 'CMD ["python3"]' \
    - "$IMAGE" >/dev/null
# Smoke test: the interpreter starts and finds its standard library.
docker run --rm --network none "$IMAGE" python3 -c 'import json, sqlite3, ssl, asyncio; print("ok")' >/dev/null
log "built $IMAGE"
