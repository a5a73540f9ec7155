"""Where the package, the repository and the shipped models live on disk."""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
REPO_ROOT = PACKAGE_ROOT.parent
DEFAULT_MODELS_DIR = REPO_ROOT / "models"
DEFAULT_MODEL_DIR = DEFAULT_MODELS_DIR / "imagintalk"  # the shipped default model
DEFAULT_CODEC_DIR = DEFAULT_MODELS_DIR / "codec"  # the shipped codec
