"""UNet families (comfy.ldm.modules.diffusionmodules.openaimodel): SD1.5, SD2 (v-prediction), SDXL, and Lotus,
an SD2-based image-to-image predictor that every method refuses by its sampling type.

Tiny UNets: one resolution level, one res block, one transformer block, 64 channels; the cross-attention
takes the text encoder's real width (CLIP-L 768, OpenCLIP-H 1024, CLIP-L + bigG 2048 with the 1280-d pooled
output in SDXL's ADM vector).
"""
from __future__ import annotations

from comfy_families import Family, tokens


def _unet(context_dim: int, **extra) -> dict:
    config = {"model_channels": 64, "in_channels": 4, "out_channels": 4, "num_res_blocks": [1], "channel_mult": [1],
              "transformer_depth": [1], "transformer_depth_output": [1, 1], "transformer_depth_middle": 1,
              "context_dim": context_dim, "use_linear_in_transformer": True, "adm_in_channels": None,
              "image_size": 32, "use_spatial_transformer": True, "legacy": False, "use_temporal_attention": False,
              "use_temporal_resblock": False}
    config.update(extra)
    return config


def v_prediction(model):
    """SD2's 768 px models are V-prediction: core ModelSamplingDiscrete, as their workflows use it."""
    import comfy_harness as harness
    from comfy_extras import nodes_model_advanced
    return harness.call_node(nodes_model_advanced.ModelSamplingDiscrete, model=model, sampling="v_prediction",
                             zsnr=False)[0]


FAMILIES = [
    Family("SD1.5", "SD15", _unet(768, use_linear_in_transformer=False),
           lambda seed: tokens(seed, 4, 768), (4, 8, 8), cfg=3.0),
    Family("SD2 (v-prediction)", "SD20", _unet(1024, num_head_channels=32),
           lambda seed: tokens(seed, 4, 1024), (4, 8, 8), cfg=3.0, patch=v_prediction),
    Family("SDXL", "SDXL", _unet(2048, num_head_channels=32, adm_in_channels=2816, num_classes="sequential"),
           lambda seed: tokens(seed, 4, 2048, pooled_output=(1, 1280), width=64, height=64), (4, 8, 8), cfg=3.0),
    Family("Lotus (depth / normals)", "LotusD", _unet(1024, num_head_channels=32, adm_in_channels=4),
           lambda seed: tokens(seed, 4, 1024), (4, 8, 8), cfg=1.0,
           refuses=dict.fromkeys(("cycle_sde", "sync_sde", "sde_inpaint", "rf_inversion", "sde_drag"),
                                 "model: its sampling type IMG_TO_IMG (Lotus)"),
           note="image-to-image predictor, no denoiser"),
]
