"""Test-only ComfyUI nodes for the HTTP tests (``tests/test_comfyui_http.py``); never shipped with the pack.

``tests/comfy_server.py`` symlinks this folder into the test server's ``custom_nodes``. The nodes stand in
for what the tests cannot download: a tiny random-weight Flux (checkpoint detection cannot make Flux tiny),
text conditioning without a text encoder, and latents with the scale of real VAE latents. Everything is
seeded, so the same inputs give the same tensors in every process, as in ``tests/comfy_harness.py``.
"""
from __future__ import annotations

import sys
import zlib
from pathlib import Path

import torch

# This folder is reached through a symlink in the server's custom_nodes: resolve it to find tests/.
_TESTS_DIR = str(Path(__file__).resolve().parent.parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

import comfy_harness  # noqa: E402  (after the sys.path change)
from comfy_families import FAMILIES  # noqa: E402

CATEGORY = "_for_testing/sde_edit"


class TinyFluxLoader:
    """A tiny Flux (CONST flow, 16 latent channels, text/pooled dim 32) built in Python."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("MODEL",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"seed": ("INT", {"default": 0, "min": 0, "max": 2**31 - 1})}}

    def load(self, seed):
        return (comfy_harness.tiny_flux_model(seed),)


class Conditioning:
    """Seeded random conditioning ``[[randn(1, tokens, dim), extras]]`` without a text encoder.

    Draw order as in ``comfy_harness.sd2_conditioning`` / ``flux_conditioning``: the token tensor, then
    (if ``pooled_dim`` > 0) ``pooled_output`` = randn(1, pooled_dim). ``guidance`` > 0 is stored as the
    Flux guidance; 0 leaves it out (the SD2 extras are then empty, as in ``sd2_conditioning``).
    """

    CATEGORY = CATEGORY
    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "build"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "dim": ("INT", {"default": 1024, "min": 1, "max": 8192}),
            "tokens": ("INT", {"default": 4, "min": 1, "max": 512}),
            "pooled_dim": ("INT", {"default": 0, "min": 0, "max": 8192}),
            "seed": ("INT", {"default": 0, "min": 0, "max": 2**63 - 1}),
            "guidance": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 100.0, "step": 0.1}),
        }}

    def build(self, dim, tokens, pooled_dim, seed, guidance):
        generator = torch.Generator().manual_seed(seed)
        cond = torch.randn(1, tokens, dim, generator=generator)
        extras = {}
        if pooled_dim > 0:
            extras["pooled_output"] = torch.randn(1, pooled_dim, generator=generator)
        if guidance > 0:
            extras["guidance"] = guidance
        return ([[cond, extras]],)


class RandomLatent:
    """A seeded N(0, 1) LATENT with per-channel offsets: latents with the scale of real VAE latents.

    (The random-weight TAESD encoders of the tiny models give nearly constant latents, ~1 +- 1e-3.)
    """

    CATEGORY = CATEGORY
    RETURN_TYPES = ("LATENT",)
    FUNCTION = "build"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "channels": ("INT", {"default": 4, "min": 1, "max": 128}),
            "height": ("INT", {"default": 8, "min": 1, "max": 1024}),
            "width": ("INT", {"default": 8, "min": 1, "max": 1024}),
            "seed": ("INT", {"default": 0, "min": 0, "max": 2**63 - 1}),
        }}

    def build(self, channels, height, width, seed):
        generator = torch.Generator().manual_seed(seed)
        samples = torch.randn(1, channels, height, width, generator=generator)
        samples += torch.linspace(-0.5, 0.5, channels).view(1, channels, 1, 1)
        return ({"samples": samples},)


class FamilyModel:
    """The tiny random-weight model of one family of ``comfy_families`` (stands in for UNETLoader)."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("MODEL",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"family": (sorted(FAMILIES),)}}

    def load(self, family):
        return (FAMILIES[family].build(),)


class FamilyCheckpoint:
    """A family's tiny model with a VAE file of models/vae (stands in for CheckpointLoaderSimple); no CLIP: the
    test replaces the text encoders by SDEEditTest_FamilyConditioning."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"family": (sorted(FAMILIES),), "vae_name": ("STRING", {"default": ""})}}

    def load(self, family, vae_name):
        import comfy.sd
        import comfy.utils
        import folder_paths
        vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(folder_paths.get_full_path_or_raise("vae", vae_name)))
        return FAMILIES[family].build(), None, vae


class FamilyConditioning:
    """A family's seeded conditioning, of the shapes its text encoder gives (stands in for CLIPTextEncode)."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "build"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"family": (sorted(FAMILIES),),
                             "seed": ("INT", {"default": 0, "min": 0, "max": 2**63 - 1})}}

    def build(self, family, seed):
        return (FAMILIES[family].conditioning(seed),)


class FamilyTextEncoder:
    """What a core text-encoding node calls on its CLIP (``tokenize``, ``encode_from_tokens_scheduled``): the
    family's seeded conditioning, the seed a hash of the text the node tokenized (its template included), so
    different prompts give different conditioning. The images a node hands ``tokenize`` for the vision tower
    (TextEncodeQwenImageEditPlus) are not read."""

    def __init__(self, family: str):
        self.family = family

    def tokenize(self, text, **kwargs):
        return text

    def encode_from_tokens_scheduled(self, text, **kwargs):
        return FAMILIES[self.family].conditioning(zlib.crc32(text.encode()))


class FamilyClip:
    """A CLIP of a family's text encoder (stands in for CLIPLoader where a core node other than CLIPTextEncode
    encodes the prompt, e.g. TextEncodeQwenImageEditPlus): ``FamilyTextEncoder``."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("CLIP",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"family": (sorted(FAMILIES),)}}

    def load(self, family):
        return (FamilyTextEncoder(family),)


NODE_CLASS_MAPPINGS = {
    "SDEEditTest_TinyFluxLoader": TinyFluxLoader,
    "SDEEditTest_Conditioning": Conditioning,
    "SDEEditTest_RandomLatent": RandomLatent,
    "SDEEditTest_FamilyModel": FamilyModel,
    "SDEEditTest_FamilyCheckpoint": FamilyCheckpoint,
    "SDEEditTest_FamilyConditioning": FamilyConditioning,
    "SDEEditTest_FamilyClip": FamilyClip,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "SDEEditTest_TinyFluxLoader": "Tiny Flux Loader (SDE Edit tests)",
    "SDEEditTest_Conditioning": "Random Conditioning (SDE Edit tests)",
    "SDEEditTest_RandomLatent": "Random Latent (SDE Edit tests)",
    "SDEEditTest_FamilyModel": "Tiny Family Model (SDE Edit tests)",
    "SDEEditTest_FamilyCheckpoint": "Tiny Family Checkpoint (SDE Edit tests)",
    "SDEEditTest_FamilyConditioning": "Family Conditioning (SDE Edit tests)",
    "SDEEditTest_FamilyClip": "Family CLIP (SDE Edit tests)",
}
