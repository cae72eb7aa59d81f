#!/usr/bin/env bash
# Services the execution tests need: bubblewrap and a Docker engine.
#
#   bash .ci/services.sh start    install bubblewrap + docker.io if missing, start dockerd
#                                 unless an engine already answers
#   bash .ci/services.sh stop     stop the dockerd that `start` of the same run started
#   bash .ci/services.sh status   say what is installed and running
#
# Also usable as a library: `source .ci/services.sh` defines services_start,
# services_stop and services_status without running anything.
#
# One run, one state directory: $GRAPHFLOW_CI_RUN_DIR (`.ci/run` makes a fresh one with
# mktemp). `start` keeps there the pid (and start time) of the dockerd it started and
# the daemon's log (or $GRAPHFLOW_DOCKERD_LOG); `stop` ends exactly that process and
# nothing else. A run that found an engine already running records nothing, so its
# `stop` leaves that engine alone; two runs never stop each other's daemon. Without
# $GRAPHFLOW_CI_RUN_DIR, `start` makes a directory and says how to stop its daemon.
#
# A dockerd that exits, or that does not answer within $GRAPHFLOW_DOCKERD_WAIT seconds
# (default 60), is stopped and the end of its log printed; `start` then fails.
#
# Needs root (apt-get, dockerd).

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

_services_pidfile() { echo "$GRAPHFLOW_CI_RUN_DIR/dockerd.pid"; }

_services_logfile() { echo "${GRAPHFLOW_DOCKERD_LOG:-$GRAPHFLOW_CI_RUN_DIR/dockerd.log}"; }

_services_started_at() {
    # The start time of process $1 (clock ticks after boot; field 22 of /proc/PID/stat),
    # which tells a process apart from a later one that got the same pid. Fails when
    # the process is gone or a zombie.
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    local fields
    read -r -a fields <<<"${stat##*) }"
    case "${fields[0]}" in Z | X) return 1 ;; esac
    echo "${fields[19]}"
}

_services_is_ours() {
    # Whether process $1 still runs and is the one that started at $2.
    local now
    now="$(_services_started_at "$1")" || return 1
    [ "$now" = "$2" ]
}

_services_log_tail() {
    _services_log "last lines of the dockerd log ($(_services_logfile)):"
    tail -n 20 "$(_services_logfile)" >&2 2>/dev/null || true
}

services_start() {
    _services_apt_install bubblewrap docker.io || return 1
    if _services_docker_ok; then
        _services_log "docker engine already running; not started by this run, so not stopped by it"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        _services_log "dockerd not found after installing docker.io"
        return 1
    fi
    if [ -z "${GRAPHFLOW_CI_RUN_DIR:-}" ]; then
        GRAPHFLOW_CI_RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/graphflow-services.XXXXXX")" || return 1
        export GRAPHFLOW_CI_RUN_DIR
        _services_log "to stop this daemon later: GRAPHFLOW_CI_RUN_DIR=$GRAPHFLOW_CI_RUN_DIR bash .ci/services.sh stop"
    fi
    mkdir -p "$GRAPHFLOW_CI_RUN_DIR" || return 1
    _services_log "starting dockerd (log: $(_services_logfile))"
    # setsid: the daemon must outlive this shell and not get its signals.
    setsid dockerd >"$(_services_logfile)" 2>&1 </dev/null &
    local pid=$!
    local started
    started="$(_services_started_at "$pid")" || started=gone
    echo "$pid $started" >"$(_services_pidfile)"
    local tries=0
    while [ "$tries" -lt $((GRAPHFLOW_DOCKERD_WAIT * 5)) ]; do
        if ! _services_is_ours "$pid" "$started"; then
            rm -f "$(_services_pidfile)"
            if _services_docker_ok; then
                # Another run's daemon won the race for the engine's socket and pid file.
                _services_log "dockerd exited but an engine answers; not started by this run, so not stopped by it"
                return 0
            fi
            _services_log "dockerd exited before it was ready"
            _services_log_tail
            return 1
        fi
        if _services_docker_ok; then
            _services_log "docker engine ready (dockerd pid $pid)"
            return 0
        fi
        sleep 0.2
        tries=$((tries + 1))
    done
    _services_log "docker engine not ready after ${GRAPHFLOW_DOCKERD_WAIT}s; stopping the dockerd this run started"
    _services_log_tail
    services_stop
    return 1
}

services_stop() {
    if [ -z "${GRAPHFLOW_CI_RUN_DIR:-}" ]; then
        _services_log "GRAPHFLOW_CI_RUN_DIR is not set: no dockerd of this run to stop"
        return 0
    fi
    local pidfile
    pidfile="$(_services_pidfile)"
    if [ ! -f "$pidfile" ]; then
        _services_log "no dockerd started by this run"
        return 0
    fi
    local pid started
    read -r pid started <"$pidfile"
    if [ -n "$pid" ] && _services_is_ours "$pid" "$started"; then
        _services_log "stopping dockerd (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local tries=0
        while _services_is_ours "$pid" "$started" && [ "$tries" -lt 150 ]; do
            sleep 0.2
            tries=$((tries + 1))
        done
        if _services_is_ours "$pid" "$started"; then
            _services_log "dockerd did not stop in 30s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    else
        _services_log "the dockerd this run started (pid ${pid:-?}) has already exited"
    fi
    rm -f "$pidfile"
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
