"""``export_onnx(model_dir, out_dir)``: every network of a model as an ONNX graph + a JSON manifest.

    OUT_DIR/lip.onnx mlm.onnx style.onnx dit.onnx [fine.onnx]
    OUT_DIR/manifest.json   {"format", "opset", "model_hash", "networks": {name: {file, inputs, outputs}}}

Each graph has dynamic batch and time axes (``networks.SPECS``). ``model_hash`` is the sha256 of the
model's config.json and weight files: the runtime refuses graphs exported from other weights, which
would otherwise speak differently without a word. Files are written under temporary names and moved
into place, the manifest last, so an interrupted export never looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..models.bundle import COMPONENTS, load_bundle
from .networks import specs_for

OPSET = 17
MANIFEST = "manifest.json"
FORMAT = "imagintalk-onnx-1"


def model_hash(model_dir: str | Path) -> str:
    """sha256 over config.json and every present <component>.safetensors of ``model_dir``."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for name in ("config.json", *(f"{c}.safetensors" for c in COMPONENTS)):
        path = model_dir / name
        if path.is_file():
            digest.update(name.encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _export_one(module: torch.nn.Module, args: tuple, path: Path, spec, opset: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings on shape arithmetic that is symbolic in the graph
        torch.onnx.export(
            module, args, str(tmp), input_names=list(spec.inputs), output_names=list(spec.outputs),
            dynamic_axes=spec.dynamic_axes, opset_version=opset, dynamo=False, do_constant_folding=True,
        )  # fmt: skip
    os.replace(tmp, path)


def export_onnx(model_dir: str | Path, out_dir: str | Path, opset: int = OPSET) -> dict:
    """Export the networks of ``model_dir`` into ``out_dir`` (created); returns the manifest written.

    The caller checks ``out_dir`` (empty or --overwrite) before calling: this loads the model.
    """
    import onnx  # heavy optional dependency (the export extra)

    out_dir = Path(out_dir)
    bundle = load_bundle(model_dir)  # CheckpointError for a missing / untrained model
    specs = specs_for(bundle)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)  # re-export: the old manifest must not vouch for new graphs
    generator = torch.Generator().manual_seed(0)
    networks = {}
    for name, spec in specs.items():
        module = spec.wrap(bundle).eval()
        args = spec.example(bundle, 2, 5, generator)  # B 2, T 5 frames: neither axis may fold to a constant
        path = out_dir / f"{name}.onnx"
        with torch.no_grad():
            _export_one(module, args, path, spec, opset)
        graph = onnx.load(str(path), load_external_data=False).graph
        networks[name] = {
            "file": path.name,
            "inputs": {i.name: _shape(i) for i in graph.input},
            "outputs": {o.name: _shape(o) for o in graph.output},
        }
    manifest = {"format": FORMAT, "opset": opset, "model_hash": model_hash(model_dir),
                "preset": bundle.cfg.preset, "networks": networks}  # fmt: skip
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, out_dir / MANIFEST)
    return manifest


def _shape(value) -> list[int | str]:
    """An ONNX value's shape: whole numbers, or the names of its dynamic axes."""
    dims = value.type.tensor_type.shape.dim
    return [d.dim_param if d.dim_param else d.dim_value for d in dims]


def read_manifest(onnx_dir: str | Path, model_dir: str | Path) -> dict:
    """The manifest of ``onnx_dir``, checked against ``model_dir``; CheckpointError saying what to run."""
    onnx_dir, path = Path(onnx_dir), Path(onnx_dir) / MANIFEST
    again = f"imagintalk export --format onnx --model {model_dir} --out {onnx_dir} --overwrite"
    if not path.is_file():
        raise CheckpointError(
            f"no ONNX export at {onnx_dir} ({MANIFEST} missing): run {again.removesuffix(' --overwrite')}"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an ImaginTalk ONNX manifest ({FORMAT}): run {again}")
    if manifest.get("model_hash") != model_hash(model_dir):
        raise CheckpointError(f"the ONNX graphs in {onnx_dir} were exported from other weights: run {again}")
    for entry in manifest["networks"].values():
        if not (onnx_dir / entry["file"]).is_file():
            raise CheckpointError(f"{onnx_dir / entry['file']} is missing: run {again}")
    return manifest
