"""The networks as ONNX graphs (``imagintalk export``), run by onnxruntime (``speak --backend onnx``).

A layer beside ``pipeline``: it builds the bundle a ``Pipeline`` takes, and the pipeline never imports it.
"""

from .onnx_export import OPSET, export_onnx, model_hash, read_manifest
from .runtime import PREFERRED_PROVIDERS, choose_providers, onnx_bundle

__all__ = [
    "OPSET",
    "PREFERRED_PROVIDERS",
    "choose_providers",
    "export_onnx",
    "model_hash",
    "onnx_bundle",
    "read_manifest",
]
