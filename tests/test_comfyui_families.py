"""ComfyUI tier: every method through its nodes on a tiny instance of every image model family.

For each family of ``comfy_families.FAMILIES`` and each method, in-process through the pack's nodes and core
SamplerCustomAdvanced:

* Cycle-SDE: invert and replay with the same guider; reconstruction relative error <= 1e-5 in the model's
  latent space;
* sync-SDE: the all-in-one edit with the same source and target prompt returns the source exactly;
* SDE inpainting: the region outside the noise mask equals the source exactly;
* RF-Inversion: gamma = eta = 0 reconstruction error recorded; eta = 1 over the whole schedule lands on the
  source exactly;
* SDE-Drag: a masked drag leaves everything outside the mask exactly on the source.

For each instruction-edit family (``Family.reference_key``) and each method, every model call of the method's
nodes, in the inversion and in the edit, gets the reference latents: the calls are counted through ComfyUI's
unet wrapper (``ModelPassCounter``), and those whose conditioning holds the family's reference key must be all.

A cell is ``exact`` when all its exactness checks hold, ``refused`` when the node raises an InputError that
the family declares it expects (``Family.refuses``), and ``absent`` when the release lacks the family. The
results are recorded in ``$SDE_EDIT_SUPPORT_RESULTS/comfyui-<version>.json`` (``test_record_support_results``),
from which ``python -m tools.support_table --results DIR --write`` writes the README's support table.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from conftest import custom_advanced, max_rel_err, rel_err

pytestmark = pytest.mark.comfyui

EXACT = 1e-5
METHODS = ("cycle_sde", "sync_sde", "sde_inpaint", "rf_inversion", "sde_drag")
SUPPORT_DIR = Path(__file__).resolve().parents[1] / "docs" / "support"
RESULTS: dict = {}

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    from comfy_extras import nodes_custom_sampler as custom

    from comfy_families import FAMILIES
    from sde_edit.nodes import comfy_adapter as adapter
    from sde_edit.nodes import cycle_sde, rf_inversion, sde_drag, sde_inpaint, sync_sde
    from sde_edit.samplers import InputError
    from sde_edit.samplers.engine import forward_chain, seeded
else:
    FAMILIES = {}

STEPS = 4


@pytest.fixture(scope="module")
def models():
    """Each family's model, built once per module (None where the release lacks it)."""
    cache = {}

    def get(family):
        if family.name not in cache:
            cache[family.name] = None if family.missing() else family.build()
        return cache[family.name]

    return get


def source_latent(family):
    """The family's seeded source latent; a ComfyUI NestedTensor when the family's LATENT has further tensors."""
    generator = torch.Generator().manual_seed(3)
    latent = torch.randn(1, *family.latent, generator=generator)
    if not family.extra_latents:
        return latent
    import comfy.nested_tensor
    return comfy.nested_tensor.NestedTensor([latent, *(torch.randn(1, *shape, generator=generator)
                                                       for shape in family.extra_latents)])


def spatial_mask(family, editable) -> torch.Tensor:
    """A [1, H, W] noise mask (1 = editable): left columns ``editable``."""
    height, width = family.latent[-2:]
    mask = torch.zeros(1, height, width)
    mask[..., editable] = 1.0
    return mask


def outside(mask: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
    """Boolean index of the latent entries outside a [1, H, W] mask."""
    return (mask[0] == 0).expand(latent.shape)


def guider(family, model, seed=1):
    positive = family.conditioning(seed)
    return harness.call_node(custom.CFGGuider, model=model, positive=positive,
                             negative=adapter.zeroed_conditioning(positive), cfg=family.cfg)[0]


def sigmas(model, denoise=0.7):
    return harness.call_node(custom.BasicScheduler, model=model, scheduler="simple", steps=STEPS, denoise=denoise)[0]


def run_cycle_sde(family, model, latent):
    trajectory = harness.call_node(cycle_sde.CycleSDEInvertNode, guider=guider(family, model), sigmas=sigmas(model),
                                   latent={"samples": latent}, seed=5, eta=1.0, storage_dtype="float32")[0]
    sampler = harness.call_node(cycle_sde.CycleSDESamplerNode, trajectory=trajectory)[0]
    out = custom_advanced(guider(family, model), sampler, sigmas(model), {"samples": latent})["samples"]
    # the states the replay drew again from the seed are the chain the inversion recorded, bit for bit
    redrawn = torch.equal(torch.stack(list(trajectory.recorded_states())),
                          forward_chain(trajectory.source, list(trajectory.sigmas), trajectory.parameterization,
                                        seeded(trajectory.seed)))
    return {"error": rel_err(out, latent), "exact": rel_err(out, latent) <= EXACT and redrawn}


def run_sync_sde(family, model, latent):
    source = family.conditioning(1)
    out = harness.call_node(sync_sde.SyncSDEEditNode, model=model, source=source, target=source,
                            latent={"samples": latent}, steps=STEPS + 1, start_step=1, source_cfg=family.cfg,
                            target_cfg=family.cfg, scheduler="simple", discretisation="ddpm", seed=5)[0]["samples"]
    return {"error": rel_err(out, latent), "exact": rel_err(out, latent) <= EXACT}


def run_sde_inpaint(family, model, latent):
    mask = spatial_mask(family, slice(0, family.latent[-1] // 2))
    sampler = harness.call_node(sde_inpaint.SDEInpaintSamplerNode, eta=1.0, seed=5)[0]
    out = custom_advanced(guider(family, model), sampler, sigmas(model, 1.0),
                          {"samples": latent, "noise_mask": mask})["samples"]
    kept = outside(mask, latent)
    error = max_rel_err(out[kept], latent[kept])
    return {"error": error, "exact": error <= EXACT and bool(torch.isfinite(out).all())}


def run_rf_inversion(family, model, latent):
    args = dict(model=model, target=family.conditioning(2), latent={"samples": latent}, preset="custom",
                steps=STEPS, start_step=0, eta_start=0, eta_stop=STEPS, eta_trend="constant", stochastic=False,
                cfg=family.cfg, scheduler="simple", seed=5)
    plain = harness.call_node(rf_inversion.RFInversionEditNode, gamma=0.0, eta=0.0, **args)[0]["samples"]
    pulled = harness.call_node(rf_inversion.RFInversionEditNode, gamma=0.5, eta=1.0, **args)[0]["samples"]
    return {"error": rel_err(pulled, latent), "ode_error": rel_err(plain, latent),
            "exact": rel_err(pulled, latent) <= EXACT}


def run_sde_drag(family, model, latent):
    width = family.latent[-1]
    mask = spatial_mask(family, slice(0, width))
    mask[..., family.latent[-2] // 2:, :] = 0.0  # the top half may change
    points = json.dumps({"pairs": [{"source": [12, 12], "target": [36, 20]}]})
    out = harness.call_node(sde_drag.SDEDragNode, model=model, positive=family.conditioning(1),
                            latent={"samples": latent, "noise_mask": mask}, drag_points=points, preset="custom",
                            steps=STEPS, t0=0.6, cfg=max(family.cfg, 1.0), scheduler="simple", alpha=1.1, beta=0.3,
                            window=1, subdrag_step=8.0, seed=5, eta=1.0)[0]["samples"]
    kept = outside(mask, latent)
    error = max_rel_err(out[kept], latent[kept])
    return {"error": error, "exact": error <= EXACT and bool(torch.isfinite(out).all())}


RUNNERS = {"cycle_sde": run_cycle_sde, "sync_sde": run_sync_sde, "sde_inpaint": run_sde_inpaint,
           "rf_inversion": run_rf_inversion, "sde_drag": run_sde_drag}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_method_on_family(name, method, models):
    family = FAMILIES[name]
    if family.missing():
        RESULTS.setdefault(name, {})[method] = {"cell": "absent", "reason": family.missing()}
        pytest.skip(family.missing())
    model = models(family)
    expected = family.refuses.get(method)
    try:
        result = RUNNERS[method](family, model, source_latent(family))
    except InputError as error:
        message = str(error)
        RESULTS.setdefault(name, {})[method] = {"cell": "refused", "reason": message}
        assert expected is not None, f"{name} / {method}: unexpected refusal: {message}"
        assert message.startswith(expected), message
        return
    assert expected is None, f"{name} / {method} ran, but the family declares it refused ({expected})"
    RESULTS.setdefault(name, {})[method] = {"cell": "exact" if result["exact"] else "inexact", **result}
    assert result["exact"], f"{name} / {method}: {result}"


EDIT_FAMILIES = sorted(name for name, family in FAMILIES.items() if family.reference_key is not None)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", EDIT_FAMILIES)
def test_reference_latents_reach_every_model_call(name, method, models):
    """No model call of any method (inversion, source branch, CFG ramp, edit) loses the reference latents."""
    family = FAMILIES[name]
    if family.missing():
        pytest.skip(family.missing())
    if method in family.refuses:
        pytest.skip(f"{name} refuses {method}")
    counter = harness.ModelPassCounter(models(family))
    RUNNERS[method](family, counter.model, source_latent(family))
    with_reference = counter.calls_with(family.reference_key)
    assert counter.calls > 0
    assert with_reference == counter.calls, \
        f"{name} / {method}: {counter.calls - with_reference} of {counter.calls} model calls without " \
        f"{family.reference_key}"


def test_record_support_results(tmp_path_factory):
    """Runs last in this module: records the cells that ran in ``comfyui-<version>.json`` in
    $SDE_EDIT_SUPPORT_RESULTS (default: a temp dir), for ``python -m tools.support_table --results DIR``."""
    import comfyui_version
    results = Path(os.environ.get("SDE_EDIT_SUPPORT_RESULTS") or tmp_path_factory.mktemp("support_results"))
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"comfyui-{comfyui_version.__version__}.json"
    data = {"comfyui": comfyui_version.__version__, "methods": list(METHODS),
            "families": {name: {"note": FAMILIES[name].note, **RESULTS.get(name, {})} for name in sorted(FAMILIES)}}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"support results: {path}")
