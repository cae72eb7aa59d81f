#!/usr/bin/env bash
# Services the tests need: bubblewrap and a Docker engine (execution tests), a Postgres
# server (the Postgres store) and a Redis server (the Celery broker).
#
#   bash .ci/services.sh start    install bubblewrap, docker.io, postgresql and
#                                 redis-server if missing; start dockerd unless an
#                                 engine already answers; start a Postgres cluster and
#                                 a Redis server of this run on free loopback ports
#   bash .ci/services.sh stop     stop what `start` of the same run started
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
# Postgres and Redis are always this run's own: a cluster in a folder of its own under
# ${GRAPHFLOW_PG_TMP:-/tmp}, named in $GRAPHFLOW_CI_RUN_DIR/postgres.dir and deleted by `stop` (its log kept
# in the run dir; initdb + pg_ctl from $GRAPHFLOW_PG_BIN, PATH or the newest
# /usr/lib/postgresql/*/bin; fsync off: test data only) and a redis-server without persistence, each on a free 127.0.0.1 port.
# Postgres refuses to run as root: as root the cluster runs as $GRAPHFLOW_PG_USER
# (default postgres). `start` writes $GRAPHFLOW_CI_RUN_DIR/services.env, which
# .ci/tests.sh sources, with
#   GRAPHFLOW_TEST_POSTGRES=postgresql://postgres@127.0.0.1:PORT/postgres
#   GRAPHFLOW_TEST_REDIS=redis://127.0.0.1:PORT/0
# and `stop` stops both (and only these).
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
    _services_apt_install bubblewrap docker.io postgresql redis-server || return 1
    _services_run_dir || return 1
    : >"$GRAPHFLOW_CI_RUN_DIR/services.env"
    _services_postgres_start || return 1
    _services_redis_start || return 1
    _services_docker_start
}

_services_run_dir() {
    if [ -z "${GRAPHFLOW_CI_RUN_DIR:-}" ]; then
        GRAPHFLOW_CI_RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/graphflow-services.XXXXXX")" || return 1
        export GRAPHFLOW_CI_RUN_DIR
        _services_log "to stop these services later: GRAPHFLOW_CI_RUN_DIR=$GRAPHFLOW_CI_RUN_DIR bash .ci/services.sh stop"
    fi
    mkdir -p "$GRAPHFLOW_CI_RUN_DIR"
}

_services_docker_start() {
    if _services_docker_ok; then
        _services_log "docker engine already running; not started by this run, so not stopped by it"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        _services_log "dockerd not found after installing docker.io"
        return 1
    fi
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
    _services_docker_stop
    return 1
}

services_stop() {
    if [ -z "${GRAPHFLOW_CI_RUN_DIR:-}" ]; then
        _services_log "GRAPHFLOW_CI_RUN_DIR is not set: no dockerd, Postgres or Redis of this run to stop"
        return 0
    fi
    _services_redis_stop
    _services_postgres_stop
    rm -f "$GRAPHFLOW_CI_RUN_DIR/services.env"
    _services_docker_stop
}

_services_docker_stop() {
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
    for item in bwrap docker dockerd redis-server; do
        if command -v "$item" >/dev/null 2>&1; then
            echo "$item: $(command -v "$item")"
        else
            echo "$item: missing"
        fi
    done
    if _services_docker_ok; then echo "docker engine: running"; else echo "docker engine: not running"; fi
    if item="$(_services_pg_bin)"; then echo "postgres: $item"; else echo "postgres: missing"; fi
}

# -- Postgres and Redis of this run ------------------------------------------------------

_services_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_services_pg_bin() {
    # The folder of initdb and pg_ctl: $GRAPHFLOW_PG_BIN, PATH, or the newest
    # /usr/lib/postgresql/*/bin.
    if [ -n "${GRAPHFLOW_PG_BIN:-}" ]; then echo "$GRAPHFLOW_PG_BIN"; return 0; fi
    local initdb
    if initdb="$(command -v initdb)" && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$initdb")"
        return 0
    fi
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

_services_pg_user() {
    # Who runs the cluster: $GRAPHFLOW_PG_USER, else postgres as root (Postgres refuses
    # root), else whoever runs this.
    if [ -n "${GRAPHFLOW_PG_USER:-}" ]; then echo "$GRAPHFLOW_PG_USER"
    elif [ "$(id -u)" -eq 0 ]; then echo postgres
    else id -un; fi
}

_services_as_pg() {
    # Run "$@" as the cluster's user.
    local user
    user="$(_services_pg_user)"
    if [ "$user" = "$(id -un)" ]; then "$@"
    else setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"; fi
}

_services_env() {
    # Record NAME=VALUE for the tests (.ci/tests.sh sources the file).
    echo "export $1=$2" >>"$GRAPHFLOW_CI_RUN_DIR/services.env"
}

_services_pg_dir() {
    # The cluster's folder, recorded in the run dir by `start`.
    cat "$GRAPHFLOW_CI_RUN_DIR/postgres.dir" 2>/dev/null
}

_services_postgres_start() {
    local bin
    bin="$(_services_pg_bin)" || { _services_log "initdb/pg_ctl not found after installing postgresql"; return 1; }
    local user port dir
    user="$(_services_pg_user)"
    port="$(_services_free_port)" || return 1
    # A folder of its own under /tmp (the run dir's parents may be closed to the
    # cluster's user), named in the run dir so that `stop` finds it.
    dir="$(mktemp -d "${GRAPHFLOW_PG_TMP:-/tmp}/graphflow-ci-pg.XXXXXX")" || return 1
    echo "$dir" >"$GRAPHFLOW_CI_RUN_DIR/postgres.dir"
    [ "$user" = "$(id -un)" ] || chown "$user:" "$dir" || return 1
    _services_log "starting postgres on 127.0.0.1:$port as $user (data: $dir/data)"
    if ! _services_as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 \
            --locale=C >"$GRAPHFLOW_CI_RUN_DIR/initdb.log" 2>&1; then
        _services_log "initdb failed:"; tail -n 20 "$GRAPHFLOW_CI_RUN_DIR/initdb.log" >&2
        return 1
    fi
    if ! _services_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o \
            "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >"$GRAPHFLOW_CI_RUN_DIR/pg_ctl.log" 2>&1; then
        _services_log "postgres did not start; the end of its log ($dir/postgres.log):"
        tail -n 20 "$dir/postgres.log" >&2 2>/dev/null || true
        _services_postgres_stop
        return 1
    fi
    echo "$bin" >"$GRAPHFLOW_CI_RUN_DIR/postgres.bin"
    _services_env GRAPHFLOW_TEST_POSTGRES "postgresql://postgres@127.0.0.1:$port/postgres"
    _services_log "postgres ready (GRAPHFLOW_TEST_POSTGRES=postgresql://postgres@127.0.0.1:$port/postgres)"
}

_services_postgres_stop() {
    local dir
    dir="$(_services_pg_dir)" || return 0
    [ -n "$dir" ] && [ -d "$dir" ] || { rm -f "$GRAPHFLOW_CI_RUN_DIR/postgres.dir"; return 0; }
    if [ -f "$dir/data/postmaster.pid" ]; then
        local bin
        bin="$(cat "$GRAPHFLOW_CI_RUN_DIR/postgres.bin" 2>/dev/null || _services_pg_bin)"
        _services_log "stopping postgres ($dir)"
        _services_as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
            || _services_as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
        if [ -f "$dir/data/postmaster.pid" ]; then
            _services_log "the postgres of this run did not stop; its folder $dir is kept"
            return 0
        fi
    fi
    # Keep its log with the run's state, then delete the cluster.
    cp "$dir/postgres.log" "$GRAPHFLOW_CI_RUN_DIR/postgres.log" 2>/dev/null || true
    rm -rf "$dir"
    rm -f "$GRAPHFLOW_CI_RUN_DIR/postgres.dir"
}

_services_redis_start() {
    if ! command -v redis-server >/dev/null 2>&1; then
        _services_log "redis-server not found after installing redis-server"
        return 1
    fi
    local dir="$GRAPHFLOW_CI_RUN_DIR/redis"
    local port
    port="$(_services_free_port)" || return 1
    mkdir -p "$dir" || return 1
    _services_log "starting redis on 127.0.0.1:$port"
    setsid redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$dir" >"$dir/redis.log" 2>&1 </dev/null &
    local pid=$!
    local started
    started="$(_services_started_at "$pid")" || started=gone
    echo "$pid $started" >"$dir/redis.pid"
    local tries=0
    while [ "$tries" -lt 150 ]; do
        if ! _services_is_ours "$pid" "$started"; then
            _services_log "redis exited before it was ready:"; tail -n 20 "$dir/redis.log" >&2
            rm -f "$dir/redis.pid"
            return 1
        fi
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
            _services_env GRAPHFLOW_TEST_REDIS "redis://127.0.0.1:$port/0"
            _services_log "redis ready (GRAPHFLOW_TEST_REDIS=redis://127.0.0.1:$port/0, pid $pid)"
            return 0
        fi
        sleep 0.2
        tries=$((tries + 1))
    done
    _services_log "redis not ready after 30s; stopping it"
    tail -n 20 "$dir/redis.log" >&2
    _services_redis_stop
    return 1
}

_services_redis_stop() {
    local pidfile="$GRAPHFLOW_CI_RUN_DIR/redis/redis.pid"
    [ -f "$pidfile" ] || return 0
    local pid started
    read -r pid started <"$pidfile"
    if [ -n "$pid" ] && _services_is_ours "$pid" "$started"; then
        _services_log "stopping redis (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local tries=0
        while _services_is_ours "$pid" "$started" && [ "$tries" -lt 100 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
        _services_is_ours "$pid" "$started" && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
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
