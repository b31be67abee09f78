"""Recorded source trajectories and coupled replay: the engine under every method of the pack.

Cycle-SDE (Nie et al. 2311.01410, Sec. 3 and App. A):

1. Record the Markov forward chain from the clean latent up the schedule (Eq. 7): no model calls.
2. For each reverse step k (sigma_k -> sigma_{k+1}) the noise that makes the DDIM-eta step (Eq. 6)
   under the *source* denoiser land exactly on the recorded state is
   ``w_k = (x_{k+1}^rec - m_k^rec) / std_k`` (Eq. 8), with ``m_k^rec`` the step's mean at the recorded
   state. We store ``m_k^rec`` itself, which stays defined for a last step with zero std (into sigma 0).
3. Replay ``x_{k+1} = x_{k+1}^rec + (m_k(x_k) - m_k^rec)`` under a *target* denoiser from an optionally
   edited start, pinning the region outside an optional mask to the recorded states. This equals
   ``m_k(x_k) + std_k w_k`` (Eq. 6 with the recorded noise) but in deviation form: with the target equal
   to the source and no edit the deviation is exactly zero, so every recorded state, hence the source
   latent, comes back bit for bit, however strongly CFG amplifies rounding errors.

eta = 0 gives the ODE baseline (DDIM inversion, then DDIM sampling), which is not exact.

Denoiser protocol (k-diffusion style): ``denoiser(x, sigma) -> x0`` with ``sigma`` a [B] tensor.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch

from .noise_levels import Parameterization, parameterization
from .validation import InputError, check_fraction, check_latent, check_mask, check_sigmas

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[dict], None]


@dataclass(frozen=True)
class Trajectory:
    """A recorded source run that can be replayed any number of times.

    ``states[k]`` is the recorded latent at ``sigmas[k]`` (``states[-1]`` is the source latent when the
    schedule ends at 0); ``source_means[k]`` is the mean of reverse step k at ``states[k]`` under the
    source denoiser, or None for the ODE baseline. Tensors live on ``states.device`` (the CPU by
    default), in the storage dtype; ``compute_dtype`` is the precision the inversion ran in, which an
    exact replay must use too.
    """

    sigmas: tuple[float, ...]
    states: torch.Tensor
    source_means: torch.Tensor | None
    parameterization: Parameterization
    eta: float
    seed: int
    compute_dtype: torch.dtype = torch.float32

    @property
    def steps(self) -> int:
        return len(self.sigmas) - 1

    @property
    def latent_shape(self) -> torch.Size:
        return self.states.shape[1:]

    def start_state(self, device=None, dtype=None) -> torch.Tensor:
        return self.states[0].to(device=device, dtype=dtype)

    def to(self, device=None, dtype=None) -> "Trajectory":
        means = None if self.source_means is None else self.source_means.to(device=device, dtype=dtype)
        return replace(self, states=self.states.to(device=device, dtype=dtype), source_means=means)

    def recovered_noise(self, k: int) -> torch.Tensor:
        """The Gaussian ``w_k`` of reverse step k (Eq. 8); close to N(0, I) when the model is accurate."""
        if self.source_means is None:
            raise ValueError("an ODE (eta = 0) trajectory has no noise")
        std = self.parameterization.ddim_coefficients(self.sigmas[k], self.sigmas[k + 1], self.eta)[2]
        if std == 0:
            raise ValueError(f"step {k} into sigma {self.sigmas[k + 1]} is deterministic")
        return (self.states[k + 1].double() - self.source_means[k].double()) / std

    def check_compatible(self, sigmas, latent_shape=None, name: str = "sigmas") -> None:
        """Raise an InputError unless ``sigmas`` (and a latent shape) match the recording."""
        values = check_sigmas(sigmas, self.parameterization, name)
        if len(values) != len(self.sigmas) or any(
                abs(a - b) > 1e-5 * max(1.0, abs(b)) for a, b in zip(values, self.sigmas)):
            raise InputError(f"{name}: the schedule does not match the trajectory's "
                             f"({len(values) - 1} steps from {values[0]:.4g} vs {self.steps} steps "
                             f"from {self.sigmas[0]:.4g}); use the same SIGMAS for inversion and replay")
        if latent_shape is not None and tuple(latent_shape) != tuple(self.latent_shape):
            raise InputError(f"latent: shape {tuple(latent_shape)} differs from the trajectory's "
                             f"{tuple(self.latent_shape)}; invert this latent first")


def sigma_batch(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """The noise level as the [B] tensor the denoiser protocol takes (at least float32, as ComfyUI's
    sigmas: a bf16 latent must not round the level the model sees away from the step's own)."""
    return torch.full((x.shape[0],), sigma, dtype=torch.promote_types(x.dtype, torch.float32), device=x.device)


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


def noise_like(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Seeded Gaussian drawn on the CPU (device independent), moved to x's device and dtype."""
    return torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)


def record_forward_chain(x0: torch.Tensor, sigmas, param, seed: int = 0,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Markov forward chain from ``x0`` (sigma = 0) up the schedule; Eq. (7) of 2311.01410.

    Noise comes from ``generator`` if given, else from a CPU generator seeded with ``seed``.
    Returns the states at ``sigmas`` (descending, as the schedule), shape [len(sigmas), *x0.shape].
    """
    param = parameterization(param)
    values = check_sigmas(sigmas, param)
    check_latent(x0, "latent")
    generator = generator or torch.Generator("cpu").manual_seed(int(seed))
    states = [None] * len(values)
    x, level = x0, 0.0
    for k in reversed(range(len(values))):
        if values[k] > level:
            ratio, std = param.transition(level, values[k])
            x = ratio * x + std * noise_like(x, generator)
            level = values[k]
        states[k] = x
    return torch.stack(states)


def cycle_sde_invert(denoiser: Denoiser, x0: torch.Tensor, sigmas, param, *, eta: float = 1.0,
                     seed: int = 0, storage_device="cpu", storage_dtype=None,
                     callback: Callback | None = None) -> Trajectory:
    """Invert ``x0`` for replay: Cycle-SDE for eta in (0, 1] (Eqs. 7-8), DDIM inversion for eta = 0.

    Costs one ``denoiser`` call per step. The returned trajectory lives on ``storage_device``.
    """
    param = parameterization(param)
    values = check_sigmas(sigmas, param)
    check_latent(x0, "latent")
    check_fraction(eta, "eta", "0 = ODE/DDIM, 1 = DDPM/SDE")
    storage_dtype = storage_dtype or x0.dtype
    if eta == 0.0:
        states = ddim_invert(denoiser, x0, values, param, callback)
        states = states.to(storage_device, storage_dtype)
        return Trajectory(tuple(values), states, None, param, 0.0, int(seed), x0.dtype)

    states = record_forward_chain(x0, values, param, seed).to(storage_device, storage_dtype)
    means = []
    for k in range(len(values) - 1):
        x_k = states[k].to(x0.device, x0.dtype)
        x0_hat = denoiser(x_k, sigma_batch(x_k, values[k]))
        mean, _ = param.ddim_mean(x_k, x0_hat, values[k], values[k + 1], eta)
        means.append(mean.to(storage_device, storage_dtype))
        if callback is not None:
            callback({"i": k, "x": x_k, "sigma": values[k], "sigma_next": values[k + 1], "denoised": x0_hat})
    return Trajectory(tuple(values), states, torch.stack(means), param, float(eta), int(seed), x0.dtype)


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
        x = param.alpha(high) * x0_hat + high * eps_hat
        recorded[high] = x
        if callback is not None:
            callback({"i": step, "x": x, "sigma": low, "sigma_next": high, "denoised": x0_hat})
    return torch.stack([recorded[s] for s in values])


def cycle_sde_replay(denoiser: Denoiser, trajectory: Trajectory, *, x_start: torch.Tensor | None = None,
                     mask: torch.Tensor | None = None, device=None, dtype=None,
                     callback: Callback | None = None) -> torch.Tensor:
    """Replay a trajectory under ``denoiser`` (Eq. 6 with the recorded noise of Eq. 8).

    ``x_start`` replaces the recorded start state (an edit at t0). ``mask`` (1 = editable) pins the rest
    to the recorded states after every step, so the output equals the source outside it. Runs on
    ``device`` in ``dtype`` (default: x_start's, else the trajectory's storage device and compute dtype).
    Costs exactly one ``denoiser`` call per step. Returns the state at the last sigma.
    """
    if x_start is not None:
        check_latent(x_start, "start latent")
        if tuple(x_start.shape) != tuple(trajectory.latent_shape):
            raise InputError(f"start latent: shape {tuple(x_start.shape)} differs from the trajectory's "
                             f"{tuple(trajectory.latent_shape)}")
        device, dtype = x_start.device, x_start.dtype
    device = device if device is not None else trajectory.states.device
    dtype = dtype if dtype is not None else trajectory.compute_dtype
    check_mask(mask, trajectory.latent_shape)
    param, values = trajectory.parameterization, trajectory.sigmas

    def recorded(k):
        return trajectory.states[k].to(device, dtype)

    if mask is not None:
        mask = mask.to(device, dtype)
    start = recorded(0)
    x = pin_to_recorded(x_start if x_start is not None else start, mask, start)
    for k in range(trajectory.steps):
        x0_hat = denoiser(x, sigma_batch(x, values[k]))
        source_mean = None if trajectory.source_means is None else trajectory.source_means[k].to(device, dtype)
        recorded_next = recorded(k + 1)  # one host-to-device copy per step
        x = anchored_step(param, x, x0_hat, values[k], values[k + 1], trajectory.eta, recorded_next, source_mean,
                          trajectory.states.dtype)
        x = pin_to_recorded(x, mask, recorded_next)
        if callback is not None:
            callback({"i": k, "x": x, "sigma": values[k], "sigma_next": values[k + 1], "denoised": x0_hat})
    return x
