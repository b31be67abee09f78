"""The only place that knows ComfyUI's sampler internals: guider -> denoiser, model type -> parameterisation,
step callbacks (progress bar, previews, interrupt), schedules."""
from __future__ import annotations

import comfy.model_management
import comfy.model_sampling
import comfy.sample
import comfy.samplers
import comfy.utils
import latent_preview
import torch

from ..samplers import EPS, FLOW, InputError, Parameterization


def parameterization_of(model_sampling) -> Parameterization:
    """CONST (SD3, Flux, ...) is the flow parameterisation; EPS, V, EDM share x = x0 + sigma * eps."""
    if isinstance(model_sampling, comfy.model_sampling.CONST):
        return FLOW
    if isinstance(model_sampling, (comfy.model_sampling.EPS, comfy.model_sampling.COSMOS_RFLOW)):
        return EPS
    raise InputError(f"model: its sampling type {type(model_sampling).__name__} is not supported; "
                     "supported: EPS, V-prediction, EDM (SD1.x, SD2.x, SDXL) and CONST flow (SD3.x, Flux, ...)")


def guider_denoiser(model_wrap, extra_args: dict):
    """The guider as a core denoiser ``(x, sigma) -> x0`` (CFG, ControlNets, hooks and patches included)."""
    model_options, seed = extra_args.get("model_options", {}), extra_args.get("seed")

    def denoise(x, sigma):
        return model_wrap(x, sigma, model_options=model_options, seed=seed)

    return denoise


def step_callback(callback, total_steps: int, offset: int = 0):
    """Turn core step reports into ComfyUI's ``callback(step, x0, x, total)`` and honour interrupts.

    A report may carry its own ``total`` (SDE-Drag knows its sub-drag count only once it runs); ``offset``:
    the step index of the first step run (a core loop that starts later in its schedule).
    """
    def report(info):
        comfy.model_management.throw_exception_if_processing_interrupted()
        if callback is not None:
            callback(info["i"] - offset, info["denoised"], info["x"], info.get("total", total_steps))

    return report


def progress_callback(model, total_steps: int):
    """ComfyUI's progress bar with latent previews, for nodes that sample without SamplerCustomAdvanced."""
    return latent_preview.prepare_callback(model, total_steps)


def progress_enabled() -> bool:
    return comfy.utils.PROGRESS_BAR_ENABLED


def schedule(model, scheduler: str, steps: int, denoise: float) -> torch.Tensor:
    """BasicScheduler's sigmas: ``steps`` steps run from ``denoise`` (t0) of the full schedule down to 0."""
    if steps < 1:
        raise InputError(f"steps: must be >= 1, got {steps}")
    if not 0.0 < denoise <= 1.0:
        raise InputError(f"t0: must lie in (0, 1], got {denoise}")
    total = max(steps, int(steps / denoise))
    sigmas = comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), scheduler, total).cpu()
    return sigmas[-(steps + 1):]


def model_latent(model, latent: dict) -> torch.Tensor:
    """LATENT samples with the channel fix-up SamplerCustomAdvanced applies (empty latents for any model)."""
    return comfy.sample.fix_empty_latent_channels(model, latent["samples"])


def intermediate_device():
    return comfy.model_management.intermediate_device()


def plain_mask(denoise_mask, extra_args):
    """The sampler's noise mask, refused when a model patch would reshape it per step (Differential
    Diffusion's ``denoise_mask_function``, which core applies only inside its own inpainting wrapper):
    the pack pins the unedited region to the recorded path with the mask as given."""
    if denoise_mask is not None and "denoise_mask_function" in extra_args.get("model_options", {}):
        raise InputError("model: a per-step mask patch (Differential Diffusion) is on the model, which the SDE "
                         "Edit samplers cannot apply: they keep the unedited region exactly on the recorded path "
                         "with the mask as given. Remove the Differential Diffusion node (a soft mask still "
                         "blends per pixel)")
    return denoise_mask


def run_sampler(guider, sampler, sigmas, samples: torch.Tensor, *, denoise_mask=None, callback=None,
                seed: int = 0) -> torch.Tensor:
    """Run one of the pack's samplers through ``guider.sample`` (model loading, conds, ControlNets, patches
    and ``process_latent_in/out`` by ComfyUI); the pack's samplers ignore the noise argument."""
    out = guider.sample(torch.zeros_like(samples), samples, sampler, sigmas, denoise_mask=denoise_mask,
                        callback=callback, disable_pbar=not progress_enabled(), seed=seed)
    return out.to(intermediate_device())


def latent_with(latent: dict, samples: torch.Tensor, keep_mask: bool = True) -> dict:
    """A copy of a LATENT dict with new samples (and without its noise_mask unless ``keep_mask``)."""
    out = {key: value for key, value in latent.items() if keep_mask or key != "noise_mask"}
    out["samples"] = samples
    return out


def check_model_type(model_wrap, parameterization: Parameterization) -> None:
    actual = parameterization_of(model_wrap.inner_model.model_sampling)
    if actual != parameterization:
        raise InputError(f"guider: its model is a {actual.name} model but the trajectory was recorded with a "
                         f"{parameterization.name} model; replay with the model family used for inversion")


def zeroed_conditioning(conditioning):
    """ConditioningZeroOut: the same conditioning with every tensor set to zero (an empty negative)."""
    out = []
    for tensor, extras in conditioning:
        extras = extras.copy()
        for key in ("pooled_output", "conditioning_lyrics"):
            if isinstance(extras.get(key), torch.Tensor):
                extras[key] = torch.zeros_like(extras[key])
        out.append([torch.zeros_like(tensor), extras])
    return out
