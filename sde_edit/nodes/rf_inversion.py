"""RF-Inversion nodes: forward and reverse SAMPLERs for SamplerCustomAdvanced, and an all-in-one edit node.

No model-sampling patch node is needed: the samplers read x0 from the guider and never hit CONST's
division by (1 - sigma) at sigma = 1. EPS/V models (SD1.5, SDXL) run through the rectified-flow map.
"""
from __future__ import annotations

import torch
from comfy_api.latest import io

from ..samplers.rf_inversion import ETA_TRENDS, rf_edit, rf_invert
from ..samplers.validation import InputError, check_choice
from . import comfy_adapter as adapter
from .inputs import CATEGORY, cfg_input, eta_input, scheduler_input, seed_input

# Paper Table 4 (28 steps): (starting time s, stopping time tau, eta); the eta window is [s, tau).
PAPER_STEPS = 28
PRESETS = {"stroke-to-image": (3, 5, 0.9), "object insert": (0, 6, 1.0), "gender": (0, 8, 1.0),
           "age": (0, 5, 1.0), "glasses": (6, 25, 0.7), "stylisation": (0, 6, 0.9)}


class RFInversionForwardSampler(adapter.PackSampler):
    """Controlled forward ODE (Eq. 8) of the latent up the schedule; the result is the inverted noise."""

    ends_at_last_sigma = False

    def __init__(self, gamma: float, seed: int):
        self.gamma, self.seed = gamma, seed

    def run(self, call):
        return rf_invert(call.denoiser, call.latent, call.sigmas, call.param, gamma=self.gamma, seed=self.seed,
                         callback=call.core_callback)


class RFInversionReverseSampler(adapter.PackSampler):
    """Controlled reverse ODE (Eq. 15) or rectified stochastic sampler (Theorem 3.5) toward the source.

    The latent's ``noise_mask`` (1 = editable) keeps the rest on the straight path from the inverted start
    to the source, so it ends on the source. ``skipped_sigmas``: the head of a longer schedule that the
    given sigmas continue (the paper's starting time s); the eta window counts that schedule's steps, and
    an ``eta_stop`` past its last step means "to the end".
    """

    def __init__(self, source: torch.Tensor, eta: float, eta_start: int, eta_stop: int, eta_trend: str,
                 stochastic: bool, seed: int, skipped_sigmas: torch.Tensor | None = None):
        self.source, self.seed, self.stochastic, self.skipped_sigmas = source, seed, stochastic, skipped_sigmas
        self.eta, self.eta_start, self.eta_stop, self.eta_trend = eta, eta_start, eta_stop, eta_trend

    def run(self, call):
        schedule = call.sigmas
        if self.skipped_sigmas is not None:
            schedule = torch.cat([self.skipped_sigmas.to(schedule), schedule])
        start_step = len(schedule) - len(call.sigmas)
        return rf_edit(call.denoiser, call.latent, call.model_space(self.source), schedule, call.param,
                       eta=self.eta, eta_start=self.eta_start, eta_stop=min(self.eta_stop, len(schedule) - 1),
                       eta_trend=self.eta_trend, start_step=start_step, stochastic=self.stochastic, seed=self.seed,
                       mask=call.mask, callback=call.core_callback_from(offset=start_step))


def eta_inputs(default_stop: int = 6):
    return [
        eta_input(0.9, "Pull toward the source inside the window: higher keeps more of the input. No effect -> "
                       "lower eta or end the window earlier."),
        io.Int.Input("eta_start", default=0, min=0, max=1000, tooltip="First step of the eta window."),
        io.Int.Input("eta_stop", default=default_stop, min=0, max=1000,
                     tooltip="Step where the window ends (exclusive); past the last step: to the end. Past "
                             "about step 4-8 of 28 the source dominates and the edit disappears (paper Fig. 10)."),
        io.Combo.Input("eta_trend", options=list(ETA_TRENDS), default="constant",
                       tooltip="eta across the window: constant, rising 0 -> eta, or falling eta -> 0."),
        io.Boolean.Input("stochastic", default=False,
                         tooltip="Rectified stochastic sampler (Theorem 3.5, Eq. 17) instead of the ODE, stepped by its "
                                 "exact transition: stable at any step count, on every model."),
    ]


class RFInversionForwardSamplerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_RFInversionForwardSampler",
            display_name="RF-Inversion Forward Sampler",
            category=CATEGORY,
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
            category=CATEGORY,
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
        check_choice(eta_trend, ETA_TRENDS, "eta_trend")
        return io.NodeOutput(RFInversionReverseSampler(source["samples"], eta, eta_start, eta_stop, eta_trend,
                                                       stochastic, seed))


def inversion_conditioning(target):
    """The paper's inversion prompt: empty (zeroed) with the Flux guidance embedding at 0."""
    return [[tensor, {**extras, "guidance": 0.0}] for tensor, extras in adapter.zeroed_conditioning(target)]


class RFInversionEditNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_RFInversionEdit",
            display_name="RF-Inversion Edit",
            category=CATEGORY,
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
                cfg_input("cfg", 1.0, "CFG of the target (1 for Flux, which uses FluxGuidance; 4-7 for SD)."),
                scheduler_input(),
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
        check_choice(preset, ["custom", *PRESETS], "preset")
        check_choice(eta_trend, ETA_TRENDS, "eta_trend")
        if preset != "custom":
            start, stop, eta = PRESETS[preset]
            start_step = eta_start = round(start * steps / PAPER_STEPS)
            eta_stop = max(round(stop * steps / PAPER_STEPS), start_step + 1)  # keep at least one window step
        if not 0 <= start_step < steps:
            raise InputError(f"start_step: must lie in [0, {steps - 1}] for {steps} steps, got {start_step}")
        sigmas = adapter.scheduler_sigmas(model, scheduler, steps)
        samples = adapter.model_latent(model, latent)
        mask = adapter.noise_mask(latent, samples)
        forward = adapter.positive_guider(model, inversion if inversion is not None else inversion_conditioning(target))
        reverse = adapter.cfg_guider(model, target, negative, cfg)
        inversion_progress, edit_progress = adapter.progress(model, steps - start_step, steps - start_step)
        inverted = adapter.run_sampler(forward, RFInversionForwardSampler(gamma, seed), sigmas[start_step:], samples,
                                       seed=seed, callback=inversion_progress)
        reverse_sampler = RFInversionReverseSampler(samples, eta, eta_start, eta_stop, eta_trend, stochastic, seed,
                                                    skipped_sigmas=sigmas[:start_step])
        edited = adapter.run_sampler(reverse, reverse_sampler, sigmas[start_step:], inverted, seed=seed,
                                     denoise_mask=mask, callback=edit_progress, source=samples)
        return io.NodeOutput(adapter.latent_with(latent, edited),
                             adapter.latent_with(latent, inverted, keep_mask=False))


NODES = [RFInversionForwardSamplerNode, RFInversionReverseSamplerNode, RFInversionEditNode]
