"""The "next" families: Qwen-Image, Lumina 2 (Lumina Image 2.0), Z-Image and Kandinsky 5 (image).

* Qwen-Image (comfy.ldm.qwen_image, MMDiT, FLUX-type flow): Wan 2.1 latents, video-shaped [16, 1, H, W];
  Qwen2.5-VL 7B context (3584). Its text encoder drops an all-ones attention mask, so no extras.
* Lumina 2 (comfy.ldm.lumina NextDiT, flow): Flux latents [16, H, W]; Gemma 2 2B context (2304) with the
  encoder's attention mask (long, all ones; ``extra_conds`` turns it into ``num_tokens``).
* Z-Image Turbo (the same NextDiT with Z-Image modulation, time scale 1000, rope theta 256, caption and image
  tokens padded to a multiple of 32): Flux latents; Qwen3 4B context (2560) with its attention mask;
  guidance-distilled (cfg 1). Z-Image modulation takes a 256-wide time embedding, so dim >= 256 here.
* Kandinsky 5 image (comfy.ldm.kandinsky5, flow): Flux latents [16, H, W] (the model adds the frame axis);
  Qwen2.5-VL 7B context (3584) and CLIP-L's 768-d pooled output (the time embedding's text term).

Z-Image and Kandinsky 5 exist from ComfyUI 0.8.0 on. The NextDiT constructor gained ``rope_theta`` (and
Z-Image's keys) after 0.3.64, so Lumina 2's config drops the keys a release's constructor does not take.
"""
from __future__ import annotations

import inspect

import torch

from comfy_families import Family, tokens


def _nextdit(**config) -> dict:
    """A NextDiT config without the keys this release's constructor does not take (0.3.64: ``rope_theta``)."""
    import comfy.ldm.lumina.model
    accepted = inspect.signature(comfy.ldm.lumina.model.NextDiT.__init__).parameters
    return {key: value for key, value in config.items() if key in accepted}


def _lumina2() -> dict:
    return _nextdit(image_model="lumina2", patch_size=2, in_channels=16, dim=64, cap_feat_dim=2304, n_layers=1,
                    n_refiner_layers=1, n_heads=2, n_kv_heads=1, multiple_of=16, ffn_dim_multiplier=2.0,
                    qk_norm=True, axes_dims=[8, 12, 12], axes_lens=[300, 512, 512], rope_theta=10000.0)


def _z_image() -> dict:
    return _nextdit(image_model="lumina2", patch_size=2, in_channels=16, dim=256, cap_feat_dim=2560, n_layers=1,
                    n_refiner_layers=1, n_heads=2, n_kv_heads=2, multiple_of=16, ffn_dim_multiplier=1.0,
                    qk_norm=True, axes_dims=[32, 48, 48], axes_lens=[1536, 512, 512], rope_theta=256.0,
                    z_image_modulation=True, time_scale=1000.0, pad_tokens_multiple=32)


QWEN_IMAGE = {
    "image_model": "qwen_image", "patch_size": 2, "in_channels": 64, "out_channels": 16, "num_layers": 1,
    "attention_head_dim": 32, "num_attention_heads": 2, "joint_attention_dim": 3584,
    "pooled_projection_dim": 768, "axes_dims_rope": (8, 12, 12),
}

KANDINSKY5_IMAGE = {
    "image_model": "kandinsky5", "in_visual_dim": 16, "out_visual_dim": 16, "in_text_dim": 3584,
    "in_text_dim2": 768, "time_dim": 32, "model_dim": 64, "ff_dim": 128, "visual_embed_dim": 64,
    "patch_size": (1, 2, 2), "num_text_blocks": 1, "num_visual_blocks": 1, "axes_dims": (8, 12, 12),
    "rope_scale_factor": (1.0, 1.0, 1.0),
}


def _mask(count: int) -> torch.Tensor:
    """The attention mask ComfyUI's LLM text encoders return for one unpadded prompt."""
    return torch.ones(1, count, dtype=torch.long)


FAMILIES = [
    Family("Qwen-Image", "QwenImage", QWEN_IMAGE, lambda seed: tokens(seed, 6, 3584), (16, 1, 8, 8), cfg=2.5),
    Family("Lumina 2", "Lumina2", _lumina2, lambda seed: tokens(seed, 6, 2304, attention_mask=_mask(6)),
           (16, 8, 8), cfg=3.0),
    Family("Z-Image (Turbo)", "ZImage", _z_image, lambda seed: tokens(seed, 6, 2560, attention_mask=_mask(6)),
           (16, 8, 8), cfg=1.0),
    Family("Kandinsky 5 (image)", "Kandinsky5Image", KANDINSKY5_IMAGE,
           lambda seed: tokens(seed, 6, 3584, pooled_output=(1, 768)), (16, 8, 8), cfg=2.5),
]
