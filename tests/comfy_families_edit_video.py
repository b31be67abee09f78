"""Video families whose model reads reference latents (issue 19, part 1): the Wan variants of ComfyUI 0.33.0
whose ``model_base`` takes ``reference_latents`` from the conditioning and whose transformer uses them.

Each conditioning is made by the core node that makes it in the family's workflows, run with stand-in encoders
(``WanVideoEncoder`` for the Wan 2.1 VAE, ``audio_encoder_output`` for Whisper / wav2vec2, ``ClipVisionStandIn``
for CLIP-H): the node's own code resizes the images, encodes them, builds the audio windows and sets
``reference_latents`` (and the rest of its conditioning). The latents are Wan 2.1's ``[16, T, H, W]`` (Wan 2.2's
``[48, T, H, W]`` for the 5B), here 2 frames of 8 x 8 (a 5-frame clip); the transformers are ``_wan`` (64 wide,
2 heads, one block).

* Wan 2.2 Fun Control A14B (reference image): the Wan 2.2 Fun A14B Control transformer, i.e. ``WanModel`` with
  ``ref_conv`` (model_detection sets ``in_dim_ref_conv`` from the checkpoint's ``ref_conv.weight``) and 52 input
  channels (latent + control video 16 + mask 4 + start image 16); config ``WAN21_T2V`` (the checkpoint has no
  ``img_emb``). Conditioning by core ``Wan22FunControlToVideo`` with ``ref_image`` and ``control_video``: the
  reference image's latent becomes ``reference_latent`` (its first frame, through ``ref_conv``, prepended to the
  video tokens), the control video the concat latent. Wan 2.1 Fun Control (``WanFunControlToVideo``) sets no
  reference latents.
* Wan 2.2 Fun Control 5B (reference image): the node's 48-channel branch (Wan 2.2 latents [48, T, H, W] of the
  16x VAE, in_dim 48 + 96 + 4 = 148, ``ref_conv`` on 48 channels), config ``WAN22_T2V``, whose ``model_base``
  also turns a noise mask into per-frame timesteps. That the released 5B Control checkpoint carries ``ref_conv``
  is not checked here: the family is what ComfyUI builds for one that does.
* Wan HuMo 17B and Wan HuMo 1.7B (``WAN21_HuMo``, ``HumoWanModel``): conditioning by core
  ``WanHuMoImageToVideo`` with ``ref_image`` and a stand-in Whisper large-v3 output (33 hidden states of 1280,
  50 per second): the reference latent is appended as frames after the video (its own RoPE time band), the audio
  windows ``[1, T, 8, 5, 1280]`` go through the model's audio projection (fixed 51200 -> 512 -> 16 x 1536, the
  same at any model size) into per-block audio cross-attention. The 17B model (``in_dim`` 36) takes the zero-VAE
  concat latent, and ``model_base`` widens the reference to 36 channels (``c_concat`` path); the 1.7B model
  (``in_dim`` 16) reads it as is.
* Wan 2.2 S2V (``WAN22_S2V``, ``WanModel_S2V``): conditioning by core ``WanSoundImageToVideo`` with
  ``ref_image`` and a stand-in wav2vec2-large output (25 hidden states of 1024): the reference frame is appended
  after the video at timestep 0, the audio goes through the causal audio encoder into the audio injector (one
  injection layer, ``audio_inject_layers`` [0], for the one block); the node's zero ``control_video`` latent
  goes through ``cond_encoder``.
* Wan SCAIL and Wan SCAIL-2 (``WAN21_SCAIL`` / ``WAN21_SCAIL2``, ``SCAILWanModel`` / ``SCAIL2WanModel``, 20 input
  channels: latent + 4 mask): conditioning by core ``WanSCAILToVideo`` with ``reference_image``, ``pose_video``
  (encoded at half size into ``pose_video_latent``) and a stand-in CLIP-H vision output; SCAIL-2 also with the
  colored ``pose_video_mask`` and ``reference_image_mask`` (animation mode), which become its 28-channel identity
  mask streams. The model prepends the reference frame (plus 4 ones channels) to the video in time.

Left out: ``WAN22_Animate`` reads ``reference_latents`` only through ``WAN21.extra_conds`` (inherited), and its
``AnimateWanModel`` has no ``ref_conv``, so it drops them; its core node (``WanAnimateToVideo``) puts the
reference image in the concat latent and never sets ``reference_latents``. The other Wan variants (VACE, Camera,
Animate 2, WanDancer, ...) inherit the same ``WAN21.extra_conds`` branch, but no core node of theirs sets
``reference_latents``.
"""
from __future__ import annotations

import torch

from comfy_families import Family, tokens
from comfy_families_video import _wan

WIDTH, HEIGHT, LENGTH = 64, 64, 5
"""The clip the nodes are asked for: 5 frames of 64 x 64, i.e. Wan 2.1 latents [16, 2, 8, 8]."""
LATENT = (16, (LENGTH - 1) // 4 + 1, HEIGHT // 8, WIDTH // 8)


class WanVideoEncoder:
    """A stand-in Wan VAE for the Wan conditioning nodes: ``encode`` of N frames [N, H, W, 3] gives a seeded
    latent [1, C, (N - 1) // 4 + 1, H / s, W / s] (4x temporal; Wan 2.1: C = 16, s = 8; Wan 2.2: 48, 16), one
    seed per call."""

    def __init__(self, seed: int, latent_channels: int = 16, scale: int = 8):
        self.seed, self.count, self.latent_channels, self.scale = seed, 0, latent_channels, scale

    def spacial_compression_encode(self) -> int:
        return self.scale

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        self.count += 1
        frames, height, width = pixels.shape[0], pixels.shape[1], pixels.shape[2]
        shape = (1, self.latent_channels, (frames - 1) // 4 + 1, height // self.scale, width // self.scale)
        return torch.randn(shape, generator=torch.Generator().manual_seed(1000 + self.seed * 10 + self.count))


class ClipVisionStandIn:
    """A stand-in CLIP-H vision output (``penultimate_hidden_states`` [1, tokens, 1280]; 257 in the real one)."""

    def __init__(self, seed: int, count: int = 9):
        self.penultimate_hidden_states = tokens(3000 + seed, count, 1280)[0][0]


def audio_encoder_output(seed: int, layers: int, width: int, seconds: float = 0.5) -> dict:
    """A stand-in for core ``AudioEncoderEncode``'s output on ``seconds`` of 16 kHz audio: ``layers`` seeded hidden
    states [1, 50 * seconds, width] (50 per second, as Whisper and wav2vec2 give them)."""
    generator = torch.Generator().manual_seed(4000 + seed)
    frames = int(50 * seconds)
    all_layers = [torch.randn(1, frames, width, generator=generator) for _ in range(layers)]
    return {"encoded_audio": all_layers[-1], "encoded_audio_all_layers": all_layers,
            "audio_samples": int(16000 * seconds)}


def _image(seed: int, frames: int = 1, height: int = HEIGHT, width: int = WIDTH) -> torch.Tensor:
    return torch.rand(frames, height, width, 3, generator=torch.Generator().manual_seed(2000 + seed))


def fun_control_conditioning(latent_channels: int):
    """The positive of ``Wan22FunControlToVideo`` with a reference image and a control video, by its own code, for
    Wan 2.1 latents (16 channels, 8x) or Wan 2.2 latents (48 channels, 16x), 8 x 8 either way."""
    scale = 8 if latent_channels == 16 else 16

    def conditioning(seed: int) -> list:
        import comfy_harness as harness
        from comfy_extras import nodes_wan
        text = tokens(seed, 6, 4096)
        size = 8 * scale
        positive, _, _ = harness.call_node(
            nodes_wan.Wan22FunControlToVideo, positive=text, negative=text,
            vae=WanVideoEncoder(seed, latent_channels, scale), width=size, height=size, length=LENGTH, batch_size=1,
            ref_image=_image(seed, 1, size, size), control_video=_image(seed + 1, LENGTH, size, size))
        return positive
    return conditioning


def audio_reference_conditioning(node: str, layers: int, width: int):
    """The positive of core ``node`` (a Wan audio-to-video node) with a reference image and an audio encoder's
    ``layers`` hidden states of ``width``: Whisper large-v3 (33 x 1280) for HuMo, wav2vec2-large (25 x 1024) for
    S2V."""
    def conditioning(seed: int) -> list:
        import comfy_harness as harness
        from comfy_extras import nodes_wan
        text = tokens(seed, 6, 4096)
        positive, _, _ = harness.call_node(getattr(nodes_wan, node), positive=text, negative=text,
                                           vae=WanVideoEncoder(seed), width=WIDTH, height=HEIGHT, length=LENGTH,
                                           batch_size=1, ref_image=_image(seed),
                                           audio_encoder_output=audio_encoder_output(seed, layers, width))
        return positive
    return conditioning


humo_conditioning = audio_reference_conditioning("WanHuMoImageToVideo", 33, 1280)
s2v_conditioning = audio_reference_conditioning("WanSoundImageToVideo", 25, 1024)


def _colored_mask(frames: int, background: float, seed: int) -> torch.Tensor:
    """A SCAIL-2 colored identity mask: one blue (palette 0) person-sized box on a black / white background."""
    mask = torch.full((frames, HEIGHT, WIDTH, 3), background)
    top = 8 + seed % 8
    mask[:, top:top + 40, 16:44] = torch.tensor([0.0, 0.0, 1.0])
    return mask


def scail_conditioning(masks: bool):
    """The positive of ``WanSCAILToVideo`` with a reference image, a pose video and CLIP-H features; with
    ``masks`` (SCAIL-2) also the colored pose-video and reference masks (animation mode)."""
    def conditioning(seed: int) -> list:
        import comfy_harness as harness
        from comfy_extras import nodes_scail
        text = tokens(seed, 6, 4096)
        extras = {"pose_video_mask": _colored_mask(LENGTH, 0.0, seed),
                  "reference_image_mask": _colored_mask(1, 1.0, seed)} if masks else {}
        positive, _, _, _ = harness.call_node(
            nodes_scail.WanSCAILToVideo, positive=text, negative=text, vae=WanVideoEncoder(seed), width=WIDTH,
            height=HEIGHT, length=LENGTH, batch_size=1, pose_strength=1.0, pose_start=0.0, pose_end=1.0,
            video_frame_offset=0, previous_frame_count=5, replacement_mode=False, reference_image=_image(seed),
            pose_video=_image(seed + 1, LENGTH), clip_vision_output=ClipVisionStandIn(seed), **extras)
        return positive
    return conditioning


FAMILIES = [
    Family("Wan 2.2 Fun Control A14B (reference image)", "WAN21_T2V", _wan(in_dim=52, in_dim_ref_conv=16),
           fun_control_conditioning(16), LATENT, cfg=5.0, video=True, reference_key="reference_latent",
           note="ref_conv reference frame + control video, by Wan22FunControlToVideo"),
    Family("Wan 2.2 Fun Control 5B (reference image)", "WAN22_T2V",
           _wan(in_dim=148, out_dim=48, in_dim_ref_conv=48), fun_control_conditioning(48), (48, 2, 8, 8), cfg=5.0,
           video=True, reference_key="reference_latent",
           note="Wan 2.2 latents; ref_conv reference frame + control video, by Wan22FunControlToVideo"),
    Family("Wan HuMo 17B", "WAN21_HuMo", _wan(model_type="humo", in_dim=36), humo_conditioning, LATENT, cfg=5.0,
           video=True, reference_key="reference_latent",
           note="reference frames after the video + Whisper audio, by WanHuMoImageToVideo; zero-VAE concat latent"),
    Family("Wan HuMo 1.7B", "WAN21_HuMo", _wan(model_type="humo"), humo_conditioning, LATENT, cfg=5.0,
           video=True, reference_key="reference_latent",
           note="reference frames after the video + Whisper audio, by WanHuMoImageToVideo; no concat latent"),
    Family("Wan 2.2 S2V", "WAN22_S2V", _wan(model_type="s2v", audio_inject_layers=[0]), s2v_conditioning, LATENT,
           cfg=4.5, video=True, reference_key="reference_latent",
           note="reference frame at timestep 0 + wav2vec2 audio, by WanSoundImageToVideo"),
    Family("Wan SCAIL", "WAN21_SCAIL", _wan(model_type="scail", in_dim=20), scail_conditioning(False), LATENT,
           cfg=5.0, video=True, reference_key="reference_latent",
           note="reference frame before the video + half-size pose latents + CLIP-H, by WanSCAILToVideo"),
    Family("Wan SCAIL-2", "WAN21_SCAIL2", _wan(model_type="scail2", in_dim=20), scail_conditioning(True), LATENT,
           cfg=5.0, video=True, reference_key="reference_latent",
           note="as SCAIL, with the colored identity masks (animation mode), by WanSCAILToVideo"),
]
