"""Cycle-SDE nodes: invert a latent into a trajectory, replay it with any guider, or do both in one node."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from ..samplers.cycle_sde import cycle_sde_invert, cycle_sde_replay
from ..samplers.validation import InputError, check_choice
from . import comfy_adapter as adapter
from .inputs import CATEGORY, cfg_input, eta_input, scheduler_input, seed_input

TRAJECTORY_SOCKET = io.Custom("SDE_TRAJECTORY")  # carries a samplers.cycle_sde.Trajectory

STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
ETA_TOOLTIP = ("Noise per step: 1 = DDPM posterior (the paper's SDE, best edits), 0 = deterministic DDIM "
               "(the ODE baseline, not exact). Reconstruction is exact for any eta > 0.")
SEED_TOOLTIP = "Seed of the forward noising chain."


class CycleSDEInversionSampler(adapter.PackSampler):
    """Records the forward chain of the guider's latent and the reverse means under the guider (Eqs. 7-8).

    Run through ``guider.sample`` so that model loading, conditioning, ControlNets and patches are set up by
    ComfyUI; the trajectory is left in ``self.trajectory``, the result is the recorded start state.
    """

    ends_at_last_sigma = False

    def __init__(self, seed: int, eta: float, storage_dtype: torch.dtype):
        self.seed, self.eta, self.storage_dtype, self.trajectory = seed, eta, storage_dtype, None

    def run(self, call):
        self.trajectory = cycle_sde_invert(call.denoiser, call.latent, call.sigmas, call.param, eta=self.eta,
                                           seed=self.seed, storage_dtype=self.storage_dtype, callback=call.core_callback)
        return self.trajectory.start_state(call.latent.device, call.latent.dtype)


class CycleSDEReplaySampler(adapter.PackSampler):
    """Replays a trajectory under whatever guider SamplerCustomAdvanced hands it (Eq. 6 with the noise of Eq. 8).

    The latent's ``noise_mask`` (1 = editable) pins the rest to the recorded trajectory; ``start_latent``
    (LATENT space) replaces the recorded start state by the edit made to it.
    """

    def __init__(self, trajectory, start_latent: torch.Tensor | None = None):
        self.trajectory, self.start_latent = trajectory, start_latent

    def check(self, call):
        self.trajectory.check_compatible(call.sigmas, call.latent.shape)
        call.require(self.trajectory.parameterization, "the trajectory was recorded with")

    def run(self, call):
        trajectory, x_start = self.trajectory, None
        if self.start_latent is not None:
            x_start = call.with_latent_edit(trajectory.start_state(call.latent.device, call.latent.dtype),
                                            self.start_latent)
        return cycle_sde_replay(call.denoiser, trajectory, x_start=x_start, mask=call.mask,
                                device=call.latent.device, dtype=call.latent.dtype, callback=call.core_callback)


def invert(guider, sigmas, latent: dict, seed: int, eta: float, storage_dtype=torch.float32, callback=None):
    """Run the inversion sampler through ``guider.sample``; returns (trajectory, start state in LATENT scale)."""
    sampler = CycleSDEInversionSampler(seed, eta, storage_dtype)
    samples = adapter.model_latent(adapter.guider_model(guider), latent)
    start = adapter.run_sampler(guider, sampler, sigmas, samples, callback=callback, seed=seed)
    return sampler.trajectory, start


def replay(guider, sigmas, latent: dict, trajectory, callback=None) -> dict:
    """Run the replay sampler through ``guider.sample`` with the latent's noise mask; returns a LATENT."""
    samples = adapter.model_latent(adapter.guider_model(guider), latent)
    out = adapter.run_sampler(guider, CycleSDEReplaySampler(trajectory), sigmas, samples, callback=callback,
                              denoise_mask=adapter.noise_mask(latent, samples), seed=trajectory.seed)
    return adapter.latent_with(latent, out)


class CycleSDEInvertNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_CycleSDEInvert",
            display_name="Cycle-SDE Invert",
            category=CATEGORY,
            description="Invert a latent for exact SDE reconstruction (Nie et al. 2311.01410, Eqs. 7-8): records "
                        "a seeded forward noising chain and the source guider's step means. Replay the "
                        "trajectory with Cycle-SDE Sampler and any target guider; changing only the target "
                        "does not re-run this node.",
            inputs=[
                io.Guider.Input("guider", tooltip="Source guider: the prompt and CFG that describe the input "
                                                  "image (e.g. CFGGuider)."),
                io.Sigmas.Input("sigmas", tooltip="Schedule to invert over, high noise first (BasicScheduler; "
                                                  "its denoise is the edit strength t0). Use the same SIGMAS "
                                                  "for the replay."),
                io.Latent.Input("latent", tooltip="The source latent (VAE Encode)."),
                seed_input(SEED_TOOLTIP),
                eta_input(1.0, ETA_TOOLTIP),
                io.Combo.Input("storage_dtype", options=list(STORAGE_DTYPES), default="float32",
                               tooltip="Precision of the stored trajectory (kept on the CPU). Reconstruction "
                                       "is exact with float32; half precision halves the memory."),
            ],
            outputs=[
                TRAJECTORY_SOCKET.Output(display_name="trajectory"),
                io.Latent.Output(display_name="noisy_latent",
                                 tooltip="The recorded state at the first sigma; edit it and feed it to "
                                         "Cycle-SDE Sampler's start_latent."),
            ],
        )

    @classmethod
    def execute(cls, guider, sigmas, latent, seed, eta, storage_dtype) -> io.NodeOutput:
        check_choice(storage_dtype, STORAGE_DTYPES, "storage_dtype")
        (callback,) = adapter.progress(adapter.guider_model(guider), len(sigmas) - 1)
        trajectory, start = invert(guider, sigmas, latent, seed, eta, STORAGE_DTYPES[storage_dtype], callback)
        return io.NodeOutput(trajectory, adapter.latent_with(latent, start, keep_mask=False))


class CycleSDESamplerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_CycleSDESampler",
            display_name="Cycle-SDE Sampler",
            category=CATEGORY,
            description="SAMPLER for SamplerCustomAdvanced that replays a Cycle-SDE trajectory with the "
                        "guider given there (target prompt, LoRA, ControlNet, ...). Use the inversion's "
                        "SIGMAS and source latent; the NOISE input is ignored (DisableNoise is fine). A "
                        "noise_mask on the latent (1 = editable) keeps the rest exactly as the source.",
            inputs=[
                TRAJECTORY_SOCKET.Input("trajectory", tooltip="From Cycle-SDE Invert."),
                io.Latent.Input("start_latent", optional=True,
                                tooltip="Optional edited start state (Cycle-SDE Invert's noisy_latent after "
                                        "a latent edit). Default: the recorded start."),
            ],
            outputs=[io.Sampler.Output()],
        )

    @classmethod
    def execute(cls, trajectory, start_latent=None) -> io.NodeOutput:
        start = None if start_latent is None else start_latent["samples"]
        if start is not None and tuple(start.shape) != tuple(trajectory.latent_shape):
            raise InputError(f"start_latent: shape {tuple(start.shape)} differs from the trajectory's "
                             f"{tuple(trajectory.latent_shape)}")
        return io.NodeOutput(CycleSDEReplaySampler(trajectory, start))


class CycleSDEEditNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_CycleSDEEdit",
            display_name="Cycle-SDE Edit",
            category=CATEGORY,
            description="Edit a latent from a source prompt to a target prompt with Cycle-SDE: invert under "
                        "the source, replay under the target. Same source and target reproduce the input "
                        "exactly. For repeated edits of one image use Cycle-SDE Invert + Cycle-SDE Sampler, "
                        "which invert once.",
            inputs=[
                io.Model.Input("model"),
                io.Conditioning.Input("source", tooltip="Prompt describing the input image."),
                io.Conditioning.Input("target", tooltip="Prompt describing the wanted image."),
                io.Latent.Input("latent", tooltip="Source latent; a noise_mask (Set Latent Noise Mask) "
                                                  "limits the edit to the masked area."),
                io.Int.Input("steps", default=35, min=1, max=1000,
                             tooltip="Steps actually run from t0 to 0 (as KSampler's steps with denoise)."),
                io.Float.Input("t0", default=0.7, min=0.01, max=1.0, step=0.01,
                               tooltip="Edit strength: the fraction of the schedule that is re-noised. Raise "
                                       "it when the edit shows no effect; lower it to stay closer to the input."),
                cfg_input("cfg", 7.5, "Guidance for both prompts (1 for Flux, which uses FluxGuidance)."),
                scheduler_input(),
                seed_input(SEED_TOOLTIP),
                eta_input(1.0, ETA_TOOLTIP),
                io.Conditioning.Input("negative", optional=True,
                                      tooltip="Negative prompt for both branches; default: an empty (zeroed) "
                                              "conditioning."),
            ],
            outputs=[io.Latent.Output(display_name="latent"), TRAJECTORY_SOCKET.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, model, source, target, latent, steps, t0, cfg, scheduler, seed, eta,
                negative=None) -> io.NodeOutput:
        sigmas = adapter.scheduler_sigmas(model, scheduler, steps, t0)
        adapter.noise_mask(latent, adapter.model_latent(model, latent))
        negative = negative if negative is not None else adapter.zeroed_conditioning(source)
        inversion, edit = adapter.progress(model, steps, steps)
        trajectory, _ = invert(adapter.cfg_guider(model, source, negative, cfg), sigmas, latent, seed, eta,
                               callback=inversion)
        edited = replay(adapter.cfg_guider(model, target, negative, cfg), sigmas, latent, trajectory, edit)
        return io.NodeOutput(edited, trajectory)


NODES = [CycleSDEInvertNode, CycleSDESamplerNode, CycleSDEEditNode]
