"""ComfyUI tier: the noise algebra is read from the model's own ``model_sampling``; types it does not serve are
refused by name.

ComfyUI 0.33 mixes a CONST (flow) state as ``(1 - sigma) x0 + sigma * noise_scale * eps`` (HiDream-O1: 8; core
ModelNoiseScale sets any). The pack reads ``a`` and ``b`` off ``noise_scaling`` itself, so a model with a noise
scale inverts exactly and its recorded states carry the scaled noise, exactly as ComfyUI noises a latent.
"""
import os

import pytest
import torch

from conftest import custom_advanced, rel_err

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    import comfy.model_sampling
    from comfy_extras import nodes_custom_sampler as custom

    from sde_edit.nodes import comfy_adapter as adapter
    from sde_edit.nodes import cycle_sde
    from sde_edit.samplers import EPS, FLOW, InputError
    from sde_edit.samplers.engine import noise_like, seeded
    from sde_edit.samplers.noise_levels import flow


def sampling_of(base: str, prediction: str):
    """A model_sampling object as ComfyUI builds one (``class ModelSampling(s, c)``), or None if absent."""
    s, c = getattr(comfy.model_sampling, base, None), getattr(comfy.model_sampling, prediction, None)
    if s is None or c is None:
        return None
    return type("ModelSampling", (s, c), {})(None)


@pytest.mark.parametrize("base, prediction, expected", [
    ("ModelSamplingDiscrete", "EPS", "eps"),
    ("ModelSamplingDiscrete", "V_PREDICTION", "eps"),
    ("ModelSamplingContinuousEDM", "EDM", "eps"),
    ("ModelSamplingDiscrete", "X0", "eps"),
    ("ModelSamplingDiscrete", "V_PREDICTION_DDPM", "eps"),  # CogVideoX (0.33): x = x0 + sigma eps
    ("ModelSamplingCosmosRFlow", "COSMOS_RFLOW", "eps"),
    ("ModelSamplingDiscreteFlow", "CONST", "flow"),
    ("ModelSamplingFlux", "CONST", "flow"),
    ("ModelSamplingDiscrete", "IMG_TO_IMG", "refused: model: its sampling type IMG_TO_IMG (Lotus)"),
    ("ModelSamplingDiscreteFlow", "IMG_TO_IMG_FLOW", "refused: model: its sampling type IMG_TO_IMG_FLOW (Wan FlowRVS)"),
    ("ModelSamplingAV", "CONST", "refused: model: its sampling type ModelSamplingAV (MiniMax H3)"),
])
def test_every_sampling_type_is_served_or_refused_by_name(base, prediction, expected):
    sampling = sampling_of(base, prediction)
    if sampling is None:
        pytest.skip(f"{base} / {prediction} is not in this ComfyUI release")
    if expected.startswith("refused: "):
        with pytest.raises(InputError) as error:
            adapter.parameterization_of(sampling)
        assert str(error.value).startswith(expected[len("refused: "):]), error.value
        return
    assert adapter.parameterization_of(sampling) == {"eps": EPS, "flow": FLOW}[expected]


def test_an_unknown_algebra_is_refused_with_its_coefficients():
    class Scaled(comfy.model_sampling.ModelSamplingDiscrete, comfy.model_sampling.EPS):
        def noise_scaling(self, sigma, noise, latent_image, max_denoise=False):
            return 2.0 * latent_image + sigma.view(-1, 1) * noise

    with pytest.raises(InputError, match=r"model: its sampling type ModelSamplingDiscrete\+EPS mixes signal and "
                                         r"noise as x = 2 x0 \+ 0.5 eps at sigma 0.5"):
        adapter.parameterization_of(Scaled(None))


@pytest.fixture
def noise_scaled_flux(flux_model):
    from comfy_extras import nodes_model_advanced
    if not hasattr(nodes_model_advanced, "ModelNoiseScale"):
        pytest.skip("core ModelNoiseScale (noise_scale of CONST models) arrived in ComfyUI 0.33")
    # ModelNoiseScale re-creates a ModelSamplingDiscreteFlow (SD3, HiDream-O1): give the tiny Flux one first.
    shifted = harness.call_node(nodes_model_advanced.ModelSamplingSD3, model=flux_model, shift=3.0)[0]
    return harness.call_node(nodes_model_advanced.ModelNoiseScale, model=shifted, noise_scale=8.0)[0]


def test_a_noise_scale_is_read_from_the_model(noise_scaled_flux):
    assert adapter.parameterization_of(noise_scaled_flux.get_model_object("model_sampling")) == flow(8.0)


def test_cycle_sde_on_a_noise_scaled_model_is_exact_and_noises_as_comfyui_does(noise_scaled_flux):
    model = noise_scaled_flux
    guider = harness.call_node(custom.BasicGuider, model=model, conditioning=harness.flux_conditioning(0))[0]
    latent = {"samples": torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(0))}
    sigmas = harness.call_node(custom.BasicScheduler, model=model, scheduler="simple", steps=6, denoise=0.8)[0]
    trajectory, noisy = harness.call_node(cycle_sde.CycleSDEInvertNode, guider=guider, sigmas=sigmas, latent=latent,
                                          seed=4, eta=1.0, storage_dtype="float32")
    out = custom_advanced(guider, harness.call_node(cycle_sde.CycleSDESamplerNode, trajectory=trajectory)[0], sigmas,
                          latent)["samples"]
    assert rel_err(out, latent["samples"]) <= 1e-5
    # One forward step 0 -> sigma of the seeded chain, against ComfyUI's own noise_scaling with that noise.
    sigma = sigmas[:1].clone()
    _, one_step = harness.call_node(cycle_sde.CycleSDEInvertNode, guider=guider, sigmas=torch.cat([sigma, sigma * 0]),
                                    latent=latent, seed=4, eta=1.0, storage_dtype="float32")
    base = model.model
    x0 = base.process_latent_in(latent["samples"])
    expected = model.get_model_object("model_sampling").noise_scaling(sigma, noise_like(x0, seeded(4)), x0)
    assert rel_err(one_step["samples"], base.process_latent_out(expected)) <= 1e-6
    assert rel_err(noisy["samples"], latent["samples"]) > 1.0  # eight times the noise of a scale-1 model
    assert trajectory.parameterization == flow(8.0)
