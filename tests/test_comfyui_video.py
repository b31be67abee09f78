"""ComfyUI tier: video latents [B, C, T, H, W] through every method, on the tiny video families.

Beyond the family matrix (every method exact on each family with one mask for all frames):

* a mask per frame pins the unedited frames and pixels exactly on the source, for Cycle-SDE, sync-SDE, SDE
  inpainting and RF-Inversion;
* SDE-Drag moves every frame alike: a mask given per frame acts as their union;
* the model calls per step are those of an image latent (counted through ComfyUI's unet wrapper);
* RF-Inversion's plain ODE (gamma = eta = 0) reconstruction error is printed at two step counts;
* a half-precision trajectory stays within the storage rounding, as for images.
"""
import json
import os

import pytest
import torch

from conftest import custom_advanced, max_rel_err, rel_err

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    from comfy_extras import nodes_custom_sampler as custom

    from comfy_families import FAMILIES
    from sde_edit.nodes import comfy_adapter as adapter
    from sde_edit.nodes import cycle_sde, rf_inversion, sde_drag, sde_inpaint, sync_sde
    VIDEO = sorted(name for name, family in FAMILIES.items() if family.video)
else:
    VIDEO = []

STEPS = 4


@pytest.fixture(scope="module")
def models():
    cache = {}

    def get(name):
        family = FAMILIES[name]
        if family.missing():
            pytest.skip(family.missing())
        if name not in cache:
            cache[name] = family.build()
        return family, cache[name]

    return get


def video_latent(family) -> torch.Tensor:
    return torch.randn(1, *family.latent, generator=torch.Generator().manual_seed(3))


def per_frame_mask(family) -> torch.Tensor:
    """[T, H, W]: frame 0 editable in its left half, every later frame kept (ComfyUI reads a mask of fewer
    dims than the video latent as the frames of one mask)."""
    frames, height, width = family.latent[1:]
    mask = torch.zeros(frames, height, width)
    mask[0, :, : width // 2] = 1.0
    return mask


def kept(mask: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
    return (mask == 0)[None, None].expand(latent.shape)


def guider(family, model, seed):
    positive = family.conditioning(seed)
    return harness.call_node(custom.CFGGuider, model=model, positive=positive,
                             negative=adapter.zeroed_conditioning(positive), cfg=family.cfg)[0]


def sigmas(model, steps=STEPS, denoise=0.7):
    return harness.call_node(custom.BasicScheduler, model=model, scheduler="simple", steps=steps, denoise=denoise)[0]


def cycle_sde_edit(family, model, latent, mask):
    trajectory = harness.call_node(cycle_sde.CycleSDEInvertNode, guider=guider(family, model, 1), sigmas=sigmas(model),
                                   latent={"samples": latent}, seed=5, eta=1.0, storage_dtype="float32")[0]
    replay = harness.call_node(cycle_sde.CycleSDESamplerNode, trajectory=trajectory)[0]
    return custom_advanced(guider(family, model, 2), replay, sigmas(model),
                           {"samples": latent, "noise_mask": mask})["samples"]


def sync_sde_edit(family, model, latent, mask):
    return harness.call_node(sync_sde.SyncSDEEditNode, model=model, source=family.conditioning(1),
                             target=family.conditioning(2), latent={"samples": latent, "noise_mask": mask},
                             steps=STEPS + 1, start_step=1, source_cfg=family.cfg, target_cfg=family.cfg,
                             scheduler="simple", discretisation="ddpm", seed=5)[0]["samples"]


def inpaint(family, model, latent, mask):
    sampler = harness.call_node(sde_inpaint.SDEInpaintSamplerNode, eta=1.0, seed=5)[0]
    return custom_advanced(guider(family, model, 2), sampler, sigmas(model, denoise=1.0),
                           {"samples": latent, "noise_mask": mask})["samples"]


def rf_inversion_edit(family, model, latent, mask):
    return harness.call_node(rf_inversion.RFInversionEditNode, model=model, target=family.conditioning(2),
                             latent={"samples": latent, "noise_mask": mask}, preset="custom", steps=STEPS,
                             start_step=0, gamma=0.5, eta=0.5, eta_start=0, eta_stop=2, eta_trend="constant",
                             stochastic=False, cfg=family.cfg, scheduler="simple", seed=5)[0]["samples"]


# method -> (its edit, its model calls for STEPS steps: the same as on an image latent)
EDITS = {"cycle_sde": (cycle_sde_edit, 2 * STEPS),  # inversion 1 + replay 1 per step
         "sync_sde": (sync_sde_edit, 2 * STEPS),  # source and target branch per step
         "sde_inpaint": (inpaint, STEPS),
         "rf_inversion": (rf_inversion_edit, 2 * STEPS)}  # forward 1 + reverse 1 per step


@pytest.mark.parametrize("name", VIDEO)
def test_a_mask_per_frame_keeps_the_unedited_frames_and_pixels_exactly(name, models):
    family, model = models(name)
    latent, mask = video_latent(family), per_frame_mask(family)
    for method, (edit, _) in EDITS.items():
        out = edit(family, model, latent, mask)
        assert out.shape == latent.shape and torch.isfinite(out).all(), method
        outside = kept(mask, latent)
        assert max_rel_err(out[outside], latent[outside]) <= 1e-5, method  # later frames, right half of frame 0
        assert float((out[~outside] - latent[~outside]).abs().max()) > 0, method  # the editable part changed


@pytest.mark.parametrize("name", VIDEO)
def test_a_drag_moves_every_frame_and_a_mask_per_frame_is_their_union(name, models):
    family, model = models(name)
    latent = video_latent(family)
    frames, height, width = family.latent[1:]
    mask = torch.zeros(frames, height, width)
    mask[0, : height // 2, : width // 2] = 1.0  # painted on two frames, in two places
    mask[-1, : height // 2, width // 2:] = 1.0
    points = json.dumps({"pairs": [{"source": [12, 12], "target": [36, 20]}]})
    out = harness.call_node(sde_drag.SDEDragNode, model=model, positive=family.conditioning(1),
                            latent={"samples": latent}, drag_points=points, preset="custom", steps=STEPS, t0=0.6,
                            cfg=family.cfg, scheduler="simple", alpha=1.1, beta=0.3, window=1, subdrag_step=8.0,
                            seed=5, eta=1.0, mask=mask)[0]["samples"]
    union = torch.zeros(height, width)
    union[: height // 2] = 1.0
    outside = (union == 0)[None, None, None].expand(latent.shape)
    assert max_rel_err(out[outside], latent[outside]) <= 1e-5  # the bottom half of every frame is the source
    changed = (out - latent).abs().amax(dim=(0, 1, 3, 4))
    assert bool((changed > 0).all()), changed  # every frame moved, not only the ones painted


@pytest.mark.parametrize("name", VIDEO)
def test_model_calls_per_step_are_those_of_an_image(name, models):
    """Counted through ComfyUI's unet wrapper: a CFG pair is one batched pass, as for images."""
    family, model = models(name)
    counter = harness.ModelPassCounter(model)
    latent, mask = video_latent(family), torch.ones(1, *family.latent[-2:])
    calls = {}
    for method, (edit, _) in EDITS.items():
        counter.calls = 0
        edit(family, counter.model, latent, mask)
        calls[method] = counter.calls
    assert calls == {method: expected for method, (_, expected) in EDITS.items()}
    counter.calls, counter.batches = 0, []
    points = json.dumps({"pairs": [{"source": [12, 12], "target": [36, 20]}]})
    harness.call_node(sde_drag.SDEDragNode, model=counter.model, positive=family.conditioning(1),
                      latent={"samples": latent}, drag_points=points, preset="custom", steps=STEPS, t0=0.6,
                      cfg=family.cfg, scheduler="simple", alpha=1.1, beta=0.3, window=1, subdrag_step=8.0, seed=5,
                      eta=1.0)
    assert counter.calls == STEPS  # one sub-drag: current and recorded state in one batched pass per step
    assert counter.batches[0] == (4 if family.cfg > 1 else 2)


@pytest.mark.parametrize("name", VIDEO)
def test_plain_rf_inversion_error_at_two_step_counts(name, models, capsys):
    family, model = models(name)
    latent = video_latent(family)
    errors = {}
    for steps in (4, 12):
        out = harness.call_node(rf_inversion.RFInversionEditNode, model=model, target=family.conditioning(2),
                                latent={"samples": latent}, preset="custom", steps=steps, start_step=0, gamma=0.0,
                                eta=0.0, eta_start=0, eta_stop=steps, eta_trend="constant", stochastic=False,
                                cfg=family.cfg, scheduler="simple", seed=5)[0]["samples"]
        errors[steps] = rel_err(out, latent)
    with capsys.disabled():
        print(f"\n[RF-Inversion gamma = eta = 0, tiny {name}] relative reconstruction error "
              + ", ".join(f"{steps} steps: {error:.3g}" for steps, error in errors.items()))
    assert all(torch.isfinite(torch.tensor(list(errors.values()))))


@pytest.mark.parametrize("storage", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["Wan 2.1 (T2V)"] if VIDEO else [])
def test_a_half_precision_trajectory_of_a_video(name, models, storage):
    """Half the trajectory's memory; the replay stays within the storage rounding of the source (as for images:
    exact when the inversion also ran in that precision, which the core tier checks)."""
    family, model = models(name)
    latent = video_latent(family)
    trajectory = harness.call_node(cycle_sde.CycleSDEInvertNode, guider=guider(family, model, 1), sigmas=sigmas(model),
                                   latent={"samples": latent}, seed=5, eta=1.0, storage_dtype=storage)[0]
    assert trajectory.source_means.dtype == trajectory.start.dtype == getattr(torch, storage)
    replay = harness.call_node(cycle_sde.CycleSDESamplerNode, trajectory=trajectory)[0]
    out = custom_advanced(guider(family, model, 1), replay, sigmas(model), {"samples": latent})["samples"]
    assert rel_err(out, latent) < {"float16": 5e-3, "bfloat16": 4e-2}[storage]


@pytest.mark.parametrize("name", ["Wan 2.1 (T2V)"] if VIDEO else [])
def test_the_point_editor_gets_the_first_frame_of_a_video(name, models):
    """SDE-Drag's ``image`` input given a video's frames (GetVideoComponents): the editor is sent one image."""
    family, model = models(name)
    frames, height, width = family.latent[1:]
    video = torch.rand(4 * (frames - 1) + 1, 8 * height, 8 * width, 3)  # the frames a Wan VAE encodes to T
    points = json.dumps({"pairs": [{"source": [12, 12], "target": [36, 20]}]})
    output = sde_drag.SDEDragNode.execute(model=model, positive=family.conditioning(1),
                                      latent={"samples": video_latent(family)}, drag_points=points, preset="custom",
                                      steps=2, t0=0.6, cfg=family.cfg, scheduler="simple", alpha=1.1, beta=0.3,
                                      window=1, subdrag_step=8.0, seed=0, eta=1.0, image=video)
    files = output.ui[sde_drag.EDITOR_IMAGE_KEY]
    assert len(files) == 1 and files[0]["filename"].endswith(".png")
