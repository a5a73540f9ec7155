"""The user's settings (voice, speed, devices, accessibility, profile), persisted with QSettings;
the phrase bank is kept in the same store."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from PyQt6.QtCore import QSettings

from imagintalk.diffusion.sampling import SAMPLERS
from imagintalk.settings.speak import BACKENDS, LIVE_SAMPLER, LIVE_STEPS

VOICE_MODES = ("face", "reference")  # the face-derived voice (default) / a fixed reference recording
SPEAK_MODES = ("automatic", "push_to_talk")
DEFAULT_PROFILES_DIR = Path.home() / ".local" / "share" / "imagintalk" / "profiles"
PHRASE_KEYS = tuple(f"F{i}" for i in range(1, 13))  # the phrase bank's keys, one phrase each
DEFAULT_PHRASES = ("Yes", "No", "Thank you", "Please wait a moment", "I need help")


@dataclass
class AppSettings:
    """Everything the settings dialog edits. Empty strings mean "the default"."""

    voice_mode: str = "face"
    reference_wav: str = ""  # the user's own recording (wav) when voice_mode == "reference"
    expressiveness: float = 1.0  # scale on the expression condition: 0 = flat prosody, 2 = strong
    steps: int = LIVE_STEPS  # sampler steps: fewer = faster, more = better quality
    sampler: str = LIVE_SAMPLER  # euler, analytic or confidence (docs/benchmarks.md)
    model_dir: str = ""  # "" = the shipped model (models/imagintalk)
    backend: str = "torch"  # torch, or onnx: MODEL_DIR/onnx (imagintalk export) under onnxruntime
    camera: int = 0  # OpenCV camera index
    output_device: str = ""  # sounddevice output name; "" = the system default
    speak_mode: str = "automatic"
    large_text: bool = False
    high_contrast: bool = False
    seed: int = 0
    profile: str = ""  # the active profile: a folder name under profiles_dir (or a path); "" = none
    profiles_dir: str = ""  # "" = ~/.local/share/imagintalk/profiles

    def checked(self) -> AppSettings:
        """A copy with every value inside its allowed range (stored files may be edited by hand)."""
        out = AppSettings(**asdict(self))
        out.voice_mode = out.voice_mode if out.voice_mode in VOICE_MODES else "face"
        out.speak_mode = out.speak_mode if out.speak_mode in SPEAK_MODES else "automatic"
        out.backend = out.backend if out.backend in BACKENDS else "torch"
        out.expressiveness = min(max(float(out.expressiveness), 0.0), 2.0)
        out.steps = min(max(int(out.steps), 1), 256)
        out.sampler = out.sampler if out.sampler in SAMPLERS else LIVE_SAMPLER
        out.camera = max(int(out.camera), 0)
        out.seed = max(int(out.seed), 0)
        out.profile, out.profiles_dir = str(out.profile).strip(), str(out.profiles_dir).strip()
        return out


def profiles_root(settings: AppSettings) -> Path:
    """The folder the profiles live in (each profile a folder with a profile.json)."""
    return Path(settings.profiles_dir).expanduser() if settings.profiles_dir else DEFAULT_PROFILES_DIR


def profile_path(settings: AppSettings) -> Path | None:
    """The active profile's folder, None when no profile is chosen."""
    if not settings.profile:
        return None
    path = Path(settings.profile).expanduser()
    return path if path.is_absolute() else profiles_root(settings) / path


def list_profiles(root: str | Path) -> list[str]:
    """Names of the profile folders in ``root`` (those with a profile.json), sorted."""
    try:
        return sorted(p.name for p in Path(root).iterdir() if (p / "profile.json").is_file())
    except OSError:  # no such folder (yet), or not readable
        return []


def load_phrases(store: QSettings) -> list[str]:
    """The phrase bank (at most one phrase per key); the defaults when none was ever saved."""
    raw = store.value("phrases/list", None)
    if raw is None:
        return list(DEFAULT_PHRASES)
    try:
        phrases = json.loads(str(raw))
    except ValueError:
        return list(DEFAULT_PHRASES)
    if not isinstance(phrases, list):
        return list(DEFAULT_PHRASES)
    return [" ".join(str(p).split()) for p in phrases if str(p).strip()][: len(PHRASE_KEYS)]


def save_phrases(store: QSettings, phrases: list[str]) -> None:
    store.setValue("phrases/list", json.dumps([" ".join(p.split()) for p in phrases if p.strip()]))
    store.sync()


def _read(store: QSettings, key: str, default: object) -> object:
    """One value in the type of ``default`` (QSettings ini files hand back strings)."""
    raw = store.value(key, default)
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
        return type(default)(raw)
    except (TypeError, ValueError):
        return default


def load_settings(store: QSettings) -> AppSettings:
    """The stored settings; missing or unreadable keys fall back to the defaults."""
    defaults = AppSettings()
    values = {f.name: _read(store, f"app/{f.name}", getattr(defaults, f.name)) for f in fields(AppSettings)}
    return AppSettings(**values).checked()


def save_settings(store: QSettings, settings: AppSettings) -> None:
    for name, value in asdict(settings.checked()).items():
        store.setValue(f"app/{name}", value)
    store.sync()


def open_store(path: str | None = None) -> QSettings:
    """An ini file at ``path`` (tests, demos) or the user's own settings store."""
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "ImaginTalk", "imagintalk-app")
