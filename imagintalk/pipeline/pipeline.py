"""``Pipeline``: silent talking-face video -> speech, for the CLI, the ROS node and the desktop app.

    pipe = Pipeline.from_dir()                       # the shipped model, loaded once
    result = pipe.speak_file("clip.mp4")             # or speak_frames(frames, ...) / speak_track(track)
    result.save_wav("speech.wav")

Every entry point ends in the same per-window path: FaceTrackResult window -> features
(pipeline.features, as training extracts them) -> clip_conditions (models.bundle, the one
function stage-3 training calls too) -> sampler over the Style-DiT -> Codec.decode. Long
inputs are cut into utterance windows (pipeline.windows) while the frames stream in, so only
one window's crops are ever held.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..builders import load_codec
from ..codec.base import Codec
from ..diffusion.sampling import get_sampler, sample
from ..errors import CheckpointError, ImaginTalkError, InputError, NoFaceError
from ..features.extractors import check_extractors
from ..features.running_identity import RunningIdentity
from ..models.bundle import (
    ModelBundle,
    check_fine_codec,
    clip_conditions,
    complete_fine_levels,
    load_bundle,
    load_config_of,
    style_condition,
)
from ..models.lip_adapter import LipAdapter
from ..settings import DEFAULT_MODEL_DIR
from ..settings.speak import SpeakOptions
from ..video.detectors import build_detector
from ..video.frontdoor import FaceTrack, working_max_side
from ..video.io import is_image, iter_frames, read_image
from ..video.result import FaceTrackResult
from ..video.temporal import clip_duration
from .features import window_inputs
from .profile import Profile, SpeakerFace, lip_fingerprint, load_profile
from .result import STAGES, SpeechResult, WindowInfo
from .typed import typed_windows
from .voice import ReferenceVoice, scale_expression, voice_from_reference
from .weights import load_dit_override, read_neutral_expression, resolve_device
from .windows import WindowCutter, assemble, mouth_opening, split_indices

log = logging.getLogger(__name__)

TYPED_LEAD_S = 0.25  # silence before and after typed speech (SynthTalk's lead silence)
IMAGE_SECONDS = 1.8  # a still image is held this long: the running identity's 8 looks 0.2 s apart


def window_seed(seed: int, index: int) -> int:
    """The sampler seed of window ``index``: depends on (seed, index) only."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


@dataclass
class _Spoken:
    """One window's output: wav [N], tokens [K, T_tok], units / raw units [T_tok]."""

    wav: np.ndarray
    tokens: np.ndarray
    units: np.ndarray
    raw_units: np.ndarray
    flagged: np.ndarray  # [T_tok] bool, units the error detector flagged
    network_calls: int

    def drop_frames(self, frames: int, samples_per_frame: int, factor: int) -> _Spoken:
        """Without its first ``frames`` video frames (spoken only as context for a short window)."""
        tokens = factor * frames
        return _Spoken(
            self.wav[frames * samples_per_frame :], self.tokens[:, tokens:], self.units[tokens:],
            self.raw_units[tokens:], self.flagged[tokens:], self.network_calls,
        )  # fmt: skip


class SpeechInterrupted(ImaginTalkError):
    """Speaking stopped because ``Pipeline.interrupt`` asked for it (e.g. a canceled ROS goal)."""


class Pipeline:
    """A loaded model + codec that turns face video into speech. Deterministic for ``seed``.

    ``interrupt``: None, or a function checked before each network call of the sampler; when it
    returns True the utterance stops there with SpeechInterrupted (a live caller's cancel).
    """

    def __init__(
        self,
        bundle: ModelBundle,
        codec: Codec,
        options: SpeakOptions | None = None,
        *,
        device: str | torch.device = "cpu",
        voice_reference: str | Path | np.ndarray | None = None,
        voice_reference_rate: int | None = None,
        **changes: object,
    ) -> None:
        """``options`` (default: :class:`SpeakOptions`()) with ``changes`` (its field names) applied."""
        options = (options or SpeakOptions()).replace(**changes)
        cfg = bundle.cfg
        cfg.style.check_inputs(error=CheckpointError)
        check_extractors(cfg.style)  # a bad extractor name, file or width: refused before any window
        if codec.cardinality != cfg.dit.cardinality or codec.num_codebooks < cfg.dit.num_codebooks:
            raise CheckpointError(
                f"codec has {codec.num_codebooks} x {codec.cardinality} tokens, the model generates "
                f"{cfg.dit.num_codebooks} x {cfg.dit.cardinality}"
            )
        self.factor = int(round(codec.frame_rate / cfg.video.fps))
        if self.factor * cfg.video.fps != codec.frame_rate:
            raise CheckpointError(
                f"codec frame rate {codec.frame_rate} Hz is no whole multiple of {cfg.video.fps}"
            )
        self.cfg, self.bundle, self.codec = cfg, bundle, codec
        self.device = torch.device(device)
        self.samples_per_frame = codec.hop_length * self.factor  # 640 at 16 kHz, 50 Hz tokens, 25 fps
        self.detector = build_detector(cfg.video.detector, upsample=cfg.video.upsample)  # loaded once
        self.set_options(options)
        self.reference_voice: ReferenceVoice | None = None
        if voice_reference is not None:
            self.set_voice_reference(voice_reference, voice_reference_rate)
        self.profile: Profile | None = None
        self._adapter: LipAdapter | None = None
        self._lip_fingerprint: str | None = None
        # [E] the expression typed speech takes without a face or profile (MODEL_DIR/NEUTRAL_FILE)
        self.neutral_expression: np.ndarray | None = None
        self.interrupt: Callable[[], bool] | None = None

    @property
    def options(self) -> SpeakOptions:
        """The options in force (``None`` fields resolved to the model's values are left as given)."""
        return self._options

    def set_options(self, options: SpeakOptions) -> None:
        """Speak from now on with ``options`` (validated; the sampler's name against the registry)."""
        options.validate()
        if options.sampler is not None:
            get_sampler(options.sampler)  # unknown name -> InputError now, not after the front door
        sampling = self.cfg.sampling
        self.fine_levels = options.fine_levels and self.cfg.completes_fine_levels
        if self.fine_levels:
            check_fine_codec(self.cfg, self.codec)
        self._options = options
        self.steps, self.tau, self.seed = options.steps, options.tau, options.seed
        self.sampler = sampling.sampler if options.sampler is None else options.sampler
        self.temperature = sampling.temperature if options.temperature is None else float(options.temperature)
        self.guidance = sampling.guidance if options.guidance is None else float(options.guidance)
        self.refine, self.hide_lips, self.progress = options.refine, options.hide_lips, options.progress
        self.expressiveness = float(options.expressiveness)
        self.max_window_s = options.max_window_s
        self.min_window_s = (
            0.6 * options.max_window_s if options.min_window_s is None else options.min_window_s
        )

    @property
    def output_levels(self) -> int:
        """Codec levels in the spoken tokens: the DiT's, or all the codec's with the fine completer."""
        return self.codec.num_codebooks if self.fine_levels else self.cfg.dit.num_codebooks

    # ---------------------------------------------------------------- voice controls

    def set_voice_reference(
        self, source: str | Path | np.ndarray | None, sample_rate: int | None = None
    ) -> ReferenceVoice | None:
        """Speak in the voice of a reference recording (a wav path or mono samples); None: the face's.

        Returns the fitted voice (its ``cosine`` says how closely the model can reach it).
        """
        self.reference_voice = (
            None if source is None else voice_from_reference(self.bundle.style, source, sample_rate)
        )
        return self.reference_voice

    def set_profile(self, profile: Profile | str | Path | None) -> Profile | None:
        """Speak as the user of ``profile`` (a Profile or its directory): their lip adapter, and their
        voice recording when the profile has one; None: the model as shipped. CheckpointError for a
        profile made with another model (nothing changes then)."""
        if profile is not None and not isinstance(profile, Profile):
            profile = load_profile(profile)
        adapter = None if profile is None else profile.adapter_for(self.bundle.lip, self.model_fingerprint)
        if self._adapter is not None:
            self._adapter.detach()
        self._adapter = None if adapter is None else adapter.attach(self.bundle.lip)
        self.profile = profile
        if profile is not None and profile.voice is not None:
            self.set_voice_reference(profile.voice)
        return profile

    @property
    def model_fingerprint(self) -> str:
        """The model's lip aligner's fingerprint (profiles name the model they fit by it)."""
        if self._lip_fingerprint is None:
            if self._adapter is not None:
                raise RuntimeError("the fingerprint is taken before any profile is set")
            self._lip_fingerprint = lip_fingerprint(self.bundle.lip)
        return self._lip_fingerprint

    def set_expressiveness(self, value: float) -> None:
        """How much the face's expression changes shape the prosody: 0 steady, 1 as trained, up to 3."""
        self.set_options(self._options.replace(expressiveness=value))

    @classmethod
    def from_dir(
        cls,
        model_dir: str | Path | None = None,
        options: SpeakOptions | None = None,
        *,
        device: str = "cpu",
        codec: Codec | str | None = None,
        dit_weights: str | Path | None = None,
        voice_reference: str | Path | np.ndarray | None = None,
        voice_reference_rate: int | None = None,
        bundle: ModelBundle | None = None,
        **changes: object,
    ) -> Pipeline:
        """Load MODEL_DIR (default: the shipped ``models/imagintalk``) once.

        ``options`` / ``changes``: as for :class:`Pipeline`, checked before anything loads.
        ``codec``: a Codec, or a codec directory / name overriding the config's ``codec.path``.
        ``dit_weights``: another dit.safetensors (or a model dir holding one), e.g. the single-adaLN
        ablation. ``bundle``: MODEL_DIR's networks already loaded another way (``export.onnx_bundle``:
        the onnxruntime backend).
        """
        options = (options or SpeakOptions()).replace(**changes)
        model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        if not model_dir.is_dir():
            raise CheckpointError(f"no model directory at {model_dir}")
        torch_device = resolve_device(device)
        cfg = load_config_of(model_dir)
        check_extractors(cfg.style)  # before the networks load (the paper model's take ~15 s)
        bundle = load_bundle(model_dir, torch_device, cfg=cfg) if bundle is None else bundle.to(torch_device)
        if dit_weights is not None:
            bundle.dit = load_dit_override(dit_weights, bundle.cfg).to(torch_device).eval()
        codec_obj = codec if isinstance(codec, Codec) else load_codec(bundle.cfg, model_dir, codec)
        pipe = cls(
            bundle, codec_obj, options, device=torch_device, voice_reference=voice_reference,
            voice_reference_rate=voice_reference_rate,
        )  # fmt: skip
        pipe.neutral_expression = read_neutral_expression(model_dir, cfg.style.expression_dim)
        return pipe

    # ---------------------------------------------------------------- entry points

    def speak_file(self, video_path: str | Path) -> SpeechResult:
        """A video file (any size, frame rate, length) -> speech of the same duration."""
        frames = iter_frames(video_path, color="bgr", max_side=working_max_side(self.cfg.video))
        return self._speak_stream(frames, "bgr", str(video_path))

    def speak_frames(
        self,
        frames: Iterable[np.ndarray],
        timestamps: Iterable[float] | None = None,
        fps: float | None = None,
        color: str = "bgr",
    ) -> SpeechResult:
        """Frames uint8 [H, W, 3] in memory (``color`` "bgr" or "rgb") -> speech.

        ``timestamps``: seconds per frame (strictly increasing); without them frame i is at i / fps
        (fps default: the front door's 25).
        """
        if timestamps is None:
            rate = float(fps or self.cfg.video.fps)
            if rate <= 0:
                raise InputError(f"fps must be positive, got {fps}")
            pairs: Iterator[tuple[np.ndarray, float]] = ((f, i / rate) for i, f in enumerate(frames))
        else:
            pairs = zip(frames, timestamps)
        return self._speak_stream(pairs, color, "the frames")

    def running_identity(self) -> RunningIdentity:
        """A face identity to feed with the front door's observations as frames arrive (the live path)."""
        return RunningIdentity(self.cfg)

    def track_file(self, video_path: str | Path) -> tuple[FaceTrackResult, np.ndarray | None]:
        """A video file through the front door as one clip, with the face's running identity [D]:
        what ``speak_track(track, identity)`` speaks as ``speak_file`` does (a clip of one window).
        For tools that speak one clip in many settings without redoing its front door."""
        face_track = FaceTrack(self.cfg.video, self.detector, color="bgr")
        face_track.source = str(video_path)
        identity = self.running_identity()
        for frame, time_s in iter_frames(video_path, color="bgr", max_side=working_max_side(self.cfg.video)):
            identity.update(face_track.push(frame, time_s))
        return face_track.finish(), identity.vector

    def speak_track(
        self,
        track: FaceTrackResult,
        identity: np.ndarray | None = None,
        expression: np.ndarray | None = None,
    ) -> SpeechResult:
        """A front-door result (T frames at 25 fps) -> speech [T * samples_per_frame].

        ``identity`` [D]: the face's identity when already known (``RunningIdentity.vector``, as the
        live path and ``speak_file`` have it); None, or one of another width than this model's
        descriptor (a stream set up for another model): described from each window's own frames.
        ``expression`` [T, E]: the per-frame expression of ``track.face`` when already computed (the
        live path computes it while the face speaks); None, or not [T, style.expression_dim]: here.
        """
        fits = (track.num_frames, self.cfg.style.expression_dim)
        if expression is not None and np.shape(expression) != fits:
            log.warning("expression of shape %s does not fit: computed from the frames", np.shape(expression))
            expression = None
        if identity is not None and np.shape(identity) != (self.cfg.style.descriptor_dim,):
            log.warning(
                "identity of shape %s does not fit this model (%d): described from the frames instead",
                np.shape(identity), self.cfg.style.descriptor_dim,
            )  # fmt: skip
            identity = None
        started = time.perf_counter()
        timings = dict.fromkeys(STAGES, 0.0)
        openings = [mouth_opening(points) for points in track.aligned_landmarks]
        cutter = WindowCutter(self.max_window_s, self.min_window_s, 1.0 / track.fps)
        pieces, outputs, infos, warnings = [], [], [], self._track_warnings(track)
        min_frames = int(np.ceil(self.cfg.video.min_duration_s * track.fps - 1e-9))
        for index, (a, b) in enumerate(split_indices(track.times, openings, cutter)):
            info = WindowInfo(
                index, a, b - a, float(track.times[a]), filled_frames=int((~track.detected[a:b]).sum())
            )
            # a window too short to speak is spoken with the frames before it; only its own part is kept
            lead = min(a, max(0, min_frames - (b - a)))
            if b - a + lead < min_frames:
                info.status = "too_short"
                warnings.append(f"window {index} ({info.num_frames} frames) is too short to speak: silent")
                spoken = None
            else:
                window = slice_track(track, a - lead, b)
                part = None if expression is None else expression[a - lead : b]
                spoken = self._speak_window(window, index, timings, info, identity, part)
                spoken = spoken.drop_frames(lead, self.samples_per_frame, self.factor) if lead else spoken
                info.flagged_fraction = float(spoken.flagged.mean()) if len(spoken.flagged) else 0.0
            pieces.append((a * self.samples_per_frame, spoken.wav if spoken else np.zeros(0, np.float32)))
            outputs.append(spoken)
            infos.append(info)
        return self._result(pieces, outputs, infos, track.num_frames, timings, warnings, started, "track")

    def describe_track(
        self, track: FaceTrackResult, identity: np.ndarray | None = None, expression: np.ndarray | None = None
    ) -> SpeakerFace:
        """A front-door track (with its running identity [D] and per-frame expression [T, E] when
        already known, as the live path has them) -> the face typed speech speaks with: its
        identity, its expression averaged over the track, and its face crops."""
        inputs = window_inputs(track, self.cfg, identity, expression)
        return SpeakerFace(
            inputs.identity[0].numpy(), inputs.expression[0].mean(0).numpy(),
            (inputs.face_crops[0] * 255).round().byte().permute(0, 2, 3, 1).numpy(),
        )  # fmt: skip

    def describe_face(self, path: str | Path) -> SpeakerFace:
        """A face video or still image -> :meth:`describe_track` of it."""
        return self.describe_track(*(self._track_image(path) if is_image(path) else self.track_file(path)))

    def _track_image(self, path: str | Path) -> tuple[FaceTrackResult, np.ndarray | None]:
        """A still image as a clip long enough for the running identity (IMAGE_SECONDS at 25 fps)."""
        image = read_image(path, max_side=working_max_side(self.cfg.video))
        face_track = FaceTrack(self.cfg.video, self.detector, color="bgr")
        identity = self.running_identity()
        fps = self.cfg.video.fps
        for i in range(int(IMAGE_SECONDS * fps)):
            identity.update(face_track.push(image, i / fps))
        return face_track.finish(), identity.vector

    def say(self, text: str, face: SpeakerFace | None = None) -> SpeechResult:
        """Typed ``text`` -> speech in the voice of ``face`` (``describe_face`` / ``describe_track``),
        else the profile's face, else the voice reference (one is needed: InputError otherwise).

        The expression is the face's steady one; without a face or profile, the model's neutral one.
        Units come from the text (pipeline.typed), not from lips.
        """
        started = time.perf_counter()
        cfg = self.cfg
        face = face if face is not None else (self.profile.face if self.profile is not None else None)
        if face is None and self.reference_voice is None:
            raise InputError("typed speech needs a voice: a face (--face), a profile or a voice recording")
        if face is None:
            if self.neutral_expression is None:
                raise InputError(
                    "this model has no neutral expression for typed speech: give a face or profile"
                )
            face = SpeakerFace(np.zeros(cfg.style.descriptor_dim, np.float32), self.neutral_expression, None)
        face.check(cfg.style)
        timings = dict.fromkeys(STAGES, 0.0)
        t0 = time.perf_counter()
        windows = typed_windows(text, int(cfg.video.fps), self.factor, TYPED_LEAD_S, self.max_window_s)
        timings["semantic"] += time.perf_counter() - t0
        pieces, outputs, infos, at = [], [], [], 0
        for index, window in enumerate(windows):
            t0 = time.perf_counter()
            with torch.inference_mode():
                units = torch.from_numpy(window.units)[None].to(self.device)  # [1, T_tok]
                c_lip = self.bundle.lip.codebook.lookup(units)  # [1, T_tok, D_unit]
                identity, expression, crops = face.inputs(window.num_frames, self.device)
                c_id, c_emo = style_condition(self.bundle, identity, expression, None, crops)
            t1 = time.perf_counter()
            wav, tokens, calls, decode_s = self._generate(c_lip, c_id, c_emo, index)
            timings["style"] += t1 - t0
            timings["sampling"] += time.perf_counter() - t1 - decode_s
            timings["decode"] += decode_s
            unit_ids = window.units.astype(np.int64)
            pieces.append((at * self.samples_per_frame, wav))
            outputs.append(_Spoken(wav, tokens, unit_ids, unit_ids, np.zeros(len(unit_ids), bool), calls))
            infos.append(WindowInfo(index, at, window.num_frames, at / cfg.video.fps, network_calls=calls))
            at += window.num_frames
        return self._result(pieces, outputs, infos, at, timings, [], started, "typed text")

    # ---------------------------------------------------------------- the shared path

    def _speak_stream(
        self, pairs: Iterable[tuple[np.ndarray, float]], color: str, source: str
    ) -> SpeechResult:
        """Push frames into the front door; speak each window as soon as the cutter ends it.

        The face's identity is taken while the frames arrive (``RunningIdentity``), as on the live path.

        A final window too short to speak (under video.min_duration_s) is spoken together with the
        end of the previous one (the last ``recent`` frames are kept for that) and only its own
        part is used.
        """
        started = time.perf_counter()
        timings = dict.fromkeys(STAGES, 0.0)
        face_track = FaceTrack(self.cfg.video, self.detector, color=color)
        face_track.source = source
        identity = self.running_identity()
        fps, min_s = self.cfg.video.fps, self.cfg.video.min_duration_s
        cutter = WindowCutter(self.max_window_s, self.min_window_s, 1.0 / fps)
        times: list[float] = []  # every source timestamp (8 bytes a frame): the clip's exact length
        recent: deque[tuple[np.ndarray, float]] = deque()  # source frames of the last ~min_s + 0.2 s
        pieces, outputs, infos, warnings, errors = [], [], [], [], []
        window_first: float | None = None
        spent_in_windows = 0.0

        def close_window(lead_from: float | None = None) -> None:
            """Speak what the front door holds; with ``lead_from``, drop its frames before window_first."""
            nonlocal window_first, spent_in_windows
            t0 = time.perf_counter()
            index, start_frame = len(infos), round_half_up((window_first - times[0]) * fps)
            info = WindowInfo(index, start_frame, 0, window_first - times[0])
            lead = 0 if lead_from is None else start_frame - round_half_up((lead_from - times[0]) * fps)
            spoken = None
            try:
                window = face_track.finish()  # the tracker resets: the next window starts fresh
                timings["front_door"] += time.perf_counter() - t0
                info.num_frames = window.num_frames - lead
                info.filled_frames = int((~window.detected[lead:]).sum())
                warnings.extend(self._track_warnings(window, f"window {index}: " if index else ""))
                spoken = self._speak_window(window, index, timings, info, identity.vector)
                spoken = spoken.drop_frames(lead, self.samples_per_frame, self.factor) if lead else spoken
                info.flagged_fraction = float(spoken.flagged.mean()) if len(spoken.flagged) else 0.0
            except (NoFaceError, InputError) as exc:  # no face / too short in this window: silent
                info.status = "no_face" if isinstance(exc, NoFaceError) else "too_short"
                errors.append(exc)
                warnings.append(f"window {index} at {info.start_s:.2f} s is silent: {exc}")
            pieces.append(
                (start_frame * self.samples_per_frame, spoken.wav if spoken else np.zeros(0, np.float32))
            )
            outputs.append(spoken)
            infos.append(info)
            window_first = None
            spent_in_windows += time.perf_counter() - t0

        for frame, time_s in pairs:
            time_s = float(time_s)
            if window_first is None:
                window_first = time_s
            if len(times) == 1:
                cutter.frame_step_s = time_s - times[0]
            observation = face_track.push(frame, time_s)
            t0 = time.perf_counter()
            identity.update(observation)
            timings["features"] += time.perf_counter() - t0
            spent_in_windows += time.perf_counter() - t0  # not front-door time: subtracted below
            times.append(time_s)
            recent.append((frame, time_s))
            while recent and time_s - recent[0][1] > min_s + 0.2:
                recent.popleft()
            if cutter.update(time_s, mouth_opening(observation.landmarks)):
                close_window()
        if not times:
            raise InputError(f"no frames in {source}")
        if window_first is not None:
            short = clip_duration(np.asarray(times), fps) - (window_first - times[0]) < min_s
            if short and infos and len(recent) > len(face_track):
                face_track.reset()  # speak the tail with the end of the previous window before it
                for frame, time_s in recent:
                    face_track.push(frame, time_s)
                close_window(lead_from=recent[0][1])
            else:
                close_window()
        recent.clear()
        timings["front_door"] += time.perf_counter() - started - spent_in_windows  # decoding + push()
        if all(o is None for o in outputs):
            if len(errors) == 1 or not any(isinstance(e, NoFaceError) for e in errors):
                raise errors[0]
            raise NoFaceError(f"no face found in {source} ({len(times)} frames)")
        total = round_half_up(clip_duration(np.asarray(times), fps) * fps)
        return self._result(pieces, outputs, infos, total, timings, warnings, started, source)

    def _speak_window(
        self,
        window: FaceTrackResult,
        index: int,
        timings: dict,
        info: WindowInfo,
        identity: np.ndarray | None = None,
        expression: np.ndarray | None = None,
    ) -> _Spoken:
        """One window (T frames) -> wav [T * samples_per_frame] and its tokens / units."""
        bundle, cfg = self.bundle, self.cfg
        t0 = time.perf_counter()
        inputs = window_inputs(window, cfg, identity, expression).to(self.device)
        t1 = time.perf_counter()
        with torch.inference_mode():
            conditions = clip_conditions(
                bundle, inputs.mouth, inputs.identity, inputs.expression, inputs.face_missing,
                inputs.face_crops, refine=self.refine, tau=self.tau, hide_lips=self.hide_lips,
            )  # fmt: skip
            semantic, c_id, c_emo = conditions.semantic, conditions.c_id, conditions.c_emo
            t2 = t1 + conditions.seconds[0]
            t3 = time.perf_counter()
            wav, tokens, calls, decode_s = self._generate(semantic.c_lip, c_id, c_emo, index)
        t5 = time.perf_counter()
        t4 = t5 - decode_s
        for stage, seconds in zip(STAGES[1:], (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            timings[stage] += seconds
        flagged = semantic.flagged[0].cpu().numpy().astype(bool)  # [T_tok]
        info.network_calls, info.flagged_fraction = calls, float(flagged.mean())
        return _Spoken(
            wav=wav,
            tokens=tokens,
            units=semantic.units[0].cpu().numpy().astype(np.int64),
            raw_units=semantic.raw_units[0].cpu().numpy().astype(np.int64),
            flagged=flagged,
            network_calls=calls,
        )

    @torch.inference_mode()
    def _generate(
        self, c_lip: Tensor, c_id: Tensor, c_emo: Tensor, index: int
    ) -> tuple[np.ndarray, np.ndarray, int, float]:
        """c_lip [1, T_tok, D_unit], c_id [1, D_id], c_emo [1, T_tok, D_emo] -> (wav [T_tok * hop],
        tokens [K, T_tok], network calls, seconds the codec took): the sampler over the Style-DiT,
        then the codec."""
        bundle, cfg = self.bundle, self.cfg
        if self.reference_voice is not None:  # the user's own voice instead of the face's
            c_id = self.reference_voice.c_id.to(c_id.device, c_id.dtype).expand_as(c_id)
        c_emo = scale_expression(c_emo, self.expressiveness)  # [1, T_tok, D_emo]
        generator = torch.Generator(device=self.device).manual_seed(window_seed(self.seed, index))
        score_fn = self._interruptible(bundle.dit.score_fn(c_lip, c_id, c_emo, guidance=self.guidance))
        shape = (1, cfg.dit.num_codebooks, c_lip.shape[1])  # T_tok = factor * T
        sampled = sample(
            self.sampler, score_fn, shape, cfg.dit.cardinality, steps=self.steps, generator=generator,
            device=self.device, progress=self.progress, temperature=self.temperature,
        )  # fmt: skip
        t0 = time.perf_counter()
        tokens = sampled.tokens.cpu()  # [1, K_dit, T_tok]
        if self.fine_levels:  # the codec levels the DiT does not generate
            tokens = complete_fine_levels(bundle, self.codec, sampled.tokens, c_id).cpu()  # [1, K, T_tok]
        wav = self.codec.decode(tokens)[0, 0].float().cpu().numpy()  # [T_tok * hop]
        decode_s = time.perf_counter() - t0
        return wav.astype(np.float32), tokens[0].numpy().astype(np.int64), sampled.network_calls, decode_s

    def _interruptible(self, score_fn: Callable) -> Callable:
        """``score_fn`` checking ``self.interrupt`` first (between diffusion steps), when one is set."""
        interrupt = self.interrupt
        if interrupt is None:
            return score_fn

        def checked(*args, **kwargs):
            if interrupt():
                raise SpeechInterrupted("speaking interrupted on request")
            return score_fn(*args, **kwargs)

        return checked

    def _track_warnings(self, track: FaceTrackResult, prefix: str = "") -> list[str]:
        out = []
        if len(track.filled_frames):
            filled = len(track.filled_frames)
            out.append(f"{prefix}{filled} of {track.num_frames} frames had no detected face (filled)")
        if track.long_gap_frames:
            gap = self.cfg.video.max_gap_s
            out.append(f"{prefix}{track.long_gap_frames} source frames lie in face gaps over {gap} s")
        if track.multiple_faces:
            out.append(f"{prefix}{track.multiple_faces} source frames showed more than one face")
        return out

    def _result(
        self,
        pieces: list[tuple[int, np.ndarray]],
        outputs: list[_Spoken | None],
        infos: list[WindowInfo],
        total_frames: int,
        timings: dict[str, float],
        warnings: list[str],
        started: float,
        source: str,
    ) -> SpeechResult:
        """Concatenate the windows to exactly total_frames * samples_per_frame samples."""
        k, r = self.output_levels, self.factor
        wav = assemble(pieces, total_frames * self.samples_per_frame, self.codec.sample_rate)
        tokens = np.full((k, r * total_frames), -1, np.int64)
        units = np.full(r * total_frames, -1, np.int64)
        raw = np.full(r * total_frames, -1, np.int64)
        for (start, _), spoken in zip(pieces, outputs):
            if spoken is None:
                continue
            a = start // self.codec.hop_length
            n = min(spoken.tokens.shape[1], r * total_frames - a)
            tokens[:, a : a + n], units[a : a + n], raw[a : a + n] = (
                spoken.tokens[:, :n], spoken.units[:n], spoken.raw_units[:n],
            )  # fmt: skip
        spoken_tokens = sum(o.tokens.shape[1] for o in outputs if o is not None)
        timings = {**timings, "total": time.perf_counter() - started}
        return SpeechResult(
            wav=wav,
            sample_rate=self.codec.sample_rate,
            num_frames=total_frames,
            fps=self.cfg.video.fps,
            tokens=tokens,
            units=units,
            raw_units=raw,
            flagged_fraction=sum(int(o.flagged.sum()) for o in outputs if o is not None)
            / max(spoken_tokens, 1),
            network_calls=sum(o.network_calls for o in outputs if o is not None),
            timings=timings,
            windows=infos,
            warnings=warnings,
            source=source,
        )


def slice_track(track: FaceTrackResult, start: int, end: int) -> FaceTrackResult:
    """Frames [start, end) of a FaceTrackResult as a clip of its own (times from 0)."""
    filled = track.filled_frames[(track.filled_frames >= start) & (track.filled_frames < end)] - start
    return replace(
        track,
        mouth=track.mouth[start:end],
        face=track.face[start:end],
        landmarks=track.landmarks[start:end],
        aligned_landmarks=track.aligned_landmarks[start:end],
        boxes=track.boxes[start:end],
        detected=track.detected[start:end],
        times=track.times[start:end] - track.times[start],
        filled_frames=filled,
    )
