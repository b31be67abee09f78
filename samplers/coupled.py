"""Shared-noise editing on the engine: sync-SDE (Zhang & Scott 2509.24223) and the SDE counterparts of
inpainting (Nie et al. 2311.01410, Sec. 3.3).

sync-SDE drives the source and the target reverse SDE with one Brownian path. The source path is the
recorded forward chain of the source latent (for flow models it is the rectified SDE
``dY = -Y/(1 - sigma) dsigma + sqrt(2 sigma / (1 - sigma)) dW`` sampled exactly at the grid: its Gaussian
transitions are the FLOW transitions of ``noise_levels``), and the target runs at an offset D from it:

* ``"rectified"`` (flow models; the official release): Euler-Maruyama on the offset,
  ``D <- D + Delta * (drift_tgt(x_src + D) - drift_src(x_src))`` with the reverse drift
  ``2 v - x / (1 - sigma)`` of the rectified SDE (v the image-pointing velocity, (x0 - x) / sigma).
* ``"ddpm"`` (EPS, V and flow): the DDPM-posterior step of Cycle-SDE, target state
  ``x_rec_{k+1} + m_tgt(x_tgt) - m_src(x_rec)``; the noise of each step is solved under the source.

Both return the source latent bit for bit when the target denoiser equals the source one.
"""
from __future__ import annotations

import torch

from .noise_levels import FLOW, parameterization
from .trajectory import (Callback, Denoiser, anchored_step, noise_like, pin_to_recorded, record_forward_chain,
                         sigma_batch)
from .validation import InputError, check_fraction, check_latent, check_mask, check_sigmas

DISCRETISATIONS = ("ddpm", "rectified")


def sync_sde(source: Denoiser, target: Denoiser, x0: torch.Tensor, sigmas, param, *,
             discretisation: str = "ddpm", seed: int = 0, mask: torch.Tensor | None = None,
             callback: Callback | None = None) -> torch.Tensor:
    """Edit ``x0`` from the source to the target denoiser over ``sigmas`` (start level -> 0); 2 calls per step.

    ``mask`` (1 = editable) pins the rest of the target to the source path after every step.
    """
    param = parameterization(param)
    values = check_sigmas(sigmas, param)
    check_latent(x0, "latent")
    check_mask(mask, x0.shape)
    if discretisation not in DISCRETISATIONS:
        raise InputError(f"discretisation: {discretisation!r} is not one of {DISCRETISATIONS}")
    if discretisation == "rectified":
        if param is not FLOW:
            raise InputError("discretisation: 'rectified' is the rectified-flow SDE and needs a flow (CONST) "
                             "model such as Flux or SD3; use 'ddpm' for EPS/V models")
        if values[0] >= 1.0:
            raise InputError("sigmas: the rectified SDE's drift x / (1 - sigma) diverges at sigma = 1; start "
                             "below 1 (sync-SDE Edit: start_step >= 1; composable: SplitSigmas, as the "
                             "official default that starts at step 4 of 28), or use 'ddpm'")
    if mask is not None:
        mask = mask.to(x0)
    states = record_forward_chain(x0, values, param, seed=seed)
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
        if callback is not None:
            callback({"i": k, "x": x, "denoised": x0_target, "sigma": sigma, "sigma_next": sigma_next})
    return x


def sde_inpaint(denoiser: Denoiser, x0: torch.Tensor, sigmas, param, mask: torch.Tensor, *, eta: float = 1.0,
                seed: int = 0, callback: Callback | None = None) -> torch.Tensor:
    """Fill the masked region (1 = generate) while the rest follows the noised source (Table 2 of 2311.01410).

    SDE (eta > 0): DDIM-eta steps with fresh noise; the known region is the source's recorded Markov forward
    chain. ODE (eta = 0): DDIM steps; the known region is ``a x0 + sigma eps`` with one fixed noise (the
    diffusers latent-blending baseline). Same step count, one call per step either way.
    """
    param = parameterization(param)
    values = check_sigmas(sigmas, param)
    check_latent(x0, "latent")
    if mask is None:
        raise InputError("mask: inpainting needs a mask (1 = area to fill)")
    check_mask(mask, x0.shape)
    check_fraction(eta, "eta", "0 = ODE/DDIM, 1 = DDPM/SDE")
    mask = mask.to(x0)
    generator = torch.Generator("cpu").manual_seed(int(seed))
    if eta > 0:
        known = record_forward_chain(x0, values, param, generator=generator)
    else:
        noise = noise_like(x0, generator)
        known = torch.stack([param.add_noise(x0, noise, sigma) for sigma in values])
    x = known[0]
    for k in range(len(values) - 1):
        sigma, sigma_next = values[k], values[k + 1]
        x0_hat = denoiser(x, sigma_batch(x, sigma))
        mean, std = param.ddim_mean(x, x0_hat, sigma, sigma_next, eta)
        x = mean + std * noise_like(x, generator) if std > 0 else mean
        x = pin_to_recorded(x, mask, known[k + 1])
        if callback is not None:
            callback({"i": k, "x": x, "denoised": x0_hat, "sigma": sigma, "sigma_next": sigma_next})
    return x
