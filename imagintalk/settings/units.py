"""Settings of the semantic units."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

# where a clip has neither espeak-ng phonemes nor a transcript (e.g. MEAD): recognise its phones
# from the audio (pocketsphinx allphone, ``units/recognise.py``) or refuse the clip
WITHOUT_TRANSCRIPT = ("recognise", "refuse")


@dataclass
class UnitsConfig:
    frame_rate: int = 50  # units per second; equal to the codec's token rate
    embedding_dim: int = 32
    without_transcript: str = "recognise"  # one of WITHOUT_TRANSCRIPT

    def validate(self) -> UnitsConfig:
        """Raise InputError for a value outside its choices."""
        if self.without_transcript not in WITHOUT_TRANSCRIPT:
            raise InputError(
                f"units.without_transcript must be one of {', '.join(WITHOUT_TRANSCRIPT)}, "
                f"got {self.without_transcript!r}"
            )
        return self
