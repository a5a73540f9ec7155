"""The ImaginTalk model as one bundle of networks, its directory format and its conditions.

A model directory holds one safetensors file per network and the full config as JSON:

    MODEL_DIR/config.json          Config.to_dict() (every section, the preset name)
    MODEL_DIR/lip.safetensors      LipAligner (+ its unit codebook)        stage 1
    MODEL_DIR/mlm.safetensors      UnitMLM                                 stage 1
    MODEL_DIR/style.safetensors    FaceStyleAdapter                        stage 2
    MODEL_DIR/dit.safetensors      StyleDiT                                stage 3
    MODEL_DIR/fine.safetensors     FineLevelCompleter (when the DiT generates a coarse prefix of
                                   the codec's levels: ``Config.completes_fine_levels``)   stage 3

The codec is not copied: ``config.json``'s ``codec.path`` names it ("" = the shipped
``models/codec``). A file that is missing means that stage has not been trained yet;
:func:`load_bundle` says which.

The two condition functions are shared by stage-3 training and the speaking pipeline, so
both see exactly the same c_lip / c_id / c_emo.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ..checkpoint import load_module_weights, read_config_file
from ..errors import CheckpointError
from ..settings import Config, config_from_dict
from ..units import NUM_UNITS
from .error_detector import correct_units
from .face_style import FaceStyleAdapter
from .fine_levels import FineLevelCompleter
from .lip import LipAligner
from .style_dit import StyleDiT
from .unit_mlm import UnitMLM

COMPONENTS = ("lip", "mlm", "style", "dit", "fine")
STAGE_OF = {"lip": 1, "mlm": 1, "style": 2, "dit": 3, "fine": 3}


@dataclass
class ModelBundle:
    cfg: Config
    lip: LipAligner
    mlm: UnitMLM
    style: FaceStyleAdapter
    dit: StyleDiT
    fine: FineLevelCompleter

    def module(self, name: str) -> nn.Module:
        return getattr(self, name)

    def to(self, device: torch.device | str) -> ModelBundle:
        for name in COMPONENTS:
            self.module(name).to(device)
        return self

    def eval(self) -> ModelBundle:
        for name in COMPONENTS:
            self.module(name).eval()
        return self


def build_bundle(cfg: Config, seed: int | None = None) -> ModelBundle:
    """Fresh (untrained) networks sized by ``cfg``; deterministic for ``seed`` (default cfg.seed)."""
    cfg.check()
    torch.manual_seed(cfg.seed if seed is None else seed)
    return ModelBundle(
        cfg=cfg,
        lip=LipAligner.from_config(cfg.lip),
        mlm=UnitMLM.from_config(cfg.mlm, NUM_UNITS, seed=cfg.seed),
        style=FaceStyleAdapter(cfg.style),
        dit=StyleDiT.from_config(cfg.dit),
        fine=FineLevelCompleter.from_config(cfg.fine),
    )


def save_component(model_dir: str | Path, name: str, module: nn.Module, cfg: Config) -> Path:
    """Write ``name``.safetensors (atomically) and config.json into ``model_dir``."""
    from safetensors.torch import save_file

    if name not in COMPONENTS:
        raise ValueError(f"unknown model component {name!r}")
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    # clone: tied weights (the MLM's decoder = its embeddings) share memory, which safetensors refuses
    state = {k: v.detach().cpu().clone().contiguous() for k, v in module.state_dict().items()}
    target = model_dir / f"{name}.safetensors"
    tmp = target.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={"component": name, "preset": cfg.preset})
    tmp.replace(target)
    cfg_tmp = model_dir / "config.json.tmp"
    cfg_tmp.write_text(json.dumps(cfg.to_dict(), indent=2))
    cfg_tmp.replace(model_dir / "config.json")
    return target


def load_config_of(model_dir: str | Path) -> Config:
    """MODEL_DIR/config.json as a Config; missing, not JSON, not an object or invalid -> CheckpointError."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"no model at {model_dir} (config.json missing)")
    return read_config_file(path, config_from_dict)


def weights_file(path: str | Path, name: str) -> Path:
    """A network's weights: ``path`` itself, or ``path/<name>.safetensors`` when it is a model dir."""
    path = Path(path)
    return path / f"{name}.safetensors" if path.is_dir() else path


def load_component(model_dir: str | Path, name: str, module: nn.Module) -> nn.Module:
    """Load ``name``.safetensors into ``module`` (strict); refuses anything but safetensors."""
    path = Path(model_dir) / f"{name}.safetensors"
    if not path.is_file():
        raise CheckpointError(
            f"model at {model_dir} has no {name} weights: train stage {STAGE_OF[name]} first "
            f"(imagintalk train --stage {STAGE_OF[name]} --out {model_dir})"
        )
    load_module_weights(path, module)
    return module


def load_bundle(
    model_dir: str | Path,
    device: str | torch.device = "cpu",
    components: tuple[str, ...] = COMPONENTS,
    cfg: Config | None = None,
) -> ModelBundle:
    """The networks of ``model_dir`` in eval mode; those not in ``components`` stay untrained
    (as does ``fine`` when the model does not complete fine levels). ``cfg``: the settings to
    build with instead of the model's config.json (stage 3: the run's, which it will save)."""
    cfg = load_config_of(model_dir) if cfg is None else cfg
    bundle = build_bundle(cfg)
    for name in components:
        if name == "fine" and not cfg.completes_fine_levels:
            continue
        load_component(model_dir, name, bundle.module(name))
    return bundle.to(device).eval()


@dataclass
class SemanticCondition:
    c_lip: Tensor  # [B, T_tok, D_unit] embeddings of the refined units
    raw_units: Tensor  # [B, T_tok] nearest codeword of each aligner vector
    units: Tensor  # [B, T_tok] after error detection + MLM refinement
    similarity: Tensor  # [B, T_tok] cosine similarity to the nearest codeword
    flagged: Tensor  # [B, T_tok] bool, similarity < tau (refined by the MLM)
    token_padding: Tensor | None  # [B, T_tok] bool, True = padding


@torch.no_grad()
def semantic_condition(
    bundle: ModelBundle,
    mouth: Tensor,
    frame_padding: Tensor | None = None,
    refine: bool = True,
    tau: float | None = None,
    hide_lips: bool = False,
    face_missing: Tensor | None = None,
) -> SemanticCondition:
    """Mouth ROIs [B, T, 88, 88] (normalised) -> c_lip at the token rate.

    ``refine=False`` skips the MLM (ablation); ``hide_lips=True`` feeds blank mouths
    (the "lips hidden" ablation: a model that cannot see the mouth). ``face_missing`` [B, T]
    bool: frames without a detected face; with ``mlm.refine_lost_face`` their unit steps are
    always refined, with the lips' vote weighing ``mlm.lost_face_prior_weight`` there.
    """
    lip, mlm = bundle.lip, bundle.mlm
    if hide_lips:
        mouth = torch.zeros_like(mouth)  # [B, T, 88, 88]
    vectors = lip(mouth, frame_padding)  # [B, T_tok, D_unit]
    token_padding = None if frame_padding is None else lip.unit_padding_mask(frame_padding)  # [B, T_tok]
    tau = bundle.cfg.mlm.tau if tau is None else tau
    if refine:
        mcfg = bundle.cfg.mlm
        lost = None
        if mcfg.refine_lost_face and face_missing is not None and bool(face_missing.any()):
            lost = face_missing.bool().repeat_interleave(lip.cfg.upsample, dim=1)  # [B, T_tok]
        uses_prior = mcfg.visual_prior_weight > 0 or (lost is not None and mcfg.lost_face_prior_weight > 0)
        visual_temperature = bundle.cfg.lip.temperature if uses_prior else None
        corr = correct_units(
            vectors, lip.codebook, mlm, tau, token_padding, visual_temperature, lost,
            mcfg.lost_face_prior_weight if lost is not None else None,
        )  # fmt: skip
        raw, similarity, flagged, units = corr.raw, corr.similarity, corr.flagged, corr.refined
    else:
        raw, similarity = lip.codebook.nearest(vectors)  # 2 x [B, T_tok]
        flagged = torch.zeros_like(raw, dtype=torch.bool)  # [B, T_tok]
        units = raw
    c_lip = lip.codebook.lookup(units)  # [B, T_tok, D_unit]
    return SemanticCondition(c_lip, raw, units, similarity, flagged, token_padding)


@torch.no_grad()
def style_condition(
    bundle: ModelBundle,
    identity: Tensor,
    expression: Tensor,
    frame_padding: Tensor | None = None,
    face_crops: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """descriptor [B, 128], expression [B, T, E] -> (c_id [B, D_id], c_emo [B, T_tok, D_emo])."""
    out = bundle.style(identity, expression, frame_padding, face_images=face_crops)
    return out["c_id"], out["c_emo"]


@dataclass
class ClipConditions:
    semantic: SemanticCondition  # c_lip [B, T_tok, D_unit] and the units behind it
    c_id: Tensor  # [B, D_id]
    c_emo: Tensor  # [B, T_tok, D_emo]
    seconds: tuple[float, float]  # time spent on (semantic, style)


@torch.no_grad()
def clip_conditions(
    bundle: ModelBundle,
    mouth: Tensor,
    identity: Tensor,
    expression: Tensor,
    face_missing: Tensor | None,
    face_crops: Tensor | None = None,
    *,
    refine: bool = True,
    tau: float | None = None,
    hide_lips: bool = False,
) -> ClipConditions:
    """The conditions of whole clips / windows (no padding), exactly as speaking computes them:
    the one function both the speaking pipeline and stage-3 training call, so the DiT trains on
    the conditions it will see.

    mouth [B, T, 88, 88] normalised, identity [B, 128], expression [B, T, E], ``face_missing``
    [B, T] bool (frames without a detected face, given explicitly: None only where there is no
    such information), face_crops [B, N, 3, S, S] in [0, 1] (read only by a face encoder).
    """
    t0 = time.perf_counter()
    semantic = semantic_condition(bundle, mouth, None, refine, tau, hide_lips, face_missing)
    t1 = time.perf_counter()
    c_id, c_emo = style_condition(bundle, identity, expression, None, face_crops)
    return ClipConditions(semantic, c_id, c_emo, (t1 - t0, time.perf_counter() - t1))


def check_fine_codec(cfg: Config, codec: object) -> None:
    """CheckpointError unless ``codec`` offers the code vectors the model's completer was sized for."""
    if not cfg.completes_fine_levels:
        return
    dim = getattr(codec, "vector_dim", None)
    if dim != cfg.fine.vector_dim:
        raise CheckpointError(
            f"the fine-level completer works in a {cfg.fine.vector_dim}-dim code-vector space "
            f"(fine.vector_dim), but codec {getattr(codec, 'name', codec)!r} offers {dim}; use the codec "
            f"the model was trained with, set fine.vector_dim to match, or fine.enabled=false"
        )


@torch.no_grad()
def complete_fine_levels(bundle: ModelBundle, codec: object, coarse: Tensor, c_id: Tensor) -> Tensor:
    """coarse codes [B, K_c, T] + c_id [B, D_id] -> codes [B, K, T] of all the codec's levels.

    The completer predicts the finer levels' residual in the codec's code-vector space, and
    the codec quantises it with its levels K_c..K-1 (``Codec.residual_codes``).
    """
    vectors = codec.vectors(coarse)  # [B, T, D]
    residual = bundle.fine(vectors.to(c_id.dtype), c_id)  # [B, T, D]
    fine = codec.residual_codes(residual, coarse.shape[1])  # [B, K - K_c, T]
    return torch.cat([coarse.cpu().long(), fine], dim=1)  # [B, K, T]
