"""Core tier: Cycle-SDE inversion and replay (Nie et al. 2311.01410, Eqs. 6-8) against exact (analytic) denoisers."""
import math

import pytest
import torch

from conftest import rel_err
from sde_edit.samplers import EPS, FLOW, InputError, cycle_sde_invert, cycle_sde_replay
from sde_edit.testing.calls import CallCounter
from sde_edit.testing.analytic import cfg_denoiser, gaussian
from sde_edit.samplers.engine import forward_chain, seeded
from sde_edit.samplers.noise_levels import flow
from sde_edit.testing.schedules import flow_schedule, sd_uniform_schedule
from sde_edit.testing.shape_world import ShapeWorld

PARAMS = {"eps": (EPS, sd_uniform_schedule(20)), "flow": (FLOW, flow_schedule(20, shift=3.0)),
          "flow-noise-scale-8": (flow(8.0), flow_schedule(20, shift=3.0))}


def guided(mixture, param, cfg, labels=(0, 1)):
    conditional = mixture.subset(torch.tensor([i in labels for i in range(4)])).denoiser(param)
    return cfg_denoiser(conditional, mixture.denoiser(param), cfg)


# --- exact Cycle-SDE reconstruction ------------------------------------------------------------

@pytest.mark.parametrize("cfg", [1.0, 7.5])
@pytest.mark.parametrize("eta", [0.3, 1.0])
@pytest.mark.parametrize("name", ["eps", "flow", "flow-noise-scale-8"])
def test_cycle_sde_reconstruction_is_exact(mixture, name, eta, cfg):
    param, sigmas = PARAMS[name]
    denoiser = guided(mixture, param, cfg)
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(5))
    trajectory = cycle_sde_invert(denoiser, x0, sigmas, param, eta=eta, seed=11)
    out = cycle_sde_replay(denoiser, trajectory)
    assert rel_err(out, x0) <= 1e-5
    assert torch.equal(out, x0)  # the deviation form makes it bit-exact


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_ode_baseline_error_is_reported(mixture, name, capsys):
    param, sigmas = PARAMS[name]
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(5))
    errors = {}
    for cfg in (1.0, 7.5):
        denoiser = guided(mixture, param, cfg)
        trajectory = cycle_sde_invert(denoiser, x0, sigmas, param, eta=0.0)
        assert trajectory.source_means is None
        errors[cfg] = rel_err(cycle_sde_replay(denoiser, trajectory), x0)
    with capsys.disabled():
        print(f"\n[ODE baseline, {name}, 20 steps] DDIM inversion + DDIM sampling relative error: "
              + ", ".join(f"cfg {c}: {e:.3g}" for c, e in errors.items()) + " (Cycle-SDE: 0)")
    assert min(errors.values()) > 1e-3


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_shape_world_reconstruction_with_label_guidance(name):
    world = ShapeWorld(size=16, grid=2)
    param, sigmas = PARAMS[name]
    denoiser = cfg_denoiser(world.mixture(colour="red").denoiser(param), world.mixture().denoiser(param), 4.0)
    x0 = world.images[world.select(colour="blue")][:2].float()
    trajectory = cycle_sde_invert(denoiser, x0, sigmas, param, eta=1.0, seed=2)
    assert torch.equal(cycle_sde_replay(denoiser, trajectory), x0)


# --- replay semantics ------------------------------------------------------------------------

def test_second_edit_costs_one_model_call_per_step(mixture):
    param, sigmas = PARAMS["eps"]
    steps = len(sigmas) - 1
    x0 = torch.randn(1, 4, 8, 8)
    inversion = CallCounter()
    trajectory = cycle_sde_invert(inversion(guided(mixture, param, 1.0, labels=(0,))), x0, sigmas, param, seed=0)
    assert inversion.calls == steps
    for labels in [(1,), (2, 3)]:
        edit = CallCounter()
        edited = cycle_sde_replay(edit(guided(mixture, param, 1.0, labels=labels)), trajectory)
        assert edit.calls == steps
        assert rel_err(edited, x0) > 1e-2


def test_mask_pins_the_unedited_region_exactly(mixture):
    param, sigmas = PARAMS["flow"]
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(9))
    trajectory = cycle_sde_invert(guided(mixture, param, 1.0), x0, sigmas, param, seed=4)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 3:7] = 1.0
    edited_start = trajectory.start_state() + 3.0  # an edit everywhere, also outside the mask
    out = cycle_sde_replay(guided(mixture, param, 3.0, labels=(2,)), trajectory, x_start=edited_start, mask=mask)
    outside = mask.expand_as(out) == 0
    assert torch.equal(out[outside], x0[outside])
    assert (out[~outside] - x0[~outside]).abs().max() > 1e-2


def test_soft_mask_keeps_an_unedited_replay_exact(mixture):
    """ComfyUI resizes a noise_mask bilinearly, so its edges are fractional: pinning must still return
    the recorded state bit for bit where the replay equals it (mask * x + (1 - mask) * rec did not)."""
    param, sigmas = PARAMS["flow"]
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    denoiser = guided(mixture, param, 7.5)
    trajectory = cycle_sde_invert(denoiser, x0, sigmas, param, seed=2)
    soft = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(4))
    assert torch.equal(cycle_sde_replay(denoiser, trajectory, mask=soft), x0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_replay_runs_in_the_precision_of_the_inversion(mixture, dtype):
    """A trajectory inverted in half precision replays in it by default, so it stays exact."""
    param, sigmas = PARAMS["eps"]
    denoiser = guided(mixture, param, 1.0)
    x0 = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0)).to(dtype)
    trajectory = cycle_sde_invert(denoiser, x0, sigmas, param, seed=0)
    assert trajectory.compute_dtype == dtype
    out = cycle_sde_replay(denoiser, trajectory)
    assert out.dtype == dtype and torch.equal(out, x0)


def test_fixed_seed_is_deterministic_and_seeds_differ(mixture):
    param, sigmas = PARAMS["eps"]
    denoiser = guided(mixture, param, 2.0)
    x0 = torch.randn(2, 4, 8, 8)
    a = cycle_sde_invert(denoiser, x0, sigmas, param, seed=1)
    b = cycle_sde_invert(denoiser, x0, sigmas, param, seed=1)
    c = cycle_sde_invert(denoiser, x0, sigmas, param, seed=2)
    assert torch.equal(states(a), states(b)) and torch.equal(a.source_means, b.source_means)
    assert not torch.allclose(a.start, c.start)
    target = guided(mixture, param, 2.0, labels=(3,))
    assert torch.equal(cycle_sde_replay(target, a), cycle_sde_replay(target, b))


def test_trajectory_storage_is_cpu_and_half_precision_is_close(mixture):
    param, sigmas = PARAMS["eps"]
    denoiser = guided(mixture, param, 1.0)
    x0 = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    half = cycle_sde_invert(denoiser, x0, sigmas, param, seed=0, storage_dtype=torch.float16)
    assert half.source_means.device.type == "cpu" and half.source_means.dtype == torch.float16
    assert states(half).dtype == torch.float16 and states(half).shape == (len(sigmas), 1, 4, 8, 8)
    assert rel_err(cycle_sde_replay(denoiser, half), x0) < 5e-3


def states(trajectory):
    return torch.stack(list(trajectory.recorded_states()))


@pytest.mark.parametrize("storage", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["eps", "flow"])
def test_recorded_states_are_drawn_again_bit_for_bit(mixture, name, storage):
    """The trajectory keeps the source, its seed, the top state and the means; the states a replay reads are
    the forward chain drawn again from the seed, equal bit for bit to the chain the inversion recorded (and the
    pack stored before), at the storage precision; the kept tensors are about half the old 2 * steps + 1."""
    param, sigmas = PARAMS[name]
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(6))
    trajectory = cycle_sde_invert(guided(mixture, param, 2.0), x0, sigmas, param, seed=9, storage_dtype=storage)
    recorded = forward_chain(x0, sigmas, param, seeded(9)).to(storage)
    assert torch.equal(states(trajectory), recorded)
    assert torch.equal(trajectory.start, recorded[0]) and torch.equal(trajectory.source, x0)
    latent = x0.numel() * torch.finfo(storage).bits // 8
    steps = len(sigmas) - 1
    assert trajectory.nbytes == steps * latent + latent + x0.numel() * 4
    assert trajectory.nbytes <= 0.55 * (2 * steps + 1) * latent + x0.numel() * 4


def test_recovered_noise_has_the_exact_reverse_conditional_law():
    """x0 ~ N(0, I) with its exact denoiser: w_k of Eq. (8) is N(0, v_k) with the closed form
    v_k = 1 + c_x0^2 Var[x0 | x_t] / std^2 = 1 + (t^2 - s^2) / ((1 + t^2) s^2)   (EPS, s < t)."""
    data = gaussian(torch.zeros(1, 32, 32), 1.0)
    x0 = data.sample(64, torch.Generator().manual_seed(0)).float()
    sigmas = sd_uniform_schedule(10)
    trajectory = cycle_sde_invert(data.denoiser(EPS), x0, sigmas, EPS, seed=0)
    for k in range(trajectory.steps - 1):
        t, s = sigmas[k], sigmas[k + 1]
        expected_var = 1 + (t**2 - s**2) / ((1 + t**2) * s**2)
        w = trajectory.recovered_noise(k)
        assert abs(float(w.mean())) < 4 * math.sqrt(expected_var / w.numel())
        assert float(w.var()) == pytest.approx(expected_var, rel=0.03)


def test_noise_scale_scales_the_recorded_noise(mixture):
    """With noise scale 8 the recorded states carry 8 times the noise of a scale-1 flow model (the same seed
    draws the same Gaussians), and so do the reverse steps' noise: an inversion that ignored the scale would
    hand the model states it was never trained on. (The deterministic DDIM step does not depend on the scale:
    x_s = a_s x0 + (b_s / b_t)(x_t - a_t x0).)"""
    sigmas = flow_schedule(12, 0.8, shift=3.0)
    x0 = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(5))
    scaled = cycle_sde_invert(mixture.denoiser(flow(8.0)), x0, sigmas, flow(8.0), seed=2)
    plain = cycle_sde_invert(mixture.denoiser(FLOW), x0, sigmas, FLOW, seed=2)
    for k in range(len(sigmas) - 1):
        noise_scaled = states(scaled)[k] - (1 - sigmas[k]) * x0
        noise_plain = states(plain)[k] - (1 - sigmas[k]) * x0
        assert rel_err(noise_scaled, 8.0 * noise_plain) <= 1e-5
        assert flow(8.0).ddim_coefficients(sigmas[k], sigmas[k + 1], 1.0)[2] == \
            pytest.approx(8.0 * FLOW.ddim_coefficients(sigmas[k], sigmas[k + 1], 1.0)[2], rel=1e-12)


# --- errors -----------------------------------------------------------------------------------

def test_bad_latents_and_trajectories_are_named(mixture):
    param, sigmas = PARAMS["eps"]
    denoiser = mixture.denoiser(param)
    bad = torch.randn(1, 4, 8, 8)
    bad[0, 0, 0, 0] = float("inf")
    with pytest.raises(InputError, match="latent: contains NaN or infinite"):
        cycle_sde_invert(denoiser, bad, sigmas, param)
    with pytest.raises(InputError, match="eta: must lie in"):
        cycle_sde_invert(denoiser, torch.randn(1, 4, 8, 8), sigmas, param, eta=1.5)
    trajectory = cycle_sde_invert(denoiser, torch.randn(1, 4, 8, 8), sigmas, param)
    with pytest.raises(InputError, match="start latent: shape"):
        cycle_sde_replay(denoiser, trajectory, x_start=torch.randn(1, 4, 8, 16))
    with pytest.raises(InputError, match="mask: shape"):
        cycle_sde_replay(denoiser, trajectory, mask=torch.ones(1, 1, 4, 4))
    with pytest.raises(InputError, match="sigmas: the schedule does not match"):
        trajectory.check_compatible(sd_uniform_schedule(10))
    with pytest.raises(InputError, match="latent: shape"):
        trajectory.check_compatible(sigmas, (2, 4, 8, 8))
    trajectory.check_compatible(sigmas, (1, 4, 8, 8))
