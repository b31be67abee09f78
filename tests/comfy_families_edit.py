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
* Z-Image pixel space (omni): the pixel-space Z-Image (``NextDiTPixelSpace``: the same backbone, a per-patch MLP
  decoder instead of the final layer) on RGB [3, H, W] at patch 16 (model_detection reads it from the
  checkpoint's ``x_embedder``), the input image through ``ReferenceLatent`` as a pixel "latent" of the same
  shape (its VAE is the identity of pixel space).
* JoyImage-Edit: the JoyImage transformer (double-stream, Conv3d patch embedding [1, 2, 2], Wan 2.1 latents
  [16, 1, H, W], flow with multiplier 1000 and shift 1.5); the conditioning comes from core
  ``TextEncodeJoyImageEdit`` itself with the stand-in encoders (Qwen3-VL 8B context 4096 with its attention
  mask); the reference latents sit behind the target on their own RoPE time band. The config fixes RoPE axes
  16 + 56 + 56, so the tiny transformer keeps head dim 128 (hidden 256, 2 heads).
* Krea 2 (edit): the single-stream Krea 2 DiT (FLUX-type sampling, Wan 2.1 latents, GQA 2 / 1 heads); the text
  is its 12-layer Qwen3-VL 4B stack flattened to 12 x ``txtdim`` (2560 in the real model, 64 in the tiny
  ``txtfusion``). The input image goes through ``ReferenceLatent`` and then core
  ``FluxKontextMultiReferenceLatentMethod`` (index_timestep_zero): the model reads the references only with a
  method, and ComfyUI's detection sets no default.
* TripoSplat (image to 3D splat): the ``LatentSeqMMFlowModel`` with conditioning by core
  ``TripoSplatConditioning`` itself (stand-in DINOv3 and Flux.2 VAE: the image's DINOv3 tokens as context, its
  Flux.2 latent as ``reference_latents``). Its LATENT is a nested (shape code [B, 8192, 16], camera [B, 1, 5])
  pair with no image grid, shrunk here to 64 shape tokens; the matrix gives that nested LATENT, and the pack
  refuses every method on it by the model's name (it edits one latent tensor).

The transformers are the tiny ones of the Flux and "next" groups, the others shrunk alike (one block of each
kind, 2 heads). The reference latents are seeded tensors of the shape the family's VAE gives (a stand-in VAE:
the matrix checks the sampling, not the encoder).
"""
from __future__ import annotations

import inspect

import torch

from comfy_families import Family, tokens
from comfy_families_flux import HIDREAM_O1, _fit, _flux1, _flux2, hidream_o1_conditioning
from comfy_families_next import QWEN_IMAGE, _mask, _nextdit, _z_image


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


def _z_image_pixel() -> dict:
    """Z-Image pixel space as model_detection reads a checkpoint with ``dec_net``: the Z-Image backbone on RGB
    patches of 16 (x_embedder 768 -> dim), the decoder taking the full flat patch; decoder shrunk to 32 wide,
    one residual block, 4 DCT frequencies."""
    return {**_z_image(), **_nextdit(patch_size=16, in_channels=3), "image_model": "zimage_pixel",
            "decoder_in_channels": 16 * 16 * 3, "decoder_hidden_size": 32, "decoder_num_res_blocks": 1,
            "decoder_max_freqs": 4}


def z_image_pixel_conditioning(seed: int) -> list:
    return with_reference_latents(tokens(seed, 6, 2560, attention_mask=_mask(6)),
                                  [reference_latent(seed, (3, 64, 64))])


JOY_IMAGE = {
    "image_model": "joyimage", "in_channels": 16, "hidden_size": 256, "patch_size": [1, 2, 2], "num_layers": 1,
    "num_attention_heads": 2, "text_dim": 4096,
}
"""JoyImage as model_detection reads it (hidden 3072 / 24 heads of 128, 16 channels, patch [1, 2, 2]), shrunk to
one block of 2 heads; the head stays 128 wide for the config's RoPE axes [16, 56, 56]."""


class JoyImageTextEncoder(QwenEditTextEncoder):
    """A stand-in CLIP for ``TextEncodeJoyImageEdit``: seeded Qwen3-VL 8B hidden states [1, 6, 4096] with the
    encoder's attention mask (``pooled_output`` None)."""

    def encode_from_tokens_scheduled(self, tokens_, **kwargs):
        return tokens(self.seed, 6, 4096, attention_mask=_mask(6), pooled_output=None)


def joy_image_conditioning(seed: int) -> list:
    """What ``TextEncodeJoyImageEdit`` gives for a prompt and one input image, by its own code (it resizes the
    image to its bucket, tokenizes it with the prompt and appends the VAE's latent as ``reference_latents``)."""
    import comfy_harness as harness
    from comfy_extras import nodes_joyimage
    image = torch.rand(1, 48, 64, 3, generator=torch.Generator().manual_seed(seed))
    (conditioning,) = harness.call_node(nodes_joyimage.TextEncodeJoyImageEdit, clip=JoyImageTextEncoder(seed),
                                        prompt="make the ball red", vae=ReferenceEncoder(seed),
                                        images={"image1": image})
    return conditioning


KREA2 = {
    "image_model": "krea2", "features": 64, "channels": 16, "patch": 2, "layers": 1, "heads": 2, "kvheads": 1,
    "txtlayers": 12, "txtdim": 64, "txtheads": 2, "txtkvheads": 2,
}
"""Krea 2 as model_detection reads it (head dim 128, GQA, 12 text layers of 2560), shrunk to one block of 64 with
2 query / 1 key-value heads (RoPE axes 8 + 12 + 12) and a 64-wide text fusion."""


def krea2_conditioning(seed: int) -> list:
    import comfy_harness as harness
    from comfy_extras import nodes_flux
    conditioning = with_reference_latents(tokens(seed, 6, 12 * KREA2["txtdim"], pooled_output=None),
                                          [reference_latent(seed, (16, 1, 8, 8))])
    (conditioning,) = harness.call_node(nodes_flux.FluxKontextMultiReferenceLatentMethod, conditioning=conditioning,
                                        reference_latents_method="index_timestep_zero")
    return conditioning


TRIPOSPLAT = {
    "image_model": "triposplat", "q_token_length": 64, "in_channels": 16, "model_channels": 64,
    "cond_channels": 1280, "out_channels": 16, "num_blocks": 1, "num_refiner_blocks": 1, "num_head_channels": 32,
    "cam_channels": 5, "cond2_channels": 128,
}
"""TripoSplat's flow model (1024 wide, 24 blocks, 8192 shape tokens) shrunk to 64 wide, 2 heads, one block of
each kind, 64 shape tokens; the contexts keep DINOv3 ViT-H's 1280 and the Flux.2 VAE's 128 channels."""


class DinoV3StandIn:
    """A stand-in CLIP vision model for ``TripoSplatConditioning``: a patcher to load and seeded DINOv3 ViT-H
    tokens [B, 5 + (H/16)(W/16), 1280] (class token, 4 registers, patches)."""

    def __init__(self, seed: int):
        import comfy.model_management as mm
        import comfy.model_patcher
        self.seed, self.load_device = seed, mm.get_torch_device()
        self.patcher = comfy.model_patcher.ModelPatcher(torch.nn.Linear(1, 1), load_device=self.load_device,
                                                        offload_device=mm.unet_offload_device())

    def model(self, pixel_values):
        count = 5 + (pixel_values.shape[-2] // 16) * (pixel_values.shape[-1] // 16)
        return (tokens(self.seed, count, 1280)[0][0].expand(pixel_values.shape[0], -1, -1),)


class Flux2ReferenceEncoder:
    """A stand-in Flux.2 VAE: ``encode`` gives a seeded [B, 128, H/16, W/16] latent."""

    def __init__(self, seed: int):
        self.seed = seed

    def encode(self, pixels):
        return reference_latent(self.seed, (128, pixels.shape[1] // 16, pixels.shape[2] // 16))


def triposplat_conditioning(seed: int) -> list:
    """The positive of ``TripoSplatConditioning``, by its own code, for a 64 x 64 image."""
    import comfy_harness as harness
    from comfy_extras import nodes_triposplat
    image = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(seed))
    positive, _, _ = harness.call_node(nodes_triposplat.TripoSplatConditioning, clip_vision=DinoV3StandIn(seed),
                                       vae=Flux2ReferenceEncoder(seed), image=image)
    return positive


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
    Family("Z-Image pixel space (omni)", "ZImagePixelSpace", _z_image_pixel, z_image_pixel_conditioning,
           (3, 64, 64), cfg=1.0, reference_key="ref_latents", requires=_lumina2_reads_references,
           note="pixel space (patch 16); the input image through ReferenceLatent (omni path), CFG 1"),
    Family("JoyImage-Edit", "JoyImage", JOY_IMAGE, joy_image_conditioning, (16, 1, 8, 8), cfg=4.0,
           reference_key="ref_latents", note="conditioning by TextEncodeJoyImageEdit (one image); real CFG"),
    Family("Krea 2 (edit)", "Krea2", KREA2, krea2_conditioning, (16, 1, 8, 8), cfg=3.0,
           reference_key="ref_latents",
           note="the input image through ReferenceLatent and the reference method index_timestep_zero; real CFG"),
    Family("TripoSplat", "TripoSplat", TRIPOSPLAT, triposplat_conditioning, (64, 16), cfg=3.0,
           reference_key="ref_latents", extra_latents=((1, 5),), refuses=dict.fromkeys(
               ("cycle_sde", "sync_sde", "sde_inpaint", "rf_inversion", "sde_drag"),
               "latent: TripoSplat models take a LATENT of 2 tensors (1, 64, 16), (1, 1, 5); the SDE Edit "
               "methods edit a single latent tensor and do not serve TripoSplat"),
           note="image to 3D splat: nested shape-code + camera latent, no image grid; conditioning by "
                "TripoSplatConditioning"),
]
