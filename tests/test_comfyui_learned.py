"""ComfyUI tier: the node path with a model whose outputs mean something.

``comfy_harness.learned_model("eps")`` registers the pack's trained EPS denoiser of ``bench.learned_world`` as a
ComfyUI MODEL (a BaseModel of EPS type on SD1.x's schedule, the image as its 3-channel latent). The SDE-Drag and
Cycle-SDE Edit nodes edit held-out scenes, and the benchmark's detector scores the results.
"""
import json
import math
import os

import pytest
import torch

from conftest import rel_err

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    pytest.importorskip("diffusers", reason="the learned models are diffusers UNet2DModels: "
                                             "pip install -r requirements-test.txt in ComfyUI's environment")
    import comfy_harness as harness

    harness.import_comfyui()
    from bench import learned_bench, learned_world
    from sde_edit.nodes import cycle_sde, sde_drag

CASES = 8


@pytest.fixture(scope="module")
def model():
    return harness.learned_model("eps")


def test_cycle_sde_edit_reconstructs_and_recolours_held_out_scenes(model, capsys):
    cases = learned_bench.recolour_cases(CASES)
    latent = {"samples": torch.stack([learned_world.render(case.source) for case in cases])}
    results = []
    for index, case in enumerate(cases):
        one = {"samples": latent["samples"][index:index + 1]}
        args = dict(model=model, latent=one, steps=20, t0=0.7, cfg=3.0, scheduler="normal", seed=index, eta=1.0,
                    source=harness.learned_conditioning(case.source.label))
        same = harness.call_node(cycle_sde.CycleSDEEditNode, target=harness.learned_conditioning(case.source.label),
                                 **args)[0]["samples"]
        assert rel_err(same, one["samples"]) <= 1e-5
        edited = harness.call_node(cycle_sde.CycleSDEEditNode, target=harness.learned_conditioning(case.target.label),
                                   **args)[0]["samples"][0]
        results.append(learned_bench.attribute_edit_success(edited, case))
        assert learned_world.detect(edited).found
    with capsys.disabled():
        print(f"\n[Cycle-SDE Edit node, learned EPS model, CFG 3] recolour success {sum(results)}/{CASES}")


def test_sde_drag_moves_held_out_scenes(model, capsys):
    cases = learned_bench.drag_cases(CASES, 6)
    results = []
    for index, case in enumerate(cases):
        (sx, sy), (tx, ty) = learned_bench.drag_pairs(case)[0]
        points = json.dumps({"pairs": [{"source": [sx, sy], "target": [tx, ty]}]})
        image = learned_world.render(case.source)[None]
        moved_label = harness.learned_conditioning(case.target.label)  # a label names the cell: the moved scene's
        out = harness.call_node(sde_drag.SDEDragNode, model=model, positive=moved_label,
                                latent={"samples": image}, drag_points=points, preset="custom", steps=16, t0=0.6,
                                cfg=3.0, scheduler="normal", alpha=1.1, beta=0.3, window=3, subdrag_step=64.0,
                                seed=index, eta=1.0, vae_downscale=1)[0]["samples"][0]
        found = learned_world.detect(out)
        assert found.found
        results.append((learned_bench.drag_success(out, case), learned_bench.distance(found, case.target),
                        learned_bench.distance(found, case.source)))
    with capsys.disabled():
        print(f"\n[SDE-Drag node, learned EPS model, 6 px drags] success {sum(r[0] for r in results)}/{CASES}; "
              f"mean distance to target {sum(r[1] for r in results) / CASES:.2f} px, "
              f"to source {sum(r[2] for r in results) / CASES:.2f} px")
    assert sum(r[1] for r in results) < sum(r[2] for r in results)  # the objects moved toward their targets
    assert all(math.isfinite(r[1]) for r in results)
