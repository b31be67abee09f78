"""SDE-Drag (Nie et al. 2311.01410, Sec. 4): point dragging by copy-and-paste of the noisy latent at t0,
then Cycle-SDE sampling; gradient-free, so it runs inside ComfyUI's inference mode.

For every sub-drag: record a fresh forward chain from the current latent up to t0 (Eq. 7), copy the
window around each handle to its target (Eq. 12: target <- alpha * source window, source <- beta * source
window + sqrt(1 - beta^2) * noise), then sample back with Cycle-SDE, the recorded noise being solved under
the sampling denoiser itself (Eq. 8) in the same batched call as the current state. A mask (1 = editable)
pins the rest to the recorded chain, so the output equals the source outside it.

Guided denoiser protocol: ``guided(x, sigma, cfg) -> x0`` (the CFG scale changes per step: it rises
linearly from 1 at the last step to ``cfg`` at t0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from .engine import (Callback, Denoiser, anchored_step, ddim_invert, forward_chain, noise_like, pin_to_recorded,
                     prepare, report, seeded, sigma_batch)
from .validation import InputError, check_fraction

GuidedDenoiser = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
Point = tuple[int, int]
Pair = tuple[Point, Point]


@dataclass(frozen=True)
class DragSettings:
    """Defaults of the paper's evaluation script (``sdedrag_dragbench.py`` of ML-GSAI/SDE-Drag), LoRA aside."""

    alpha: float = 1.1          # target amplification
    beta: float = 0.3           # source signal kept (noise weight sqrt(1 - beta^2))
    window: int = 5             # half-size of the copied square, in latent cells
    subdrag_step: float = 2.0   # latent cells per sub-drag
    cfg: float = 3.0            # CFG at t0 (1 at the last step)
    eta: float = 1.0            # 1 = SDE-Drag, 0 = ODE-Drag baseline

    def __post_init__(self):
        for name in ("alpha", "subdrag_step"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InputError(f"{name}: must be a positive number, got {value!r}")
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 1:
            raise InputError(f"window: must be a whole number of latent cells >= 1, got {self.window!r}")
        if not (isinstance(self.cfg, (int, float)) and math.isfinite(self.cfg) and self.cfg >= 0):
            raise InputError(f"cfg: must be a number >= 0, got {self.cfg!r}")
        check_fraction(self.beta, "beta", "share of the signal kept at the handle")
        check_fraction(self.eta, "eta", "1 = SDE-Drag, 0 = ODE-Drag")


def plan_subdrags(pairs: list[Pair], step: float) -> list[list[Pair]]:
    """Split the drags into m sub-drags whose longest move is closest to ``step`` cells (as the official
    ``sdedrag_dragbench.py`` and ``utils/drag.py::drag`` do).

    Every pair moves its own fraction i/m of its displacement, truncated toward zero.
    """
    longest = max(math.hypot(t[0] - s[0], t[1] - s[1]) for s, t in pairs)
    m = 1
    if longest > step:
        m = math.floor(longest / step)
        if abs(longest / m - step) > abs(longest / (m + 1) - step):
            m += 1

    def along(s, t, i):
        return tuple(a + _truncated_fraction(b - a, i, m) for a, b in zip(s, t))

    return [[(along(s, t, i), along(s, t, i + 1)) for s, t in pairs] for i in range(m)]


def _truncated_fraction(distance: int, i: int, m: int) -> int:
    """``trunc(distance * i / m)`` in exact integer arithmetic (float division misplaces some cells)."""
    magnitude = abs(distance) * i // m
    return magnitude if distance >= 0 else -magnitude


def copy_and_paste(x: torch.Tensor, pairs: list[Pair], window: int, alpha: float, beta: float,
                   generator: torch.Generator, noise_std: float = 1.0) -> torch.Tensor:
    """Eq. (12): per pair, in order, paste ``alpha *`` the source's square of half-size ``window`` at the target and re-noise the source.

    The paper's fresh noise is N(0, I) in VP units, where the state at t0 has unit scale; in ComfyUI units
    that is ``noise_std = sqrt(a(t0)^2 + sigma(t0)^2)`` (``Parameterization.vp_scale``). The window is clipped per side
    so both copies stay inside the latent; the target is written last.
    """
    x = x.clone()
    height, width = x.shape[-2:]
    for (sx, sy), (tx, ty) in pairs:
        left, right = min(window, sx, tx), min(window, width - 1 - sx, width - 1 - tx)
        up, down = min(window, sy, ty), min(window, height - 1 - sy, height - 1 - ty)
        source = (..., slice(sy - up, sy + down), slice(sx - left, sx + right))
        target = (..., slice(ty - up, ty + down), slice(tx - left, tx + right))
        patch = x[source].clone()
        x[source] = beta * patch + math.sqrt(1 - beta**2) * noise_std * noise_like(patch, generator)
        x[target] = alpha * patch
    return x


def cfg_ramp(steps: int, cfg: float) -> list[float]:
    """CFG per reverse step: ``cfg`` at the first step (t0), falling linearly to 1 at the last."""
    if steps == 1:
        return [cfg]
    return [1 + (cfg - 1) * (steps - 1 - k) / (steps - 1) for k in range(steps)]


@torch.no_grad()
def sde_drag(guided: GuidedDenoiser, x0: torch.Tensor, sigmas, param, pairs: list[Pair], *,
             settings: DragSettings = DragSettings(), mask: torch.Tensor | None = None, seed: int = 0,
             callback: Callback | None = None) -> torch.Tensor:
    """Drag latent cells ``pairs`` [(source, target), ...] of ``x0`` over the schedule ``sigmas`` (t0 -> 0).

    ``sigmas`` must end at 0: every sub-drag starts from the previous one's clean result.
    ``seed`` seeds one CPU generator for all sub-drags (forward chains and paste noise, in order).
    SDE-Drag (eta > 0) costs one batched ``guided`` call per step and sub-drag (current and recorded
    states together); ODE-Drag (eta = 0) costs two (DDIM inversion, then DDIM sampling).
    """
    setup = prepare(x0, sigmas, param, mask)
    param, values, mask = setup.param, setup.sigmas, setup.mask
    if values[-1] != 0:
        raise InputError(f"sigmas: SDE-Drag samples every sub-drag back to a clean latent, so the schedule "
                         f"must end at 0; it ends at {values[-1]:.4g} (do not split off its tail)")
    check_pairs_in_latent(pairs, x0.shape)
    steps = len(values) - 1
    ramp = cfg_ramp(steps, settings.cfg)
    levels = torch.tensor(values[:-1], dtype=torch.float64)

    def scheduled(x, sigma):
        k = int((levels - float(sigma[0])).abs().argmin())
        return guided(x, sigma, ramp[k])

    plan = plan_subdrags(pairs, settings.subdrag_step)
    noise_std = param.vp_scale(values[0])
    generator = seeded(seed)
    z = x0
    for i, subdrag in enumerate(plan):
        if settings.eta > 0:
            states = forward_chain(z, values, param, generator)
        else:
            states = ddim_invert(scheduled, z, values, param)
        pasted = copy_and_paste(states[0], subdrag, settings.window, settings.alpha, settings.beta, generator,
                                noise_std)
        x = pin_to_recorded(pasted, mask, states[0])
        for k in range(steps):
            x, x0_hat = _drag_step(scheduled, param, x, states, values, k, settings.eta)
            x = pin_to_recorded(x, mask, states[k + 1])
            report(callback, i * steps + k, x, x0_hat, values[k], values[k + 1], total=len(plan) * steps)
        z = x
    return z


def _drag_step(denoiser: Denoiser, param, x, states, values, k, eta):
    """One reverse step and its x0 estimate; for eta > 0 the recorded noise is solved in the same call
    (Eq. 8, batched with the current state)."""
    sigma, sigma_next = values[k], values[k + 1]
    if eta == 0:
        x0_hat = denoiser(x, sigma_batch(x, sigma))
        return anchored_step(param, x, x0_hat, sigma, sigma_next, 0.0), x0_hat
    both = torch.cat([x, states[k]])
    x0_hat, x0_recorded = denoiser(both, sigma_batch(both, sigma)).chunk(2)
    recorded_mean, _ = param.ddim_mean(states[k], x0_recorded, sigma, sigma_next, eta)
    return anchored_step(param, x, x0_hat, sigma, sigma_next, eta, states[k + 1], recorded_mean), x0_hat


def check_pairs_in_latent(pairs: list[Pair], shape) -> None:
    height, width = shape[-2:]
    if not pairs:
        raise InputError("drag_points: no pairs; place at least one handle and its target")
    for i, pair in enumerate(pairs, start=1):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(
                isinstance(point, (list, tuple)) and len(point) == 2 and
                all(isinstance(v, int) and not isinstance(v, bool) for v in point) for point in pair)):
            raise InputError(f"drag_points: pair {i} must be ((x, y), (x, y)) in whole latent cells, got {pair!r}")
        for role, (px, py) in zip(("source", "target"), pair):
            if not (0 <= px < width and 0 <= py < height):
                raise InputError(f"drag_points: pair {i} {role} cell ({px}, {py}) lies outside the "
                                 f"{width}x{height} latent")
