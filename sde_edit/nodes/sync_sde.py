"""sync-SDE nodes: source and target prompts on one Brownian path (a guider, a sampler, an all-in-one edit)."""
from __future__ import annotations

from comfy_api.latest import io

from ..samplers.sync_sde import DISCRETISATIONS, sync_sde
from ..samplers.validation import InputError, check_choice
from . import comfy_adapter as adapter
from .inputs import CATEGORY, cfg_input, scheduler_input, seed_input

DISCRETISATION_TOOLTIP = ("ddpm: the DDPM-posterior step of Cycle-SDE, for every model. rectified: the rectified-"
                          "flow SDE of the official release, for flow models (Flux, SD3), stepped exactly instead "
                          "of by Euler; it then gives ddpm's result up to rounding.")
SEED_TOOLTIP = "Seed of the shared Brownian path."


class SyncSDESampler(adapter.PackSampler):
    """Runs sync-SDE with the sync-SDE Guider over the sigmas it is given (start level -> 0); 2 calls per step."""

    def __init__(self, discretisation: str, seed: int):
        self.discretisation, self.seed = discretisation, seed

    def run(self, call):
        return sync_sde(call.source_denoiser(), call.denoiser, call.latent, call.sigmas,
                        call.param, discretisation=self.discretisation, seed=self.seed, mask=call.mask,
                        callback=call.core_callback)


def branch_cfg_input(name, tooltip):
    return cfg_input(name, 4.0, tooltip)


class SyncSDEGuiderNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SyncSDEGuider",
            display_name="sync-SDE Guider",
            category=CATEGORY,
            description="GUIDER holding the source and the target prompt, each with its own negative and CFG "
                        "(true CFG: a negative prompt takes effect when its CFG is not 1). Use it with "
                        "sync-SDE Sampler in SamplerCustomAdvanced. ControlNets, hooks and patches apply to "
                        "both branches.",
            inputs=[
                io.Model.Input("model"),
                io.Conditioning.Input("source", tooltip="Prompt describing the input image."),
                io.Conditioning.Input("target", tooltip="Prompt describing the wanted image."),
                branch_cfg_input("source_cfg", "CFG of the source branch (1 for Flux: guidance lives in FluxGuidance)."),
                branch_cfg_input("target_cfg", "CFG of the target branch; raise it when the edit shows no effect."),
                io.Conditioning.Input("source_negative", optional=True, tooltip="Default: empty (zeroed)."),
                io.Conditioning.Input("target_negative", optional=True,
                                      tooltip="What to remove in the edit; needs target_cfg != 1. Default: empty."),
            ],
            outputs=[io.Guider.Output()],
        )

    @classmethod
    def execute(cls, model, source, target, source_cfg, target_cfg, source_negative=None,
                target_negative=None) -> io.NodeOutput:
        return io.NodeOutput(adapter.TwoBranchGuider(model, source, source_negative, source_cfg, target,
                                                     target_negative, target_cfg))


class SyncSDESamplerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SyncSDESampler",
            display_name="sync-SDE Sampler",
            category=CATEGORY,
            description="SAMPLER for SamplerCustomAdvanced: sync-SDE editing (Zhang & Scott 2509.24223), the "
                        "source and target reverse SDEs driven by one Brownian path; no inversion pass. Needs "
                        "the sync-SDE Guider, the source latent, and sigmas that start at the edit strength "
                        "(SplitSigmas). The NOISE input is ignored. With a noise_mask only the masked area "
                        "changes. Same prompts return the source exactly.",
            inputs=[
                io.Combo.Input("discretisation", options=list(DISCRETISATIONS), default="ddpm",
                               tooltip=DISCRETISATION_TOOLTIP),
                seed_input(SEED_TOOLTIP),
            ],
            outputs=[io.Sampler.Output()],
        )

    @classmethod
    def execute(cls, discretisation, seed) -> io.NodeOutput:
        check_choice(discretisation, DISCRETISATIONS, "discretisation")
        return io.NodeOutput(SyncSDESampler(discretisation, seed))


class SyncSDEEditNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SyncSDEEdit",
            display_name="sync-SDE Edit",
            category=CATEGORY,
            description="Edit a latent from a source prompt to a target prompt with sync-SDE (Zhang & Scott "
                        "2509.24223): both prompts' reverse SDEs share one Brownian path, so only the "
                        "prompt-dependent drift differs. 2 model calls per step, no inversion.",
            inputs=[
                io.Model.Input("model"),
                io.Conditioning.Input("source", tooltip="Prompt describing the input image."),
                io.Conditioning.Input("target", tooltip="Prompt describing the wanted image."),
                io.Latent.Input("latent", tooltip="Source latent; a noise_mask limits the edit."),
                io.Int.Input("steps", default=28, min=2, max=1000, tooltip="Steps of the full schedule."),
                io.Int.Input("start_step", default=4, min=0, max=999,
                             tooltip="Steps skipped at the noisy end (official: 4 of 28, sigma ~0.95 for Flux at "
                                     "1024px). Smaller: bigger structural edits; larger: closer to the source."),
                branch_cfg_input("source_cfg", "CFG of the source branch (1 for Flux)."),
                branch_cfg_input("target_cfg", "CFG of the target branch (1 for Flux; raise it for a stronger edit)."),
                scheduler_input(),
                io.Combo.Input("discretisation", options=list(DISCRETISATIONS), default="ddpm",
                               tooltip=DISCRETISATION_TOOLTIP),
                seed_input(SEED_TOOLTIP),
                io.Conditioning.Input("source_negative", optional=True),
                io.Conditioning.Input("target_negative", optional=True,
                                      tooltip="What to remove; takes effect when target_cfg != 1."),
            ],
            outputs=[io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def execute(cls, model, source, target, latent, steps, start_step, source_cfg, target_cfg, scheduler,
                discretisation, seed, source_negative=None, target_negative=None) -> io.NodeOutput:
        check_choice(discretisation, DISCRETISATIONS, "discretisation")
        if not 0 <= start_step < steps:
            raise InputError(f"start_step: must lie in [0, {steps - 1}] for {steps} steps, got {start_step}")
        sigmas = adapter.scheduler_sigmas(model, scheduler, steps)[start_step:]
        guider = adapter.TwoBranchGuider(model, source, source_negative, source_cfg, target, target_negative,
                                         target_cfg)
        samples = adapter.model_latent(model, latent)
        (callback,) = adapter.progress(model, len(sigmas) - 1)
        out = adapter.run_sampler(guider, SyncSDESampler(discretisation, seed), sigmas, samples, seed=seed,
                                  denoise_mask=adapter.noise_mask(latent, samples), callback=callback)
        return io.NodeOutput(adapter.latent_with(latent, out))


NODES = [SyncSDEGuiderNode, SyncSDESamplerNode, SyncSDEEditNode]
