"""A minimal ctypes binding of libespeak-ng: speech samples plus word and phoneme events.

The library keeps global state that carries over between utterances, so corpus
generation speaks every utterance in a forked child (:func:`speak_isolated`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DependencyError, InputError

# espeak_AUDIO_OUTPUT / espeak_EVENT_TYPE / espeak_PARAMETER values from speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
EVENT_PHONEME = 7
PARAM_RATE = 1
PARAM_VOLUME = 2
PARAM_PITCH = 3
PARAM_RANGE = 4
CHARS_UTF8 = 1
SSML = 0x10  # espeakSSML: the text holds SSML tags (<prosody>, <break>, <emphasis>)
POS_CHARACTER = 1


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT``: 40 bytes on 64-bit Linux (the pointer and union are 8-aligned)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),  # sample index in the output stream
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class SpeechEvent:
    kind: str  # "word" or "phoneme"
    sample: int  # position in the espeak output (at the engine's sample rate)
    name: str  # phoneme mnemonic, or the word's 1-based number as text
    text_position: int = 0  # 1-based character position in the text of the word it belongs to


@dataclass
class Utterance:
    samples: np.ndarray  # [N] int16 at sample_rate
    events: list[SpeechEvent]
    sample_rate: int


class Espeak:
    """libespeak-ng in synchronous mode with phoneme events."""

    def __init__(self, data_path: Path | None = None) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self._lib = ctypes.CDLL(name)
        except OSError:
            raise DependencyError("libespeak-ng.so.1 not found; apt-get install libespeak-ng1") from None
        path = str(data_path).encode() if data_path is not None else None
        self.sample_rate = self._lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, path, INITIALIZE_PHONEME_EVENTS
        )
        if self.sample_rate <= 0:
            raise DependencyError(f"espeak_Initialize failed (data path {data_path})")
        self._chunks: list[np.ndarray] = []
        self._events: list[SpeechEvent] = []
        self._offset = 0
        self._callback = _CALLBACK(self._on_audio)  # keep a reference: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav, num_samples: int, events) -> int:
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == EVENT_PHONEME:
                name = event.id.string.decode()
                self._events.append(SpeechEvent("phoneme", event.sample, name, event.text_position))
            elif event.type == EVENT_WORD:
                self._events.append(
                    SpeechEvent("word", event.sample, str(event.id.number), event.text_position)
                )
            i += 1
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0

    def speak(
        self, text: str, voice: str, rate: int, pitch: int, pitch_range: int, volume: int, ssml: bool = False
    ) -> Utterance:
        """Synthesise ``text`` with ``voice`` (e.g. ``"en-us+m3"``) and the given espeak parameters.

        ``ssml``: ``text`` holds SSML markup (espeakSSML); word events still count the spoken words.
        """
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise InputError(f"espeak-ng has no voice {voice!r}")
        for param, value in ((PARAM_RATE, rate), (PARAM_PITCH, pitch), (PARAM_RANGE, pitch_range)):
            self._lib.espeak_SetParameter(param, int(value), 0)
        self._lib.espeak_SetParameter(PARAM_VOLUME, int(volume), 0)
        self._chunks, self._events = [], []
        data = text.encode()
        flags = CHARS_UTF8 | (SSML if ssml else 0)
        self._lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, flags, None, None)
        self._lib.espeak_Synchronize()
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return Utterance(samples.astype(np.int16), list(self._events), self.sample_rate)


def speak_isolated(data_path: Path | None, text: str, voice: str, **settings: int) -> Utterance:
    """:meth:`Espeak.speak` in a freshly forked child with a freshly initialised engine.

    espeak-ng carries synthesiser state (waveform phase, filter memories) from one
    utterance to the next, so the same request gives slightly different samples depending
    on what was said before. A fork per utterance makes every clip's audio depend only on
    its own request (identical whatever the worker or the order). Costs a few ms.
    """
    if not hasattr(os, "fork"):  # no fork (Windows): fall back on a shared engine
        return Espeak(data_path).speak(text, voice, **settings)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        code = 0
        try:
            os.close(read_end)
            try:
                result: object = Espeak(data_path).speak(text, voice, **settings)
            except Exception as exc:  # handed to the parent, which re-raises it
                result = exc
            with os.fdopen(write_end, "wb") as handle:
                pickle.dump(result, handle)
        except BaseException:
            code = 1
        finally:
            os._exit(code)  # skip atexit handlers: they belong to the parent
    os.close(write_end)
    with os.fdopen(read_end, "rb") as handle:
        payload = handle.read()
    _, status = os.waitpid(pid, 0)
    if not payload or os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"espeak-ng child process failed (status {status})")
    result = pickle.loads(payload)
    if isinstance(result, Exception):
        raise result
    return result
