"""A user's profile: what enrollment learnt about one person, in one directory.

    PROFILE_DIR/profile.json         name, model fingerprint, adapter spec, prompts, report
    PROFILE_DIR/adapter.safetensors  the lip aligner's adapter (models.lip_adapter) and the user's
                                     face (SpeakerFace: descriptor, mean expression, a few crops)
    PROFILE_DIR/voice.wav            optional: a recording of the user's own (former) voice

The profile fits one model: ``profile.json`` holds the fingerprint of the lip aligner it was
adapted from, and loading it into another model is refused. Saving writes a sibling temporary
directory and renames it into place, so a crash never leaves half a profile and re-enrolling
replaces the old one only once the new one is complete.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..checkpoint import read_weights
from ..errors import CheckpointError, InputError
from ..models.lip import LipAligner
from ..models.lip_adapter import AdapterSpec, LipAdapter
from ..settings.style import FaceStyleConfig

PROFILE_FILE = "profile.json"
ADAPTER_FILE = "adapter.safetensors"
VOICE_FILE = "voice.wav"
FORMAT_VERSION = 1
_FACE_KEYS = ("face.identity", "face.expression", "face.crops")


def lip_fingerprint(lip: LipAligner) -> str:
    """A short hash of the aligner's weights (without any adapter): which model a profile fits."""
    digest = hashlib.sha256()
    for name, tensor in sorted(lip.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass
class SpeakerFace:
    """The face typed speech speaks as: what the face-style adapter reads of it, held steady."""

    identity: np.ndarray  # [D] face descriptor
    expression: np.ndarray  # [E] expression features averaged over the face's frames
    crops: np.ndarray | None  # [N, S, S, 3] uint8 face crops (read by models with a face encoder)

    def check(self, style: FaceStyleConfig) -> None:
        """InputError unless the widths fit the model (crops: required when it has a face encoder)."""
        for name, value, width in (
            ("identity", self.identity, style.descriptor_dim),
            ("expression", self.expression, style.expression_dim),
        ):
            if np.shape(value) != (width,):
                raise InputError(f"the face's {name} has shape {np.shape(value)}, this model reads {width}")
        if style.use_face_encoder and (self.crops is None or np.ndim(self.crops) != 4):
            raise InputError("this model also reads face images: describe the face from a track or video")

    def inputs(self, num_frames: int, device: torch.device | str) -> tuple[Tensor, Tensor, Tensor | None]:
        """-> (identity [1, D], expression [1, num_frames, E] held steady, crops [1, N, 3, S, S] | None)."""
        identity = torch.as_tensor(self.identity, dtype=torch.float32)[None].to(device)
        expression = (
            torch.as_tensor(self.expression, dtype=torch.float32).expand(1, num_frames, -1).to(device)
        )
        crops = None
        if self.crops is not None:
            crops = (
                torch.from_numpy(np.asarray(self.crops)).permute(0, 3, 1, 2)[None].float().div(255).to(device)
            )
        return identity, expression, crops


@dataclass
class Profile:
    name: str
    spec: AdapterSpec
    adapter_state: dict[str, Tensor]
    fingerprint: str  # lip_fingerprint of the model it was adapted from
    face: SpeakerFace | None = None  # the user's face: typed speech's voice and steady expression
    prompts: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    voice: Path | None = None  # the user's voice recording, when given
    path: Path | None = None

    def adapter_for(self, lip: LipAligner, fingerprint: str | None = None) -> LipAdapter:
        """This profile's adapter for ``lip`` (not attached); CheckpointError for another model.
        ``fingerprint``: ``lip``'s own when known (with renormalising adapters attached, its
        statistics are the user's, not the model's)."""
        found = lip_fingerprint(lip) if fingerprint is None else fingerprint
        if found != self.fingerprint:
            raise CheckpointError(
                f"profile {self.name!r} was made for another model (lip aligner {self.fingerprint}, "
                f"this one is {found}): enroll again with this model"
            )
        adapter = LipAdapter(lip, self.spec)
        adapter.load_adapter_state(self.adapter_state)
        return adapter.to(next(lip.parameters()).device).eval()

    def save(self, directory: str | Path) -> Path:
        """Write the profile to ``directory`` (replacing one there only once complete)."""
        from safetensors.torch import save_file

        target = Path(directory)
        if target.exists() and not target.is_dir():
            raise InputError(f"profile path {target} exists and is not a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.adapter_state.items()}
        if self.face is not None:
            face = self.face
            tensors["face.identity"] = torch.from_numpy(np.asarray(face.identity, np.float32)).contiguous()
            tensors["face.expression"] = torch.from_numpy(
                np.asarray(face.expression, np.float32)
            ).contiguous()
            if face.crops is not None:
                tensors["face.crops"] = torch.from_numpy(np.ascontiguousarray(face.crops, dtype=np.uint8))
        save_file(tensors, str(tmp / ADAPTER_FILE), metadata={"format": str(FORMAT_VERSION)})
        voice = None
        if self.voice is not None:
            shutil.copyfile(self.voice, tmp / VOICE_FILE)
            voice = VOICE_FILE
        meta = {
            "format": FORMAT_VERSION,
            "name": self.name,
            "fingerprint": self.fingerprint,
            "adapter": self.spec.to_dict(),
            "prompts": list(self.prompts),
            "voice": voice,
            "report": self.report,
        }
        (tmp / PROFILE_FILE).write_text(json.dumps(meta, indent=2))
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        self.path = target
        if voice:
            self.voice = target / VOICE_FILE
        return target


def load_profile(directory: str | Path) -> Profile:
    """A profile directory -> Profile; InputError when it is not one, CheckpointError when damaged."""
    path = Path(directory)
    meta_file = path / PROFILE_FILE
    if not meta_file.is_file():
        raise InputError(f"no profile at {path} ({PROFILE_FILE} missing): make one with imagintalk enroll")
    try:
        meta = json.loads(meta_file.read_text())
        spec = AdapterSpec.from_dict(meta["adapter"])
        name, fingerprint = str(meta["name"]), str(meta["fingerprint"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"profile {path} is damaged ({PROFILE_FILE}: {exc})") from None
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"profile {path} has format {meta.get('format')}, expected {FORMAT_VERSION}")
    tensors = read_weights(path / ADAPTER_FILE)
    stored = {key: tensors.pop(key).numpy() if key in tensors else None for key in _FACE_KEYS}
    face = None
    if stored["face.identity"] is not None and stored["face.expression"] is not None:
        face = SpeakerFace(stored["face.identity"], stored["face.expression"], stored["face.crops"])
    voice = path / meta["voice"] if meta.get("voice") else None
    if voice is not None and not voice.is_file():
        raise CheckpointError(f"profile {path} names a voice recording {voice.name} that is missing")
    return Profile(
        name=name, spec=spec, adapter_state=tensors, fingerprint=fingerprint,
        face=face,
        prompts=[str(p) for p in meta.get("prompts", [])], report=dict(meta.get("report", {})),
        voice=voice, path=path,
    )  # fmt: skip
