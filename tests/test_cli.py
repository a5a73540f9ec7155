"""The command line: every command is listed, bad input gives one line and a non-zero exit."""

import subprocess
import sys

import pytest

from imagintalk.cli import COMMAND_MODULES, build_parser


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imagintalk", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_every_command_is_registered():
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # the sub-command table
    for module in COMMAND_MODULES:
        assert module.replace("_", "-") in choices or module in choices


def test_version_and_help():
    result = run_cli("--version")
    assert result.returncode == 0 and "imagintalk" in result.stdout
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("synth", "preprocess", "codec", "eval", "units"):
        assert name in result.stdout


@pytest.fixture()
def not_a_video(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"this is not a video at all")
    return path


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["synth", "--out", "{tmp}/x", "--clips", "0", "--split", "test"], "clips"),
        (["preprocess", "{tmp}/missing.mp4"], "not found"),
        (["preprocess", "{broken}"], ""),
        (["codec", "{tmp}/missing.wav", "-o", "{tmp}/out.wav"], ""),
        (["codec", "{broken}", "-o", "{tmp}/out.wav"], ""),
        (["eval", "{tmp}/no_such_dir", "--no-codec"], ""),
        (["units", "{tmp}/missing.wav", "--text", "bin blue at f two now"], ""),
        (["synth", "--out", "{tmp}/y", "--clips", "1", "--preset", "debug", "--set", "synth.nope=1"], "nope"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(tmp_path, not_a_video, args, fragment):
    args = [a.format(tmp=tmp_path, broken=not_a_video) for a in args]
    result = run_cli(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, result.stderr
    assert fragment in errors[0]
