"""``imagintalk train``: one of the three training stages of the ImaginTalk model.

    imagintalk train --stage 1 --preset synth --data data/synth/train --val-data data/synth/val \
        --out runs/model
    imagintalk train --stage 2 ...    # face-style adapter
    imagintalk train --stage 3 ...    # Style-DiT, conditions from the frozen stages 1-2

Stage 1 writes OUT/lip.safetensors and OUT/mlm.safetensors, stage 2 OUT/style.safetensors,
stage 3 OUT/dit.safetensors and, when the DiT generates a coarse prefix of the codec's
levels, OUT/fine.safetensors (the fine-level completer; --only dit | fine trains just one),
each with OUT/config.json; runs, checkpoints and TensorBoard logs go to OUT/runs/<network>.
--resume continues an interrupted run from its last checkpoint (also on another number of
processes or nodes). Several processes: torchrun --nproc_per_node N -m imagintalk train ...
(DDP; gloo on the CPU, nccl on GPUs). Several datasets: --data LRS3:3 --data MEAD:1 draws 3/4
of each epoch from LRS3 and 1/4 from MEAD. See docs/training.md.
"""

from __future__ import annotations

import argparse
import json
import math

from ..errors import InputError
from ..settings.train import train_preset
from .common import add_config_args, config_from_args
from .prepare import apply_codec_arg


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train stage 1 (lip aligner + unit MLM), 2 (face style) or 3 (Style-DiT)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stage", type=int, choices=(1, 2, 3), required=True, help="training stage")
    parser.add_argument(
        "--data",
        metavar="DIR[:WEIGHT]",
        action="append",
        required=True,
        help="a prepared data dir (imagintalk prepare); repeat to train on several, each drawn by "
        "WEIGHT (default 1; its share of each epoch is WEIGHT / the sum of the weights)",
    )
    parser.add_argument(
        "--val-data",
        metavar="DIR",
        help="prepared validation clips (default: the data dir's val split, if any)",
    )
    parser.add_argument(
        "--out", metavar="MODEL_DIR", default="runs/model", help="model dir (default runs/model)"
    )
    parser.add_argument("--max-steps", type=int, metavar="N", help="override the steps of every network")
    parser.add_argument(
        "--grad-accum",
        type=int,
        metavar="N",
        help="micro-batches per optimiser step, for every network (default: the preset's, 1)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoints in OUT/runs"
    )
    parser.add_argument(
        "--amp",
        choices=("auto", "none", "bf16", "fp16"),
        help="mixed precision (default auto: none on the CPU, bf16 on CUDA)",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--codec",
        metavar="NAME_OR_DIR",
        help="the codec the data was prepared with (recorded in OUT/config.json)",
    )
    parser.add_argument(
        "--init-dit",
        metavar="PATH",
        help="stage 3: start from another DiT (dit.safetensors or its model dir) instead of scratch; "
        "one that generates more RVQ levels gives its first ones",
    )
    parser.add_argument(
        "--init-style",
        metavar="PATH",
        help="stage 2: start from another face-style adapter (style.safetensors or its model dir) of "
        "the same preset; with --set train.style_freeze_identity=true its identity path stays as it is",
    )
    parser.add_argument(
        "--only",
        choices=("dit", "fine"),
        help="stage 3: train only the Style-DiT, or only the fine-level completer (default: both)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_args(parser)
    parser.set_defaults(func=run)


def resolve_amp(choice: str, device: str) -> str:
    """auto -> bf16 where CUDA will be used, none on the CPU."""
    import torch

    if choice != "auto":
        return choice
    return "bf16" if torch.cuda.is_available() and device in ("auto", "cuda") else "none"


def parse_data_arg(text: str) -> tuple[str, float]:
    """``DIR`` or ``DIR:WEIGHT`` -> (DIR, WEIGHT); only a trailing ":<number>" is a weight, so a dir
    with colons in its name still works ("a:b", or "a:2:1" for the dir "a:2" at weight 1)."""
    head, sep, tail = text.rpartition(":")
    if not sep or not head:
        return text, 1.0
    try:
        weight = float(tail)
    except ValueError:
        return text, 1.0
    if not math.isfinite(weight) or weight <= 0:
        raise InputError(f"--data {text}: the weight must be a positive number, got {tail}")
    return head, weight


def build_run(args: argparse.Namespace):
    """The parsed arguments -> a StageRun (config checked, data dirs checked)."""
    from pathlib import Path

    from ..train.stages import StageRun, check_face_extractors, check_model_dir, mixed_sources

    cfg = config_from_args(args)
    apply_codec_arg(cfg, args.codec)
    cfg.check()
    train_cfg = getattr(cfg, "train", None) or train_preset(cfg.preset)
    train_cfg.validate()
    if args.max_steps is not None and args.max_steps < 1:
        raise InputError("--max-steps must be positive")
    if args.grad_accum is not None:
        if args.grad_accum < 1:
            raise InputError("--grad-accum must be positive")
        for name in ("lip", "mlm", "style", "dit", "fine"):
            getattr(train_cfg, name).grad_accum = args.grad_accum
    if args.init_style and args.stage != 2:
        raise InputError("--init-style applies to stage 2")
    if train_cfg.style_freeze_identity and args.stage == 2 and not args.init_style:
        raise InputError("train.style_freeze_identity needs --init-style (the identity path to keep)")
    if args.only is not None and args.stage != 3:
        raise InputError("--only applies to stage 3 (dit | fine)")
    if args.only == "fine" and not cfg.completes_fine_levels:
        raise InputError(
            "--only fine: this config completes no fine levels (fine.enabled is false, or the DiT "
            "generates all the codec's levels)"
        )
    model_dir = Path(args.out)
    check_model_dir(model_dir, cfg)
    dirs = [(Path(d), w) for d, w in map(parse_data_arg, args.data)]
    sources, val = mixed_sources(dirs, Path(args.val_data) if args.val_data else None)
    check_face_extractors([*sources, *([val] if val else [])], cfg)
    amp = resolve_amp(args.amp or train_cfg.amp, args.device)
    return StageRun(
        cfg,
        train_cfg,
        sources[0],
        val,
        model_dir,
        args.resume,
        args.max_steps,
        amp,
        args.device,
        not args.no_progress,
        Path(args.init_dit) if args.init_dit else None,
        args.only,
        tuple(sources[1:]),
        Path(args.init_style) if args.init_style else None,
    )


def run(args: argparse.Namespace) -> int:
    from ..train import distributed as ddp

    stage_run = build_run(args)
    if args.stage == 1:
        from ..train.stage1 import train_stage1 as train_stage
    elif args.stage == 2:
        from ..train.stage2 import train_stage2 as train_stage
    else:
        from ..train.stage3 import train_stage3 as train_stage
    if args.stage == 3:
        from ..train.stage3 import check_frozen

        check_frozen(stage_run.model_dir)  # before any data work
    try:
        result = train_stage(stage_run)
        if stage_run.is_main:
            print(f"stage {args.stage} done: {', '.join(result['files'])}")
            if "val" in result:
                print(f"validation ({stage_run.val.describe()}): {json.dumps(result['val'])}")
    finally:
        ddp.cleanup_distributed()
    return 0
