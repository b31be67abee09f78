"""Video families: Wan 2.1 T2V, Wan 2.2 TI2V 5B, HunyuanVideo (1 and 1.5), LTX-Video and CogVideoX (T2V).

All take rank-5 latents ``[B, C, T, H, W]`` (``latent_dimensions = 3``); the tiny instances use T = 2 latent
frames. Text-to-video only: no image-to-video concat latents, CLIP-vision features or keyframes.

* Wan 2.1 T2V (comfy.ldm.wan WanModel, flow, shift 8 in its sampling settings): Wan 2.1 latents (16 channels,
  8x VAE); umT5-XXL context (4096), no extras.
* Wan 2.2 TI2V 5B (config ``WAN22_T2V``: ``out_dim`` 48, model_base.WAN22 with ``image_to_video``): Wan 2.2
  latents (48 channels, 16x VAE); ``in_dim`` = ``out_dim`` = 48, so ``concat_cond`` adds nothing for text-to-
  video. WAN22 passes a latent's noise mask to the model as per-frame timesteps (its image-to-video trick).
* HunyuanVideo (comfy.ldm.hunyuan_video, flow, shift 7): 16-channel latents, patch (1, 2, 2); LLaVA-Llama-3
  context (4096), CLIP-L's 768-d pooled output (``vector_in``) and the distilled guidance (6.0, the
  ``guidance_in`` embedder): guidance-distilled, cfg 1. The encoder drops an all-ones attention mask.
* HunyuanVideo 1.5 (config ``HunyuanVideo15``, 0.8.0 on): 32-channel latents (16x VAE), patch (1, 1, 1),
  ``in_channels`` 65 (latent + zero image-conditioning latent + mask, which ``concat_cond`` supplies), SigLIP
  vision input (``vision_in_dim``), cond-type embedding; the ByT5 glyph mapper (2048 wide whatever the model's
  size) is left out, as a prompt without quoted text gives no glyph tokens; Qwen2.5-VL-7B context (3584) with
  no pooled output (``pooled_output`` None, as CLIPTextEncode gives it: ``encode_adm`` reads the key) and no
  attention mask (the encoder drops an all-ones one); not guidance-distilled (cfg 6). Its text-to-video
  conditioning carries the image-to-video node's ``concat_mask`` for "no image frames" (see
  ``_no_image_frames``: without it ComfyUI cannot sample it with a noise mask).
* LTX-Video (comfy.ldm.lightricks LTXVModel, flow): 128-channel latents (32x spatial, 8x temporal VAE),
  patch 1; T5-XXL context (4096) with the encoder's attention mask (the tokenizer pads, so it has zeros) and
  ``frame_rate`` (LTXVConditioning, 25).
* CogVideoX (comfy.ldm.cogvideo, 0.33.0 only, V_PREDICTION_DDPM sampling with a zero-SNR linear schedule,
  i.e. the EPS algebra x0 + sigma eps): 16-channel latents, patch 2, the 5B layout (3-D rotary embeddings;
  the 2B layout's sin-cos table splits the width in thirds, and width 64 fails); T5-XXL context (4096), no mask.

The HunyuanVideo constructor's parameter dataclass lacks the 1.5 fields in 0.3.64 and requires them later, so
its config keeps only the fields this release knows.
"""
from __future__ import annotations

import torch

from comfy_families import Family, tokens


def _wan(**extra) -> dict:
    """WanModel as ``model_detection`` describes a checkpoint, shrunk (head dim 32: RoPE 12 + 10 + 10)."""
    config = {"image_model": "wan2.1", "model_type": "t2v", "patch_size": (1, 2, 2), "in_dim": 16, "out_dim": 16,
              "dim": 64, "ffn_dim": 128, "freq_dim": 64, "text_dim": 4096, "num_heads": 2, "num_layers": 1,
              "window_size": (-1, -1), "qk_norm": True, "cross_attn_norm": True, "eps": 1e-6}
    config.update(extra)
    return config


def _hunyuan_params(config: dict) -> dict:
    """A HunyuanVideo config without the fields this release's ``HunyuanVideoParams`` lacks (0.3.64: the 1.5
    fields) and with those it requires set to their HunyuanVideo 1 values."""
    import comfy.ldm.hunyuan_video.model as hunyuan
    fields = hunyuan.HunyuanVideoParams.__dataclass_fields__
    defaults = {"use_cond_type_embedding": False, "vision_in_dim": None, "meanflow_sum": False}
    out = {key: value for key, value in config.items() if key in fields or key == "image_model"}
    for key, value in defaults.items():
        if key in fields:
            out.setdefault(key, value)
    return out


def _hunyuan_video() -> dict:
    """HunyuanVideo 1 T2V (guidance-distilled): patch (1, 2, 2), CLIP-L pooled vector, guidance embedder."""
    return _hunyuan_params({
        "image_model": "hunyuan_video", "in_channels": 16, "out_channels": 16, "patch_size": [1, 2, 2],
        "vec_in_dim": 768, "axes_dim": [8, 12, 12], "meanflow": False, "context_in_dim": 4096, "hidden_size": 64,
        "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1, "theta": 256, "qkv_bias": True,
        "byt5": False, "guidance_embed": True})


def _hunyuan_video_15() -> dict:
    """HunyuanVideo 1.5 T2V as ``model_detection`` describes it (patch 1, 65 input channels, vision input),
    without the ByT5 glyph mapper."""
    return _hunyuan_params({
        "image_model": "hunyuan_video", "in_channels": 65, "out_channels": 32, "patch_size": [1, 1, 1],
        "vec_in_dim": None, "axes_dim": [8, 12, 12], "meanflow": False, "context_in_dim": 3584, "hidden_size": 64,
        "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1, "theta": 256, "qkv_bias": True,
        "byt5": False, "guidance_embed": False, "use_cond_type_embedding": True, "vision_in_dim": 1152,
        "meanflow_sum": True})


LTXV = {"image_model": "ltxv", "in_channels": 128, "num_attention_heads": 2, "attention_head_dim": 32,
        "cross_attention_dim": 64, "caption_channels": 4096, "num_layers": 1}

COGVIDEOX = {"image_model": "cogvideox", "num_attention_heads": 2, "attention_head_dim": 32, "in_channels": 16,
             "out_channels": 16, "time_embed_dim": 64, "text_embed_dim": 4096, "num_layers": 1, "patch_size": 2,
             "use_rotary_positional_embeddings": True, "use_learned_positional_embeddings": False}


def _t5_mask(count: int, padding: int) -> torch.Tensor:
    """The attention mask of a T5 encoder that pads the prompt: ``count`` tokens, the last ``padding`` pads."""
    mask = torch.ones(1, count, dtype=torch.long)
    mask[:, count - padding:] = 0
    return mask


def _no_image_frames(latent: tuple[int, ...]) -> torch.Tensor:
    """HunyuanVideo 1.5's ``concat_mask`` for a text-to-video run: ones, i.e. no frame holds a start image (the
    image-to-video node sets 0 on the image frames). ``concat_cond`` inverts it into the zero mask channel a
    run without the key gets too, so the model sees exactly plain text-to-video; without the key it falls back
    to the latent's ``denoise_mask``, which core has expanded to the latent's 32 channels, and a noise-masked
    run (core KSampler with SetLatentNoiseMask as much as the pack's inpainting and SDE-Drag) fails with 96
    input channels for 65."""
    _, frames, height, width = latent
    return torch.ones(1, 1, frames, height, width)


FAMILIES = [
    Family("Wan 2.1 (T2V)", "WAN21_T2V", _wan(), lambda seed: tokens(seed, 6, 4096), (16, 2, 8, 8), cfg=5.0,
           video=True, note="umT5-XXL context; flow, shift 8"),
    Family("Wan 2.2 (TI2V 5B)", "WAN22_T2V", _wan(in_dim=48, out_dim=48), lambda seed: tokens(seed, 6, 4096),
           (48, 2, 8, 8), cfg=5.0, video=True, note="48-channel latents of the 16x VAE; text-to-video"),
    Family("HunyuanVideo", "HunyuanVideo", _hunyuan_video,
           lambda seed: tokens(seed, 6, 4096, pooled_output=(1, 768), guidance=6.0), (16, 2, 8, 8), cfg=1.0,
           video=True, note="guidance-distilled (guidance 6 in the conditioning); CLIP-L pooled vector"),
    Family("HunyuanVideo 1.5", "HunyuanVideo15", _hunyuan_video_15,
           lambda seed: tokens(seed, 6, 3584, pooled_output=None, concat_mask=_no_image_frames((32, 2, 8, 8))),
           (32, 2, 8, 8), cfg=6.0, video=True,
           note="T2V (no image frames: zero image-conditioning latent, concat mask of ones); Qwen2.5-VL context"),
    Family("LTX-Video", "LTXV", LTXV,
           lambda seed: tokens(seed, 8, 4096, attention_mask=_t5_mask(8, 2), frame_rate=25.0), (128, 2, 8, 8),
           cfg=3.0, video=True, note="T5-XXL context with its padding mask; frame rate 25"),
    Family("CogVideoX (T2V)", "CogVideoX_T2V", COGVIDEOX, lambda seed: tokens(seed, 6, 4096), (16, 2, 8, 8),
           cfg=6.0, video=True, note="V-prediction on a zero-SNR DDPM schedule (V_PREDICTION_DDPM); 5B layout"),
]
