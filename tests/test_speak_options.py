"""SpeakOptions: the one validated options object the CLI, the ROS node and the app build."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from imagintalk.errors import InputError
from imagintalk.settings.speak import SpeakOptions


@pytest.mark.parametrize(
    "bad",
    [
        dict(temperature=math.inf),
        dict(temperature=math.nan),
        dict(temperature=0.0),
        dict(guidance=math.inf),
        dict(guidance=-1.0),
        dict(steps=0),
        dict(seed=-1),
        dict(tau=0.0),
        dict(tau=math.nan),
        dict(expressiveness=4.0),
        dict(max_window_s=0.5),
        dict(min_window_s=20.0),
        dict(sampler="two words"),
    ],
)
def test_unusable_values_are_input_errors(bad) -> None:
    with pytest.raises(InputError):
        SpeakOptions(**bad).validate()
    with pytest.raises(InputError):
        SpeakOptions().replace(**bad)


def test_replace_checks_names_and_keeps_the_rest() -> None:
    options = SpeakOptions(steps=16, seed=3).replace(temperature=0.5)
    assert (options.steps, options.seed, options.temperature) == (16, 3, 0.5)
    with pytest.raises(InputError, match="unknown speak option"):
        options.replace(stpes=4)


def test_settings_import_without_torch() -> None:
    """The node and the app read their settings without loading torch (the ground floor)."""
    code = "import sys, imagintalk.settings, imagintalk.settings.speak; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
