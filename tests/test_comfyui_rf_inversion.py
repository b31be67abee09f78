"""ComfyUI tier, in-process: RF-Inversion forward/reverse samplers and the all-in-one node."""
import os

import pytest
import torch

from conftest import custom_advanced, rel_err

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    from comfy_extras import nodes_custom_sampler as custom

    from sde_edit.nodes import rf_inversion
    from sde_edit.samplers import InputError


def run(guider, sampler, sigmas, latent):
    return custom_advanced(guider, sampler, sigmas, latent)["samples"]


def flux_guider(model, seed, guidance=3.5):
    return harness.call_node(custom.BasicGuider, model=model,
                             conditioning=harness.flux_conditioning(seed, guidance=guidance))[0]


def reverse_sampler(source, eta, start=0, stop=100, trend="constant", stochastic=False):
    return harness.call_node(rf_inversion.RFInversionReverseSamplerNode, source=source, eta=eta, eta_start=start,
                             eta_stop=stop, eta_trend=trend, stochastic=stochastic, seed=0)[0]


def test_forward_from_sigma_one_without_patches_and_exact_limits(flux_model):
    sigmas = harness.call_node(custom.BasicScheduler, model=flux_model, scheduler="simple", steps=6, denoise=1.0)[0]
    assert float(sigmas[0]) == 1.0
    source = {"samples": torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(0))}
    forward = harness.call_node(rf_inversion.RFInversionForwardSamplerNode, gamma=1.0, seed=5)[0]
    inverted = run(flux_guider(flux_model, 0, guidance=0.0), forward, sigmas, source)
    assert torch.isfinite(inverted).all()
    y1 = torch.randn(inverted.shape, generator=torch.Generator().manual_seed(5))
    assert rel_err(flux_model.model.process_latent_in(inverted), y1) <= 1e-5  # gamma = 1 lands on y1
    back = run(flux_guider(flux_model, 1), reverse_sampler(source, eta=1.0), sigmas, {"samples": inverted})
    assert rel_err(back, source["samples"]) <= 1e-5  # eta = 1 everywhere lands on the source


def test_plain_inversion_error_shrinks_with_steps(flux_model, capsys):
    source = {"samples": torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(0))}
    errors = {}
    for steps in (6, 24):
        sigmas = harness.call_node(custom.BasicScheduler, model=flux_model, scheduler="simple", steps=steps, denoise=1.0)[0]
        forward = harness.call_node(rf_inversion.RFInversionForwardSamplerNode, gamma=0.0, seed=0)[0]
        inverted = run(flux_guider(flux_model, 0), forward, sigmas, source)
        back = run(flux_guider(flux_model, 0), reverse_sampler(source, eta=0.0), sigmas, {"samples": inverted})
        errors[steps] = rel_err(back, source["samples"])
    with capsys.disabled():
        print(f"\n[RF-Inversion gamma=0 eta=0 through ComfyUI, tiny flux] relative error {errors}")
    assert errors[24] < errors[6]


@pytest.mark.parametrize("kind", ["flux", "sd"])
def test_all_in_one_with_presets(kind, flux_model, sd_model):
    model = flux_model if kind == "flux" else sd_model
    target = harness.flux_conditioning(1) if kind == "flux" else harness.sd2_conditioning(1)
    latent = {"samples": torch.randn(1, 16 if kind == "flux" else 4, 8, 8)}
    args = dict(model=model, target=target, latent=latent, steps=8, start_step=0, gamma=0.5, eta=0.9, eta_start=0,
                eta_stop=3, eta_trend="constant", stochastic=False, cfg=1.0 if kind == "flux" else 3.0,
                scheduler="simple", seed=0)
    for preset in ["custom", "glasses", "stroke-to-image"]:
        edited, noise = harness.call_node(rf_inversion.RFInversionEditNode, preset=preset, **args)
        assert edited["samples"].shape == latent["samples"].shape and torch.isfinite(edited["samples"]).all()
        assert torch.isfinite(noise["samples"]).all()
    whole = dict(args, eta=1.0, eta_stop=8)
    edited, _ = harness.call_node(rf_inversion.RFInversionEditNode, preset="custom", **whole)
    assert rel_err(edited["samples"], latent["samples"]) <= 1e-5
    stochastic, _ = harness.call_node(rf_inversion.RFInversionEditNode, preset="custom", **dict(args, stochastic=True))
    assert torch.isfinite(stochastic["samples"]).all()


def test_errors(sd_model):
    args = dict(model=sd_model, target=harness.sd2_conditioning(1), latent={"samples": torch.randn(1, 4, 8, 8)},
                preset="custom", steps=8, gamma=0.5, eta=0.9, eta_trend="constant", stochastic=False, cfg=1.0,
                scheduler="simple", seed=0)
    with pytest.raises(InputError, match=r"eta_stop: the eta window \[0, 3\) has no step with eta > 0 at or after "
                                         r"start_step 4"):
        harness.call_node(rf_inversion.RFInversionEditNode, start_step=4, eta_start=0, eta_stop=3, **args)
    # with eta = 0 the window does not matter, wherever it lies
    edited, _ = harness.call_node(rf_inversion.RFInversionEditNode, start_step=4, eta_start=0, eta_stop=3,
                                  **dict(args, eta=0.0))
    assert torch.isfinite(edited["samples"]).all()
    with pytest.raises(InputError, match="start_step: must lie in"):
        harness.call_node(rf_inversion.RFInversionEditNode, start_step=8, eta_start=0, eta_stop=3, **args)


def test_all_in_one_counts_the_eta_window_in_steps_of_the_whole_schedule(sd_model, monkeypatch):
    """With start_step 3 of 8 and the window [0, 8) falling linearly, the reverse uses steps 3-7 of the
    8-step ramp (as the core's rf_edit does), not a ramp recomputed over the 5 steps it runs."""
    from sde_edit.samplers.rf_inversion import eta_schedule
    used = []
    original = rf_inversion.rf_edit

    def recording(*args, callback=None, **kwargs):
        def report(info):
            used.append(info["eta"])
            callback(info)
        return original(*args, callback=report, **kwargs)

    monkeypatch.setattr(rf_inversion, "rf_edit", recording)
    harness.call_node(rf_inversion.RFInversionEditNode, model=sd_model, target=harness.sd2_conditioning(1),
                      latent={"samples": torch.randn(1, 4, 8, 8)}, preset="custom", steps=8, start_step=3, gamma=0.5,
                      eta=0.9, eta_start=0, eta_stop=8, eta_trend="linear_decrease", stochastic=False, cfg=1.0,
                      scheduler="simple", seed=0)
    assert used == pytest.approx(eta_schedule(8, 0.9, 0, 8, "linear_decrease")[3:])


@pytest.mark.parametrize("composable", [False, True], ids=["all-in-one", "samplers"])
def test_noise_mask_keeps_the_source_outside(flux_model, composable):
    source = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(1, 8, 8)
    mask[:, 2:6, 1:5] = 1.0
    latent = {"samples": source, "noise_mask": mask}
    if composable:
        sigmas = harness.call_node(custom.BasicScheduler, model=flux_model, scheduler="simple", steps=6, denoise=1.0)[0]
        forward = harness.call_node(rf_inversion.RFInversionForwardSamplerNode, gamma=0.5, seed=5)[0]
        inverted = custom_advanced(flux_guider(flux_model, 0, guidance=0.0), forward, sigmas, latent)
        assert "noise_mask" in inverted  # SamplerCustomAdvanced carries the mask on to the reverse pass
        edited = run(flux_guider(flux_model, 1), reverse_sampler(latent, eta=0.5, stop=3), sigmas, inverted)
    else:
        edited = harness.call_node(rf_inversion.RFInversionEditNode, model=flux_model, target=harness.flux_conditioning(1),
                                   latent=latent, preset="custom", steps=6, start_step=0, gamma=0.5, eta=0.5,
                                   eta_start=0, eta_stop=3, eta_trend="constant", stochastic=False, cfg=1.0,
                                   scheduler="simple", seed=0)[0]["samples"]
    outside = (mask[:, None] == 0).expand_as(source)
    assert float((edited[outside] - source[outside]).abs().max()) <= 1e-5 * float(source.abs().max())
    assert float((edited[~outside] - source[~outside]).abs().max()) > 1e-2
