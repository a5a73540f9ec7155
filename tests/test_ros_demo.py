"""scripts/ros_demo.sh fails fast and clearly when the speech node dies (here: no model)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from ros_helpers import REPO, messages_or_skip
from test_pipeline import make_clips

messages_or_skip()
pytestmark = pytest.mark.timeout(180)


def test_demo_exits_nonzero_with_the_reason_when_the_node_dies(tmp_path) -> None:
    clip = make_clips(tmp_path, 1)[0]
    env = dict(os.environ, MODEL_DIR=str(tmp_path / "no_model"), OMP_NUM_THREADS="1",
               ROS_DOMAIN_ID=str(int(os.environ.get("ROS_DOMAIN_ID", "77")) + 6))  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "scripts/ros_demo.sh", str(clip), str(tmp_path / "out")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=150,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the speech node exited (code 1)" in done.stderr
    assert "no model directory" in done.stderr  # the node's own reason, from its log
    assert elapsed < 60  # the node needs seconds to import and fail; the demo does not wait longer
    assert not list((tmp_path / "out").glob("*.wav"))
