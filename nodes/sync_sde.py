"""sync-SDE nodes (source and target prompts on one Brownian path) and the SDE inpainting sampler."""
from __future__ import annotations

import comfy.samplers
from comfy_api.latest import io

from ..samplers.sde_inpaint import sde_inpaint
from ..samplers.sync_sde import DISCRETISATIONS, sync_sde
from ..samplers.validation import InputError
from . import comfy_adapter as adapter

DISCRETISATION_TOOLTIP = ("ddpm: the DDPM-posterior step of Cycle-SDE, for every model. rectified: the rectified-"
                          "flow SDE with Euler-Maruyama of the official release, for flow models (Flux, SD3).")


class SyncSDEGuider(comfy.samplers.CFGGuider):
    """A CFGGuider with a second, source, branch: each branch has its own positive, negative and CFG.

    Called like any guider it predicts the target (so stock samplers sample the target prompt);
    ``predict_source`` runs the source branch through the same wrappers, ControlNets, hooks and patches.
    """

    def set_branches(self, source_positive, source_negative, source_cfg, target_positive, target_negative,
                     target_cfg):
        self.inner_set_conds({"positive": target_positive, "negative": target_negative,
                              "source_positive": source_positive, "source_negative": source_negative})
        self.cfg, self.source_cfg, self.branch = target_cfg, source_cfg, "target"

    def predict_noise(self, x, timestep, model_options={}, seed=None):
        if self.branch == "target":
            return super().predict_noise(x, timestep, model_options, seed)
        return comfy.samplers.sampling_function(self.inner_model, x, timestep, self.conds.get("source_negative"),
                                                self.conds.get("source_positive"), self.source_cfg,
                                                model_options=model_options, seed=seed)

    def predict_source(self, x, timestep, model_options={}, seed=None):
        self.branch = "source"
        try:
            return self(x, timestep, model_options=model_options, seed=seed)
        finally:
            self.branch = "target"


def make_sync_guider(model, source, source_negative, source_cfg, target, target_negative, target_cfg):
    guider = SyncSDEGuider(model)
    guider.set_branches(source, source_negative if source_negative is not None else adapter.zeroed_conditioning(source),
                        source_cfg, target, target_negative if target_negative is not None else
                        adapter.zeroed_conditioning(target), target_cfg)
    return guider


class SyncSDESampler(comfy.samplers.Sampler):
    """Runs sync-SDE with a SyncSDEGuider over the sigmas it is given (start level -> 0); 2 calls per step."""

    def __init__(self, discretisation: str, seed: int):
        self.discretisation, self.seed = discretisation, seed

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        if not isinstance(model_wrap, SyncSDEGuider):
            raise InputError("guider: the sync-SDE sampler needs the sync-SDE Guider (it holds the source and "
                             f"the target prompt), got {type(model_wrap).__name__}")
        options, seed = extra_args.get("model_options", {}), extra_args.get("seed")

        def source(x, sigma):
            return model_wrap.predict_source(x, sigma, model_options=options, seed=seed)

        x = sync_sde(source, adapter.guider_denoiser(model_wrap, extra_args), latent_image, sigmas,
                     adapter.parameterization_of(model_wrap.inner_model.model_sampling),
                     discretisation=self.discretisation, seed=self.seed,
                     mask=adapter.plain_mask(denoise_mask, extra_args),
                     callback=adapter.step_callback(callback, len(sigmas) - 1))
        return model_wrap.inner_model.model_sampling.inverse_noise_scaling(sigmas[-1], x)


class SDEInpaintSampler(comfy.samplers.Sampler):
    """Inpainting with DDPM (eta 1) or DDIM (eta 0) steps; the unmasked region follows the noised source."""

    def __init__(self, eta: float, seed: int):
        self.eta, self.seed = eta, seed

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        if denoise_mask is None:
            raise InputError("latent: the SDE inpainting sampler needs a noise_mask on the latent (Set Latent "
                             "Noise Mask, or VAE Encode (for Inpainting)); 1 = area to fill")
        x = sde_inpaint(adapter.guider_denoiser(model_wrap, extra_args), latent_image, sigmas,
                        adapter.parameterization_of(model_wrap.inner_model.model_sampling),
                        adapter.plain_mask(denoise_mask, extra_args),
                        eta=self.eta, seed=self.seed, callback=adapter.step_callback(callback, len(sigmas) - 1))
        return model_wrap.inner_model.model_sampling.inverse_noise_scaling(sigmas[-1], x)


def cfg_input(name, tooltip):
    return io.Float.Input(name, default=4.0, min=0.0, max=100.0, step=0.1, round=0.01, tooltip=tooltip)


class SyncSDEGuiderNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SyncSDEGuider",
            display_name="sync-SDE Guider",
            category="sampling/sde_edit",
            description="GUIDER holding the source and the target prompt, each with its own negative and CFG "
                        "(true CFG: a negative prompt takes effect when its CFG is not 1). Use it with "
                        "sync-SDE Sampler in SamplerCustomAdvanced. ControlNets, hooks and patches apply to "
                        "both branches.",
            inputs=[
                io.Model.Input("model"),
                io.Conditioning.Input("source", tooltip="Prompt describing the input image."),
                io.Conditioning.Input("target", tooltip="Prompt describing the wanted image."),
                cfg_input("source_cfg", "CFG of the source branch (1 for Flux: guidance lives in FluxGuidance)."),
                cfg_input("target_cfg", "CFG of the target branch; raise it when the edit shows no effect."),
                io.Conditioning.Input("source_negative", optional=True, tooltip="Default: empty (zeroed)."),
                io.Conditioning.Input("target_negative", optional=True,
                                      tooltip="What to remove in the edit; needs target_cfg != 1. Default: empty."),
            ],
            outputs=[io.Guider.Output()],
        )

    @classmethod
    def execute(cls, model, source, target, source_cfg, target_cfg, source_negative=None,
                target_negative=None) -> io.NodeOutput:
        return io.NodeOutput(make_sync_guider(model, source, source_negative, source_cfg, target, target_negative,
                                              target_cfg))


class SyncSDESamplerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SyncSDESampler",
            display_name="sync-SDE Sampler",
            category="sampling/sde_edit",
            description="SAMPLER for SamplerCustomAdvanced: sync-SDE editing (Zhang & Scott 2509.24223), the "
                        "source and target reverse SDEs driven by one Brownian path; no inversion pass. Needs "
                        "the sync-SDE Guider, the source latent, and sigmas that start at the edit strength "
                        "(SplitSigmas). The NOISE input is ignored. With a noise_mask only the masked area "
                        "changes. Same prompts return the source exactly.",
            inputs=[
                io.Combo.Input("discretisation", options=list(DISCRETISATIONS), default="ddpm",
                               tooltip=DISCRETISATION_TOOLTIP),
                io.Int.Input("seed", default=0, min=0, max=0xffffffffffffffff, control_after_generate=True,
                             tooltip="Seed of the shared Brownian path."),
            ],
            outputs=[io.Sampler.Output()],
        )

    @classmethod
    def execute(cls, discretisation, seed) -> io.NodeOutput:
        return io.NodeOutput(SyncSDESampler(discretisation, seed))


class SyncSDEEdit(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SyncSDEEdit",
            display_name="sync-SDE Edit",
            category="sampling/sde_edit",
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
                cfg_input("source_cfg", "CFG of the source branch (1 for Flux)."),
                cfg_input("target_cfg", "CFG of the target branch (1 for Flux; raise it for a stronger edit)."),
                io.Combo.Input("scheduler", options=list(comfy.samplers.SCHEDULER_NAMES), default="simple"),
                io.Combo.Input("discretisation", options=list(DISCRETISATIONS), default="ddpm",
                               tooltip=DISCRETISATION_TOOLTIP),
                io.Int.Input("seed", default=0, min=0, max=0xffffffffffffffff, control_after_generate=True),
                io.Conditioning.Input("source_negative", optional=True),
                io.Conditioning.Input("target_negative", optional=True,
                                      tooltip="What to remove; takes effect when target_cfg != 1."),
            ],
            outputs=[io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def execute(cls, model, source, target, latent, steps, start_step, source_cfg, target_cfg, scheduler,
                discretisation, seed, source_negative=None, target_negative=None) -> io.NodeOutput:
        if not 0 <= start_step < steps:
            raise InputError(f"start_step: must lie in [0, {steps - 1}] for {steps} steps, got {start_step}")
        sigmas = adapter.schedule(model, scheduler, steps, 1.0)[start_step:]
        guider = make_sync_guider(model, source, source_negative, source_cfg, target, target_negative, target_cfg)
        samples = adapter.model_latent(model, latent)
        out = adapter.run_sampler(guider, SyncSDESampler(discretisation, seed), sigmas, samples, seed=seed,
                                  denoise_mask=latent.get("noise_mask"),
                                  callback=adapter.progress_callback(model, len(sigmas) - 1))
        return io.NodeOutput(adapter.latent_with(latent, out))


class SDEInpaintSamplerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SDEInpaintSampler",
            display_name="SDE Inpaint Sampler",
            category="sampling/sde_edit",
            description="SAMPLER for SamplerCustomAdvanced: inpainting with DDPM steps (SDE, eta 1) or DDIM "
                        "steps (ODE, eta 0) at the same step count (Nie et al. 2311.01410, Table 2: SDE wins). "
                        "The latent needs a noise_mask (1 = fill); the rest follows the noised source. Any "
                        "guider works (a plain 4-channel model, no inpainting checkpoint needed).",
            inputs=[
                io.Float.Input("eta", default=1.0, min=0.0, max=1.0, step=0.01,
                               tooltip="1 = SDE (DDPM), 0 = ODE (DDIM) for comparison."),
                io.Int.Input("seed", default=0, min=0, max=0xffffffffffffffff, control_after_generate=True),
            ],
            outputs=[io.Sampler.Output()],
        )

    @classmethod
    def execute(cls, eta, seed) -> io.NodeOutput:
        return io.NodeOutput(SDEInpaintSampler(eta, seed))


NODES = [SyncSDEGuiderNode, SyncSDESamplerNode, SyncSDEEdit, SDEInpaintSamplerNode]
