"""Cycle-SDE: recorded source trajectories and their exact replay.

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
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from .engine import (Callback, Denoiser, anchored_step, ddim_invert, forward_chain_top_down, pin_to_recorded,
                     prepare, report, sigma_batch)
from .noise_levels import Parameterization
from .validation import InputError, check_fraction, check_latent, check_mask, check_sigmas


@dataclass(frozen=True)
class Trajectory:
    """A recorded source run that can be replayed any number of times.

    Only what cannot be drawn again is kept: the source latent ``source`` (in ``compute_dtype``, the precision
    the inversion ran in, which an exact replay must use too), the forward chain's ``seed``, its top state
    ``start`` and ``source_means[k]``, the mean of reverse step k at recorded state k under the source denoiser.
    The recorded states themselves (``recorded_states``) are the seeded forward chain of ``source``, drawn again
    during a replay bit for bit as the inversion drew them, in ``storage_dtype`` as stored before. The ODE
    baseline (eta = 0) keeps its DDIM-inversion states (``ode_states``, made by the model) and has no means.
    Tensors live on the storage device (the CPU by default).
    """

    sigmas: tuple[float, ...]
    source: torch.Tensor
    start: torch.Tensor
    source_means: torch.Tensor | None
    parameterization: Parameterization
    eta: float
    seed: int
    storage_dtype: torch.dtype
    ode_states: torch.Tensor | None = None

    @property
    def steps(self) -> int:
        return len(self.sigmas) - 1

    @property
    def latent_shape(self) -> torch.Size:
        return self.source.shape

    @property
    def compute_dtype(self) -> torch.dtype:
        return self.source.dtype

    @property
    def nbytes(self) -> int:
        """Bytes the trajectory holds."""
        return sum(tensor.nbytes for tensor in (self.source, self.start, self.source_means, self.ode_states)
                   if tensor is not None)

    def start_state(self, device=None, dtype=None) -> torch.Tensor:
        return self.start.to(device=device, dtype=dtype)

    def recorded_states(self, device=None, dtype=None):
        """The recorded states at ``sigmas``, from the first level down, as stored (``storage_dtype``), then on
        ``device`` in ``dtype``; drawn again from the seed on ``device`` (about 2 sqrt(steps) states held)."""
        if self.ode_states is not None:
            states = iter(self.ode_states)
        else:
            states = forward_chain_top_down(self.source.to(device), list(self.sigmas), self.parameterization,
                                            self.seed)
        for state in states:
            yield state.to(self.storage_dtype).to(device=device, dtype=dtype)

    def recovered_noise(self, k: int) -> torch.Tensor:
        """The Gaussian ``w_k`` of reverse step k (Eq. 8); close to N(0, I) when the model is accurate."""
        if self.source_means is None:
            raise ValueError("an ODE (eta = 0) trajectory has no noise")
        std = self.parameterization.ddim_coefficients(self.sigmas[k], self.sigmas[k + 1], self.eta)[2]
        if std == 0:
            raise ValueError(f"step {k} into sigma {self.sigmas[k + 1]} is deterministic")
        state = next(itertools.islice(self.recorded_states(), k + 1, None))
        return (state.double() - self.source_means[k].double()) / std

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


@torch.no_grad()
def cycle_sde_invert(denoiser: Denoiser, x0: torch.Tensor, sigmas, param, *, eta: float = 1.0,
                     seed: int = 0, storage_device="cpu", storage_dtype=None,
                     callback: Callback | None = None) -> Trajectory:
    """Invert ``x0`` for replay: Cycle-SDE for eta in (0, 1] (Eqs. 7-8), DDIM inversion for eta = 0.

    Costs one ``denoiser`` call per step. The returned trajectory lives on ``storage_device``.
    """
    setup = prepare(x0, sigmas, param)
    param, values = setup.param, setup.sigmas
    check_fraction(eta, "eta", "0 = ODE/DDIM, 1 = DDPM/SDE")
    storage_dtype = storage_dtype or x0.dtype
    source = x0.to(storage_device)
    if eta == 0.0:
        states = ddim_invert(denoiser, x0, values, param, callback).to(storage_device, storage_dtype)
        return Trajectory(tuple(values), source, states[0], None, param, 0.0, int(seed), storage_dtype, states)

    means, start = [], None
    recorded = forward_chain_top_down(x0, values, param, seed)
    for k, state in enumerate(recorded):
        x_k = state.to(storage_device, storage_dtype)
        if k == 0:
            start = x_k
        if k == len(values) - 1:
            break
        x_k = x_k.to(x0.device, x0.dtype)
        x0_hat = denoiser(x_k, sigma_batch(x_k, values[k]))
        mean, _ = param.ddim_mean(x_k, x0_hat, values[k], values[k + 1], eta)
        means.append(mean.to(storage_device, storage_dtype))
        report(callback, k, x_k, x0_hat, values[k], values[k + 1])
    return Trajectory(tuple(values), source, start, torch.stack(means), param, float(eta), int(seed), storage_dtype)


@torch.no_grad()
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
    device = device if device is not None else trajectory.source.device
    dtype = dtype if dtype is not None else trajectory.compute_dtype
    check_mask(mask, trajectory.latent_shape)
    param, values = trajectory.parameterization, trajectory.sigmas
    if mask is not None:
        mask = mask.to(device, dtype)
    recorded = trajectory.recorded_states(device, dtype)
    start = next(recorded)
    x = pin_to_recorded(x_start if x_start is not None else start, mask, start)
    for k in range(trajectory.steps):
        x0_hat = denoiser(x, sigma_batch(x, values[k]))
        source_mean = None if trajectory.source_means is None else trajectory.source_means[k].to(device, dtype)
        recorded_next = next(recorded)
        x = anchored_step(param, x, x0_hat, values[k], values[k + 1], trajectory.eta, recorded_next, source_mean,
                          trajectory.storage_dtype)
        x = pin_to_recorded(x, mask, recorded_next)
        report(callback, k, x, x0_hat, values[k], values[k + 1])
    return x
