"""Video families whose model reads reference latents (issue 19, part 1): the Wan variants of ComfyUI 0.33.0
whose ``model_base`` takes ``reference_latents`` from the conditioning.
"""
from __future__ import annotations

from comfy_families import Family

FAMILIES: list[Family] = []
