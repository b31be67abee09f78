"""The engine under every method of the pack: types, input preparation, seeded noise, the forward chain,
the anchored reverse step, mask pinning and DDIM inversion.

Denoiser protocol (k-diffusion style): ``denoiser(x, sigma) -> x0`` with ``sigma`` a [B] tensor in ComfyUI's
sigma units, plus the model's ``Parameterization`` (``noise_levels``). A method module (``cycle_sde``,
``sde_drag``, ``sync_sde``, ``sde_inpaint``, ``rf_inversion``) is one loop over these pieces:

* ``prepare`` checks the schedule, the latent and the mask once, before any model call;
* ``forward_chain`` records the Markov forward chain of a clean latent (Nie et al. 2311.01410, Eq. 7), and
  ``forward_chain_top_down`` draws it again from its seed, level by level from the top;
* ``anchored_step`` is the reverse DDIM-eta step (Eq. 6), in the deviation form of Cycle-SDE (Eq. 8) when a
  recorded step anchors it;
* ``pin_to_recorded`` keeps the region outside a mask on a recorded path;
* ``report`` hands one step to the caller's callback (progress, previews, interrupts).

Every entry point runs under ``torch.no_grad()``, as k-diffusion's samplers do: editing never needs a graph.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from .noise_levels import Parameterization, parameterization
from .validation import check_latent, check_mask, check_sigmas

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[dict], None]


@dataclass(frozen=True)
class Prepared:
    """A method's checked inputs: the parameterisation, the levels as float64 Python floats, and the mask
    (1 = editable) on the latent's device and dtype, or None."""

    param: Parameterization
    sigmas: list[float]
    mask: torch.Tensor | None


def prepare(x: torch.Tensor, sigmas, param, mask: torch.Tensor | None = None, name: str = "latent") -> Prepared:
    """Check ``sigmas``, the latent ``x`` (named ``name`` in errors) and ``mask`` once, before any model call."""
    param = parameterization(param)
    values = check_sigmas(sigmas, param)
    check_latent(x, name)
    check_mask(mask, x.shape)
    return Prepared(param, values, None if mask is None else mask.to(x))


def report(callback: Callback | None, i: int, x: torch.Tensor, denoised: torch.Tensor, sigma: float,
           sigma_next: float, **extra) -> None:
    """One finished step, as k-diffusion reports it (``i``, ``x``, ``denoised``, ``sigma``, ``sigma_next``)."""
    if callback is not None:
        callback({"i": i, "x": x, "denoised": denoised, "sigma": sigma, "sigma_next": sigma_next, **extra})


def sigma_batch(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """The noise level as the [B] tensor the denoiser protocol takes (at least float32, as ComfyUI's
    sigmas: a bf16 latent must not round the level the model sees away from the step's own)."""
    return torch.full((x.shape[0],), sigma, dtype=torch.promote_types(x.dtype, torch.float32), device=x.device)


def noise_like(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Seeded Gaussian drawn on the CPU (device independent), moved to x's device and dtype."""
    return torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)


def seeded(seed: int) -> torch.Generator:
    """The CPU generator every method draws its noise from."""
    return torch.Generator("cpu").manual_seed(int(seed))


def forward_chain(x0: torch.Tensor, values: list[float], param: Parameterization,
                  generator: torch.Generator) -> torch.Tensor:
    """Markov forward chain from ``x0`` (sigma = 0) up the checked schedule ``values`` (Eq. 7 of 2311.01410).

    Returns the states at ``values`` (descending, as the schedule), shape [len(values), *x0.shape].
    """
    states = [None] * len(values)
    for k, x in _chain_up(x0, 0.0, values, range(len(values) - 1, -1, -1), param, generator):
        states[k] = x
    return torch.stack(states)


def forward_chain_top_down(x0: torch.Tensor, values: list[float], param: Parameterization, seed: int):
    """The states of ``forward_chain(x0, values, param, seeded(seed))``, bit for bit, yielded from the top of the
    schedule down (``values[0]`` first), holding about 2 sqrt(n) states instead of n.

    The chain is drawn upward (the generator's order), so one pass up keeps, at the start of every stretch of
    ``m`` levels, the state and the generator's state; then each stretch, from the top one down, is drawn again
    from its start and handed out in reverse. Costs two draws per level.
    """
    count = len(values)
    m = max(1, math.isqrt(count - 1) + 1)
    order = list(range(count - 1, -1, -1))  # the upward order: levels' indices from sigma 0 upward
    stretches = [order[i:i + m] for i in range(0, count, m)]
    generator = seeded(seed)
    starts, x, level = [], x0, 0.0
    for stretch in stretches:
        starts.append((x, level, generator.get_state()))
        for _, x in _chain_up(x, level, values, stretch, param, generator):
            pass
        level = max(level, values[stretch[-1]])
    for stretch, (x, level, state) in zip(reversed(stretches), reversed(starts)):
        generator.set_state(state)
        drawn = [x for _, x in _chain_up(x, level, values, stretch, param, generator)]
        yield from reversed(drawn)


def _chain_up(x: torch.Tensor, level: float, values: list[float], indices, param: Parameterization,
              generator: torch.Generator):
    """From state ``x`` at ``level``, through ``values[k]`` for k in ``indices`` (rising levels): yields (k, state);
    a level not above the current one keeps the state and draws nothing."""
    for k in indices:
        if values[k] > level:
            ratio, std = param.transition(level, values[k])
            x = ratio * x + std * noise_like(x, generator)
            level = values[k]
        yield k, x


@torch.no_grad()
def record_forward_chain(x0: torch.Tensor, sigmas, param, seed: int = 0) -> torch.Tensor:
    """``forward_chain`` with checked inputs and noise from a CPU generator seeded with ``seed``."""
    setup = prepare(x0, sigmas, param)
    return forward_chain(x0, setup.sigmas, setup.param, seeded(seed))


def anchored_step(param: Parameterization, x: torch.Tensor, x0_hat: torch.Tensor, sigma: float,
                  sigma_next: float, eta: float, recorded_next: torch.Tensor | None = None,
                  recorded_mean: torch.Tensor | None = None, recorded_dtype: torch.dtype | None = None) -> torch.Tensor:
    """One reverse DDIM-eta step; with a recorded step, in deviation form (Eqs. 6 and 8).

    ``recorded_next + (mean(x) - recorded_mean)`` equals ``mean(x) + std * w`` for the recorded noise w,
    and is bit-exactly ``recorded_next`` when ``x`` is the recorded state. ``recorded_dtype``: the
    precision the recorded mean was stored in; the mean is rounded to it first, so a lower storage
    precision does not turn the rounding of the stored mean into a deviation that the steps amplify.
    """
    mean, _ = param.ddim_mean(x, x0_hat, sigma, sigma_next, eta)
    if recorded_mean is None:
        return mean
    if recorded_dtype is not None:
        mean = mean.to(recorded_dtype).to(recorded_mean.dtype)
    return recorded_next + (mean - recorded_mean)


def pin_to_recorded(x: torch.Tensor, mask: torch.Tensor | None, recorded: torch.Tensor) -> torch.Tensor:
    """Keep the region outside ``mask`` (1 = editable) on the recorded trajectory.

    ``torch.lerp`` is exact at both ends and where ``x`` equals ``recorded``, so a soft mask edge (ComfyUI
    resizes masks bilinearly) does not break the bit-exact return of an unedited replay.
    """
    return x if mask is None else torch.lerp(recorded, x, mask)


@torch.no_grad()
def ddim_invert(denoiser: Denoiser, x0: torch.Tensor, values: list[float], param: Parameterization,
                callback: Callback | None = None) -> torch.Tensor:
    """DDIM inversion (the ODE baseline): step up with the model evaluated at the lower level.

    From sigma = 0 the noise is read at the upper level (the diffusers DDIMInverseScheduler rule).
    Returns the states at the descending schedule ``values``.
    """
    levels = list(reversed(values))
    if levels[0] > 0:
        levels.insert(0, 0.0)
    x = x0
    recorded = {0.0: x0}
    for step, (low, high) in enumerate(zip(levels[:-1], levels[1:])):
        if low > 0:
            x0_hat = denoiser(x, sigma_batch(x, low))
            eps_hat = param.eps_from_x0(x, x0_hat, low)
        else:
            x0_model = denoiser(x, sigma_batch(x, high))
            x0_hat, eps_hat = x, param.eps_from_x0(x, x0_model, high)
        x = param.add_noise(x0_hat, eps_hat, high)
        recorded[high] = x
        report(callback, step, x, x0_hat, low, high)
    return torch.stack([recorded[s] for s in values])
