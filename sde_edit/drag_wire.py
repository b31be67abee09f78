"""The SDE-Drag point editor's wire formats, shared by the node and the editor (``web/js/drag_wire.js``); plain
torch, no ComfyUI.

* ``drag_points``: ``{"pairs": [{"source": [x, y], "target": [x, y]}, ...]}`` in image pixels (x = column, y = row,
  origin top-left), as the editor writes it. Image pixels become latent cells by integer division by the VAE's
  downscale, after VAE Encode's centre crop.
* ``editor_mask``: ``{"size": [W, H], "runs": [r0, r1, ...]}``, a run-length code of the painted mask.
* The source image the node shows in its editor: a UI output under ``EDITOR_IMAGE_KEY`` and, as soon as the node
  starts, the websocket message ``EDITOR_IMAGE_EVENT``.

``tests/data/drag_wire_cases.json`` holds cases that this module and the editor's must read alike (same pairs,
same errors).
"""
from __future__ import annotations

import json
import math

import torch

from .samplers.validation import InputError

NO_POINTS = '{"pairs": []}'
EDITOR_IMAGE_KEY = "sde_drag_source"  # the node's UI output with the editor's source image
EDITOR_IMAGE_EVENT = "sde_edit.editor_image"  # the websocket message that publishes it before the node finishes
MAX_MASK_SIDE = 16384  # ComfyUI's largest image side (nodes.MAX_RESOLUTION)
EDITOR_MASK_FORMAT = '{"size": [width, height], "runs": [r0, r1, ...]}'
MASK_PAINTING = "paint the area to drag in LoadImage's MaskEditor, or disconnect the mask to edit the whole image"


POINTS_FORMAT = '{"pairs": [{"source": [x, y], "target": [x, y]}, ...]}'


def parse_drag_points(text: str | None) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The pairs of a ``drag_points`` text as ((x, y), (x, y)) image pixels; blank text and ``{"pairs": []}`` give
    ``[]`` (a caller that needs a pair says so in its own words). Coordinates are checked to be finite and >= 0;
    ``check_in_image`` checks the far edges once the image is known."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return []
    if not isinstance(text, str):
        raise InputError(f"drag_points: expected a JSON string, got {type(text).__name__}")
    data = _json(text, "drag_points", POINTS_FORMAT + " in image pixels (the point editor writes it)")
    if not isinstance(data, dict):
        raise InputError(f'drag_points: must be a JSON object {{"pairs": [...]}}, got {_shown(data)}')
    if "pairs" not in data:
        raise InputError('drag_points: missing key "pairs"')
    if not isinstance(data["pairs"], list):
        raise InputError(f'drag_points: "pairs" must be a list, got {_shown(data["pairs"])}')
    parsed = []
    for i, pair in enumerate(data["pairs"], start=1):
        if not isinstance(pair, dict):
            raise InputError(f'drag_points: pair {i} must be an object {{"source": [x, y], "target": [x, y]}}, '
                             f'got {_shown(pair)}')
        parsed.append((_point(pair, i, "source"), _point(pair, i, "target")))
    return parsed


def _point(pair: dict, i: int, role: str) -> tuple[float, float]:
    if role not in pair:
        raise InputError(f'drag_points: pair {i} has no "{role}"')
    value = pair[role]
    if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
        raise InputError(f"drag_points: pair {i} {role} must be [x, y] with two finite numbers, got {_shown(value)}")
    if value[0] < 0 or value[1] < 0:
        raise InputError(f"drag_points: pair {i} {role} {_shown(value)} is negative (image pixels start at 0)")
    return float(value[0]), float(value[1])


def check_in_image(pairs, width: int, height: int) -> None:
    """Refuse a point beyond the right or bottom edge of a ``width`` x ``height`` image."""
    for i, pair in enumerate(pairs, start=1):
        for role, (x, y) in zip(("source", "target"), pair):
            if x >= width or y >= height:
                raise InputError(f"drag_points: pair {i} {role} ({x:g}, {y:g}) lies outside the {width}x{height} "
                                 f"image (x in [0, {width}), y in [0, {height}))")


def parse_editor_mask(text: str | None) -> torch.Tensor | None:
    """The mask painted in the point editor (``editor_mask``): a [1, H, W] float tensor, 1 = editable; None for
    blank text (no mask).

    Format: ``{"size": [W, H], "runs": [r0, r1, ...]}``, a run-length code of the binary mask at the image's
    pixel size, row-major, the runs alternating 0 and 1 and starting with 0 (r0 may be 0). The runs are
    decoded exactly, so the node masks the very pixels the editor showed.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        raise InputError(f"editor_mask: expected a JSON string, got {type(text).__name__}")
    data = _json(text, "editor_mask", EDITOR_MASK_FORMAT + " (the point editor writes it; clear the mask there, "
                 "or leave editor_mask empty for no mask)")
    if not isinstance(data, dict) or "size" not in data or "runs" not in data:
        raise InputError(f"editor_mask: expected an object {EDITOR_MASK_FORMAT}")
    size, runs = data["size"], data["runs"]
    if not (isinstance(size, list) and len(size) == 2 and all(_is_whole(v) and 1 <= v <= MAX_MASK_SIDE
                                                               for v in size)):
        raise InputError(f"editor_mask: size must be [width, height], two whole numbers from 1 to {MAX_MASK_SIDE}, "
                         f"got {_shown(size)}")
    if not (isinstance(runs, list) and all(_is_whole(v) and v >= 0 for v in runs)):
        raise InputError("editor_mask: runs must be a list of whole numbers >= 0 (pixels per run, alternating "
                         "kept and editable, starting with kept)")
    width, height = int(size[0]), int(size[1])
    covered = int(sum(runs))
    if covered != width * height:
        raise InputError(f"editor_mask: the runs cover {covered} pixels, but its size {width}x{height} has "
                         f"{width * height}")
    values = (torch.arange(len(runs)) % 2).float()
    return torch.repeat_interleave(values, torch.tensor([int(r) for r in runs], dtype=torch.long)
                                   ).reshape(1, height, width)


def _json(text: str, name: str, expected: str):
    """JSON as a browser reads it: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    try:
        return json.loads(text, parse_constant=refuse)
    except ValueError as error:
        raise InputError(f"{name}: not valid JSON ({error}); expected {expected}") from None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value) -> bool:
    """A whole number as JSON has it (3 and 3.0 alike, as in a browser)."""
    return _is_number(value) and float(value).is_integer()


def _shown(value) -> str:
    """A value in an error message as a browser's ``JSON.stringify`` writes it (so the editor shows the same
    message), at most 60 characters."""
    text = json.dumps(_as_in_browser(value), separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."


def _as_in_browser(value):
    """JSON values as a browser holds them: one number type (120.0 is 120), and no NaN or infinity (null)."""
    if isinstance(value, float):
        return (int(value) if value.is_integer() else value) if math.isfinite(value) else None
    if isinstance(value, list):
        return [_as_in_browser(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_in_browser(v) for k, v in value.items()}
    return value


def pixels_to_cells(pairs, downscale: int, crop: tuple[int, int] = (0, 0)) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Image pixels to latent cells by integer division (8 for SD and Flux VAEs), after removing the
    ``crop`` = (left, top) pixels that VAE Encode cuts off an image whose size is not a multiple of it."""
    def cell(point):
        return int((point[0] - crop[0]) // downscale), int((point[1] - crop[1]) // downscale)
    return [(cell(s), cell(t)) for s, t in pairs]


def latent_pairs(pairs, latent_shape, downscale: int, image_size: tuple[int, int] | None = None):
    """Parsed ``drag_points`` pairs (image pixels) as latent cells, read through VAE Encode's centre crop;
    ``image_size`` (width, height) of the image the points were placed on, by default the latent's in pixels."""
    height, width = latent_shape[-2:]
    image_width, image_height = image_size or (width * downscale, height * downscale)
    crop = vae_crop(image_width, width, downscale), vae_crop(image_height, height, downscale)
    check_in_image(pairs, image_width, image_height)
    return pixels_to_cells(pairs, downscale, crop)


def vae_crop(pixels: int, cells: int, downscale: int) -> int:
    """Pixels VAE Encode cuts off the start of an image side (it centre-crops to a multiple of the downscale)."""
    return (pixels - cells * downscale) // 2


def fits_latent(pixels: int, cells: int, downscale: int) -> bool:
    """Whether an image side encodes to ``cells`` latent cells (VAE Encode drops the remainder)."""
    return cells * downscale <= pixels < (cells + 1) * downscale


def latent_mask(mask: torch.Tensor, latent: torch.Tensor, downscale: int, name: str = "mask",
                painting: str = MASK_PAINTING) -> torch.Tensor:
    """A MASK at image or latent resolution as a [B or 1, H, W] noise mask (white = editable); an image-size
    mask is centre-cropped as VAE Encode crops the image, then area-resized. For a video latent the drag moves
    every frame alike, so a mask given per frame becomes one mask, the union of its frames. ``name`` is the
    input the errors name, ``painting`` how to paint an editable area there."""
    mask = mask if mask.ndim == 3 else mask[None]
    if latent.ndim == 5:
        mask = mask.amax(0, keepdim=True)
    height, width = latent.shape[-2:]
    mask_height, mask_width = mask.shape[-2:]
    at_latent = (mask_height, mask_width) == (height, width)
    if not at_latent and not (fits_latent(mask_height, height, downscale) and
                              fits_latent(mask_width, width, downscale)):
        raise InputError(f"{name}: size {mask_width}x{mask_height} matches neither the image "
                         f"({width * downscale}x{height * downscale}, up to {downscale - 1} pixels more per side) "
                         f"nor the latent ({width}x{height}); use the mask of the image that was encoded")
    if mask.shape[0] not in (1, latent.shape[0]):
        raise InputError(f"{name}: batch {mask.shape[0]} does not match the latent batch {latent.shape[0]}")
    if not at_latent:
        top, left = vae_crop(mask_height, height, downscale), vae_crop(mask_width, width, downscale)
        mask = mask[:, top:top + height * downscale, left:left + width * downscale]
        mask = torch.nn.functional.interpolate(mask[:, None].float(), size=(height, width), mode="area")[:, 0]
    mask = (mask > 0.5).float()
    if not mask.any():
        raise InputError(f"{name}: nothing is editable (all black at latent resolution); {painting}")
    return mask


