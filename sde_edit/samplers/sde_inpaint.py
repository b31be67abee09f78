"""SDE inpainting (Nie et al. 2311.01410, Sec. 3.3 and Table 2): fill a masked region with DDPM steps, the
known region following the source's recorded forward chain; DDIM steps with one fixed noise are the ODE
baseline (the diffusers latent-blending recipe) at the same step count.
"""
from __future__ import annotations

import torch

from .engine import Callback, Denoiser, forward_chain, noise_like, pin_to_recorded, prepare, report, seeded, sigma_batch
from .validation import InputError, check_fraction


@torch.no_grad()
def sde_inpaint(denoiser: Denoiser, x0: torch.Tensor, sigmas, param, mask: torch.Tensor, *, eta: float = 1.0,
                seed: int = 0, callback: Callback | None = None) -> torch.Tensor:
    """Fill the masked region (1 = generate) while the rest follows the noised source (Table 2 of 2311.01410).

    SDE (eta > 0): DDIM-eta steps with fresh noise; the known region is the source's recorded Markov forward
    chain. ODE (eta = 0): DDIM steps; the known region is ``a x0 + sigma eps`` with one fixed noise (the
    diffusers latent-blending baseline). Same step count, one call per step either way.
    """
    if mask is None:
        raise InputError("mask: inpainting needs a mask (1 = area to fill)")
    setup = prepare(x0, sigmas, param, mask)
    param, values, mask = setup.param, setup.sigmas, setup.mask
    check_fraction(eta, "eta", "0 = ODE/DDIM, 1 = DDPM/SDE")
    generator = seeded(seed)
    if eta > 0:
        known = forward_chain(x0, values, param, generator)
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
        report(callback, k, x, x0_hat, sigma, sigma_next)
    return x
