#!/usr/bin/env bash
# System packages the desktop app (desktop_app/, imagintalk-app) and its tests need, idempotently:
# Qt's xcb platform libraries, a virtual X screen, PortAudio + ALSA for sound output, and
# PulseAudio (a null sink is a real output device on machines without a sound card).
# scripts/setup.sh runs this after the virtual environment is set up.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-render-util0
  libxcb-image0 libxcb-shape0 libxcb-xinerama0 libegl1 libgl1 libfontconfig1 libdbus-1-3
  fonts-dejavu-core                    # a readable default font for the large-text UI
  xvfb xauth x11-utils                 # virtual screen for tests and the screenshot script
  libportaudio2 libasound2 alsa-utils  # sounddevice -> PortAudio -> ALSA
  pulseaudio pulseaudio-utils          # optional real output device: module-null-sink
)

# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh
apt_install_missing setup_app "${APT_PACKAGES[@]}"

# PyQt6, sounddevice and pytest-qt come with the package's dev extras; check they import
.venv/bin/python -c "import PyQt6.QtWidgets, sounddevice, pytestqt" \
  || .venv/bin/pip install -q -c requirements/constraints.txt "PyQt6>=6.5" "sounddevice>=0.4" "pytest-qt>=4.2" </dev/null
