"""Cycle-SDE nodes: invert a latent into a trajectory, replay it with any guider, or do both in one node."""
from __future__ import annotations

import comfy.samplers
import torch
from comfy_api.latest import io

from ..samplers import cycle_sde_invert, cycle_sde_replay
from ..samplers.validation import InputError, check_sigmas
from . import comfy_adapter as adapter

Trajectory = io.Custom("SDE_TRAJECTORY")

STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
ETA_TOOLTIP = ("Noise per step: 1 = DDPM posterior (the paper's SDE, best edits), 0 = deterministic DDIM "
               "(the ODE baseline, not exact). Reconstruction is exact for any eta > 0.")


class CycleSDEInversionSampler(comfy.samplers.Sampler):
    """Records the forward chain of the guider's latent and the reverse means under the guider.

    Run through ``guider.sample`` so that model loading, conditioning, ControlNets and patches are set
    up by ComfyUI; the result is left in ``self.trajectory``, the return value is the start state.
    """

    def __init__(self, seed: int, eta: float, storage_dtype: torch.dtype):
        self.seed, self.eta, self.storage_dtype = seed, eta, storage_dtype
        self.trajectory = None

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        param = adapter.parameterization_of(model_wrap.inner_model.model_sampling)
        self.trajectory = cycle_sde_invert(
            adapter.guider_denoiser(model_wrap, extra_args), latent_image, sigmas, param, eta=self.eta,
            seed=self.seed, storage_dtype=self.storage_dtype,
            callback=adapter.step_callback(callback, len(sigmas) - 1))
        return self.trajectory.start_state(latent_image.device, latent_image.dtype)


class CycleSDEReplaySampler(comfy.samplers.Sampler):
    """Replays a trajectory under whatever guider SamplerCustomAdvanced hands it (Eq. 6 + Eq. 8 noise).

    The incoming noise is ignored; the latent's ``noise_mask`` (1 = editable) pins the rest of the
    image to the recorded trajectory; ``start_latent`` replaces the recorded start state.
    """

    def __init__(self, trajectory, start_latent: torch.Tensor | None = None):
        self.trajectory, self.start_latent = trajectory, start_latent

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        trajectory = self.trajectory
        trajectory.check_compatible(sigmas, latent_image.shape)
        adapter.check_model_type(model_wrap, trajectory.parameterization)
        x_start = None
        if self.start_latent is not None:
            x_start = self.edited_start(model_wrap.inner_model, latent_image)
        mask = adapter.plain_mask(denoise_mask, extra_args)
        x = cycle_sde_replay(adapter.guider_denoiser(model_wrap, extra_args), trajectory, x_start=x_start,
                             mask=mask, device=latent_image.device, dtype=latent_image.dtype,
                             callback=adapter.step_callback(callback, len(sigmas) - 1))
        return model_wrap.inner_model.model_sampling.inverse_noise_scaling(sigmas[-1], x)

    def edited_start(self, model, latent_image):
        """The start state as the recorded one plus the edit made to Cycle-SDE Invert's noisy_latent.

        Taking the difference in the LATENT's scale keeps an unmodified noisy_latent bit-exact (its
        scale round trip would otherwise add rounding that the reverse dynamics amplify).
        """
        recorded = self.trajectory.start_state(latent_image.device, latent_image.dtype)
        as_output = model.process_latent_out(recorded)
        edit = model.process_latent_in(self.start_latent.to(latent_image)) - model.process_latent_in(as_output)
        return recorded + edit


def invert(guider, sigmas, latent: dict, seed: int, eta: float, storage_dtype=torch.float32, callback=None):
    """Run the inversion sampler through ``guider.sample``; returns (trajectory, start state in LATENT scale)."""
    model = guider.model_patcher
    samples = adapter.model_latent(model, latent)
    check_sigmas(sigmas, adapter.parameterization_of(model.get_model_object("model_sampling")))
    sampler = CycleSDEInversionSampler(seed, eta, storage_dtype)
    start = adapter.run_sampler(guider, sampler, sigmas, samples, callback=callback, seed=seed)
    return sampler.trajectory, start


def replay(guider, sigmas, latent: dict, trajectory, start_latent=None, callback=None) -> dict:
    """Run the replay sampler through ``guider.sample`` with the latent's noise mask; returns a LATENT."""
    samples = adapter.model_latent(guider.model_patcher, latent)
    sampler = CycleSDEReplaySampler(trajectory, start_latent)
    out = adapter.run_sampler(guider, sampler, sigmas, samples, denoise_mask=latent.get("noise_mask"),
                              callback=callback, seed=trajectory.seed)
    return adapter.latent_with(latent, out)


class CycleSDEInvert(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_CycleSDEInvert",
            display_name="Cycle-SDE Invert",
            category="sampling/sde_edit",
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
                io.Int.Input("seed", default=0, min=0, max=0xffffffffffffffff, control_after_generate=True,
                             tooltip="Seed of the forward noising chain."),
                io.Float.Input("eta", default=1.0, min=0.0, max=1.0, step=0.01, tooltip=ETA_TOOLTIP),
                io.Combo.Input("storage_dtype", options=list(STORAGE_DTYPES), default="float32",
                               tooltip="Precision of the stored trajectory (kept on the CPU). Reconstruction "
                                       "is exact with float32; half precision halves the memory."),
            ],
            outputs=[
                Trajectory.Output(display_name="trajectory"),
                io.Latent.Output(display_name="noisy_latent",
                                 tooltip="The recorded state at the first sigma; edit it and feed it to "
                                         "Cycle-SDE Sampler's start_latent."),
            ],
        )

    @classmethod
    def execute(cls, guider, sigmas, latent, seed, eta, storage_dtype) -> io.NodeOutput:
        callback = adapter.progress_callback(guider.model_patcher, len(sigmas) - 1)
        trajectory, start = invert(guider, sigmas, latent, seed, eta, STORAGE_DTYPES[storage_dtype], callback)
        return io.NodeOutput(trajectory, adapter.latent_with(latent, start, keep_mask=False))


class CycleSDESampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_CycleSDESampler",
            display_name="Cycle-SDE Sampler",
            category="sampling/sde_edit",
            description="SAMPLER for SamplerCustomAdvanced that replays a Cycle-SDE trajectory with the "
                        "guider given there (target prompt, LoRA, ControlNet, ...). Use the inversion's "
                        "SIGMAS and source latent; the NOISE input is ignored (DisableNoise is fine). A "
                        "noise_mask on the latent (1 = editable) keeps the rest exactly as the source.",
            inputs=[
                Trajectory.Input("trajectory", tooltip="From Cycle-SDE Invert."),
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


class CycleSDEEdit(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_CycleSDEEdit",
            display_name="Cycle-SDE Edit",
            category="sampling/sde_edit",
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
                io.Float.Input("cfg", default=7.5, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="Guidance for both prompts (1 for Flux, which uses FluxGuidance)."),
                io.Combo.Input("scheduler", options=list(comfy.samplers.SCHEDULER_NAMES), default="simple"),
                io.Int.Input("seed", default=0, min=0, max=0xffffffffffffffff, control_after_generate=True),
                io.Float.Input("eta", default=1.0, min=0.0, max=1.0, step=0.01, tooltip=ETA_TOOLTIP),
                io.Conditioning.Input("negative", optional=True,
                                      tooltip="Negative prompt for both branches; default: an empty (zeroed) "
                                              "conditioning."),
            ],
            outputs=[io.Latent.Output(display_name="latent"), Trajectory.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, model, source, target, latent, steps, t0, cfg, scheduler, seed, eta,
                negative=None) -> io.NodeOutput:
        sigmas = adapter.schedule(model, scheduler, steps, t0)
        negative = negative if negative is not None else adapter.zeroed_conditioning(source)
        guiders = []
        for positive in (source, target):
            guider = comfy.samplers.CFGGuider(model)
            guider.set_conds(positive, negative)
            guider.set_cfg(cfg)
            guiders.append(guider)
        progress = adapter.progress_callback(model, 2 * steps)

        def first_half(step, x0, x, total):
            progress(step, x0, x, 2 * steps)

        def second_half(step, x0, x, total):
            progress(steps + step, x0, x, 2 * steps)

        trajectory, _ = invert(guiders[0], sigmas, latent, seed, eta, callback=first_half)
        edited = replay(guiders[1], sigmas, latent, trajectory, callback=second_half)
        return io.NodeOutput(edited, trajectory)


NODES = [CycleSDEInvert, CycleSDESampler, CycleSDEEdit]
