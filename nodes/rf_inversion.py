"""RF-Inversion nodes: forward and reverse SAMPLERs for SamplerCustomAdvanced, and an all-in-one edit node.

No model-sampling patch node is needed: the samplers read x0 from the guider and never hit CONST's
division by (1 - sigma) at sigma = 1. EPS/V models (SD1.5, SDXL) run through the rectified-flow map.
"""
from __future__ import annotations

import comfy.samplers
import torch
from comfy_api.latest import io

from ..samplers.rf_inversion import ETA_TRENDS, rf_edit, rf_invert
from ..samplers.validation import InputError
from . import comfy_adapter as adapter

# Paper Table 4 (28 steps): (starting time s, stopping time tau, eta); the eta window is [s, tau).
PAPER_STEPS = 28
PRESETS = {"stroke-to-image": (3, 5, 0.9), "object insert": (0, 6, 1.0), "gender": (0, 8, 1.0),
           "age": (0, 5, 1.0), "glasses": (6, 25, 0.7), "stylisation": (0, 6, 0.9)}


class RFInversionForwardSampler(comfy.samplers.Sampler):
    """Controlled forward ODE (Eq. 8) of the latent up the schedule; returns the inverted noise."""

    def __init__(self, gamma: float, seed: int):
        self.gamma, self.seed = gamma, seed

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        return rf_invert(adapter.guider_denoiser(model_wrap, extra_args), latent_image, sigmas,
                         adapter.parameterization_of(model_wrap.inner_model.model_sampling), gamma=self.gamma,
                         seed=self.seed, callback=adapter.step_callback(callback, len(sigmas) - 1))


class RFInversionReverseSampler(comfy.samplers.Sampler):
    """Controlled reverse ODE (Eq. 15) or rectified stochastic sampler (Theorem 3.5) toward the source.

    The latent's ``noise_mask`` (1 = editable) keeps the rest on the straight path from the inverted start
    to the source, so it ends on the source. ``skipped_sigmas``: the head of a longer schedule that the
    given sigmas continue (the paper's starting time s); the eta window then counts that schedule's steps.
    """

    def __init__(self, source: torch.Tensor, eta: float, eta_start: int, eta_stop: int, eta_trend: str,
                 stochastic: bool, seed: int, skipped_sigmas: torch.Tensor | None = None):
        self.source, self.seed, self.stochastic, self.skipped_sigmas = source, seed, stochastic, skipped_sigmas
        self.eta = dict(eta=eta, eta_start=eta_start, eta_stop=eta_stop, eta_trend=eta_trend)

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        source = model_wrap.inner_model.process_latent_in(self.source.to(latent_image))
        steps = len(sigmas) - 1
        schedule, start_step, eta = sigmas, 0, {**self.eta, "eta_stop": min(self.eta["eta_stop"], steps)}
        if self.skipped_sigmas is not None and len(self.skipped_sigmas):
            start_step = len(self.skipped_sigmas)
            schedule = torch.cat([self.skipped_sigmas.to(sigmas), sigmas])
            eta = self.eta
        x = rf_edit(adapter.guider_denoiser(model_wrap, extra_args), latent_image, source, schedule,
                    adapter.parameterization_of(model_wrap.inner_model.model_sampling), **eta,
                    start_step=start_step, stochastic=self.stochastic, seed=self.seed,
                    mask=adapter.plain_mask(denoise_mask, extra_args),
                    callback=adapter.step_callback(callback, steps, offset=start_step))
        return model_wrap.inner_model.model_sampling.inverse_noise_scaling(sigmas[-1], x)


def eta_inputs(default_stop: int = 6):
    return [
        io.Float.Input("eta", default=0.9, min=0.0, max=1.0, step=0.01,
                       tooltip="Pull toward the source inside the window: higher keeps more of the input. "
                               "No effect -> lower eta or end the window earlier."),
        io.Int.Input("eta_start", default=0, min=0, max=1000, tooltip="First step of the eta window."),
        io.Int.Input("eta_stop", default=default_stop, min=0, max=1000,
                     tooltip="Step where the window ends (exclusive). Past about step 4-8 of 28 the source "
                             "dominates and the edit disappears (paper Fig. 10)."),
        io.Combo.Input("eta_trend", options=list(ETA_TRENDS), default="constant",
                       tooltip="eta across the window: constant, rising 0 -> eta, or falling eta -> 0."),
        io.Boolean.Input("stochastic", default=False,
                         tooltip="Rectified stochastic sampler (Theorem 3.5) instead of the ODE."),
    ]


def seed_input(tooltip: str):
    return io.Int.Input("seed", default=0, min=0, max=0xffffffffffffffff, control_after_generate=True,
                        tooltip=tooltip)


class RFInversionForwardSamplerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_RFInversionForwardSampler",
            display_name="RF-Inversion Forward Sampler",
            category="sampling/sde_edit",
            description="SAMPLER for SamplerCustomAdvanced: RF-Inversion's controlled forward ODE (Rout et al. "
                        "2410.10792, Eq. 8) turns the latent into structured noise. Give it the usual "
                        "(descending) BasicScheduler sigmas - no FlipSigmas, no model-sampling patch - and a "
                        "guider with an empty prompt (Flux guidance 0). Its output is the inverted noise for "
                        "the RF-Inversion Reverse Sampler.",
            inputs=[
                io.Float.Input("gamma", default=0.5, min=0.0, max=1.0, step=0.01,
                               tooltip="Pull toward a fixed Gaussian sample: 0 = plain ODE inversion (faithful, "
                                       "atypical noise), 1 = straight to the sample (editable, forgets). Paper: 0.5."),
                seed_input("Seed of the target Gaussian sample."),
            ],
            outputs=[io.Sampler.Output()],
        )

    @classmethod
    def execute(cls, gamma, seed) -> io.NodeOutput:
        return io.NodeOutput(RFInversionForwardSampler(gamma, seed))


class RFInversionReverseSamplerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_RFInversionReverseSampler",
            display_name="RF-Inversion Reverse Sampler",
            category="sampling/sde_edit",
            description="SAMPLER for SamplerCustomAdvanced: RF-Inversion's controlled reverse ODE (Eq. 15) from "
                        "the inverted noise (the latent you give SamplerCustomAdvanced) toward the source "
                        "latent, with the target prompt's guider and the same sigmas as the forward pass. "
                        "The eta window counts the steps of these sigmas.",
            inputs=[io.Latent.Input("source", tooltip="The source latent (VAE Encode of the image)."),
                    *eta_inputs(), seed_input("Seed of the stochastic sampler's noise.")],
            outputs=[io.Sampler.Output()],
        )

    @classmethod
    def execute(cls, source, eta, eta_start, eta_stop, eta_trend, stochastic, seed) -> io.NodeOutput:
        return io.NodeOutput(RFInversionReverseSampler(source["samples"], eta, eta_start, eta_stop, eta_trend,
                                                       stochastic, seed))


def inversion_conditioning(target):
    """The paper's inversion prompt: empty (zeroed) with the Flux guidance embedding at 0."""
    return [[tensor, {**extras, "guidance": 0.0}] for tensor, extras in adapter.zeroed_conditioning(target)]


class RFInversionEdit(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_RFInversionEdit",
            display_name="RF-Inversion Edit",
            category="sampling/sde_edit",
            description="Edit a latent with RF-Inversion (Rout et al. 2410.10792): controlled forward ODE "
                        "toward a Gaussian sample (gamma), then the target prompt's reverse ODE pulled toward "
                        "the source over a window of steps (eta). Flux, SD3 and - through the rectified-flow "
                        "map - SD1.5/SDXL. Presets fill start_step, the eta window and eta from paper Table 4.",
            inputs=[
                io.Model.Input("model"),
                io.Conditioning.Input("target", tooltip="Prompt describing the wanted image."),
                io.Latent.Input("latent", tooltip="The source latent (VAE Encode)."),
                io.Combo.Input("preset", options=["custom", *PRESETS], default="custom",
                               tooltip="Paper Table 4 settings (scaled to 'steps'); 'custom' uses the inputs below."),
                io.Int.Input("steps", default=28, min=2, max=1000),
                io.Int.Input("start_step", default=0, min=0, max=999,
                             tooltip="The paper's starting time s: invert only up to this step and start the "
                                     "reverse there (SDEdit-like truncation). Not the eta window's start."),
                io.Float.Input("gamma", default=0.5, min=0.0, max=1.0, step=0.01,
                               tooltip="Forward pull toward the Gaussian sample (paper: 0.5)."),
                *eta_inputs(),
                io.Float.Input("cfg", default=1.0, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="CFG of the target (1 for Flux, which uses FluxGuidance; 4-7 for SD)."),
                io.Combo.Input("scheduler", options=list(comfy.samplers.SCHEDULER_NAMES), default="simple"),
                seed_input("Seed of the Gaussian sample (and of the stochastic sampler)."),
                io.Conditioning.Input("negative", optional=True, tooltip="Negative for the target when cfg != 1."),
                io.Conditioning.Input("inversion", optional=True,
                                      tooltip="Prompt for the inversion; default: empty, Flux guidance 0 (paper)."),
            ],
            outputs=[io.Latent.Output(display_name="latent"), io.Latent.Output(display_name="inverted_noise")],
        )

    @classmethod
    def execute(cls, model, target, latent, preset, steps, start_step, gamma, eta, eta_start, eta_stop, eta_trend,
                stochastic, cfg, scheduler, seed, negative=None, inversion=None) -> io.NodeOutput:
        if preset != "custom":
            start, stop, eta = PRESETS[preset]
            start_step = eta_start = round(start * steps / PAPER_STEPS)
            eta_stop = max(round(stop * steps / PAPER_STEPS), start_step + 1)  # keep at least one window step
        if not 0 <= start_step < steps:
            raise InputError(f"start_step: must lie in [0, {steps - 1}] for {steps} steps, got {start_step}")
        sigmas = adapter.schedule(model, scheduler, steps, 1.0)
        samples = adapter.model_latent(model, latent)
        forward = comfy.samplers.CFGGuider(model)  # cfg 1 with a positive only, as BasicGuider
        forward.inner_set_conds({"positive": inversion if inversion is not None else inversion_conditioning(target)})
        reverse = comfy.samplers.CFGGuider(model)
        reverse.set_conds(target, negative if negative is not None else adapter.zeroed_conditioning(target))
        reverse.set_cfg(cfg)
        total = 2 * (steps - start_step)
        progress = adapter.progress_callback(model, total)
        inverted = adapter.run_sampler(forward, RFInversionForwardSampler(gamma, seed), sigmas[start_step:], samples,
                                       seed=seed, callback=lambda i, x0, x, _: progress(i, x0, x, total))
        reverse_sampler = RFInversionReverseSampler(samples, eta, eta_start, eta_stop, eta_trend, stochastic, seed,
                                                    skipped_sigmas=sigmas[:start_step])
        edited = adapter.run_sampler(reverse, reverse_sampler, sigmas[start_step:], inverted, seed=seed,
                                     denoise_mask=latent.get("noise_mask"),
                                     callback=lambda i, x0, x, _: progress(steps - start_step + i, x0, x, total))
        return io.NodeOutput(adapter.latent_with(latent, edited),
                             adapter.latent_with(latent, inverted, keep_mask=False))


NODES = [RFInversionForwardSamplerNode, RFInversionReverseSamplerNode, RFInversionEdit]
