"""The app's engine setting (PyTorch / ONNX Runtime): the dialog stores it, the synthesis job loads the
model's ONNX export with it, or says in plain words which command makes one."""

from __future__ import annotations

import shutil

from app_helpers import make_window

from desktop_app.jobs.speech import SynthesisJob, VoiceSetup
from desktop_app.settings import load_settings, open_store
from imagintalk.export import export_onnx
from imagintalk.settings.speak import SpeakOptions


def test_engine_setting_persists_and_loads_the_onnx_export(qtbot, tmp_path, assets, faceless_clip) -> None:
    window, controller = make_window(qtbot, tmp_path, str(faceless_clip), model_dir=str(assets["model"]))
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    assert dialog.backend.accessibleName() == "Engine" and dialog.backend.currentData() == "torch"
    dialog.backend.setCurrentIndex(dialog.backend.findData("onnx"))
    dialog.accept()
    assert load_settings(open_store(str(tmp_path / "settings.ini"))).backend == "onnx"
    assert controller.voice_setup().backend == "onnx"

    model = tmp_path / "model"  # a copy: the shared debug model stays without an export
    shutil.copytree(assets["model"], model)
    job, status = SynthesisJob(tmp_path / "out"), []
    job.model_status.connect(lambda loaded, words: status.append((loaded, words)))
    job.configure(VoiceSetup(str(model), SpeakOptions(steps=4), backend="onnx"))
    assert job.pipeline is None and status[-1][0] is False
    assert "imagintalk export --format onnx" in status[-1][1]
    export_onnx(model, model / "onnx")
    job.configure(VoiceSetup(str(model), SpeakOptions(steps=4), backend="onnx"))
    assert status[-1] == (True, f"Voice model loaded from {model} (CPUExecutionProvider).")
    assert job.pipeline.bundle.dit.forward.__qualname__.startswith("_dit")  # the onnxruntime session
    job.configure(VoiceSetup(str(model), SpeakOptions(steps=4), backend="torch"))  # a change reloads
    assert status[-1] == (True, f"Voice model loaded from {model} (torch).")
    assert "forward" not in vars(job.pipeline.bundle.dit)  # StyleDiT's own forward again
