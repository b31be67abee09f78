"""Flux group (comfy.ldm.flux, chroma, hidream, hidream_o1): Flux.1 dev and schnell, Flux.2, Chroma, HiDream,
HiDream-O1.

Tiny transformers: hidden size 64, 2 heads (head dim 32, the RoPE axes cut to match), one block of each kind;
the text inputs keep the real encoders' widths: T5-XXL 4096 with the 768-d CLIP-L pooled vector (Flux.1),
Mistral Small 3.1's three stacked layers 15360 (Flux.2 dev), T5-XXL alone (Chroma), T5-XXL plus the 32 Llama-3.1
layers of 4096 and the 2048-d CLIP-L + CLIP-G pooled vector (HiDream), and Qwen3-VL token ids (HiDream-O1,
whose text encoder only tokenizes: the Qwen3-VL decoder is inside the diffusion model). Text encoders without a
pooled output still put ``pooled_output: None`` into the conditioning (CLIPTextEncode does), and 0.8.0's
``Flux.encode_adm`` indexes that key.

The model constructors' dataclasses gained fields between releases (``txt_ids_dims``, ``vec_in_dim``, the
Flux.2 switches), so the Flux and Chroma configs are callables that keep only the fields the running ComfyUI
declares.
"""
from __future__ import annotations

import dataclasses
import importlib

import torch

from comfy_families import Family, tokens


def _fit(module: str, params: str, config: dict) -> dict:
    """``config`` cut to the fields of the release's params dataclass (``image_model`` kept)."""
    fields = {f.name for f in dataclasses.fields(getattr(importlib.import_module(module), params))}
    return {key: value for key, value in config.items() if key == "image_model" or key in fields}


def _flux1(guidance_embed: bool):
    def config() -> dict:
        return _fit("comfy.ldm.flux.model", "FluxParams", {
            "image_model": "flux", "in_channels": 16, "out_channels": 16, "vec_in_dim": 768, "context_in_dim": 4096,
            "hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1,
            "axes_dim": [8, 12, 12], "theta": 10000, "patch_size": 2, "qkv_bias": True,
            "guidance_embed": guidance_embed, "txt_ids_dims": []})
    return config


def _flux2() -> dict:
    """Flux.2 dev as model_detection reads it: 128 channels at patch 1, global modulation, SiLU-gated MLPs, no
    biases, no pooled vector, 4 RoPE axes with text positions on the last one."""
    return _fit("comfy.ldm.flux.model", "FluxParams", {
        "image_model": "flux2", "in_channels": 128, "out_channels": 128, "vec_in_dim": None, "context_in_dim": 15360,
        "hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1,
        "axes_dim": [8, 8, 8, 8], "theta": 2000, "patch_size": 1, "qkv_bias": False, "guidance_embed": True,
        "txt_ids_dims": [3], "global_modulation": True, "mlp_silu_act": True, "ops_bias": False,
        "default_ref_method": "index", "ref_index_scale": 10.0})


def _chroma() -> dict:
    """Chroma: Flux.1 without the pooled vector and guidance embedder; the modulations come from the distilled
    guidance approximator (in_dim 64 = 16 timestep + 16 guidance + 32 index features, out_dim = hidden)."""
    return _fit("comfy.ldm.chroma.model", "ChromaParams", {
        "image_model": "chroma", "in_channels": 64, "out_channels": 64, "context_in_dim": 4096, "hidden_size": 64,
        "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1, "axes_dim": [8, 12, 12],
        "theta": 10000, "patch_size": 2, "qkv_bias": True, "in_dim": 64, "out_dim": 64, "hidden_dim": 64,
        "n_layers": 1, "txt_ids_dims": [], "vec_in_dim": None})


HIDREAM = {
    "image_model": "hidream", "in_channels": 16, "out_channels": 16, "patch_size": 2, "num_layers": 1,
    "num_single_layers": 1, "attention_head_dim": 32, "num_attention_heads": 2, "caption_channels": [4096, 4096],
    "text_emb_dim": 2048, "num_routed_experts": 4, "num_activated_experts": 2, "axes_dims_rope": [16, 8, 8],
    "max_resolution": [128, 128], "llama_layers": [0, 31],
}
"""HiDream-I1: MoE feed-forwards (4 routed experts, 2 active); one double and one single block, reading Llama
layers 0 and 31 of the 32 the text encoder stacks."""

HIDREAM_O1 = {
    "image_model": "hidream_o1",
    # Qwen3-VL decoder, tiny; the vocabulary stays full size: the chat template's special ids (<|tms|> 151673)
    # index it. Interleaved MRoPE sections [6, 5, 5] fit head dim 32 as [24, 20, 20] fit 128.
    "text_config_overrides": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                              "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 32,
                              "rope_dims": [6, 5, 5]},
    # The ViT only encodes reference images (none here); kept tiny.
    "vision_config_overrides": {"hidden_size": 32, "num_heads": 1, "intermediate_size": 64, "depth": 1,
                                "num_position_embeddings": 16, "deepstack_visual_indexes": ()},
}


def shift_3(model):
    """HiDream's config sets ``shift`` 3 and then overwrites its own ``sampling_settings`` with ``{}`` (shift 1);
    its workflows put core ModelSamplingSD3 (shift 3 for Full) in front of the sampler."""
    import comfy_harness as harness
    from comfy_extras import nodes_model_advanced
    return harness.call_node(nodes_model_advanced.ModelSamplingSD3, model=model, shift=3.0)[0]


def hidream_o1_conditioning(seed: int, count: int = 4) -> list:
    """What HiDreamO1TE gives: the chat-templated token ids (as float ``cross_attn`` surrogate [1, T, 1] and as
    ``text_input_ids`` [1, T]); ``count`` seeded prompt tokens from the ordinary vocabulary."""
    from comfy.text_encoders import hidream_o1 as te
    prompt = torch.randint(1000, 150000, (count,), generator=torch.Generator().manual_seed(seed)).tolist()
    ids = [te.IM_START_ID, te.USER_ID, te.NEWLINE_ID, *prompt, te.IM_END_ID, te.NEWLINE_ID, te.IM_START_ID,
           te.ASSISTANT_ID, te.NEWLINE_ID, te.BOI_TOKEN_ID, te.TMS_TOKEN_ID]
    input_ids = torch.tensor([ids], dtype=torch.long)
    return [[input_ids.unsqueeze(-1).to(torch.float32), {"text_input_ids": input_ids}]]


FAMILIES = [
    Family("Flux.1 dev", "Flux", _flux1(True),
           lambda seed: tokens(seed, 8, 4096, pooled_output=(1, 768), guidance=3.5), (16, 8, 8), cfg=1.0,
           note="guidance-distilled: guidance 3.5 in the conditioning, CFG 1"),
    Family("Flux.1 schnell", "FluxSchnell", _flux1(False),
           lambda seed: tokens(seed, 8, 4096, pooled_output=(1, 768)), (16, 8, 8), cfg=1.0,
           note="timestep-distilled, no guidance embedder, CFG 1"),
    Family("Flux.2", "Flux2", _flux2,
           lambda seed: tokens(seed, 8, 15360, pooled_output=None, guidance=4.0), (128, 8, 8), cfg=1.0,
           note="Flux.2 dev: guidance 4 in the conditioning, CFG 1; the text is padded to 512 tokens"),
    Family("Chroma", "Chroma", _chroma, lambda seed: tokens(seed, 8, 4096, pooled_output=None), (16, 8, 8), cfg=3.0,
           note="T5-XXL only, real CFG"),
    Family("HiDream", "HiDream", HIDREAM,
           lambda seed: tokens(seed, 4, 4096, pooled_output=(1, 2048), conditioning_llama3=(1, 32, 4, 4096)),
           (16, 8, 8), cfg=3.0, patch=shift_3,
           note="HiDream-I1 Full: real CFG, ModelSamplingSD3 shift 3 (Dev and Fast run the same class at CFG 1)"),
    Family("HiDream-O1", "HiDreamO1", HIDREAM_O1, hidream_o1_conditioning, (3, 64, 64), cfg=2.0,
           note="pixel space (32 px patches), flow with noise scale 8"),
    Family("Hunyuan3D 2.0 (shape)", "Hunyuan3Dv2",
           {"image_model": "hunyuan3d2", "in_channels": 64, "context_in_dim": 1536, "hidden_size": 64,
            "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1, "qkv_bias": True,
            "guidance_embed": False},
           lambda seed: tokens(seed, 4, 1536), (64, 32), cfg=2.0,
           refuses={"sde_inpaint": "latent: SDE inpainting works on an image grid",
                    "sde_drag": "latent: SDE-Drag works on an image grid"},
           note="3D-shape latent [B, 64, L] (DINOv2 image features as conditioning): no image grid"),
]
