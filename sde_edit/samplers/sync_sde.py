"""sync-SDE (Zhang & Scott 2509.24223): the source and the target reverse SDE driven by one Brownian path.

The source path is the recorded forward chain of the source latent (for flow models it is the rectified SDE
``dY = -Y/(1 - sigma) dsigma + sqrt(2 sigma / (1 - sigma)) dW`` sampled exactly at the grid: its Gaussian
transitions are the FLOW transitions of ``noise_levels``), and the target runs at an offset D from it:

* ``"rectified"`` (flow models; the official release, ``pipeline_syncsde.py`` of Z-Jianxin/syncSDE-release):
  the offset D follows the difference of the two reverse drifts ``2 v - x / (1 - sigma)`` of the rectified SDE
  (v the image-pointing velocity, (x0 - x) / sigma); the shared noise cancels, so D obeys the linear ODE
  ``dD/d(-t) = 2 (x0_tgt - x0_src - D) / t - D / (1 - t)`` in flow time. The release steps it by Euler,
  ``D <- D (1 - dt (2/t + 1/(1 - t))) + ...``, whose factor turns negative for dt/t > 1/2 (on the step into 0
  it is -1/(1 - t)) and diverges toward t = 1. Here it is stepped exactly with x0_tgt - x0_src frozen
  (``rectified_offset_coefficients``): ``D' = (b'/b) rho D + a' (1 - rho^2) (x0_tgt - x0_src)``,
  ``rho = a b' / (a' b)``, a factor in [0, 1] from sigma 1 down to 0. That is the DDPM posterior mean of the
  target minus the source's: the same coupling as ``"ddpm"``, which it equals up to rounding.
* ``"ddpm"`` (EPS, V and flow): the DDPM-posterior step of Cycle-SDE, target state
  ``x_rec_{k+1} + m_tgt(x_tgt) - m_src(x_rec)``; the noise of each step is solved under the source.

Both return the source latent bit for bit when the target denoiser equals the source one.
"""
from __future__ import annotations

import torch

from .engine import (Callback, Denoiser, anchored_step, forward_chain_top_down, pin_to_recorded, prepare, report,
                     sigma_batch)
from .validation import InputError, check_choice

DISCRETISATIONS = ("ddpm", "rectified")


@torch.no_grad()
def sync_sde(source: Denoiser, target: Denoiser, x0: torch.Tensor, sigmas, param, *,
             discretisation: str = "ddpm", seed: int = 0, mask: torch.Tensor | None = None,
             callback: Callback | None = None) -> torch.Tensor:
    """Edit ``x0`` from the source to the target denoiser over ``sigmas`` (start level -> 0); 2 calls per step.

    ``mask`` (1 = editable) pins the rest of the target to the source path after every step.
    """
    setup = prepare(x0, sigmas, param, mask)
    param, values, mask = setup.param, setup.sigmas, setup.mask
    check_choice(discretisation, DISCRETISATIONS, "discretisation")
    if discretisation == "rectified":
        if param.name != "flow":
            raise InputError("discretisation: 'rectified' is the rectified-flow SDE and needs a flow (CONST) "
                             "model such as Flux or SD3; use 'ddpm' for EPS/V models")
    path = forward_chain_top_down(x0, values, param, seed)  # the source path, drawn level by level
    x = recorded = next(path)
    for k in range(len(values) - 1):
        sigma, sigma_next = values[k], values[k + 1]
        recorded_next = next(path)
        x0_source = source(recorded, sigma_batch(x, sigma))
        x0_target = target(x, sigma_batch(x, sigma))
        if discretisation == "ddpm":
            source_mean, _ = param.ddim_mean(recorded, x0_source, sigma, sigma_next, 1.0)
            x = anchored_step(param, x, x0_target, sigma, sigma_next, 1.0, recorded_next, source_mean)
        else:
            keep, pull = rectified_offset_coefficients(param, sigma, sigma_next)
            x = recorded_next + (keep * (x - recorded) + pull * (x0_target - x0_source))
        x = pin_to_recorded(x, mask, recorded_next)
        recorded = recorded_next
        report(callback, k, x, x0_target, sigma, sigma_next)
    return x


def rectified_offset_coefficients(param, sigma: float, sigma_next: float) -> tuple[float, float]:
    """``(keep, pull)``: the exact step of the rectified offset ODE from ``sigma`` to ``sigma_next`` with the
    clean estimates frozen, ``D' = keep D + pull (x0_tgt - x0_src)`` (module docstring); keep lies in [0, 1]."""
    a, b = param.alpha(sigma), param.noise(sigma)
    a_next, b_next = param.alpha(sigma_next), param.noise(sigma_next)
    rho = a * b_next / (a_next * b)
    return b_next / b * rho, a_next * (1 - rho * rho)
