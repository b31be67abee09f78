"""RF-Inversion (Rout et al., arXiv 2410.10792): controlled rectified flows for inversion and editing.

Forward (inversion, Eq. 8), from the source y0 at sigma 0 up the schedule, toward a seeded noise y1:

    dY = [u + gamma (u(Y | y1) - u)] dsigma,   u = (Y - x0_hat) / sigma,   u(Y | y1) = (y1 - Y) / (1 - sigma)

Reverse (editing, Eq. 15), from the inverted latent down the schedule (dt = -dsigma), toward y0:

    dX = [v + eta_k (v(X | y0) - v)] dt,       v = (x0_hat - X) / sigma,   v(X | y0) = (y0 - X) / sigma

u is the model's image -> noise velocity V and v = -V (``x0_hat`` the denoiser's clean estimate); the
conditional fields are the straight lines to y1 and to y0. One sigma schedule (ComfyUI's, descending)
sets everything: at step k the model is called at sigma_k, both controllers use sigma_k and the step is
sigma_{k+1} - sigma_k; the forward pass walks the same schedule reversed. (The diffusers community pipeline
``pipeline_flux_rf_inversion.py``, which the official LituRout/RF-Inversion code uses, calls the model at
i/(N+1) when inverting; ComfyUI-Fluxtapoz's ``nodes/rectified_sampler_nodes.py`` divides the reverse
controller by 1 - i/N instead of sigma_k.)

The Euler steps of these ODEs are DDIM steps with blended predictions:

* forward: the noise estimate pulled toward y1, ``eps_b = (1 - gamma) eps_hat + gamma y1``, with the clean
  latent that matches it, ``x0_b = (1 - gamma) x0_hat + gamma (Y - sigma y1) / a(sigma)``; the step's
  velocity ``eps_b - x0_b`` is ``u + gamma (u(Y | y1) - u)``;
* reverse: the clean estimate pulled toward y0, ``x0_b = (1 - eta) x0_hat + eta y0``; the step's velocity
  ``(x0_b - X) / sigma`` is ``v + eta (v(X | y0) - v)``.

An EPS/V model (SD1.5, SDXL) is a rectified flow in time ``t = sigma / (1 + sigma)`` with the state
``x / (1 + sigma)`` (``rectified_flow_time``). DDIM steps and blends of estimates look the same on both
sides of that map, so the ODE code, written with the parameterisation's ``a(sigma)``, runs the paper's
flow ODEs on FLOW models (Flux, SD3) and the same ODEs through the map on EPS/V models, in the model's
own units. The stochastic sampler is discretised in flow time (``rectified_sde_step``).
"""
from __future__ import annotations

import math

import torch

from .engine import Callback, Denoiser, noise_like, pin_to_recorded, prepare, report, seeded, sigma_batch
from .noise_levels import Parameterization
from .validation import InputError, check_choice, check_fraction, check_latent, check_step

ETA_TRENDS = ("constant", "linear_increase", "linear_decrease")


def eta_schedule(steps: int, eta: float, eta_start: int = 0, eta_stop: int | None = None,
                 eta_trend: str = "constant", eta_decay_power: float = 0.0) -> list[float]:
    """The eta of every reverse step k = 0 .. steps - 1 of a ``steps``-step schedule (Table 4, Remark 3.6).

    eta_k = 0 outside the window ``eta_start <= k < eta_stop`` (``eta_stop=None``: to the last step).
    Inside, with j = k - eta_start and n = eta_stop - eta_start steps (Fluxtapoz's trends):

    * ``constant``:        eta
    * ``linear_increase``: eta * j / (n - 1)         (0 at the window's first step, eta at its last)
    * ``linear_decrease``: eta * (1 - j / (n - 1))   (eta at the first step, 0 at the last)

    A one-step window uses eta for every trend. ``eta_decay_power`` p > 0 then multiplies every step by
    ``(1 - k / steps) ** p`` (the diffusers port's ``decay_eta``); 0 leaves eta undecayed.
    """
    check_fraction(eta, "eta", "0 = no pull toward the source, 1 = straight to the source")
    eta_stop = steps if eta_stop is None else eta_stop
    check_step(eta_start, "eta_start", 0, steps - 1, f"a step of the {steps}-step schedule")
    check_step(eta_stop, "eta_stop", eta_start + 1, steps,
               f"after eta_start ({eta_start}) and at most the step count {steps} (the window is [start, stop))")
    check_choice(eta_trend, ETA_TRENDS, "eta_trend")
    if not (math.isfinite(eta_decay_power) and eta_decay_power >= 0):
        raise InputError(f"eta_decay_power: must be a finite number >= 0 (0 = no decay), got {eta_decay_power}")
    n = eta_stop - eta_start

    def weight(j):
        if n == 1 or eta_trend == "constant":
            return 1.0
        return j / (n - 1) if eta_trend == "linear_increase" else 1.0 - j / (n - 1)

    return [eta * weight(k - eta_start) * (1 - k / steps) ** eta_decay_power if eta_start <= k < eta_stop else 0.0
            for k in range(steps)]


@torch.no_grad()
def rf_invert(denoiser: Denoiser, x0: torch.Tensor, sigmas, param, *, gamma: float = 0.5, seed: int = 0,
              noise: torch.Tensor | None = None, start_step: int = 0, return_states: bool = False,
              callback: Callback | None = None):
    """Controlled forward ODE (Eq. 8, Algorithm 1): invert ``x0`` from sigma 0 up to ``sigmas[start_step]``.

    ``gamma`` = 0 is plain ODE (DDIM) inversion, faithful but with atypical noise; 1 follows the straight
    line to the target noise y1 (``noise``, else N(0, I) from a CPU generator seeded with ``seed``) and,
    for a flow schedule that starts at sigma 1, lands exactly on it. The paper uses 0.5 with the empty
    prompt and no guidance (the caller's denoiser). ``start_step`` s > 0 inverts only up to
    ``sigmas[s]``: the paper's starting time s (App. C.2), same as inverting over ``sigmas[s:]``.
    A schedule that ends above 0 gets a first step from sigma 0 (the source is clean).

    One denoiser call per step. Returns the inverted latent at ``sigmas[start_step]`` and, with
    ``return_states``, also the states at ``sigmas[start_step:]`` (descending, shape [levels, *x0.shape]).
    """
    setup = prepare(x0, sigmas, param)
    param, values = setup.param, setup.sigmas
    check_fraction(gamma, "gamma", "0 = plain ODE inversion, 1 = straight to the target noise")
    check_step(start_step, "start_step", 0, len(values) - 2, f"a step of the {len(values) - 1}-step schedule")
    if noise is None:
        noise = noise_like(x0, seeded(seed))
    elif tuple(noise.shape) != tuple(x0.shape):
        raise InputError(f"noise: shape {tuple(noise.shape)} differs from the latent's {tuple(x0.shape)}")
    noise = noise.to(x0)
    levels = values[start_step:][::-1]
    ladder = ([0.0] if levels[0] > 0 else []) + levels
    y, states = x0, ([x0] if levels[0] == 0 else [])
    for i, (sigma, sigma_next) in enumerate(zip(ladder[:-1], ladder[1:])):
        y, x0_hat = controlled_forward_step(denoiser, param, y, noise, sigma, sigma_next, gamma)
        states.append(y)
        report(callback, i, y, x0_hat, sigma, sigma_next)
    return (y, torch.stack(states[::-1])) if return_states else y


def controlled_forward_step(denoiser: Denoiser, param: Parameterization, y: torch.Tensor, y1: torch.Tensor,
                            sigma: float, sigma_next: float, gamma: float):
    """One Euler step of Eq. (8) from ``sigma`` up to ``sigma_next``, as DDIM inversion with blended estimates.

    An x0-predicting model has no velocity at sigma 0. From the clean source the step reads the noise at
    the next level, at that level's noise-free point ``a(sigma_next) y``: for EPS this is the rule of
    diffusers' DDIMInverseScheduler and ``engine.ddim_invert``, and unlike calling the model on ``y``
    itself it is the same point for FLOW and EPS models through the time map.
    Returns the new state and the model's clean estimate.
    """
    if sigma > 0:
        x0_hat = denoiser(y, sigma_batch(y, sigma))
        eps_hat = param.eps_from_x0(y, x0_hat, sigma)
    else:
        x0_hat, point = y, param.alpha(sigma_next) * y
        eps_hat = param.eps_from_x0(point, denoiser(point, sigma_batch(y, sigma_next)), sigma_next)
    x0_line = (y - param.noise(sigma) * y1) / param.alpha(sigma)  # the clean end of the straight line through y to y1
    x0_blend, eps_blend = torch.lerp(x0_hat, x0_line, gamma), torch.lerp(eps_hat, y1, gamma)
    return param.add_noise(x0_blend, eps_blend, sigma_next), x0_hat


@torch.no_grad()
def rf_edit(denoiser: Denoiser, x: torch.Tensor, source: torch.Tensor, sigmas, param, *, eta: float = 0.9,
            eta_start: int = 0, eta_stop: int | None = None, eta_trend: str = "constant",
            eta_decay_power: float = 0.0, start_step: int = 0, stochastic: bool = False, seed: int = 0,
            mask: torch.Tensor | None = None, callback: Callback | None = None) -> torch.Tensor:
    """Controlled reverse ODE (Eq. 15, Algorithm 2) or SDE (Theorem 3.5, Eq. 17) from ``x`` toward ``source``.

    ``x`` is the inverted latent at ``sigmas[start_step]`` (``rf_invert`` with the same ``start_step``),
    ``source`` the clean source latent y0 and ``denoiser`` the edit's (target prompt, guidance). Step k
    (``sigmas[k] -> sigmas[k + 1]``) pulls toward y0 with ``eta_schedule(...)[k]``: the window counts steps
    of the whole schedule, independently of ``start_step`` (the paper's starting time s).

    ODE: Euler steps of Eq. (15); eta_k = 1 on every step returns y0 exactly.
    SDE (``stochastic``, the rectified stochastic sampler; noise from a CPU generator seeded with ``seed``):
    Euler-Maruyama steps of Eq. (17) in flow time (``rectified_sde_step``), except the step from sigma 1,
    where the drift diverges (as in the official code), and the step into sigma 0, which would leave
    its noise in the output: those two are the ODE's Euler steps.

    ``mask`` (1 = editable): the rest is pinned after every step to the straight path from ``x`` to y0,
    ``a(sigma) y0 + sigma n`` with n the noise of ``x`` relative to y0 (as ComfyUI re-noises the known
    region when inpainting), which ends exactly on the source.

    One denoiser call per step from ``start_step`` on. Returns the state at the last sigma.
    """
    setup = prepare(x, sigmas, param, mask)
    param, values, mask = setup.param, setup.sigmas, setup.mask
    check_latent(source, "source")
    if tuple(source.shape) != tuple(x.shape):
        raise InputError(f"source: shape {tuple(source.shape)} differs from the inverted latent's {tuple(x.shape)}")
    steps = len(values) - 1
    check_step(start_step, "start_step", 0, steps - 1, f"a step of the {steps}-step schedule")
    etas = eta_schedule(steps, eta, eta_start, eta_stop, eta_trend, eta_decay_power)
    if eta > 0 and not any(etas[start_step:]):
        raise InputError(f"eta_stop: the eta window [{eta_start}, {steps if eta_stop is None else eta_stop}) "
                         f"has no step with eta > 0 at or after start_step {start_step}, where the reverse begins")
    generator = seeded(seed)
    source = source.to(x)
    if mask is not None:
        start_noise = param.eps_from_x0(x, source, values[start_step])
    for k in range(start_step, steps):
        sigma, sigma_next = values[k], values[k + 1]
        x0_hat = denoiser(x, sigma_batch(x, sigma))
        noise = noise_like(x, generator) if stochastic else None
        if noise is not None and param.alpha(sigma) > 0 and sigma_next > 0:
            x = rectified_sde_step(param, x, x0_hat, source, sigma, sigma_next, etas[k], noise)
        else:
            x = controlled_reverse_step(param, x, x0_hat, source, sigma, sigma_next, etas[k])
        if mask is not None:
            x = pin_to_recorded(x, mask, param.add_noise(source, start_noise, sigma_next))
        report(callback, k, x, x0_hat, sigma, sigma_next, eta=etas[k])
    return x


def controlled_reverse_step(param: Parameterization, x: torch.Tensor, x0_hat: torch.Tensor, source: torch.Tensor,
                            sigma: float, sigma_next: float, eta: float) -> torch.Tensor:
    """One Euler step of Eq. (15): the DDIM step toward ``(1 - eta) x0_hat + eta y0``, so v + eta (v(X | y0) - v)."""
    return param.ddim_mean(x, torch.lerp(x0_hat, source, eta), sigma, sigma_next, 0.0)[0]


def rectified_sde_step(param: Parameterization, x: torch.Tensor, x0_hat: torch.Tensor, source: torch.Tensor,
                       sigma: float, sigma_next: float, eta: float, noise: torch.Tensor) -> torch.Tensor:
    """One Euler-Maruyama step of Eq. (17) from flow time t down to t_next (0 < t_next < t < 1).

    In flow time (dt = t - t_next > 0, v = (x0_hat - z) / t, v(z | y0) = (y0 - z) / t), Eq. (17) reads
    ``dz = [(1 - eta) (2 v - z / (1 - t)) + eta v(z | y0)] dt + sqrt((1 - eta) 2 t / (1 - t)) dW``:
    the rectified stochastic sampler of Lemma A.4 (Eq. 22) weighted by 1 - eta, the straight line to y0
    by eta, the noise by sqrt(1 - eta). (The official code puts the controlled velocity into Eq. 22
    instead: its controller counts twice and its noise is not scaled; both agree where eta = 0.)
    """
    t, scale = rectified_flow_time(param, sigma)
    t_next, scale_next = rectified_flow_time(param, sigma_next)
    dt, z = t - t_next, x * scale
    drift = (1 - eta) * (2 * (x0_hat - z) / t - z / (1 - t)) + eta * (source - z) / t
    z = z + dt * drift + math.sqrt((1 - eta) * 2 * t * dt / (1 - t)) * noise
    return z / scale_next


def rectified_flow_time(param: Parameterization, sigma: float) -> tuple[float, float]:
    """``(t, scale)``: a state ``a(sigma) x0 + b(sigma) eps`` is the rectified-flow state ``(1 - t) x0 + t eps``
    after multiplying by ``scale = 1 / (a + b)``, with ``t = b * scale``.

    The identity for FLOW with noise scale 1; ``t = sigma / (1 + sigma)``, ``x / (1 + sigma)`` for EPS/V models.
    """
    scale = 1.0 / (param.alpha(sigma) + param.noise(sigma))
    return param.noise(sigma) * scale, scale
