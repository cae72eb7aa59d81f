"""Fake Postgres and Redis binaries for the tests of .ci/services.sh: they record their
pids, answer as the real ones do where the script looks (pg_ctl's exit code and the
cluster's postmaster.pid, ``redis-cli ping``), and never touch a real server."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["install_data_fakes"]

# A fake server: records its pid, and stays until SIGTERM.
_FAKE_SERVER = """#!{python}
import os, signal, sys, time
from pathlib import Path

state = Path(os.environ["FAKE_DOCKER_STATE"])
kind, pidfile = sys.argv[1], Path(sys.argv[2])
with open(state / f"{{kind}}.pids", "a") as pids:
    pids.write(f"{{os.getpid()}}\\n")
print(f"fake {{kind}} {{os.getpid()}} starting", flush=True)
if os.environ.get(f"FAKE_{{kind.upper()}}") == "crash":
    print(f"fatal: the fake {{kind}} was told to fail", flush=True)
    sys.exit(1)


def stop(*_):
    pidfile.unlink(missing_ok=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
pidfile.write_text(f"{{os.getpid()}}\\n")
while True:
    time.sleep(0.05)
"""

_FAKE_INITDB = """#!{python}
import sys
from pathlib import Path

data = Path(sys.argv[sys.argv.index("-D") + 1])
data.mkdir(parents=True)
(data / "PG_VERSION").write_text("15\\n")
print("fake initdb", " ".join(sys.argv[1:]))
"""

# pg_ctl start: the fake server in the background, ready when its postmaster.pid exists
# (like `pg_ctl -w`); pg_ctl stop: SIGTERM to the pid in postmaster.pid.
_FAKE_PG_CTL = """#!{python}
import os, signal, subprocess, sys, time
from pathlib import Path

args = sys.argv[1:]
data = Path(args[args.index("-D") + 1])
pidfile = data / "postmaster.pid"
if args[-1] == "start":
    log = open(args[args.index("-l") + 1], "a")
    server = subprocess.Popen([sys.executable, "{server}", "postgres", str(pidfile)],
                              stdout=log, stderr=log, start_new_session=True)
    for _ in range(100):
        if pidfile.exists():
            sys.exit(0)
        if server.poll() is not None:
            print("pg_ctl: could not start server", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.05)
    sys.exit(1)
if args[-1] == "stop":
    pid = int(pidfile.read_text().split()[0])
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not pidfile.exists():
            sys.exit(0)
        time.sleep(0.05)
    sys.exit(1)
sys.exit(2)
"""

_FAKE_REDIS_SERVER = """#!{python}
import os, sys
from pathlib import Path

state = Path(os.environ["FAKE_DOCKER_STATE"])
port = sys.argv[sys.argv.index("--port") + 1]
os.execv(sys.executable, [sys.executable, "{server}", "redis", str(state / f"redis-{{port}}.ready")])
"""

# redis-cli -h HOST -p PORT ping: PONG while the fake redis of that port runs.
_FAKE_REDIS_CLI = """#!{python}
import os, sys
from pathlib import Path

port = sys.argv[sys.argv.index("-p") + 1]
ready = Path(os.environ["FAKE_DOCKER_STATE"]) / f"redis-{{port}}.ready"
try:
    alive = Path(f"/proc/{{int(ready.read_text())}}/stat").exists()
except (OSError, ValueError):
    alive = False
print("PONG" if alive else "Could not connect to Redis")
sys.exit(0 if alive else 1)
"""


def install_data_fakes(bin_dir: Path) -> None:
    """Put fake ``initdb``, ``pg_ctl``, ``redis-server`` and ``redis-cli`` in ``bin_dir``."""
    server = bin_dir / "fake_server.py"
    server.write_text(_FAKE_SERVER.format(python=sys.executable))
    for name, text in {"initdb": _FAKE_INITDB, "pg_ctl": _FAKE_PG_CTL,
                       "redis-server": _FAKE_REDIS_SERVER,
                       "redis-cli": _FAKE_REDIS_CLI}.items():  # fmt: skip
        path = bin_dir / name
        path.write_text(text.format(python=sys.executable, server=server))
        path.chmod(0o755)
