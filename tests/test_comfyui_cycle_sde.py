"""ComfyUI tier, in-process: the nodes inside a real ComfyUI (env COMFYUI_ROOT) with tiny random models."""
import os

import pytest
import torch

from conftest import custom_advanced, rel_err

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    import comfy.model_management
    import comfy.model_sampling
    import comfy.samplers
    import comfy.utils
    from comfy_extras import nodes_custom_sampler as custom
    from comfy_extras import nodes_model_advanced as model_advanced

    from sde_edit.nodes import cycle_sde
    from sde_edit.samplers import InputError


def family(request_param, sd_model, flux_model):
    if request_param in ("sd", "sd-v"):
        negative = [[torch.zeros(1, 4, 1024), {}]]
        model = sd_model
        if request_param == "sd-v":  # the same UNet read as a V-prediction model (core ModelSamplingDiscrete)
            model = harness.call_node(model_advanced.ModelSamplingDiscrete, model=sd_model, sampling="v_prediction",
                                      zsnr=False)[0]
        return model, harness.sd2_conditioning(0), harness.sd2_conditioning(1), negative, 4, "normal"
    negative = [[torch.zeros(1, 8, 32), {"pooled_output": torch.zeros(1, 32), "guidance": 3.5}]]
    return flux_model, harness.flux_conditioning(0), harness.flux_conditioning(1), negative, 16, "simple"


def guider(model, positive, negative, cfg):
    return harness.call_node(custom.CFGGuider, model=model, positive=positive, negative=negative, cfg=cfg)[0]


def sigmas_for(model, scheduler, steps=6, denoise=0.8):
    return harness.call_node(custom.BasicScheduler, model=model, scheduler=scheduler, steps=steps,
                             denoise=denoise)[0]


def invert(g, sigmas, latent, seed=7, eta=1.0):
    return harness.call_node(cycle_sde.CycleSDEInvertNode, guider=g, sigmas=sigmas, latent=latent, seed=seed,
                             eta=eta, storage_dtype="float32")


def replay(g, sigmas, latent, trajectory, start_latent=None):
    sampler = harness.call_node(cycle_sde.CycleSDESamplerNode, trajectory=trajectory, start_latent=start_latent)[0]
    return custom_advanced(g, sampler, sigmas, latent)


@pytest.mark.parametrize("cfg", [1.0, 7.5])
@pytest.mark.parametrize("eta", [0.3, 1.0])
@pytest.mark.parametrize("kind", ["sd", "sd-v", "flux"])
def test_node_path_reconstruction_is_exact(kind, eta, cfg, sd_model, flux_model):
    model, source, _, negative, channels, scheduler = family(kind, sd_model, flux_model)
    if kind == "sd-v":
        assert isinstance(model.get_model_object("model_sampling"), comfy.model_sampling.V_PREDICTION)
    sigmas = sigmas_for(model, scheduler)
    latent = {"samples": torch.randn(2, channels, 8, 8, generator=torch.Generator().manual_seed(3))}
    trajectory, noisy = invert(guider(model, source, negative, cfg), sigmas, latent, eta=eta)
    out = replay(guider(model, source, negative, cfg), sigmas, latent, trajectory)
    assert trajectory.start.device.type == "cpu" and trajectory.source_means.device.type == "cpu"
    assert noisy["samples"].shape == latent["samples"].shape
    assert rel_err(out["samples"], latent["samples"]) <= 1e-5


@pytest.mark.parametrize("kind", ["sd", "flux"])
def test_ode_baseline_error_through_nodes(kind, sd_model, flux_model, capsys):
    model, source, _, negative, channels, scheduler = family(kind, sd_model, flux_model)
    sigmas = sigmas_for(model, scheduler)
    latent = {"samples": torch.randn(1, channels, 8, 8, generator=torch.Generator().manual_seed(3))}
    trajectory, _ = invert(guider(model, source, negative, 1.0), sigmas, latent, eta=0.0)
    error = rel_err(replay(guider(model, source, negative, 1.0), sigmas, latent, trajectory)["samples"],
                    latent["samples"])
    with capsys.disabled():
        print(f"\n[ODE baseline through ComfyUI, tiny {kind}] relative reconstruction error {error:.3g}")
    assert error > 1e-3


@pytest.mark.parametrize("kind", ["sd", "flux"])
def test_replay_costs_one_forward_pass_per_step_even_with_cfg(kind, sd_model, flux_model):
    model, source, target, negative, channels, scheduler = family(kind, sd_model, flux_model)
    sigmas = sigmas_for(model, scheduler, steps=5)
    latent = {"samples": torch.randn(1, channels, 8, 8)}
    counter = harness.ModelPassCounter(model)
    trajectory, _ = invert(guider(counter.model, source, negative, 7.5), sigmas, latent)
    assert counter.calls == 5
    counter.calls = 0
    replay(guider(counter.model, target, negative, 7.5), sigmas, latent, trajectory)
    assert counter.calls == 5


def test_noise_mask_keeps_the_rest_of_the_source(sd_model):
    model, source, target, negative, channels, scheduler = family("sd", sd_model, None)
    sigmas = sigmas_for(model, scheduler)
    samples = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(1, 16, 16)
    mask[:, 4:12, 4:12] = 1.0
    trajectory, _ = invert(guider(model, source, negative, 5.0), sigmas, {"samples": samples})
    out = replay(guider(model, target, negative, 5.0), sigmas, {"samples": samples, "noise_mask": mask},
                 trajectory)["samples"]
    outside = (mask == 0).expand_as(samples[0])[None]
    assert rel_err(out[outside], samples[outside]) <= 1e-5
    assert rel_err(out[~outside], samples[~outside]) > 1e-2


def test_edited_start_latent_is_used(sd_model):
    model, source, _, negative, channels, scheduler = family("sd", sd_model, None)
    sigmas = sigmas_for(model, scheduler)
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    trajectory, noisy = invert(guider(model, source, negative, 1.0), sigmas, latent)
    same = replay(guider(model, source, negative, 1.0), sigmas, latent, trajectory, start_latent=noisy)
    assert rel_err(same["samples"], latent["samples"]) <= 1e-5
    edited = {"samples": noisy["samples"].flip(-1)}
    moved = replay(guider(model, source, negative, 1.0), sigmas, latent, trajectory, start_latent=edited)
    assert rel_err(moved["samples"], latent["samples"]) > 1e-2


def test_all_in_one_edit(sd_model):
    model, source, target, negative, channels, scheduler = family("sd", sd_model, None)
    latent = {"samples": torch.randn(2, 4, 8, 8)}
    args = dict(model=model, latent=latent, steps=5, t0=0.7, cfg=6.0, scheduler="normal", seed=1, eta=1.0)
    same, trajectory = harness.call_node(cycle_sde.CycleSDEEditNode, source=source, target=source, **args)
    assert rel_err(same["samples"], latent["samples"]) <= 1e-5
    assert trajectory.steps == 5
    edited, _ = harness.call_node(cycle_sde.CycleSDEEditNode, source=source, target=target, **args)
    again, _ = harness.call_node(cycle_sde.CycleSDEEditNode, source=source, target=target, **args)
    assert rel_err(edited["samples"], latent["samples"]) > 1e-2
    assert torch.equal(edited["samples"], again["samples"])


def test_clear_errors(sd_model, flux_model):
    model, source, _, negative, channels, scheduler = family("sd", sd_model, None)
    sigmas = sigmas_for(model, scheduler)
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    trajectory, _ = invert(guider(model, source, negative, 1.0), sigmas, latent)
    with pytest.raises(InputError, match="sigmas: the schedule does not match"):
        replay(guider(model, source, negative, 1.0), sigmas_for(model, scheduler, steps=4), latent, trajectory)
    with pytest.raises(InputError, match="latent: shape"):
        replay(guider(model, source, negative, 1.0), sigmas, {"samples": torch.randn(1, 4, 8, 16)}, trajectory)
    with pytest.raises(InputError, match="start_latent: shape"):
        harness.call_node(cycle_sde.CycleSDESamplerNode, trajectory=trajectory,
                          start_latent={"samples": torch.randn(1, 4, 4, 4)})
    with pytest.raises(InputError, match="sigmas: noise levels must be strictly decreasing"):
        invert(guider(model, source, negative, 1.0), sigmas.flip(0), latent)
    bad = {"samples": torch.full((1, 4, 8, 8), float("nan"))}
    with pytest.raises(InputError, match="latent: contains NaN"):
        invert(guider(model, source, negative, 1.0), sigmas, bad)
    flux, flux_source, _, flux_negative, _, _ = family("flux", None, flux_model)
    with pytest.raises(InputError, match="trajectory was recorded with an eps model"):
        replay(guider(flux, flux_source, flux_negative, 1.0), sigmas, {"samples": torch.randn(1, 4, 8, 8)},
               trajectory)


def test_interrupt_stops_cleanly(sd_model):
    model, source, _, negative, channels, scheduler = family("sd", sd_model, None)
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    comfy.model_management.interrupt_current_processing(True)
    try:
        with pytest.raises(comfy.model_management.InterruptProcessingException):
            invert(guider(model, source, negative, 1.0), sigmas_for(model, scheduler), latent)
    finally:
        comfy.model_management.interrupt_current_processing(False)


def test_progress_bar_reports_every_step_with_previews(sd_model, monkeypatch):
    """Every step of both passes reaches ComfyUI's progress bar, numbered on across them (read at the bar
    itself: ComfyUI 0.33 throttles what it forwards to the UI hook)."""
    model, source, target, negative, channels, scheduler = family("sd", sd_model, None)
    updates = []
    update_absolute = comfy.utils.ProgressBar.update_absolute

    def record(bar, value, total=None, preview=None):
        updates.append((value, total))
        return update_absolute(bar, value, total, preview)

    monkeypatch.setattr(comfy.utils.ProgressBar, "update_absolute", record)
    harness.call_node(cycle_sde.CycleSDEEditNode, model=model, source=source, target=target,
                      latent={"samples": torch.randn(1, 4, 8, 8)}, steps=4, t0=0.7, cfg=2.0,
                      scheduler="normal", seed=0, eta=1.0)
    assert updates == [(i, 8) for i in range(1, 9)]
