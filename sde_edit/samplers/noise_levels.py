"""Noise-level algebra of ComfyUI's two parameterisations, in ComfyUI's own sigma units.

A noisy latent at level sigma is ``x = a(sigma) * x0 + b(sigma) * eps``, as ComfyUI's ``model_sampling`` mixes
them (``noise_scaling``):

* EPS / V (and EDM, V-DDPM): ``a = 1``,          ``b = sigma``      (variance exploding; VP models after dividing
  by sqrt(1 + sigma^2))
* FLOW (ComfyUI CONST):     ``a = 1 - sigma``,  ``b = s * sigma``  (rectified flow, sigma in [0, 1]; ``s`` is the
  model's ``noise_scale``, 1 for SD3 and Flux, 8 for HiDream-O1, since ComfyUI 0.33)

All coefficients are computed in float64 Python arithmetic and applied to tensors once, so that a
step and its algebraic inverse cancel to the last bits of fp32.

Notation. The papers (Nie et al. 2311.01410, Sec. 2 and Eq. 6; Song et al.'s DDIM, Eq. 12) write the
variance-preserving (VP) state ``x_vp = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps``. A state here is that
VP state times ``vp_scale(sigma)``, so each coefficient is the papers' one times the scale of its level:

    here (ComfyUI units)                    papers (VP units)
    --------------------------------------  -------------------------------------------------------------
    alpha(sigma) = a                        sqrt(alpha_bar) * vp_scale
    noise(sigma) = b                        sqrt(1 - alpha_bar) * vp_scale
    vp_scale(sigma) = sqrt(a^2 + b^2)       x / vp_scale = x_vp
    (b / a)^2                               (1 - alpha_bar) / alpha_bar, the inverse signal-to-noise ratio
    transition(s, t)                        q(x_t | x_s), the Markov forward chain (Eq. 7)
    posterior(t, s)                         q(x_s | x_t, x0), the DDPM posterior
    ddim_coefficients(t, s, eta):           the DDIM-eta step from level t down to s (Eq. 6):
      a_s                                   sqrt(alpha_bar_s) * vp_scale_s
      c_eps                                 sqrt(1 - alpha_bar_s - sigma_t(eta)^2) * vp_scale_s
      std                                   sigma_t(eta) * vp_scale_s, where sigma_t(eta) =
                                            eta sqrt((1 - alpha_bar_s) / (1 - alpha_bar_t)) sqrt(1 - alpha_bar_t / alpha_bar_s)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Parameterization:
    """How clean signal and noise mix at a noise level (see module docstring)."""

    name: str
    noise_scale: float = 1.0

    def __post_init__(self):
        if self.name not in ("eps", "flow"):
            raise ValueError(f"unknown parameterisation {self.name!r}; allowed: 'eps', 'flow'")
        if not (math.isfinite(self.noise_scale) and self.noise_scale > 0) or \
                (self.name == "eps" and self.noise_scale != 1.0):
            raise ValueError(f"noise_scale: a positive number, and 1 for eps; got {self.noise_scale!r}")

    def alpha(self, sigma: float) -> float:
        """Signal coefficient ``a(sigma)``."""
        return 1.0 if self.name == "eps" else 1.0 - sigma

    def noise(self, sigma: float) -> float:
        """Noise coefficient ``b(sigma)``."""
        return sigma if self.name == "eps" else self.noise_scale * sigma

    def vp_scale(self, sigma: float) -> float:
        """``sqrt(a^2 + b^2)``: a state at ``sigma`` divided by it is the variance-preserving (VP) state of
        the papers' DDPM units, where unit-variance data stays unit-variance at every level."""
        return math.hypot(self.alpha(sigma), self.noise(sigma))

    def max_sigma(self) -> float:
        return math.inf if self.name == "eps" else 1.0

    @property
    def model_kind(self) -> str:
        """``'an eps model'`` / ``'a flow model'`` (``'... with noise scale 8'``), for messages."""
        scale = f" with noise scale {self.noise_scale:g}" if self.noise_scale != 1.0 else ""
        return f"{'an' if self.name[0] in 'aeiou' else 'a'} {self.name} model{scale}"

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, sigma: float) -> torch.Tensor:
        """Sample of q(x_sigma | x0): ``a x0 + b noise``."""
        return self.alpha(sigma) * x0 + self.noise(sigma) * noise

    def eps_from_x0(self, x: torch.Tensor, x0: torch.Tensor, sigma: float) -> torch.Tensor:
        """The noise that ``x`` at level ``sigma`` implies for a given clean estimate ``x0``."""
        return (x - self.alpha(sigma) * x0) / self.noise(sigma)

    def transition(self, sigma_from: float, sigma_to: float) -> tuple[float, float]:
        """Markov forward transition q(x_to | x_from) = N(ratio * x_from, std^2 I), sigma_from < sigma_to.

        Composes exactly: going 0 -> s -> t gives the marginal q(x_t | x0) (Eq. 7 of 2311.01410).
        """
        ratio = self.alpha(sigma_to) / self.alpha(sigma_from)
        variance = self.noise(sigma_to) ** 2 - (ratio * self.noise(sigma_from)) ** 2
        return ratio, math.sqrt(max(variance, 0.0))

    def posterior(self, sigma_t: float, sigma_s: float) -> tuple[float, float, float]:
        """Gaussian posterior q(x_s | x_t, x0) for sigma_s < sigma_t.

        Returns ``(c_xt, c_x0, std)`` with mean ``c_xt * x_t + c_x0 * x0``.
        """
        ratio, trans_std = self.transition(sigma_s, sigma_t)
        b_s, b_t = self.noise(sigma_s), self.noise(sigma_t)
        var_t = b_t**2
        c_xt = ratio * b_s**2 / var_t
        c_x0 = self.alpha(sigma_s) * trans_std**2 / var_t
        return c_xt, c_x0, b_s * trans_std / b_t

    def ddim_coefficients(self, sigma_t: float, sigma_s: float, eta: float) -> tuple[float, float, float]:
        """One generic DDIM-eta step from sigma_t down to sigma_s (Eq. 6 of 2311.01410).

        ``x_s = a_s x0_hat + c_eps eps_hat + std w`` with ``std = eta * posterior std``:
        eta = 0 is the deterministic DDIM / Euler ODE step, eta = 1 the DDPM posterior ("SDE").
        Returns ``(a_s, c_eps, std)``.
        """
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must lie in [0, 1], got {eta}")
        std = eta * self.posterior(sigma_t, sigma_s)[2]
        c_eps = math.sqrt(max(self.noise(sigma_s) ** 2 - std**2, 0.0))
        return self.alpha(sigma_s), c_eps, std

    def ddim_mean(self, x_t: torch.Tensor, x0_hat: torch.Tensor, sigma_t: float, sigma_s: float,
                  eta: float) -> tuple[torch.Tensor, float]:
        """Deterministic part of the DDIM-eta step and the std of its noise term."""
        a_s, c_eps, std = self.ddim_coefficients(sigma_t, sigma_s, eta)
        eps_hat = self.eps_from_x0(x_t, x0_hat, sigma_t)
        return a_s * x0_hat + c_eps * eps_hat, std


EPS = Parameterization("eps")
FLOW = Parameterization("flow")
PARAMETERIZATIONS = {"eps": EPS, "v": EPS, "flow": FLOW, "const": FLOW}


def flow(noise_scale: float = 1.0) -> Parameterization:
    """The flow parameterisation with noise coefficient ``noise_scale * sigma``."""
    return FLOW if noise_scale == 1.0 else Parameterization("flow", float(noise_scale))


def parameterization(name: str | Parameterization) -> Parameterization:
    """Look up a parameterisation by name: 'eps', 'v' (same noise algebra as eps), 'flow' or 'const'."""
    if isinstance(name, Parameterization):
        return name
    try:
        return PARAMETERIZATIONS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown parameterisation {name!r}; allowed: {sorted(PARAMETERIZATIONS)}") from None
