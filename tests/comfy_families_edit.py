"""Instruction-edit families: the model sees the input image as reference latents in its conditioning.

Each conditioning is made by the core node that makes it in the families' workflows:

* Flux.1 Kontext (dev): a Flux.1 dev transformer (guidance 2.5, CFG 1) whose conditioning gets the encoded
  input image from core ``ReferenceLatent``; the model appends its tokens at RoPE index 1 ("offset").
* Qwen-Image-Edit 2509: the Qwen-Image transformer; the conditioning comes from core
  ``TextEncodeQwenImageEditPlus`` itself, run with a stand-in text encoder and VAE (``QwenEditTextEncoder``,
  ``ReferenceEncoder``): the node's own code resizes the image, builds the "Picture 1:" prompt and the chat
  template, and appends ``reference_latents``. The references sit at RoPE index 1, 2, ... ("index").
* Qwen-Image-Edit 2511: the same, with the transformer's ``default_ref_method`` ``index_timestep_zero`` as
  ComfyUI's model detection sets it for a 2511 checkpoint (the reference tokens get timestep 0). Releases whose
  Qwen-Image transformer lacks the option (0.3.64) lack the family.
* FLUX.2 (dev) with one and with two reference images, each through ``ReferenceLatent`` (chained for two).
* LongCat-Image-Edit: the Flux transformer as ComfyUI's ``LongCatImage`` config sets it (Qwen2.5-VL 7B context
  3584, text positions on two RoPE axes, no guidance embedder or pooled vector), the input image through
  ``ReferenceLatent``; only releases with the config (0.33.0) have it.
* OmniGen2: its transformer (Lumina-type, Qwen2.5-VL 3B context 2048 with the encoder's attention mask, Flux
  latents, flow with shift 2.6), the input image through ``ReferenceLatent``.
* Boogu: the OmniGen2-type transformer with double-stream layers (Qwen3-VL 8B context 4096 with its attention
  mask), the input image through ``ReferenceLatent``.
* MageFlow: the Qwen-Image-type transformer at patch 1 on FLUX.2 latents (128 channels; Qwen3-VL 4B context
  2560), the input image through ``ReferenceLatent``.
* HiDream-O1 (instruction edit): the pixel-space HiDream-O1 of the Flux group with one reference image through
  core ``HiDreamO1ReferenceImages`` (its ViT encodes the image; the model reads it as ``ref_patches``).
* Z-Image Omni: the Z-Image transformer whose ``Lumina2`` model reads ``reference_latents`` (the "omni" path:
  reference tokens before the caption); only releases whose Lumina2 model reads them (0.33.0) have it.

The transformers are the tiny ones of the Flux and "next" groups. The reference latents are seeded tensors of
the shape the family's VAE gives (a stand-in VAE: the matrix checks the sampling, not the encoder).
"""
from __future__ import annotations

import inspect

import torch

from comfy_families import Family, tokens
from comfy_families_flux import HIDREAM_O1, _fit, _flux1, _flux2, hidream_o1_conditioning
from comfy_families_next import QWEN_IMAGE, _mask, _z_image


def reference_latent(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """A stand-in for the family's VAE encoding of the input image: a seeded [1, *shape] latent."""
    return torch.randn(1, *shape, generator=torch.Generator().manual_seed(1000 + seed))


def with_reference_latents(conditioning: list, latents: list[torch.Tensor]) -> list:
    """``conditioning`` through core ``ReferenceLatent`` once per latent (chained, as a workflow chains it)."""
    import comfy_harness as harness
    from comfy_extras import nodes_edit_model
    for latent in latents:
        (conditioning,) = harness.call_node(nodes_edit_model.ReferenceLatent, conditioning=conditioning,
                                            latent={"samples": latent})
    return conditioning


class QwenEditTextEncoder:
    """A stand-in CLIP for ``TextEncodeQwenImageEditPlus``: ``tokenize`` keeps what the node hands it (the
    templated prompt and the images for the vision tower), ``encode_from_tokens_scheduled`` returns seeded
    Qwen2.5-VL 7B hidden states [1, 6, 3584] in the layout of ComfyUI's text encoders (``pooled_output``
    None)."""

    def __init__(self, seed: int):
        self.seed, self.tokenized = seed, None

    def tokenize(self, text, images=None, llama_template=None, **kwargs):
        self.tokenized = {"text": text, "images": images, "llama_template": llama_template}
        return self.tokenized

    def encode_from_tokens_scheduled(self, tokens_, **kwargs):
        return tokens(self.seed, 6, 3584, pooled_output=None)


class ReferenceEncoder:
    """A stand-in VAE for ``TextEncodeQwenImageEditPlus``: ``encode`` gives a seeded Wan 2.1-shaped latent
    [1, 16, 1, 8, 8], one seed per image encoded."""

    def __init__(self, seed: int):
        self.seed, self.count = seed, 0

    def encode(self, pixels):
        self.count += 1
        return reference_latent(self.seed * 10 + self.count, (16, 1, 8, 8))


def qwen_edit_plus_conditioning(seed: int, images: int = 1) -> list:
    """What ``TextEncodeQwenImageEditPlus`` gives for a prompt and ``images`` input images, by its own code."""
    import comfy_harness as harness
    from comfy_extras import nodes_qwen
    pictures = {f"image{i + 1}": torch.rand(1, 48, 64, 3, generator=torch.Generator().manual_seed(seed + i))
                for i in range(images)}
    (conditioning,) = harness.call_node(nodes_qwen.TextEncodeQwenImageEditPlus, clip=QwenEditTextEncoder(seed),
                                        prompt="make the ball red", vae=ReferenceEncoder(seed), **pictures)
    return conditioning


def kontext_conditioning(seed: int) -> list:
    return with_reference_latents(tokens(seed, 8, 4096, pooled_output=(1, 768), guidance=2.5),
                                  [reference_latent(seed, (16, 8, 8))])


def flux2_conditioning(references: int):
    def conditioning(seed: int) -> list:
        return with_reference_latents(tokens(seed, 8, 15360, pooled_output=None, guidance=4.0),
                                      [reference_latent(seed * 10 + i, (128, 8, 8)) for i in range(references)])
    return conditioning


def _longcat_image() -> dict:
    return _fit("comfy.ldm.flux.model", "FluxParams", {
        "image_model": "flux", "in_channels": 16, "out_channels": 16, "vec_in_dim": None, "context_in_dim": 3584,
        "hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1,
        "axes_dim": [8, 12, 12], "theta": 10000, "patch_size": 2, "qkv_bias": True, "guidance_embed": False,
        "txt_ids_dims": [1, 2]})


def longcat_conditioning(seed: int) -> list:
    return with_reference_latents(tokens(seed, 6, 3584, pooled_output=None), [reference_latent(seed, (16, 8, 8))])


def _qwen_image_edit_2511() -> dict:
    return {**QWEN_IMAGE, "default_ref_method": "index_timestep_zero"}


def _qwen_ref_method_option() -> str | None:
    """Why this release cannot build Qwen-Image-Edit 2511 (its transformer has no ``default_ref_method``)."""
    import comfy.ldm.qwen_image.model
    init = comfy.ldm.qwen_image.model.QwenImageTransformer2DModel.__init__
    if "default_ref_method" not in inspect.signature(init).parameters:
        return "this release's Qwen-Image transformer has no default_ref_method (index_timestep_zero, 2511)"
    return None


OMNIGEN2 = {
    "image_model": "omnigen2", "patch_size": 2, "in_channels": 16, "out_channels": None, "hidden_size": 64,
    "num_layers": 1, "num_refiner_layers": 1, "num_attention_heads": 2, "num_kv_heads": 1, "multiple_of": 16,
    "ffn_dim_multiplier": None, "norm_eps": 1e-5, "axes_dim_rope": [8, 12, 12], "axes_lens": [300, 512, 512],
    "text_feat_dim": 2048, "timestep_scale": 1000.0,
}
"""OmniGen2 as model_detection describes it (hidden 2520, 21 heads, RoPE axes 40 x 3), shrunk to 64 / 2 heads."""


BOOGU = {
    "image_model": "boogu", "patch_size": 2, "in_channels": 16, "out_channels": None, "hidden_size": 64,
    "num_layers": 1, "num_double_stream_layers": 1, "num_refiner_layers": 1, "num_attention_heads": 2,
    "num_kv_heads": 1, "multiple_of": 16, "ffn_dim_multiplier": None, "norm_eps": 1e-5, "axes_dim_rope": [8, 12, 12],
    "axes_lens": [300, 512, 512], "instruction_feat_dim": 4096, "timestep_scale": 1000.0,
}

MAGE_FLOW = {
    "image_model": "mage_flow", "in_channels": 128, "out_channels": 128, "num_layers": 1, "attention_head_dim": 32,
    "num_attention_heads": 2, "joint_attention_dim": 2560, "axes_dims_rope": (8, 12, 12),
}


def boogu_conditioning(seed: int) -> list:
    return with_reference_latents(tokens(seed, 6, 4096, attention_mask=_mask(6), pooled_output=None),
                                  [reference_latent(seed, (16, 8, 8))])


def mage_flow_conditioning(seed: int) -> list:
    return with_reference_latents(tokens(seed, 6, 2560, pooled_output=None), [reference_latent(seed, (128, 8, 8))])


def omnigen2_conditioning(seed: int) -> list:
    return with_reference_latents(tokens(seed, 6, 2048, attention_mask=_mask(6), pooled_output=None),
                                  [reference_latent(seed, (16, 8, 8))])


def z_image_omni_conditioning(seed: int) -> list:
    return with_reference_latents(tokens(seed, 6, 2560, attention_mask=_mask(6)),
                                  [reference_latent(seed, (16, 8, 8))])


def hidream_o1_edit_conditioning(seed: int) -> list:
    """HiDream-O1's conditioning with one reference image, through ``HiDreamO1ReferenceImages`` (which sets it on
    the positive and the negative; the matrix's negative is the zeroed positive, which keeps it)."""
    import comfy_harness as harness
    from comfy_extras import nodes_hidream_o1
    image = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(2000 + seed))
    conditioning = hidream_o1_conditioning(seed)
    positive, _ = harness.call_node(nodes_hidream_o1.HiDreamO1ReferenceImages, positive=conditioning,
                                    negative=conditioning, images={"image_1": image})
    return positive


def _lumina2_reads_references() -> str | None:
    """Why this release cannot build Z-Image Omni (its Lumina2 model ignores ``reference_latents``)."""
    import comfy.model_base
    if "reference_latents" not in inspect.getsource(comfy.model_base.Lumina2.extra_conds):
        return "this release's Lumina2 model (Z-Image) does not read reference_latents"
    return None


FAMILIES = [
    Family("Flux.1 Kontext", "Flux", _flux1(True), kontext_conditioning, (16, 8, 8), cfg=1.0,
           reference_key="ref_latents",
           note="Flux.1 Kontext dev: the input image through ReferenceLatent, guidance 2.5, CFG 1"),
    Family("Qwen-Image-Edit 2509", "QwenImage", QWEN_IMAGE, qwen_edit_plus_conditioning, (16, 1, 8, 8), cfg=2.5,
           reference_key="ref_latents",
           note="conditioning by TextEncodeQwenImageEditPlus (one image); references at RoPE index 1"),
    Family("Qwen-Image-Edit 2511", "QwenImage", _qwen_image_edit_2511, qwen_edit_plus_conditioning,
           (16, 1, 8, 8), cfg=2.5, reference_key="ref_latents", requires=_qwen_ref_method_option,
           note="as 2509, with the references at timestep 0 (index_timestep_zero)"),
    Family("FLUX.2 + 1 reference", "Flux2", _flux2, flux2_conditioning(1), (128, 8, 8), cfg=1.0,
           reference_key="ref_latents", note="FLUX.2 dev, one image through ReferenceLatent, guidance 4, CFG 1"),
    Family("FLUX.2 + 2 references", "Flux2", _flux2, flux2_conditioning(2), (128, 8, 8), cfg=1.0,
           reference_key="ref_latents", note="FLUX.2 dev, two images through chained ReferenceLatent"),
    Family("LongCat-Image-Edit", "LongCatImage", _longcat_image, longcat_conditioning, (16, 8, 8), cfg=4.0,
           reference_key="ref_latents", note="the input image through ReferenceLatent; real CFG"),
    Family("OmniGen2", "Omnigen2", OMNIGEN2, omnigen2_conditioning, (16, 8, 8), cfg=3.0,
           reference_key="ref_latents", note="the input image through ReferenceLatent; real CFG"),
    Family("Boogu", "Boogu", BOOGU, boogu_conditioning, (16, 8, 8), cfg=3.0, reference_key="ref_latents",
           note="the input image through ReferenceLatent; real CFG"),
    Family("MageFlow", "MageFlow", MAGE_FLOW, mage_flow_conditioning, (128, 8, 8), cfg=3.0,
           reference_key="ref_latents", note="FLUX.2 latents; the input image through ReferenceLatent; real CFG"),
    Family("HiDream-O1 (edit)", "HiDreamO1", HIDREAM_O1, hidream_o1_edit_conditioning, (3, 64, 64), cfg=2.0,
           reference_key="ref_patches",
           note="pixel space; one reference image through HiDreamO1ReferenceImages (ViT and patch streams)"),
    Family("Z-Image Omni", "ZImage", _z_image, z_image_omni_conditioning, (16, 8, 8), cfg=1.0,
           reference_key="ref_latents", requires=_lumina2_reads_references,
           note="Z-Image transformer with the input image through ReferenceLatent (omni path), CFG 1"),
]
