"""ComfyUI tier: the learned instruction-edit model through real ComfyUI (issue 19, part 4).

``comfy_harness.learned_model("edit")`` registers the pack's trained edit model (``bench.learned_models``, kind
``edit``) as a ComfyUI MODEL of FLOW type. Its reference image goes through core ``ReferenceLatent`` into the
conditioning, as for Flux Kontext or Qwen-Image-Edit, and its instructions are labels. Cycle-SDE Edit and sync-SDE
Edit edit held-out scenes of the learned-edit benchmark (source: the "keep" instruction, target: the asked one);
the benchmark's detector scores the results.
"""
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
    from bench import learned_edit, learned_edit_bench
    from bench.learned_world import render
    from sde_edit.nodes import cycle_sde, sync_sde

    CFG = learned_edit_bench.CFGS[0]

CASES_PER_TASK = 4
STEPS = 20


@pytest.fixture(scope="module")
def model():
    return harness.learned_model("edit")


@pytest.fixture(scope="module")
def reference_latent():
    try:
        from comfy_extras.nodes_edit_model import ReferenceLatent
    except ImportError:
        pytest.skip("this ComfyUI has no core ReferenceLatent node")
    return ReferenceLatent


def edit_cases():
    return [case for task in ("recolour", "reshape") for case in learned_edit_bench.cases(task, CASES_PER_TASK)]


def instruction(reference_latent, text, latent):
    """The instruction's conditioning with the image as its reference, through core ReferenceLatent."""
    label = harness.learned_conditioning(learned_edit.instruction_id(text))
    return harness.call_node(reference_latent, conditioning=label, latent=latent)[0]


def cycle_sde_edit(model, source, target, latent, seed):
    return harness.call_node(cycle_sde.CycleSDEEditNode, model=model, source=source, target=target, latent=latent,
                             steps=STEPS, t0=learned_edit_bench.T0, cfg=CFG, scheduler="simple", seed=seed,
                             eta=1.0)[0]["samples"]


def sync_sde_edit(model, source, target, latent, seed):
    return harness.call_node(sync_sde.SyncSDEEditNode, model=model, source=source, target=target, latent=latent,
                             steps=STEPS, start_step=0, source_cfg=CFG, target_cfg=CFG, scheduler="simple",
                             discretisation="rectified", seed=seed)[0]["samples"]


EDITORS = {"Cycle-SDE Edit": cycle_sde_edit, "sync-SDE Edit": sync_sde_edit}


@pytest.mark.parametrize("editor", list(EDITORS))
def test_edit_nodes_reach_the_instruction_and_keep_the_rest_exactly(model, reference_latent, editor, capsys):
    edit = EDITORS[editor]
    reached, shifts = 0, []
    for index, (scene, text) in enumerate(edit_cases()):
        image = render(scene)[None]
        latent = {"samples": image}
        keep = instruction(reference_latent, "keep", latent)
        target = instruction(reference_latent, text, latent)
        counter = harness.ModelPassCounter(model)
        if editor == "Cycle-SDE Edit":  # the same instruction on both sides gives the image back
            assert rel_err(edit(counter.model, keep, keep, latent, index), image) <= 1e-5
        edited = edit(counter.model, keep, target, latent, index)[0]
        assert counter.calls > 0 and counter.calls_with("ref_latents") == counter.calls
        scores = learned_edit_bench.case_scores(edited, image[0], scene, text)
        reached += scores["reached"]
        if scores["shift"] is not None:
            shifts.append(scores["shift"])
        box = learned_edit_bench.object_mask(scene)
        masked = edit(model, keep, target, {"samples": image, "noise_mask": box}, index)[0]
        assert torch.equal(masked * (1 - box), image[0] * (1 - box)), "changed outside the mask"
    cases = 2 * CASES_PER_TASK
    with capsys.disabled():
        print(f"\n[{editor} node, learned edit model, CFG {CFG:g}] attribute reached {reached}/{cases}; mean "
              f"shift from the ideal edit {sum(shifts) / max(len(shifts), 1):.2f} px over {len(shifts)} found objects")
    assert reached >= cases // 2
