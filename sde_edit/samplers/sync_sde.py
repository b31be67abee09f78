"""sync-SDE (Zhang & Scott 2509.24223): the source and the target reverse SDE driven by one Brownian path.

The source path is the recorded forward chain of the source latent (for flow models it is the rectified SDE
``dY = -Y/(1 - sigma) dsigma + sqrt(2 sigma / (1 - sigma)) dW`` sampled exactly at the grid: its Gaussian
transitions are the FLOW transitions of ``noise_levels``), and the target runs at an offset D from it:

* ``"rectified"`` (flow models; the official release, ``pipeline_syncsde.py`` of Z-Jianxin/syncSDE-release):
  Euler-Maruyama on the offset, ``D <- D + Delta * (drift_tgt(x_src + D) - drift_src(x_src))`` with the
  reverse drift ``2 v - x / (1 - sigma)`` of the rectified SDE (v the image-pointing velocity, (x0 - x) / sigma).
* ``"ddpm"`` (EPS, V and flow): the DDPM-posterior step of Cycle-SDE, target state
  ``x_rec_{k+1} + m_tgt(x_tgt) - m_src(x_rec)``; the noise of each step is solved under the source.

Both return the source latent bit for bit when the target denoiser equals the source one.
"""
from __future__ import annotations

import torch

from .engine import Callback, Denoiser, anchored_step, forward_chain, pin_to_recorded, prepare, report, seeded, sigma_batch
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
        if values[0] >= 1.0:
            raise InputError("sigmas: the rectified SDE's drift x / (1 - sigma) diverges at sigma = 1; start "
                             "below 1 (sync-SDE Edit: start_step >= 1; composable: SplitSigmas, as the "
                             "official default that starts at step 4 of 28), or use 'ddpm'")
    states = forward_chain(x0, values, param, seeded(seed))
    x = states[0]
    for k in range(len(values) - 1):
        sigma, sigma_next = values[k], values[k + 1]
        x0_source = source(states[k], sigma_batch(x, sigma))
        x0_target = target(x, sigma_batch(x, sigma))
        if discretisation == "ddpm":
            source_mean, _ = param.ddim_mean(states[k], x0_source, sigma, sigma_next, 1.0)
            x = anchored_step(param, x, x0_target, sigma, sigma_next, 1.0, states[k + 1], source_mean)
        else:
            offset = x - states[k]
            drift_difference = 2 * (x0_target - x0_source - offset) / sigma - offset / (1 - sigma)
            x = states[k + 1] + (offset + (sigma - sigma_next) * drift_difference)
        x = pin_to_recorded(x, mask, states[k + 1])
        report(callback, k, x, x0_target, sigma, sigma_next)
    return x
