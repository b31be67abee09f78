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
``x / (1 + sigma)`` (in general ``t = b / (a + b)``, ``z = x / (a + b)``). DDIM steps and blends of estimates
look the same on both sides of that map, so the ODE code, written with the parameterisation's ``a(sigma)``, runs the paper's
flow ODEs on FLOW models (Flux, SD3) and the same ODEs through the map on EPS/V models, in the model's
own units. The stochastic sampler steps Eq. (17) by its exact transition (``controlled_sde_step``).
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
    the exact transition of Eq. (17) over each step with the model's estimate frozen (``controlled_sde_step``;
    stable at any step size, noise-free into sigma 0), except the step from a flow model's sigma 1, where the
    drift diverges (as in the official code): that one is the ODE's Euler step.

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
        if noise is not None and param.alpha(sigma) > 0:
            x = controlled_sde_step(param, x, x0_hat, source, sigma, sigma_next, etas[k], noise)
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


def controlled_sde_coefficients(param: Parameterization, sigma: float, sigma_next: float, eta: float
                                ) -> tuple[float, float, float, float]:
    """The exact Gaussian transition of Eq. (17) from ``sigma`` down to ``sigma_next`` with the clean estimate
    x0_hat and the source y0 held fixed over the step: ``(c_x, c_x0, c_y0, std)``, the step being
    ``c_x x + c_x0 x0_hat + c_y0 y0 + std w`` with w ~ N(0, I).

    Derivation. In flow time t (z = x / (a + b) = (1 - t) x0 + t eps, t = b / (a + b)), Eq. (17) backward in time is
    ``dz/d(-t) = K / t - [(2 - eta) / t + (1 - eta) / (1 - t)] z`` plus noise of variance ``2 (1 - eta) t / (1 - t)``
    per unit time, with ``K = (2 - 2 eta) x0_hat + eta y0``: linear in z once x0_hat is frozen. Its homogeneous
    solution is ``z ~ t^(2 - eta) (1 - t)^-(1 - eta)``; ``(1 - t) m`` with ``m = K / (2 - eta)`` solves it in full;
    so, with ``lambda = log((1 - t) / t)`` and ``rho = exp(lambda - lambda') < 1`` (t' < t),

        z' = (t'/t) rho^(1 - eta) z + (1 - t') (1 - rho^(2 - eta)) m + t' sqrt(1 - rho^(2 - 2 eta)) w,

    the variance integrated with the square of the same propagator. In ComfyUI units (``x = a x0 + b eps``,
    z = x / (a + b)): ``rho = a b' / (a' b)`` and ``x' = (b'/b) rho^(1 - eta) x + a' (1 - rho^(2 - eta)) m +
    b' sqrt(1 - rho^(2 - 2 eta)) w``. Checks (tests/test_rf_inversion.py): eta = 0 is the DDPM posterior
    q(x' | x, x0_hat), the rectified stochastic sampler (Lemma A.4) stepped exactly; eta = 1 the controlled
    ODE step to y0 (Eq. 15), deterministic; as sigma_next -> sigma it tends to the Euler-Maruyama step; into
    sigma 0 its std is 0 and it lands on m. From a flow model's sigma 1 (a = 0) rho is 0 and the step would
    forget the inverted latent: ``rf_edit`` takes the ODE step there.

    (Euler-Maruyama of the same SDE multiplies the off-data part of z by about 1 - dt (2 - eta) / t, which turns
    negative once dt/t > 1/(2 - eta): the last steps of a 10- or 20-step EPS schedule do, and leave noise the
    final step cannot remove.)
    """
    a, b = param.alpha(sigma), param.noise(sigma)
    a_next, b_next = param.alpha(sigma_next), param.noise(sigma_next)
    rho = a * b_next / (a_next * b)
    pull = a_next * (1 - rho ** (2 - eta)) / (2 - eta)
    return (b_next / b * rho ** (1 - eta), (2 - 2 * eta) * pull, eta * pull,
            b_next * math.sqrt(max(1 - rho ** (2 - 2 * eta), 0.0)))


def controlled_sde_step(param: Parameterization, x: torch.Tensor, x0_hat: torch.Tensor, source: torch.Tensor,
                        sigma: float, sigma_next: float, eta: float, noise: torch.Tensor) -> torch.Tensor:
    """One step of the rectified stochastic sampler with the controller (Theorem 3.5, Eq. 17), as its exact
    transition with x0_hat frozen (``controlled_sde_coefficients``).

    Eq. (17) is the rectified stochastic sampler of Lemma A.4 (Eq. 22) weighted by 1 - eta, the straight line
    to y0 by eta, the noise by sqrt(1 - eta). (The official code puts the controlled velocity into Eq. 22
    instead: its controller counts twice and its noise is not scaled; both agree where eta = 0.)
    """
    c_x, c_x0, c_y0, std = controlled_sde_coefficients(param, sigma, sigma_next, eta)
    return c_x * x + c_x0 * x0_hat + c_y0 * source + std * noise
