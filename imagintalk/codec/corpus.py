"""Training speech for the project's own codec, generated locally with espeak-ng and flite.

Many voices make the codebooks cover more of the space of real voices: espeak-ng voices of
several languages and variants (formant synthesis) and flite's voices, among them kal16
(a diphone voice concatenating real recorded speech) and rms / slt (statistical voices
trained on CMU ARCTIC speakers). flite's ``awb`` voices are EXCLUDED: the held-out
evaluation clip ``arctic_a0007.wav`` is spoken by the ARCTIC speaker awb.

Every clip is a pure function of (seed, index): the same seed gives the same corpus.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DependencyError
from .audio import read_audio

ESPEAK_VOICES = (
    "en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "de", "fr", "es", "it",
    "pt", "nl", "sv", "pl", "ru", "cs", "hi", "fi", "hu", "tr",
)  # fmt: skip
ESPEAK_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5")
FLITE_VOICES = ("kal16", "rms", "slt", "kal")  # never awb: the evaluation speaker
# share of clips per engine: flite's voices sound closest to recorded speech
FLITE_SHARE = 0.5

WORDS = (
    "the a of to and in is it you that he was for on are with as his they be at one have this from "
    "or had by word but what some we can out other were all there when up use your how said an "
    "each she which do their time if will way about many then them write would like so these her "
    "long make thing see him two has look more day could go come did number sound no most people "
    "my over know water than call first who may down side been now find any new work part take get "
    "place made live where after back little only round man year came show every good me give our "
    "under name very through just form sentence great think say help low line differ turn cause "
    "much mean before move right boy old too same tell does set three want air well also play small "
    "end put home read hand port large spell add even land here must big high such follow act why "
    "ask men change went light kind off need house picture try us again animal point mother world "
    "near build self earth father head stand own page should country found answer school grow study "
    "still learn plant cover food sun four between state keep eye never last let thought city tree "
    "cross farm hard start might story saw far sea draw left late run while press close night real "
    "life few north open seem together next white children begin got walk example ease paper group "
    "always music those both mark often letter until mile river car feet care second book carry took "
    "science eat room friend began idea fish mountain stop once base hear horse cut sure watch color "
    "face wood main enough plain girl usual young ready above ever red list though feel talk bird "
    "soon body dog family direct pose leave song measure door product black short numeral class wind "
    "question happen complete ship area half rock order fire south problem piece told knew pass since "
    "top whole king space heard best hour better true during hundred five remember step early hold "
    "west ground interest reach fast verb sing listen six table travel less morning ten simple several "
    "vowel toward war lay against pattern slow center love person money serve appear road map rain "
    "rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine "
    "note wait plan figure star box noun field rest correct able pound done beauty drive stood contain "
    "front teach week final gave green oh quick develop ocean warm free minute strong special mind "
    "behind clear tail produce fact street inch multiply nothing course stay wheel full force blue "
    "object decide surface deep moon island foot system busy test record boat common gold possible "
    "plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought heat snow "
    "tire bring yes distant fill east paint language among whispered apologized particular case"
).split()


@dataclass(frozen=True)
class ClipSpec:
    """One training clip: which engine and voice says which text how."""

    engine: str  # "espeak" | "flite"
    voice: str
    text: str
    speed: int = 160  # espeak words per minute
    pitch: int = 50  # espeak pitch 0..99

    @property
    def key(self) -> str:
        """A stable file name for the cache."""
        import zlib

        raw = f"{self.engine}|{self.voice}|{self.speed}|{self.pitch}|{self.text}"
        return f"{self.engine}_{zlib.crc32(raw.encode()):08x}"


def _sentence(rng: np.random.Generator) -> str:
    words = [WORDS[i] for i in rng.integers(len(WORDS), size=int(rng.integers(6, 13)))]
    if rng.random() < 0.3:  # a question or a comma changes the intonation
        words[int(rng.integers(1, len(words) - 1))] += ","
    return " ".join(words) + ("?" if rng.random() < 0.2 else ".")


def plan_corpus(num_clips: int, seed: int) -> list[ClipSpec]:
    """The list of clips for a seed (deterministic)."""
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(num_clips):
        text = _sentence(rng)
        if rng.random() < FLITE_SHARE:
            clips.append(ClipSpec("flite", FLITE_VOICES[int(rng.integers(len(FLITE_VOICES)))], text))
        else:
            voice = ESPEAK_VOICES[int(rng.integers(len(ESPEAK_VOICES)))]
            voice += ESPEAK_VARIANTS[int(rng.integers(len(ESPEAK_VARIANTS)))]
            clips.append(
                ClipSpec("espeak", voice, text, int(rng.integers(120, 200)), int(rng.integers(20, 80)))
            )
    return clips


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise DependencyError(f"{tool} is not installed; install it with: apt-get install -y {tool}")
    return path


def render_clip(clip: ClipSpec, sample_rate: int) -> np.ndarray:
    """Speak one clip: -> wav [N] float32 at ``sample_rate``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.wav"
        if clip.engine == "espeak":
            cmd = [_require("espeak-ng"), "-v", clip.voice, "-s", str(clip.speed), "-p", str(clip.pitch)]
            cmd += ["-w", str(out), clip.text]
        else:
            cmd = [_require("flite"), "-voice", clip.voice, "-t", clip.text, "-o", str(out)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        return read_audio(out, sample_rate)


def load_corpus(clips: list[ClipSpec], cache_dir: Path, sample_rate: int, progress: bool = True):
    """Yield (clip, wav [N] float32) for each clip, rendering into ``cache_dir`` once."""
    import soundfile as sf
    from tqdm import tqdm

    cache_dir.mkdir(parents=True, exist_ok=True)
    for clip in tqdm(clips, desc="training speech", disable=not progress):
        path = cache_dir / f"{clip.key}.wav"
        if path.is_file():
            wav = read_audio(path, sample_rate)
        else:
            wav = render_clip(clip, sample_rate)
            sf.write(path, wav, sample_rate, subtype="PCM_16")
        yield clip, wav
