"""Stand-ins that route an example workflow through the pack's learned EPS model (``python -m tools.thumbnails``).

Loaded only by the thumbnail tool's ComfyUI server (linked into its ``custom_nodes``), never by the pack. The
learned model of ``bench.learned_world`` is registered as a ComfyUI MODEL by the tier's
``comfy_harness.learned_model("eps")`` (EPS on SD1.x's schedule, the image itself as its 3-channel latent), so:

* ``SDEEditThumbnail_LearnedCheckpoint`` stands in for CheckpointLoaderSimple: that MODEL, no CLIP, and a VAE
  whose latent is the image in [-1, 1] (``PixelVAE``);
* ``SDEEditThumbnail_LearnedConditioning`` stands in for CLIPTextEncode: the CONDITIONING that selects one label
  of the learned world (-1: the empty prompt).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
for _path in (str(REPO_ROOT), str(REPO_ROOT / "tests")):  # bench.learned_models, comfy_harness
    if _path not in sys.path:
        sys.path.insert(0, _path)

import comfy_harness  # noqa: E402  (after the sys.path change)

CATEGORY = "_for_testing/sde_edit_thumbnails"


class PixelVAE:
    """The learned world's VAE: the latent is the RGB image mapped to [-1, 1] (``learned_world.render``)."""

    def encode(self, pixels):
        return pixels[..., :3].movedim(-1, 1) * 2.0 - 1.0

    def decode(self, latent):
        return ((latent + 1.0) / 2.0).clamp(0.0, 1.0).movedim(1, -1)


class LearnedCheckpoint:
    """The learned EPS model with the pixel VAE (stands in for CheckpointLoaderSimple)."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def load(self):
        return comfy_harness.learned_model("eps"), None, PixelVAE()


class LearnedConditioning:
    """The conditioning of one learned-world label, -1 for the empty prompt (stands in for CLIPTextEncode)."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "build"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"label": ("INT", {"default": -1, "min": -1, "max": 10_000})}}

    def build(self, label):
        import torch
        if label < 0:
            return ([[torch.zeros(1, 1, 1), {}]],)  # code 0: the learned model's empty prompt
        return (comfy_harness.learned_conditioning(label),)


NODE_CLASS_MAPPINGS = {"SDEEditThumbnail_LearnedCheckpoint": LearnedCheckpoint,
                       "SDEEditThumbnail_LearnedConditioning": LearnedConditioning}
