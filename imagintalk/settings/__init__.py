"""Settings: torch-free dataclasses, one per part, named presets, YAML and dotted overrides.

The ground floor of the package: it imports nothing of the project but ``errors``, and every
other package imports its settings from here.

    cfg = load_config("synth")                                   # a preset
    cfg = load_config("debug", overrides=["codec.num_codebooks=4"])
"""

from .config import PRESETS, Config, apply_overrides, config_from_dict, load_config, preset
from .paths import DEFAULT_CODEC_DIR, DEFAULT_MODEL_DIR, DEFAULT_MODELS_DIR, PACKAGE_ROOT, REPO_ROOT

__all__ = [
    "DEFAULT_CODEC_DIR",
    "DEFAULT_MODELS_DIR",
    "DEFAULT_MODEL_DIR",
    "PACKAGE_ROOT",
    "PRESETS",
    "REPO_ROOT",
    "Config",
    "apply_overrides",
    "config_from_dict",
    "load_config",
    "preset",
]
