"""SDE inpainting node (Nie et al. 2311.01410, Table 2): a SAMPLER for SamplerCustomAdvanced."""
from __future__ import annotations

from comfy_api.latest import io

from ..samplers.sde_inpaint import sde_inpaint
from ..samplers.validation import InputError
from . import comfy_adapter as adapter
from .inputs import CATEGORY, eta_input, seed_input


class SDEInpaintSampler(adapter.PackSampler):
    """Inpainting with DDPM (eta 1) or DDIM (eta 0) steps; the unmasked region follows the noised source."""

    def __init__(self, eta: float, seed: int):
        self.eta, self.seed = eta, seed

    def check(self, call):
        call.require_image_grid("SDE inpainting")
        if call.mask is None:
            raise InputError("latent: the SDE inpainting sampler needs a noise_mask on the latent (Set Latent "
                             "Noise Mask, or VAE Encode (for Inpainting)); 1 = area to fill")

    def run(self, call):
        return sde_inpaint(call.denoiser, call.latent, call.sigmas, call.param, call.mask, eta=self.eta,
                           seed=self.seed, callback=call.core_callback)


class SDEInpaintSamplerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SDEInpaintSampler",
            display_name="SDE Inpaint Sampler",
            category=CATEGORY,
            description="SAMPLER for SamplerCustomAdvanced: inpainting with DDPM steps (SDE, eta 1) or DDIM "
                        "steps (ODE, eta 0) at the same step count (Nie et al. 2311.01410, Table 2: SDE wins). "
                        "The latent needs a noise_mask (1 = fill); the rest follows the noised source. Any "
                        "guider works (a plain 4-channel model, no inpainting checkpoint needed).",
            inputs=[
                eta_input(1.0, "1 = SDE (DDPM), 0 = ODE (DDIM) for comparison."),
                seed_input("Seed of the forward chain of the known region and of the fresh noise per step."),
            ],
            outputs=[io.Sampler.Output()],
        )

    @classmethod
    def execute(cls, eta, seed) -> io.NodeOutput:
        return io.NodeOutput(SDEInpaintSampler(eta, seed))


NODES = [SDEInpaintSamplerNode]
