"""A lease holder is "known to be gone" only where its process id means something: the
same host name is not enough. Two containers with one host name (``--network host``, or
a hostname set alike on replicas) each have their own process ids; a worker in one must
not take over the live lease of a worker in the other because that pid does not exist on
its side. Tested with real processes in two PID namespaces (bubblewrap) sharing one host
name and one store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphflow.errors import RunInUse
from graphflow.store import Store
from graphflow.store.lease import HOST, check_lease, holder_is_gone, new_owner
from tests.store.test_contract import new_run

ROOT = Path(__file__).resolve().parents[2]
DEAD_PID = 4_000_000  # above pid_max: no process has it

HOLDER = """
import sys, time
from graphflow.store import Store
store = Store(sys.argv[1])
store.acquire_lease("r1")
open(sys.argv[2], "w").write(store.lease_owner)
time.sleep(60)
"""

TAKER = """
import sys
from graphflow.errors import RunInUse
from graphflow.store import Store
try:
    Store(sys.argv[1]).acquire_lease("r1")
    print("taken")
except RunInUse as exc:
    print("refused:", exc)
"""


def _bwrap(*argv: str) -> list[str]:
    return ["bwrap", "--dev-bind", "/", "/", "--unshare-pid", "--proc", "/proc", *argv]


def _namespaces_work() -> bool:
    if not shutil.which("bwrap"):
        return False
    done = subprocess.run(_bwrap("true"), capture_output=True, timeout=30, check=False)
    return done.returncode == 0


def test_a_dead_pid_of_another_pid_space_on_this_host_is_not_gone() -> None:
    here = new_owner(object())
    space = here.split(":")[3:]
    assert space, "the owner names no pid space on this system"
    elsewhere = f"{HOST}:{DEAD_PID}:1:{'0' if space[0] != '0' else '1'}"
    assert not holder_is_gone(elsewhere)
    with pytest.raises(RunInUse):
        check_lease("r1", elsewhere, time.time() + 60, here, time.time())
    assert holder_is_gone(f"{HOST}:{DEAD_PID}:1:{space[0]}")  # the same space: gone
    assert holder_is_gone(f"{HOST}:{DEAD_PID}:1")  # an owner written without one


def test_a_live_holder_in_another_pid_namespace_keeps_its_lease(tmp_path: Path) -> None:
    if not _namespaces_work():
        pytest.skip("bubblewrap cannot make PID namespaces here")
    db, owner_file = tmp_path / "runs.db", tmp_path / "owner"
    creator = Store(db)
    new_run(creator)
    creator.release_lease("r1")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the holder is a grandchild in its namespace, so that its pid (> 2) is one the
    # taker's namespace (pids 1 and 2) does not have
    holder = subprocess.Popen(_bwrap("sh", "-c", '/bin/true; /bin/true; "$@"', "sh",
                                     sys.executable, "-c", HOLDER, str(db), str(owner_file)),
                              env=env)  # fmt: skip
    try:
        deadline = time.time() + 30
        while not owner_file.exists() or not owner_file.read_text():
            assert time.time() < deadline and holder.poll() is None, "the holder did not start"
            time.sleep(0.05)
        assert owner_file.read_text().startswith(f"{HOST}:")  # one host name for both
        taker = subprocess.run(_bwrap(sys.executable, "-c", TAKER, str(db)), env=env,
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert taker.stdout.startswith("refused:"), taker.stdout + taker.stderr
        assert Store(db).get_run("r1").lease_owner == owner_file.read_text()
    finally:
        holder.kill()
        holder.wait(10)
