"""Phone recognition without a transcript: pocketsphinx allphone decoding -> phone segments.

Where a clip has no transcript (MEAD, or any speech without text) its units come from the audio
alone. pocketsphinx 5 ships a phone language model (``en-us/en-us-phone.lm.bin``, a trigram over
ARPAbet phones) next to its en-US acoustic model; "allphone" search decodes the phone sequence
directly with it, context-independent phones (``allphone_ci``), ~0.1 s per clip on one core.
How far its units are from transcript-aligned ones: ``python -m imagintalk.eval.unit_recognition``
(numbers in docs/training_data.md).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .sphinx import make_decoder, model_file, to_sphinx_pcm

PHONE_LM = "en-us/en-us-phone.lm.bin"
SPHINX_FRAME_RATE = 100  # decoder frames per second (10 ms)

# Decoder settings, chosen on 30 SynthTalk clips (seed 5, train split) and then measured on other
# clips (seed 11, val; docs/training_data.md). Against the transcript alignment, the defaults
# (language weight 6.5, phone insertion penalty wip 0.65) gave unit error 0.736 and speech-frame
# agreement 0.343: the phone LM outweighed the acoustics and dropped phones. lw 2 / wip 0.2: 0.664
# and 0.433 (lw 1-4, wip 0.2-10, silprob, wider beams, batch CMN all within 0.03 of it;
# pip changes nothing in allphone search, where each phone is a "word").
DECODER_SETTINGS: dict[str, float] = {"lw": 2.0, "wip": 0.2}


class PhoneRecognizer:
    """One allphone decoder, built once: ``segments(wav [N], sr) -> timed ARPAbet phones``."""

    def __init__(self, **settings: float) -> None:
        self.settings = {**DECODER_SETTINGS, **settings}
        self.decoder = make_decoder(lm=None, allphone=model_file(PHONE_LM), **self.settings)
        self.initial_cmn = self.decoder.get_cmn(False)

    def segments(self, wav: np.ndarray, sr: int) -> list[dict]:
        """Recognised phones of ``wav [N]`` (float, any rate) -> contiguous segments
        ``{"phoneme": ARPAbet or SIL / +NSN+ ..., "start": s, "end": s}``.

        Like forced alignment (``align.py``), every clip starts from the decoder's initial cepstral
        mean and is decoded twice: the first pass adapts the mean to this clip, the second decodes
        with it, so a clip's phones depend on that clip only (not on what the decoder heard before).
        """
        wav = np.asarray(wav, dtype=np.float64).reshape(-1)
        if wav.size < sr * 0.1:
            raise InputError("audio is too short to recognise phones in (< 0.1 s)")
        pcm = to_sphinx_pcm(wav, sr)
        self.decoder.set_cmn(self.initial_cmn)
        for _ in range(2):
            self.decoder.start_utt()
            self.decoder.process_raw(pcm, full_utt=True)
            self.decoder.end_utt()
        return [
            {
                "phoneme": seg.word,
                "start": seg.start_frame / SPHINX_FRAME_RATE,
                "end": (seg.end_frame + 1) / SPHINX_FRAME_RATE,  # end_frame is inclusive
            }
            for seg in self.decoder.seg()
        ]
