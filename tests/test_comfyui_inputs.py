"""ComfyUI tier, in-process: the same input checks in every node, each error naming the input and what is allowed.

Node ``execute`` is called directly, as ComfyUI 0.3.64 runs V3 nodes without checking combo values.
"""
import os

import pytest
import torch

from conftest import custom_advanced

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    import comfy.samplers
    from comfy_extras import nodes_custom_sampler as custom

    from sde_edit.nodes import comfy_adapter as adapter
    from sde_edit.nodes import cycle_sde, rf_inversion, sde_drag, sde_inpaint, sync_sde
    from sde_edit.samplers import InputError

POINTS = '{"pairs": [{"source": [20, 20], "target": [44, 28]}]}'


def all_in_one(kind: str, model, latent, **overrides):
    """Run one all-in-one node with small settings; ``overrides`` replace its inputs."""
    cond = harness.sd2_conditioning
    node, inputs = {
        "cycle": (cycle_sde.CycleSDEEditNode, dict(source=cond(0), target=cond(1), steps=3, t0=0.6, cfg=3.0,
                                               scheduler="normal", seed=0, eta=1.0)),
        "drag": (sde_drag.SDEDragNode, dict(positive=cond(0), drag_points=POINTS, preset="custom", steps=3, t0=0.6,
                                        cfg=3.0, scheduler="normal", alpha=1.1, beta=0.3, window=2,
                                        subdrag_step=8.0, seed=0, eta=1.0)),
        "sync": (sync_sde.SyncSDEEditNode, dict(source=cond(0), target=cond(1), steps=4, start_step=1, source_cfg=3.0,
                                            target_cfg=3.0, scheduler="normal", discretisation="ddpm", seed=0)),
        "rf": (rf_inversion.RFInversionEditNode, dict(target=cond(1), preset="custom", steps=4, start_step=0, gamma=0.5,
                                                  eta=0.9, eta_start=0, eta_stop=2, eta_trend="constant",
                                                  stochastic=False, cfg=1.0, scheduler="simple", seed=0)),
    }[kind]
    return harness.call_node(node, model=model, latent=latent, **{**inputs, **overrides})


def cfg_guider(model, seed: int = 0, cfg: float = 2.0):
    return harness.call_node(custom.CFGGuider, model=model, positive=harness.sd2_conditioning(seed),
                             negative=harness.sd2_conditioning(99), cfg=cfg)[0]


@pytest.mark.parametrize("kind", ["cycle", "drag", "sync", "rf"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 16, 8, 8), (1, 4, 2, 8, 8)], ids=["rank-3", "16-channels", "rank-5"])
def test_all_in_one_nodes_check_the_latent_against_the_model(sd_model, kind, shape):
    expected = rf"latent: SD20 models take latents \[B, 4, H, W\], got shape {tuple(shape)}".replace("(", r"\(") \
        .replace(")", r"\)")
    with pytest.raises(InputError, match=expected):
        all_in_one(kind, sd_model, {"samples": torch.randn(shape)})


def test_samplers_check_the_latent_against_the_model(sd_model):
    """The composable path: SamplerCustomAdvanced hands the pack's SAMPLERs whatever latent it was given."""
    guider = cfg_guider(sd_model)
    sigmas = adapter.scheduler_sigmas(sd_model, "normal", 3, 0.6)
    wrong = {"samples": torch.randn(1, 16, 8, 8), "noise_mask": torch.ones(1, 8, 8)}
    samplers = [cycle_sde.CycleSDEInversionSampler(0, 1.0, torch.float32), sde_inpaint.SDEInpaintSampler(1.0, 0),
                rf_inversion.RFInversionForwardSampler(0.5, 0)]
    for sampler in samplers:
        with pytest.raises(InputError, match=r"latent: SD20 models take latents \[B, 4, H, W\]"):
            custom_advanced(guider, sampler, sigmas, wrong)
    with pytest.raises(InputError, match=r"latent: SD20 models take latents \[B, 4, H, W\]"):
        harness.call_node(cycle_sde.CycleSDEInvertNode, guider=guider, sigmas=sigmas, latent=wrong, seed=0, eta=1.0,
                          storage_dtype="float32")


@pytest.mark.parametrize("kind", ["cycle", "drag", "sync", "rf"])
def test_noise_mask_batch_must_be_one_or_the_latents(sd_model, kind):
    latent = {"samples": torch.randn(2, 4, 8, 8), "noise_mask": torch.ones(3, 1, 8, 8)}
    with pytest.raises(InputError, match="latent: its noise_mask holds 3 masks for a batch of 2 latents"):
        all_in_one(kind, sd_model, latent)
    for batch in (1, 2):  # one mask for all, or one per latent
        out = all_in_one(kind, sd_model, {**latent, "noise_mask": torch.ones(batch, 1, 8, 8)})[0]["samples"]
        assert out.shape == (2, 4, 8, 8)


def test_eta_stop_past_the_last_step_means_to_the_end_with_any_start_step(sd_model):
    """One rule for the eta window: an eta_stop past the last step is the end of the schedule, whether the
    reverse pass starts at step 0 or later (it used to be clamped for start_step 0 and refused for 2)."""
    latent = {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))}
    for start_step in (0, 2):
        args = dict(steps=6, start_step=start_step, eta=0.5, eta_start=0, eta_trend="linear_decrease")
        past = all_in_one("rf", sd_model, latent, eta_stop=40, **args)[0]["samples"]
        to_end = all_in_one("rf", sd_model, latent, eta_stop=6, **args)[0]["samples"]
        assert torch.equal(past, to_end)
    schedule = adapter.scheduler_sigmas(sd_model, "simple", 6)
    sampler = rf_inversion.RFInversionReverseSampler(latent["samples"], 0.5, 0, 40, "constant", False, 0,
                                                     skipped_sigmas=schedule[:2])
    to_end = rf_inversion.RFInversionReverseSampler(latent["samples"], 0.5, 0, 6, "constant", False, 0,
                                                    skipped_sigmas=schedule[:2])
    guider = cfg_guider(sd_model, 1, cfg=1.0)
    outputs = [custom_advanced(guider, s, schedule[2:], latent)["samples"] for s in (sampler, to_end)]
    assert torch.equal(*outputs)


@pytest.mark.parametrize("scheduler", list(comfy.samplers.SCHEDULER_NAMES) if os.environ.get("COMFYUI_ROOT") else [])
def test_t0_is_where_the_schedule_starts_for_every_scheduler(sd_model, scheduler):
    model_sampling = sd_model.get_model_object("model_sampling")
    full = comfy.samplers.calculate_sigmas(model_sampling, scheduler, 20).cpu()
    assert len(full) == 21
    assert torch.equal(adapter.scheduler_sigmas(sd_model, scheduler, 10, 0.5), full[-11:])


def test_a_scheduler_that_cannot_start_at_t0_is_refused(sd_model):
    """ddim_uniform takes every k-th of the model's 1000 timesteps: asked for 2000 steps (1000 steps from
    t0 = 0.5) it makes 999 and would start at sigma_max, silently turning t0 into 1."""
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    with pytest.raises(InputError, match=r"t0: scheduler 'ddim_uniform' makes 999 steps when asked for 2000 "
                                         r"\(steps 1000 / t0 0.5\)"):
        adapter.scheduler_sigmas(sd_model, "ddim_uniform", 1000, 0.5)
    with pytest.raises(InputError, match="t0: scheduler 'ddim_uniform' makes"):
        all_in_one("cycle", sd_model, latent, scheduler="ddim_uniform", steps=1000, t0=0.5)
    with pytest.raises(InputError, match="t0: scheduler 'ddim_uniform' makes"):
        all_in_one("drag", sd_model, latent, scheduler="ddim_uniform", steps=1000, t0=0.5)


@pytest.mark.parametrize("node, inputs, message", [
    ("drag", dict(preset="best"), r"preset: 'best' is not one of \('paper \(120 steps\)', 'fast \(30 steps\)', "
                                  r"'custom'\)"),
    ("rf", dict(preset="best"), r"preset: 'best' is not one of \('custom', 'stroke-to-image'"),
    ("cycle", dict(scheduler="bogus"), r"scheduler: 'bogus' is not one of \("),
    ("sync", dict(discretisation="euler"), r"discretisation: 'euler' is not one of \('ddpm', 'rectified'\)"),
    ("rf", dict(eta_trend="cosine"), r"eta_trend: 'cosine' is not one of \('constant', 'linear_increase'"),
])
def test_all_in_one_nodes_check_their_combo_values(sd_model, node, inputs, message):
    with pytest.raises(InputError, match=message):
        all_in_one(node, sd_model, {"samples": torch.randn(1, 4, 8, 8)}, **inputs)


def test_composable_nodes_check_their_combo_values(sd_model):
    cases = [
        (lambda: harness.call_node(sync_sde.SyncSDESamplerNode, discretisation="euler", seed=0), "discretisation"),
        (lambda: harness.call_node(rf_inversion.RFInversionReverseSamplerNode, source={"samples": torch.randn(1, 4, 8, 8)},
                                   eta=0.5, eta_start=0, eta_stop=3, eta_trend="cosine", stochastic=False, seed=0),
         "eta_trend"),
        (lambda: harness.call_node(cycle_sde.CycleSDEInvertNode, guider=cfg_guider(sd_model),
                                   sigmas=adapter.scheduler_sigmas(sd_model, "normal", 3, 0.6),
                                   latent={"samples": torch.randn(1, 4, 8, 8)}, seed=0, eta=1.0, storage_dtype="int8"),
         "storage_dtype"),
    ]
    for call, name in cases:
        with pytest.raises(InputError, match=f"{name}: '[a-z0-9]+' is not one of"):
            call()
