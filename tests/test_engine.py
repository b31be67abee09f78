"""Core tier: the noise-level algebra and the shared engine (forward chain, input checks, autograd, precision)."""
import math

import pytest
import torch

from conftest import rel_err
from sde_edit.samplers import EPS, FLOW, InputError, cycle_sde_invert, cycle_sde_replay, record_forward_chain
from sde_edit.samplers.noise_levels import Parameterization, flow
from sde_edit.testing.schedules import flow_schedule, sd_uniform_schedule

ALGEBRAS = pytest.mark.parametrize("param", [EPS, FLOW, flow(8.0)], ids=["eps", "flow", "flow-noise-scale-8"])


# --- noise-level algebra -------------------------------------------------------------------------

@ALGEBRAS
def test_forward_transitions_compose_to_the_marginal(param):
    levels = [0.0, 0.05, 0.3, 0.62, 0.9]
    signal, variance = 1.0, 0.0
    for low, high in zip(levels[:-1], levels[1:]):
        ratio, std = param.transition(low, high)
        signal, variance = ratio * signal, ratio**2 * variance + std**2
        assert signal == pytest.approx(param.alpha(high), rel=1e-12)
        assert variance == pytest.approx(param.noise(high) ** 2, rel=1e-12)


@ALGEBRAS
def test_posterior_matches_gaussian_conditioning(param):
    """q(x_s | x_t, x0) from the joint covariance of (x_s, x_t) given x0, computed independently."""
    s, t = 0.35, 0.8
    b_s, b_t = param.noise(s), param.noise(t)
    ratio, trans_std = param.transition(s, t)
    # Cov[x_s] = b_s^2, Cov[x_s, x_t] = ratio b_s^2, Cov[x_t] = b_t^2 (all given x0).
    gain = ratio * b_s**2 / b_t**2
    expected_var = b_s**2 - gain * ratio * b_s**2
    c_xt, c_x0, std = param.posterior(t, s)
    assert c_xt == pytest.approx(gain, rel=1e-12)
    # Mean: a_s x0 + gain (x_t - a_t x0).
    assert c_x0 == pytest.approx(param.alpha(s) - gain * param.alpha(t), rel=1e-12)
    assert std == pytest.approx(math.sqrt(expected_var), rel=1e-12)


@ALGEBRAS
def test_ddim_eta_one_is_the_posterior_and_eta_zero_the_ode_step(param):
    generator = torch.Generator().manual_seed(1)
    x_t, x0 = torch.randn(2, 3, 4, 4, generator=generator, dtype=torch.float64), \
        torch.randn(2, 3, 4, 4, generator=generator, dtype=torch.float64)
    t, s = 0.7, 0.4
    mean, std = param.ddim_mean(x_t, x0, t, s, eta=1.0)
    c_xt, c_x0, post_std = param.posterior(t, s)
    assert torch.allclose(mean, c_xt * x_t + c_x0 * x0, atol=1e-12)
    assert std == pytest.approx(post_std, rel=1e-12)
    mean, std = param.ddim_mean(x_t, x0, t, s, eta=0.0)
    assert std == 0.0
    eps = (x_t - param.alpha(t) * x0) / param.noise(t)
    assert torch.allclose(mean, param.alpha(s) * x0 + param.noise(s) * eps, atol=1e-12)
    if param is FLOW:  # the Euler step of the velocity v = eps - x0
        assert torch.allclose(mean, x_t + (s - t) * (eps - x0), atol=1e-12)


@pytest.mark.parametrize("noise_scale", [1.0, 8.0])
def test_forward_chain_statistics_match_the_marginal(noise_scale):
    x0 = torch.zeros(4000, 1, 2, 2)
    sigmas = flow_schedule(5, shift=2.0)
    states = record_forward_chain(x0 + 0.5, sigmas, flow(noise_scale), seed=3)
    for k, sigma in enumerate(sigmas):
        assert float(states[k].mean()) == pytest.approx(0.5 * (1 - sigma), abs=0.02 * noise_scale)
        assert float(states[k].std()) == pytest.approx(noise_scale * sigma, rel=0.02, abs=0.02)
    assert torch.equal(states[-1], x0 + 0.5)


def test_noise_scale_is_the_noise_coefficient_of_a_flow_state():
    """``flow(s)``: x = (1 - sigma) x0 + s sigma eps (ComfyUI >= 0.33 CONST.noise_scaling); the VP scale and the
    messages follow it, and only a flow model takes a scale."""
    param = flow(8.0)
    assert (param.alpha(0.25), param.noise(0.25), param.vp_scale(0.25)) == (0.75, 2.0, math.hypot(0.75, 2.0))
    assert flow(1.0) is FLOW and param != FLOW and param.model_kind == "a flow model with noise scale 8"
    for name, scale in (("eps", 2.0), ("flow", 0.0), ("flow", float("nan"))):
        with pytest.raises(ValueError, match="noise_scale: a positive number, and 1 for eps"):
            Parameterization(name, scale)



def test_noise_levels_reach_the_model_in_at_least_float32():
    from sde_edit.samplers.engine import sigma_batch
    level = sigma_batch(torch.zeros(3, 4, 2, 2, dtype=torch.bfloat16), 0.9507)
    assert level.dtype == torch.float32 and float(level[0]) == pytest.approx(0.9507, abs=1e-7)
    assert sigma_batch(torch.zeros(1, 1, dtype=torch.float64), 0.1).dtype == torch.float64


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("sigmas, message", [
    ([], "at least 2"),
    ([0.5], "at least 2"),
    ([0.2, 0.5, 0.0], "strictly decreasing"),
    ([0.5, float("nan"), 0.0], "finite"),
    ([1.5, 0.5, 0.0], "<= 1.0"),
    ([0.5, 0.2, -0.1], ">= 0"),
])
def test_bad_schedules_are_named(mixture, sigmas, message):
    with pytest.raises(InputError, match=f"sigmas: .*{message}"):
        cycle_sde_invert(mixture.denoiser(FLOW), torch.randn(1, 4, 8, 8), sigmas, FLOW)


def test_a_long_bad_schedule_is_shown_briefly(mixture):
    flipped = sd_uniform_schedule(120)[::-1]
    with pytest.raises(InputError) as error:
        cycle_sde_invert(mixture.denoiser(EPS), torch.randn(1, 4, 8, 8), flipped, EPS)
    message = str(error.value)
    assert "strictly decreasing" in message and "(121 levels)" in message and "..." in message
    assert len(message) < 300


# --- autograd and precision -------------------------------------------------------------------

def test_every_method_runs_without_building_a_graph():
    """The core runs under torch.no_grad() (as k-diffusion's samplers): a denoiser with trainable weights,
    called with autograd on, must not record a graph nor return a tensor that requires grad."""
    from sde_edit.samplers.rf_inversion import rf_edit, rf_invert
    from sde_edit.samplers.sde_drag import sde_drag
    from sde_edit.samplers.sde_inpaint import sde_inpaint
    from sde_edit.samplers.sync_sde import sync_sde

    layer = torch.nn.Conv2d(4, 4, 1)
    assert layer.weight.requires_grad and torch.is_grad_enabled()

    def denoiser(x, sigma):
        return layer(x)

    x0, sigmas, mask = torch.randn(1, 4, 8, 8), flow_schedule(4, 0.8), torch.ones(1, 1, 8, 8)
    trajectory = cycle_sde_invert(denoiser, x0, sigmas, FLOW)
    outputs = {
        "forward chain": record_forward_chain(x0, sigmas, FLOW),
        "cycle-sde invert": trajectory.source_means,
        "cycle-sde replay": cycle_sde_replay(denoiser, trajectory),
        "sync-sde": sync_sde(denoiser, denoiser, x0, sigmas, FLOW),
        "sde inpaint": sde_inpaint(denoiser, x0, sigmas, FLOW, mask),
        "sde-drag": sde_drag(lambda x, sigma, cfg: layer(x), x0, flow_schedule(3, 0.6), FLOW, [((1, 1), (3, 2))]),
        "rf invert": rf_invert(denoiser, x0, sigmas, FLOW),
        "rf edit": rf_edit(denoiser, torch.randn(1, 4, 8, 8), x0, sigmas, FLOW),
    }
    assert {name: out.requires_grad for name, out in outputs.items()} == {name: False for name in outputs}


def test_float64_schedules_stay_float64():
    """A float64 latent and a schedule of Python floats: the forward chain uses the levels as given (it used
    float32-rounded levels, a relative noise error of 1.7e-6 where 1e-15 is reachable)."""
    from sde_edit.samplers.engine import noise_like, seeded
    from sde_edit.samplers.validation import check_sigmas
    sigmas = flow_schedule(7, 0.9, shift=3.0)
    assert check_sigmas(sigmas, FLOW) == sigmas
    x0 = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    states = record_forward_chain(x0, sigmas, FLOW, seed=5)
    generator, x, level, expected = seeded(5), x0, 0.0, []
    for sigma in reversed(sigmas[:-1]):
        ratio, std = FLOW.transition(level, sigma)
        x, level = ratio * x + std * noise_like(x, generator), sigma
        expected.insert(0, x)
    assert max(rel_err(a, b) for a, b in zip(states[:-1], expected)) < 1e-14
