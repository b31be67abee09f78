"""ComfyUI tier: tiny random-weight instances of the image model families, built with ComfyUI's own classes.

Each ``Family`` names a config class of ``comfy.supported_models`` and a small ``unet_config`` of that
architecture; ``build()`` makes the ModelPatcher exactly as ComfyUI's loaders do (config -> ``get_model`` ->
ModelPatcher), with seeded weights (``comfy_harness.init_weights``). ``conditioning(seed)`` gives tensors of
the shapes the family's text encoders give (token count cut to a few), with the extras its ``extra_conds``
reads (pooled output, Flux guidance, attention masks, ...). Nothing is downloaded.

The families are grouped by architecture in ``comfy_families_*.py``; ``FAMILIES`` collects them all. The
family matrix (``tests/test_comfyui_families.py``) runs every method through its nodes on each family and
records the support table's data (``python -m tools.support_table``). The instruction-edit families
(``comfy_families_edit.py``) carry reference latents in their conditioning.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

import comfy_harness


@dataclass(frozen=True)
class Family:
    """A tiny instance of one model family.

    ``config``: class name in ``comfy.supported_models``; ``unet_config``: the architecture's constructor
    arguments (a callable when they depend on the ComfyUI release); ``latent``: one latent's shape, e.g.
    ``(16, 8, 8)`` or ``(16, 1, 8, 8)`` for a family with video latents; ``cfg``: the CFG the matrix uses (1
    for guidance-distilled models, whose guidance sits in the conditioning); ``patch``: a core model patch the
    family is used with (e.g. a V-prediction or shift node), applied to the built ModelPatcher;
    ``refuses``: method -> the start of the error message the family is expected to get (a method it
    cannot serve), e.g. ``{"sde_drag": "latent:"}``; ``video``: a video model (its latent holds several
    frames, ``latent = (C, T, H, W)`` with T > 1); ``reference_key``: for an instruction-edit family, whose
    conditioning carries ``reference_latents``, the key of the model call's conditioning that the model
    builds from them (e.g. ``ref_latents``); ``extra_latents``: the shapes of the further tensors that a
    nested LATENT of the family carries after ``latent`` (TripoSplat's camera token); ``requires``: a further
    check of the running ComfyUI, giving why it cannot build the family (e.g. a model option a release lacks),
    or None.
    """

    name: str
    config: str
    unet_config: dict | Callable[[], dict]
    conditioning: Callable[[int], list]
    latent: tuple[int, ...]
    cfg: float = 2.0
    patch: Callable | None = None
    refuses: dict = field(default_factory=dict)
    note: str = ""
    video: bool = False
    reference_key: str | None = None
    extra_latents: tuple[tuple[int, ...], ...] = ()
    requires: Callable[[], str | None] | None = None

    def missing(self) -> str | None:
        """Why this ComfyUI cannot build the family (its config class is absent, or ``requires`` says why), or
        None."""
        import comfy.supported_models
        if not hasattr(comfy.supported_models, self.config):
            return f"comfy.supported_models has no {self.config} in this release"
        return self.requires() if self.requires is not None else None

    def build(self, seed: int = 0):
        """The family's ModelPatcher, built as ComfyUI's loaders build one, with seeded random weights."""
        import comfy.model_management as mm
        import comfy.model_patcher
        import comfy.supported_models

        unet_config = self.unet_config() if callable(self.unet_config) else dict(self.unet_config)
        config = getattr(comfy.supported_models, self.config)(unet_config)
        config.set_inference_dtype(torch.float32, None)
        model = config.get_model({})
        comfy_harness.init_weights(model.diffusion_model, seed)
        patcher = comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(),
                                                   offload_device=mm.unet_offload_device())
        return self.patch(patcher) if self.patch is not None else patcher


def tokens(seed: int, count: int, dim: int, **extras) -> list:
    """One conditioning entry ``[[randn(1, count, dim), extras]]``; tensor-valued extras are given as their
    shapes (tuples) and drawn after the tokens, in order, from the same seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    cond = torch.randn(1, count, dim, generator=generator)
    drawn = {key: torch.randn(value, generator=generator) if isinstance(value, tuple) else value
             for key, value in extras.items()}
    return [[cond, drawn]]


def _families() -> list[Family]:
    import comfy_families_dit
    import comfy_families_edit
    import comfy_families_edit_video
    import comfy_families_flux
    import comfy_families_next
    import comfy_families_unet
    import comfy_families_video
    return [*comfy_families_unet.FAMILIES, *comfy_families_flux.FAMILIES, *comfy_families_dit.FAMILIES,
            *comfy_families_next.FAMILIES, *comfy_families_video.FAMILIES, *comfy_families_edit.FAMILIES,
            *comfy_families_edit_video.FAMILIES]


FAMILIES: dict[str, Family] = {family.name: family for family in _families()}
