"""ComfyUI tier: every all-in-one node returns the source bit for bit where its noise mask is 0, in the LATENT's
own scale (after ComfyUI's ``process_latent_out``), for a hard and a soft mask, on an EPS (tiny SD2, scale
factor 0.18215) and a flow model (tiny Flux, scale and shift)."""
import json
import os

import pytest
import torch

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    from sde_edit.nodes import cycle_sde, rf_inversion, sde_drag, sync_sde

MASKS = ("hard", "soft")


def noise_mask(kind: str, height: int, width: int) -> torch.Tensor:
    """1 = editable: the right half (hard), or random values in (0, 1) there (soft, as a bilinearly resized mask
    has at its edges)."""
    mask = torch.zeros(1, height, width)
    mask[..., width // 2:] = 1.0 if kind == "hard" else torch.rand(1, height, width - width // 2,
                                                                   generator=torch.Generator().manual_seed(7))
    return mask


def edits(model, conditioning, latent):
    """Each all-in-one node with a target unlike the source, as name -> output samples."""
    source, target = conditioning(1), conditioning(2)
    points = json.dumps({"pairs": [{"source": [40, 12], "target": [52, 20]}]})
    return {
        "Cycle-SDE Edit": harness.call_node(cycle_sde.CycleSDEEditNode, model=model, source=source, target=target,
                                            latent=latent, steps=4, t0=0.7, cfg=2.0, scheduler="simple", seed=5,
                                            eta=1.0)[0]["samples"],
        "sync-SDE Edit": harness.call_node(sync_sde.SyncSDEEditNode, model=model, source=source, target=target,
                                           latent=latent, steps=5, start_step=1, source_cfg=2.0, target_cfg=2.0,
                                           scheduler="simple", discretisation="ddpm", seed=5)[0]["samples"],
        "RF-Inversion Edit": harness.call_node_with_defaults(rf_inversion.RFInversionEditNode, model=model,
                                                             target=target, latent=latent, preset="custom", steps=4,
                                                             start_step=0, eta=0.5, eta_start=0, eta_stop=2,
                                                             stochastic=True, cfg=2.0, scheduler="simple",
                                                             seed=5)[0]["samples"],
        "SDE-Drag": harness.call_node(sde_drag.SDEDragNode, model=model, positive=source, latent=latent,
                                      drag_points=points, preset="custom", steps=4, t0=0.6, cfg=2.0, scheduler="simple",
                                      alpha=1.1, beta=0.3, window=1, subdrag_step=8.0, seed=5, eta=1.0)[0]["samples"],
    }


@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("family", ["sd2", "flux"])
def test_all_in_one_nodes_keep_the_source_bit_for_bit_outside_the_mask(family, mask_kind, request):
    if family == "sd2":
        model, conditioning, channels = request.getfixturevalue("sd_model"), harness.sd2_conditioning, 4
    else:
        model, conditioning, channels = request.getfixturevalue("flux_model"), harness.flux_conditioning, 16
    samples = torch.randn(1, channels, 8, 8, generator=torch.Generator().manual_seed(3))
    mask = noise_mask(mask_kind, 8, 8)
    kept = (mask == 0).expand(samples.shape)
    for name, out in edits(model, conditioning, {"samples": samples, "noise_mask": mask}).items():
        assert torch.equal(out[kept], samples[kept]), name
        assert float((out[~kept] - samples[~kept]).abs().max()) > 1e-3, f"{name}: the editable half did not change"
