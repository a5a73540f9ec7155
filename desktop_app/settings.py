"""The user's settings (voice, speed, devices, accessibility), persisted with QSettings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from PyQt6.QtCore import QSettings

from imagintalk.diffusion.sampling import SAMPLERS
from imagintalk.settings.speak import BACKENDS, LIVE_SAMPLER, LIVE_STEPS

VOICE_MODES = ("face", "reference")  # the face-derived voice (default) / a fixed reference recording
SPEAK_MODES = ("automatic", "push_to_talk")


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
        return out


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
