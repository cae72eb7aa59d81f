#!/usr/bin/env bash
# Services the execution tests need: bubblewrap and a Docker engine.
#
#   bash .ci/services.sh start    install bubblewrap + docker.io if missing, start dockerd
#   bash .ci/services.sh stop     stop the dockerd this script started
#   bash .ci/services.sh status   say what is installed and running
#
# Also usable as a library: `source .ci/services.sh` defines services_start,
# services_stop and services_status without running anything.
#
# Needs root (apt-get, dockerd). The daemon logs to $GRAPHFLOW_DOCKERD_LOG
# (default: dockerd.log in the system temp dir); its pid is kept in
# $GRAPHFLOW_DOCKERD_PID so that `stop` ends exactly that process.

GRAPHFLOW_DOCKERD_LOG="${GRAPHFLOW_DOCKERD_LOG:-${TMPDIR:-/tmp}/graphflow-dockerd.log}"
GRAPHFLOW_DOCKERD_PID="${GRAPHFLOW_DOCKERD_PID:-${TMPDIR:-/tmp}/graphflow-dockerd.pid}"
GRAPHFLOW_DOCKERD_WAIT="${GRAPHFLOW_DOCKERD_WAIT:-60}"

_services_log() { echo "[services] $*" >&2; }

_services_apt_install() {
    # Install the Debian packages named in "$@" that are not installed yet.
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        _services_log "need root to install: ${missing[*]}"
        return 1
    fi
    _services_log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -q >/dev/null 2>&1 || true
        apt-get install -y -q "${missing[@]}" >/dev/null || return 1
    fi
}

_services_docker_ok() {
    timeout 10 docker info >/dev/null 2>&1
}

services_start() {
    _services_apt_install bubblewrap docker.io || return 1
    if _services_docker_ok; then
        _services_log "docker engine already running"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        _services_log "dockerd not found after installing docker.io"
        return 1
    fi
    _services_log "starting dockerd (log: $GRAPHFLOW_DOCKERD_LOG)"
    # setsid: the daemon must outlive this shell and not get its signals.
    setsid dockerd >"$GRAPHFLOW_DOCKERD_LOG" 2>&1 </dev/null &
    echo $! >"$GRAPHFLOW_DOCKERD_PID"
    local waited=0
    while [ "$waited" -lt "$GRAPHFLOW_DOCKERD_WAIT" ]; do
        if _services_docker_ok; then
            _services_log "docker engine ready after ${waited}s"
            return 0
        fi
        if ! kill -0 "$(cat "$GRAPHFLOW_DOCKERD_PID")" 2>/dev/null; then
            _services_log "dockerd exited; last lines of its log:"
            tail -n 20 "$GRAPHFLOW_DOCKERD_LOG" >&2
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    _services_log "docker engine not ready after ${GRAPHFLOW_DOCKERD_WAIT}s; see $GRAPHFLOW_DOCKERD_LOG"
    return 1
}

services_stop() {
    if [ ! -f "$GRAPHFLOW_DOCKERD_PID" ]; then
        _services_log "no dockerd started by this script"
        return 0
    fi
    local pid
    pid="$(cat "$GRAPHFLOW_DOCKERD_PID")"
    if kill -0 "$pid" 2>/dev/null; then
        _services_log "stopping dockerd (pid $pid)"
        kill -TERM "$pid"
        local waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 30 ]; do
            sleep 1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            _services_log "dockerd did not stop in 30s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$GRAPHFLOW_DOCKERD_PID"
}

services_status() {
    local item
    for item in bwrap docker dockerd; do
        if command -v "$item" >/dev/null 2>&1; then
            echo "$item: $(command -v "$item")"
        else
            echo "$item: missing"
        fi
    done
    if _services_docker_ok; then echo "docker engine: running"; else echo "docker engine: not running"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    case "${1:-}" in
        start) services_start ;;
        stop) services_stop ;;
        status) services_status ;;
        *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
    esac
fi
