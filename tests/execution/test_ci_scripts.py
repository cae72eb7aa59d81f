"""The service and image scripts parse, and answer usage errors clearly."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parents[2] / ".ci"


@pytest.mark.parametrize("script", ["services.sh", "docker-image.sh"])
def test_script_parses(script: str) -> None:
    assert shutil.which("bash")
    check = subprocess.run(["bash", "-n", str(CI / script)], capture_output=True, text=True,
                           check=False)  # fmt: skip
    assert check.returncode == 0, check.stderr


def test_services_usage_and_status() -> None:
    usage = subprocess.run(["bash", str(CI / "services.sh"), "dance"], capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert usage.returncode == 2 and "usage:" in usage.stderr
    status = subprocess.run(["bash", str(CI / "services.sh"), "status"], capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert status.returncode == 0
    assert "bwrap:" in status.stdout and "docker engine:" in status.stdout


def test_sourcing_services_defines_functions_without_running_them() -> None:
    out = subprocess.run(["bash", "-c", f"source {CI / 'services.sh'} && type services_start "
                          "services_stop services_status >/dev/null && echo defined"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert out.stdout.strip() == "defined", out.stderr
