"""DiT families: SD3 / SD3.5 (MMDiT), AuraFlow, PixArt Alpha and Sigma, HunyuanImage 2.1, Cosmos Predict2 (T2I).

Tiny transformers (hidden size 64-96, one or two heads, one or two blocks) whose text inputs take the real
encoders' widths: SD3's CLIP-L + bigG padded to T5-XXL's 4096 with the 2048-d pooled output, AuraFlow's
Pile-T5-XL 2048, PixArt's T5-XXL 4096 (Alpha with its size/aspect micro-conditions), HunyuanImage 2.1's
Qwen2.5-VL-7B 3584 with the ByT5-small glyph tokens (1472), Cosmos' T5 (old 11B, 1024). Latents have the
families' real channels: SD3 16, AuraFlow/PixArt 4, HunyuanImage 2.1 64 (32x VAE, patch 1), Cosmos 16 with
a video-shaped [C, T=1, H, W] latent (Wan 2.1 latent format, ``latent_dimensions = 3``).
"""
from __future__ import annotations

import torch

from comfy_families import Family, tokens


def _model_sampling_sd3(shift: float):
    """Core ModelSamplingSD3 (SD3 / SD3.5 workflows, shift 3)."""
    def patch(model):
        import comfy_harness as harness
        from comfy_extras import nodes_model_advanced
        return harness.call_node(nodes_model_advanced.ModelSamplingSD3, model=model, shift=shift)[0]
    return patch


def _model_sampling_aura_flow(shift: float):
    """Core ModelSamplingAuraFlow (AuraFlow workflows, shift 1.73)."""
    def patch(model):
        import comfy_harness as harness
        from comfy_extras import nodes_model_advanced
        return harness.call_node(nodes_model_advanced.ModelSamplingAuraFlow, model=model, shift=shift)[0]
    return patch


def _mmdit(**extra) -> dict:
    """MMDiT as ``model_detection`` describes a checkpoint: hidden size 64 * depth, one head per 64 channels.

    ``num_patches``/``pos_embed_max_size`` are left out: a checkpoint's ``pos_embed`` buffer is built with
    ``torch.empty`` and only a state dict fills it, so the tiny model uses the on-the-fly 2-D sin-cos embedding
    (``cropped_pos_embed`` with no ``pos_embed``) instead.
    """
    config = {"in_channels": 16, "out_channels": 16, "patch_size": 2, "depth": 1, "input_size": None,
              "adm_in_channels": 2048,
              "context_embedder_config": {"target": "torch.nn.Linear",
                                          "params": {"in_features": 4096, "out_features": 64}},
              "pos_embed_scaling_factor": None, "x_block_self_attn_layers": []}
    config.update(extra)
    return config


def _pixart(**extra) -> dict:
    config = {"patch_size": 2, "in_channels": 4, "hidden_size": 64, "depth": 1, "num_heads": 1, "mlp_ratio": 2.0,
              "caption_channels": 4096, "model_max_length": 300}
    config.update(extra)
    return config


def _hunyuan_image_21() -> dict:
    """HunyuanImage 2.1 (base, not the distilled/meanflow one): patch 1, 64 latent channels, ByT5 glyph mapper.

    0.3.64's ``HunyuanVideoParams`` lacks the HunyuanVideo 1.5 fields (cond-type embedding, vision input,
    meanflow sum); later releases require them (the dataclass has no defaults)."""
    import comfy.ldm.hunyuan_video.model as hunyuan
    config = {"image_model": "hunyuan_video", "in_channels": 64, "out_channels": 64, "patch_size": [1, 1],
              "vec_in_dim": None, "axes_dim": [32, 32], "meanflow": False, "context_in_dim": 3584,
              "hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 1, "depth": 1, "depth_single_blocks": 1,
              "theta": 256, "qkv_bias": True, "byt5": True, "guidance_embed": False}
    fields = hunyuan.HunyuanVideoParams.__dataclass_fields__
    for key, value in {"use_cond_type_embedding": False, "vision_in_dim": None, "meanflow_sum": False}.items():
        if key in fields:
            config[key] = value
    return config


# Cosmos Predict2 2B text-to-image as model_detection describes it, shrunk (head dim 64: RoPE 20 + 20 + 24).
_COSMOS_PREDICT2 = {
    "image_model": "cosmos_predict2", "max_img_h": 240, "max_img_w": 240, "max_frames": 128, "in_channels": 16,
    "out_channels": 16, "patch_spatial": 2, "patch_temporal": 1, "model_channels": 64, "concat_padding_mask": True,
    "crossattn_emb_channels": 1024, "pos_emb_cls": "rope3d", "pos_emb_learnable": True,
    "pos_emb_interpolation": "crop", "min_fps": 1, "max_fps": 30, "use_adaln_lora": True, "adaln_lora_dim": 16,
    "num_blocks": 1, "num_heads": 1, "mlp_ratio": 2.0, "extra_per_block_abs_pos_emb": False,
    "rope_h_extrapolation_ratio": 4.0, "rope_w_extrapolation_ratio": 4.0, "rope_t_extrapolation_ratio": 1.0,
    "extra_h_extrapolation_ratio": 1.0, "extra_w_extrapolation_ratio": 1.0, "extra_t_extrapolation_ratio": 1.0,
    "rope_enable_fps_modulation": False,
}


FAMILIES = [
    Family("SD3", "SD3", _mmdit(),
           lambda seed: tokens(seed, 8, 4096, pooled_output=(1, 2048)), (16, 8, 8), cfg=3.0,
           patch=_model_sampling_sd3(3.0), note="SD3 Medium layout (plain MMDiT)"),
    Family("SD3.5", "SD3", _mmdit(qk_norm="rms", x_block_self_attn_layers=[0]),
           lambda seed: tokens(seed, 8, 4096, pooled_output=(1, 2048)), (16, 8, 8), cfg=3.0,
           patch=_model_sampling_sd3(3.0),
           note="same config class as SD3; SD3.5 Medium layout (MMDiT-X: RMS q/k norm, x-block self-attention)"),
    Family("AuraFlow", "AuraFlow",
           {"in_channels": 4, "out_channels": 4, "patch_size": 2, "dim": 64, "n_layers": 2, "n_double_layers": 1,
            "n_heads": 1, "global_conddim": 64, "cond_seq_dim": 2048, "max_seq": 64},
           lambda seed: tokens(seed, 6, 2048), (4, 8, 8), cfg=3.0, patch=_model_sampling_aura_flow(1.73)),
    # PixArt builds its sin-cos position embedding from the latent size, with base size round(size / 64) * 32
    # patches: latents under 33 x 33 give base size 0 and divide by zero, so these use 40 x 40 (320 px).
    Family("PixArt Alpha", "PixArtAlpha",
           _pixart(image_model="pixart_alpha", micro_condition=True, hidden_size=96, num_heads=2,
                   model_max_length=120),
           lambda seed: tokens(seed, 6, 4096, width=320, height=320), (4, 40, 40), cfg=3.0,
           note="size/aspect micro-conditions (hidden size divisible by 3)"),
    Family("PixArt Sigma", "PixArtSigma", _pixart(image_model="pixart_sigma", micro_condition=False),
           lambda seed: tokens(seed, 6, 4096), (4, 40, 40), cfg=3.0),
    Family("HunyuanImage 2.1", "HunyuanImage21", _hunyuan_image_21,
           lambda seed: tokens(seed, 6, 3584, attention_mask=torch.ones(1, 6, dtype=torch.long),
                               conditioning_byt5small=(1, 4, 1472)), (64, 8, 8), cfg=3.0,
           note="base model, with ByT5 glyph tokens; the Qwen encoder's mask is all ones for one prompt"),
    Family("Cosmos Predict2 (T2I)", "CosmosT2IPredict2", _COSMOS_PREDICT2,
           lambda seed: tokens(seed, 6, 1024), (16, 1, 8, 8), cfg=3.0,
           note="video-shaped latent [C, T=1, H, W]"),
]
