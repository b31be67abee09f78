"""Reference schedules for tests and demos (inside ComfyUI the SIGMAS come from its schedulers)."""
from __future__ import annotations

import torch


def sd_discrete_sigmas() -> torch.Tensor:
    """The 1000 noise levels of SD1.x/SDXL (scaled-linear betas 0.00085..0.012), ascending, float64."""
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
    return ((1.0 - alphas_cumprod) / alphas_cumprod).sqrt()


def sd_uniform_schedule(steps: int, t0: float = 1.0) -> list[float]:
    """``steps`` uniformly spaced SD timesteps from t0 * 999 down, then 0 (descending sigmas)."""
    table = sd_discrete_sigmas()
    timesteps = torch.linspace(999 * t0, 0, steps).round().long()
    return table[timesteps].tolist() + [0.0]


def flow_schedule(steps: int, t0: float = 1.0, shift: float = 1.0) -> list[float]:
    """Rectified-flow levels t0 -> 0 with SD3/Flux time shift ``shift * t / (1 + (shift - 1) t)``."""
    t = torch.linspace(t0, 0.0, steps + 1, dtype=torch.float64)
    return (shift * t / (1 + (shift - 1) * t)).tolist()


def reference_sigmas(kind: str, steps: int, t0: float = 1.0, flow_shift: float = 1.0) -> list[float]:
    """The reference schedule of a parameterisation kind: SD's uniform timesteps (``"eps"``) or flow levels
    (``"flow"``)."""
    return sd_uniform_schedule(steps, t0) if kind == "eps" else flow_schedule(steps, t0, flow_shift)
