"""ComfyUI tier, in-process: the SDE-Drag nodes with tiny random SD2 and Flux models."""
import json
import os

import pytest
import torch

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    from comfy_extras import nodes_custom_sampler as custom

    from sde_edit.nodes import sde_drag
    from sde_edit.samplers import InputError

POINTS = json.dumps({"pairs": [{"source": [20, 20], "target": [44, 28]}]})


def drag(model, latent, points=POINTS, **overrides):
    inputs = dict(model=model, positive=harness.sd2_conditioning(0), latent=latent, drag_points=points,
                  preset="custom", steps=4, t0=0.6, cfg=3.0, scheduler="normal", alpha=1.1, beta=0.3, window=2,
                  subdrag_step=2.0, seed=0, eta=1.0)
    inputs.update(overrides)
    return harness.call_node(sde_drag.SDEDrag, **inputs)[0]


def test_drag_runs_masks_exactly_and_is_deterministic(sd_model):
    latent = {"samples": torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))}
    mask = torch.zeros(1, 64, 64)
    mask[:, 8:40, 8:56] = 1.0
    out = drag(sd_model, latent, mask=mask)["samples"]
    again = drag(sd_model, latent, mask=mask)["samples"]
    assert torch.equal(out, again)
    cells = (torch.nn.functional.interpolate(mask[:, None], size=(8, 8), mode="area")[:, 0] > 0.5)
    outside = (~cells).expand(2, 4, 8, 8)
    assert float((out[outside] - latent["samples"][outside]).abs().max()) <= 1e-5 * float(latent["samples"].abs().max())
    assert float((out[~outside] - latent["samples"][~outside]).abs().max()) > 1e-2


def test_one_batched_forward_per_step_and_subdrag(sd_model):
    counter = harness.CallCounter(sd_model)
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    # Move (20, 20) -> (44, 28) px = cells (2, 2) -> (5, 3): 3.16 cells, step 2 -> 2 sub-drags.
    drag(counter.model, latent)
    assert counter.calls == 2 * 4
    # current + recorded state, each with cond and uncond in one pass; CFG 1 at the last step drops uncond
    assert counter.batches == [4, 4, 4, 2] * 2


def test_sampler_node_with_sampler_custom_advanced_and_flux():
    flux = harness.tiny_flux_model()
    latent = {"samples": torch.randn(1, 16, 8, 8)}
    negative = [[torch.zeros(1, 8, 32), {"pooled_output": torch.zeros(1, 32), "guidance": 3.5}]]
    guider = harness.call_node(custom.CFGGuider, model=flux, positive=harness.flux_conditioning(0),
                               negative=negative, cfg=2.0)[0]
    sigmas = harness.call_node(custom.BasicScheduler, model=flux, scheduler="simple", steps=4, denoise=0.6)[0]
    sampler = harness.call_node(sde_drag.SDEDragSamplerNode, drag_points=POINTS, alpha=1.1, beta=0.3, window=2,
                                subdrag_step=8.0, seed=1, eta=1.0)[0]
    noise = harness.call_node(custom.DisableNoise)[0]
    out = harness.call_node(custom.SamplerCustomAdvanced, noise=noise, guider=guider, sampler=sampler,
                            sigmas=sigmas, latent_image=latent)[0]["samples"]
    assert out.shape == latent["samples"].shape and torch.isfinite(out).all()
    assert guider.cfg == 2.0  # the per-step CFG ramp is undone afterwards


@pytest.mark.parametrize("points, message", [
    ("not json", "drag_points: not valid JSON"),
    ('{"pairs": []}', "drag_points: no pairs"),
    ('{"pairs": [{"source": [70, 2], "target": [3, 4]}]}', r"drag_points: pair 1 source \(70, 2\) lies outside the 64x64"),
])
def test_bad_points_are_explained(sd_model, points, message):
    with pytest.raises(InputError, match=message):
        drag(sd_model, {"samples": torch.randn(1, 4, 8, 8)}, points=points)


def test_bad_mask_and_image_sizes_are_explained(sd_model):
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    with pytest.raises(InputError, match=r"mask: size 32x64 matches neither the image \(64x64\) nor the latent"):
        drag(sd_model, latent, mask=torch.ones(1, 64, 32))
    with pytest.raises(InputError, match="mask: nothing is editable"):
        drag(sd_model, latent, mask=torch.zeros(1, 64, 64))
    with pytest.raises(InputError, match="image: size 60x64 is not the latent's 8x8 times"):
        drag(sd_model, latent, image=torch.rand(1, 64, 60, 3))


def test_preview_of_the_source_image_for_the_editor(sd_model):
    output = sde_drag.SDEDrag.execute(model=sd_model, positive=harness.sd2_conditioning(0),
                                      latent={"samples": torch.randn(1, 4, 8, 8)}, drag_points=POINTS,
                                      preset="custom", steps=2, t0=0.6, cfg=3.0, scheduler="normal", alpha=1.1,
                                      beta=0.3, window=2, subdrag_step=8.0, seed=0, eta=1.0,
                                      image=torch.rand(1, 64, 64, 3))
    assert output.ui is not None
