"""Input checks shared by every method: each failure names the input and what is allowed."""
from __future__ import annotations

import torch

from .noise_levels import Parameterization


class InputError(ValueError):
    """Bad user input (shapes, schedules, values), reported before any model call."""


def check_sigmas(sigmas, param: Parameterization, name: str = "sigmas") -> list[float]:
    """A sampling schedule: 1-D, at least 2 entries, finite, strictly decreasing, ending at >= 0.

    Returns the levels as Python floats, float64 whatever the input (a list of floats keeps its float64 values).
    """
    values = torch.as_tensor(sigmas, dtype=torch.float64).detach().cpu()
    if values.ndim != 1 or values.numel() < 2:
        raise InputError(f"{name}: need a 1-D schedule with at least 2 noise levels (1 step), "
                         f"got shape {tuple(values.shape)}")
    if not torch.isfinite(values).all():
        raise InputError(f"{name}: every noise level must be finite, got {_brief(values)}")
    if (values[1:] >= values[:-1]).any():
        raise InputError(f"{name}: noise levels must be strictly decreasing (high noise first, as "
                         f"BasicScheduler gives them); got {_brief(values)}. Do not flip the sigmas.")
    if values[-1] < 0:
        raise InputError(f"{name}: noise levels must be >= 0, got {_brief(values)}")
    if values[0] > param.max_sigma():
        raise InputError(f"{name}: {param.model_kind} needs noise levels <= {param.max_sigma()}, "
                         f"got {values[0].item()}")
    return values.tolist()


def _brief(values: torch.Tensor, ends: int = 3) -> str:
    """A schedule for an error message: every level when short, else its ends and the count."""
    text = [f"{v:.4g}" for v in values.tolist()]
    if len(text) > 2 * ends + 1:
        text = [*text[:ends], "...", *text[-ends:]]
    return f"[{', '.join(text)}] ({values.numel()} levels)"


def check_latent(x: torch.Tensor, name: str = "latent") -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < 3:
        raise InputError(f"{name}: expected a batched latent tensor [B, C, ...], got "
                         f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
    if not torch.isfinite(x).all():
        raise InputError(f"{name}: contains NaN or infinite values")


def check_mask(mask: torch.Tensor | None, latent_shape: torch.Size, name: str = "mask") -> None:
    """A mask must broadcast over the latent ([B or 1, C or 1, *spatial dims of the latent]), lie in [0, 1]
    and leave something editable."""
    if mask is None:
        return
    if mask.ndim != len(latent_shape) or mask.shape[2:] != latent_shape[2:] or \
            mask.shape[0] not in (1, latent_shape[0]) or mask.shape[1] not in (1, latent_shape[1]):
        raise InputError(f"{name}: shape {tuple(mask.shape)} does not match the latent "
                         f"{tuple(latent_shape)}; allowed: [B or 1, C or 1, {', '.join(map(str, latent_shape[2:]))}]")
    low, high = mask.aminmax()
    if not torch.isfinite(mask).all() or low < 0 or high > 1:
        raise InputError(f"{name}: values must lie in [0, 1] (1 = editable)")
    if high == 0:
        raise InputError(f"{name}: nothing is editable (0 everywhere; 1 = editable), so the result would be the "
                         f"source. An unpainted LoadImage mask is all 0: paint the area in its MaskEditor, or "
                         f"leave the mask out to edit the whole image")


def check_fraction(value: float, name: str, meaning: str) -> None:
    """A strength in [0, 1] (eta, gamma, ...)."""
    if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
        raise InputError(f"{name}: must lie in [0, 1] ({meaning}), got {value!r}")


def check_choice(value, choices, name: str) -> None:
    """One of a fixed set of options (ComfyUI does not validate combo values on every release)."""
    if value not in choices:
        raise InputError(f"{name}: {value!r} is not one of {tuple(choices)}")


def check_step(value: int, name: str, low: int, high: int, meaning: str) -> None:
    """A step index (a whole number) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name}: must be a whole number from {low} to {high} ({meaning}), got {value!r}")
