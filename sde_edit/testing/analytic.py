"""Exact denoisers for tests and demos: posterior means E[x0 | x_sigma] of known data distributions.

A Gaussian mixture ``x0 ~ sum_k w_k N(mu_k, s_k^2 I)`` under ``x = a x0 + b eps`` (``noise_levels``) has the
exact posterior mean

    E[x0 | x] = sum_k r_k(x) (mu_k + a s_k^2 / (a^2 s_k^2 + b^2) (x - a mu_k)),
    r_k(x)   = softmax_k(log w_k + log N(x; a mu_k, (a^2 s_k^2 + b^2) I)).

An empirical image set is the mixture with s_k = 0 (a softmax-weighted mean of the stored images).
Conditioning on labels restricts the mixture to the matching images; classifier-free guidance mixes
the conditional and unconditional x0 predictions linearly, as ComfyUI's ``cfg_function`` does.
"""
from __future__ import annotations

import torch

from ..samplers.engine import Denoiser
from ..samplers.noise_levels import Parameterization, parameterization


class GaussianMixture:
    """``x0 ~ sum_k weights[k] N(means[k], stds[k]^2 I)``; ``means`` is [K, *sample_shape]."""

    def __init__(self, means: torch.Tensor, stds, weights=None):
        self.means = torch.as_tensor(means, dtype=torch.float64)
        k = self.means.shape[0]
        self.stds = torch.as_tensor(stds, dtype=torch.float64).expand(k).clone()
        weights = torch.full((k,), 1.0 / k, dtype=torch.float64) if weights is None else \
            torch.as_tensor(weights, dtype=torch.float64)
        self.log_weights = (weights / weights.sum()).log()
        # Per-call constants of posterior_mean, computed once: flattened means, their squared norms, s_k^2.
        self._flat_means = self.means.reshape(k, -1)
        self._mean_norms = self._flat_means.pow(2).sum(1)
        self._variances = self.stds**2

    @property
    def sample_shape(self) -> torch.Size:
        return self.means.shape[1:]

    def subset(self, index: torch.Tensor) -> "GaussianMixture":
        """The mixture restricted (and renormalised) to the components ``index`` (bool or int)."""
        if index.dtype == torch.bool and not index.any():
            raise ValueError("the label selection matches no component of the data set")
        return GaussianMixture(self.means[index], self.stds[index], self.log_weights[index].exp())

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        which = torch.multinomial(self.log_weights.exp(), n, replacement=True, generator=generator)
        noise = torch.randn((n, *self.sample_shape), generator=generator, dtype=torch.float64)
        scale = self.stds[which].view(n, *([1] * len(self.sample_shape)))
        return self.means[which] + scale * noise

    def posterior_mean(self, x: torch.Tensor, sigma: torch.Tensor, param: Parameterization) -> torch.Tensor:
        """E[x0 | x] for a batch ``x`` [B, *sample_shape] at levels ``sigma`` [B] (all > 0)."""
        if (sigma <= 0).any():
            raise ValueError("the analytic denoiser needs sigma > 0")
        b = x.shape[0]
        flat = x.reshape(b, -1).to(torch.float64)
        mu = self._flat_means.to(flat.device)
        s2 = self._variances.to(flat.device)
        sig = sigma.to(flat.device, torch.float64).view(b, 1)
        a = (1 - sig) if param.name == "flow" else torch.ones_like(sig)
        var = a**2 * s2.view(1, -1) + (param.noise_scale * sig) ** 2          # [B, K]
        # ||x - a mu_k||^2 by matmul: the data sets can hold hundreds of images.
        norms = self._mean_norms.to(flat.device)[None]
        dist2 = (flat.pow(2).sum(1, keepdim=True) - 2 * a * flat @ mu.T + a**2 * norms).clamp_min(0)  # [B, K]
        dim = flat.shape[1]
        logits = self.log_weights.to(flat.device)[None] - 0.5 * dist2 / var - 0.5 * dim * var.log()
        resp = torch.softmax(logits, dim=1)                                   # [B, K]
        gain = resp * a * s2.view(1, -1) / var                                # r_k a s_k^2 / var_k
        # sum_k r_k (mu_k + g_k (x - a mu_k)) = r @ mu + (sum_k r_k g_k) x - a (r g) @ mu
        out = resp @ mu + gain.sum(1, keepdim=True) * flat - a * (gain @ mu)
        return out.reshape(x.shape).to(x.dtype)

    def denoiser(self, param) -> Denoiser:
        param = parameterization(param)
        return lambda x, sigma: self.posterior_mean(x, sigma, param)


def gaussian(mean: torch.Tensor, std: float) -> GaussianMixture:
    """A single isotropic Gaussian ``N(mean, std^2 I)``."""
    return GaussianMixture(torch.as_tensor(mean)[None], std)


def empirical(images: torch.Tensor) -> GaussianMixture:
    """The empirical distribution of ``images`` [N, *shape] (uniform weights, zero width)."""
    return GaussianMixture(images, 0.0)


def cfg_denoiser(conditional: Denoiser, unconditional: Denoiser, scale: float) -> Denoiser:
    """Classifier-free guidance on x0 predictions: ``uncond + scale * (cond - uncond)``.

    ``scale == 1`` skips the unconditional call, as ComfyUI does.
    """
    if scale == 1.0:
        return conditional

    def guided(x, sigma):
        uncond = unconditional(x, sigma)
        return uncond + scale * (conditional(x, sigma) - uncond)

    return guided
