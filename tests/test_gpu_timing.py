"""The GPU timing script's code path, smoke-tested on the CPU with tiny configs (the numbers come from a GPU)."""
import json

import pytest

pytest.importorskip("diffusers", reason="bench.gpu_timing needs diffusers (requirements-test.txt)")

from bench import gpu_timing  # noqa: E402


def test_tiny_run_writes_one_row_per_model_size_and_editor(tmp_path):
    rows = gpu_timing.main(["--tiny", "--device", "cpu", "--sizes", "64", "--out", str(tmp_path)])
    assert [(r["model"], r["editor"]) for r in rows] == [
        (model, editor) for model in ("sd15", "flux") for editor in ("SDE-Drag", "sync-SDE", "RF-Inversion")]
    assert all(r["seconds_per_edit"] > 0 and r["image"] == "64x64" for r in rows)
    assert json.loads((tmp_path / "gpu_timing.json").read_text()) == rows
    assert (tmp_path / "gpu_timing.md").read_text().count("\n") == 2 + len(rows)
