"""The run lock is a kernel flock: exclusive, and released when its holder dies."""

import subprocess
import sys
import time

import pytest

from scanctl.errors import BadInput, LockBusy
from scanctl.store.lock import lock_path_for, run_lock

HOLD = (
    "import sys, time; from scanctl.store.lock import run_lock\n"
    "from pathlib import Path\n"
    "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n"
)


def test_lock_path_is_next_to_the_store(tmp_path):
    assert lock_path_for(tmp_path / "s.db") == tmp_path / "s.db.lock"


def test_second_holder_is_refused_and_kill_releases(tmp_path):
    path = tmp_path / "s.db.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b"held"
    with pytest.raises(LockBusy, match=rf"pid {holder.pid}"), run_lock(path):
        pass
    holder.kill()  # SIGKILL: no cleanup code runs
    holder.wait(timeout=10)
    deadline = time.time() + 5
    while True:
        try:
            with run_lock(path):
                break
        except LockBusy:
            assert time.time() < deadline
            time.sleep(0.05)


def test_unusable_lock_location(tmp_path):
    with (
        pytest.raises(BadInput, match="cannot create the lock file"),
        run_lock(tmp_path / "missing" / "s.db.lock"),
    ):
        pass
