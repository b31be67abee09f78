"""Core tier: RF-Inversion (controlled forward/reverse flows, rectified stochastic sampler) on exact denoisers."""
import math

import pytest
import torch

from conftest import rel_err
from sde_edit.samplers import EPS, FLOW, InputError
from sde_edit.testing.analytic import cfg_denoiser, gaussian
from sde_edit.samplers.engine import ddim_invert
from sde_edit.samplers.noise_levels import flow
from sde_edit.samplers.rf_inversion import (controlled_reverse_step, controlled_sde_coefficients, controlled_sde_step,
                                           eta_schedule, rf_edit, rf_invert)
from sde_edit.testing.schedules import flow_schedule, sd_uniform_schedule

SCHEDULES = {"eps": (EPS, sd_uniform_schedule), "flow": (FLOW, lambda steps: flow_schedule(steps, shift=3.0)),
             "flow-noise-scale-8": (flow(8.0), lambda steps: flow_schedule(steps, shift=3.0))}


@pytest.fixture(scope="module")
def data():
    """Gaussian data N(mu, 0.5^2 I) with a random mean: its denoiser is the exact posterior mean."""
    return gaussian(0.5 + 0.5 * torch.randn(4, 8, 8, generator=torch.Generator().manual_seed(0)), 0.5)


@pytest.fixture(scope="module")
def source(data):
    return data.sample(4, torch.Generator().manual_seed(1)).float()


class Recorder:
    def __init__(self, denoiser):
        self.denoiser, self.sigmas = denoiser, []

    def __call__(self, x, sigma):
        self.sigmas.append(float(sigma[0]))
        return self.denoiser(x, sigma)


# --- exact velocity: reconstruction, the two controllers' limits, the stochastic sampler ---------------

@pytest.mark.parametrize("name", ["eps", "flow"])
def test_plain_inversion_error_shrinks_with_steps(data, source, name, capsys):
    param, schedule = SCHEDULES[name]
    denoiser = data.denoiser(param)
    errors = {}
    for steps in (28, 100):
        sigmas = schedule(steps)
        inverted = rf_invert(denoiser, source, sigmas, param, gamma=0.0)
        errors[steps] = rel_err(rf_edit(denoiser, inverted, source, sigmas, param, eta=0.0), source)
    with capsys.disabled():
        print(f"\n[RF-Inversion, {name}, gamma = eta = 0, exact velocity] reconstruction relative error: "
              + ", ".join(f"{steps} steps {error:.4f}" for steps, error in errors.items()))
    assert errors[100] < errors[28] < 0.15


def test_gamma_zero_is_ddim_inversion(data, source):
    """For EPS models gamma = 0 is the engine's DDIM inversion (for FLOW the first step from the clean latent
    differs: it calls the model on a(sigma_1) x0, not on x0)."""
    sigmas = sd_uniform_schedule(20)
    _, states = rf_invert(data.denoiser(EPS), source, sigmas, EPS, gamma=0.0, return_states=True)
    assert states.shape == (len(sigmas), *source.shape)
    assert torch.allclose(states, ddim_invert(data.denoiser(EPS), source, sigmas, EPS), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["eps", "flow", "flow-noise-scale-8"])
def test_gamma_one_lands_on_the_target_noise(data, source, name):
    """gamma = 1 follows the straight line to y1: a flow schedule from sigma 1 ends exactly on y1 (on s y1 for
    noise scale s), an EPS one at its top level on the same line, y0 + sigma_max y1."""
    param, schedule = SCHEDULES[name]
    sigmas = schedule(28)
    y1 = torch.randn(source.shape, generator=torch.Generator().manual_seed(7))
    inverted = rf_invert(data.denoiser(param), source, sigmas, param, gamma=1.0, seed=7)
    if param is FLOW:
        assert torch.equal(inverted, y1)
    elif param.name == "flow":
        assert torch.allclose(inverted, param.noise_scale * y1, rtol=1e-6, atol=1e-5)
    else:
        assert torch.allclose(inverted, source + sigmas[0] * y1, rtol=1e-6, atol=1e-5)
    assert torch.equal(rf_invert(data.denoiser(param), source, sigmas, param, gamma=1.0, noise=y1), inverted)


@pytest.mark.parametrize("stochastic", [False, True], ids=["ode", "sde"])
@pytest.mark.parametrize("name", ["eps", "flow", "flow-noise-scale-8"])
def test_eta_one_everywhere_lands_on_the_source(data, source, name, stochastic):
    param, schedule = SCHEDULES[name]
    sigmas = schedule(28)
    start = sigmas[0] * torch.randn(source.shape, generator=torch.Generator().manual_seed(3))
    edited = rf_edit(data.denoiser(param), start, source, sigmas, param, eta=1.0, stochastic=stochastic)
    assert torch.equal(edited, source)


@pytest.mark.parametrize("stochastic", [False, True], ids=["ode", "sde"])
@pytest.mark.parametrize("name", ["eps", "flow"])
def test_mask_keeps_the_source_outside_exactly(data, source, name, stochastic):
    """Outside the mask (1 = editable) the reverse follows the straight path from its start to y0 and ends
    on the source bit for bit; inside it edits."""
    param, schedule = SCHEDULES[name]
    sigmas = schedule(12)
    inverted = rf_invert(data.denoiser(param), source, sigmas, param, gamma=0.5, seed=1)
    other = gaussian(-1.0 + torch.zeros(4, 8, 8), 0.5).denoiser(param)  # a target far from the data
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 1:5] = 1.0
    edited = rf_edit(other, inverted, source, sigmas, param, eta=0.3, eta_stop=4, stochastic=stochastic,
                     mask=mask)
    outside = (mask == 0).expand_as(source)
    assert torch.equal(edited[outside], source[outside])
    assert float((edited[~outside] - source[~outside]).abs().mean()) > 0.5


# --- the stochastic step: exact transition of Eq. 17 with x0_hat frozen -----------------------------------

def euler_maruyama_coefficients(param, sigma, sigma_next, eta):
    """Eq. (17) stepped by Euler-Maruyama in flow time, as ``(c_x, c_x0, c_y0, std)`` in ComfyUI units: the
    independent reference the exact step must approach as the step shrinks."""
    a, b, a_next, b_next = param.alpha(sigma), param.noise(sigma), param.alpha(sigma_next), param.noise(sigma_next)
    t, scale, t_next, scale_next = b / (a + b), 1 / (a + b), b_next / (a_next + b_next), 1 / (a_next + b_next)
    dt = t - t_next
    c_z = 1 - dt * ((2 - eta) / t + (1 - eta) / (1 - t))
    return (c_z * scale / scale_next, 2 * (1 - eta) * dt / t / scale_next, eta * dt / t / scale_next,
            math.sqrt(2 * (1 - eta) * t * dt / (1 - t)) / scale_next)


STEP_PARAMS = {"eps": EPS, "flow": FLOW, "flow-noise-scale-8": flow(8.0)}
LEVELS = {"eps": (3.0, 1.2), "flow": (0.7, 0.4), "flow-noise-scale-8": (0.7, 0.4)}


@pytest.mark.parametrize("name", STEP_PARAMS)
def test_exact_step_at_eta_zero_is_the_ddpm_posterior(name):
    param, (sigma, sigma_next) = STEP_PARAMS[name], LEVELS[name]
    c_x, c_x0, c_y0, std = controlled_sde_coefficients(param, sigma, sigma_next, 0.0)
    assert (c_x, c_x0, c_y0, std) == pytest.approx((*param.posterior(sigma, sigma_next), 0.0)[:2] + (0.0,) +
                                                   (param.posterior(sigma, sigma_next)[2],), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", STEP_PARAMS)
def test_exact_step_at_eta_one_is_the_controlled_ode_step(name):
    param, (sigma, sigma_next) = STEP_PARAMS[name], LEVELS[name]
    x, x0_hat, y0 = torch.randn(3, 1, 4, 8, 8, generator=torch.Generator().manual_seed(0)).double()
    step = controlled_sde_step(param, x, x0_hat, y0, sigma, sigma_next, 1.0, torch.randn_like(x))
    assert controlled_sde_coefficients(param, sigma, sigma_next, 1.0)[3] == 0.0
    assert torch.allclose(step, controlled_reverse_step(param, x, x0_hat, y0, sigma, sigma_next, 1.0),
                          rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("eta", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("name", STEP_PARAMS)
def test_exact_step_tends_to_euler_maruyama(name, eta):
    """The two steps' coefficients (and variances) differ by O(dt^2), relative to each coefficient's size by at
    most O(dt): halving the step halves the relative gap at least."""
    param, (sigma, _) = STEP_PARAMS[name], LEVELS[name]
    gaps = []
    for dt in (1e-3, 5e-4, 2.5e-4):
        exact = controlled_sde_coefficients(param, sigma, sigma - dt, eta)
        euler = euler_maruyama_coefficients(param, sigma, sigma - dt, eta)
        pairs = [*zip(exact[:3], euler[:3]), (exact[3] ** 2, euler[3] ** 2)]
        gaps.append([abs(e - m) / abs(m) for e, m in pairs if m != 0])
    for coarse, fine in zip(gaps[:-1], gaps[1:]):
        for g_coarse, g_fine in zip(coarse, fine):
            assert g_fine <= 0.51 * g_coarse + 1e-12
    assert max(gaps[-1]) < 1e-2


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_exact_step_into_sigma_zero_is_noise_free(name):
    param = STEP_PARAMS[name]
    for eta in (0.0, 0.4, 0.9):
        c_x, c_x0, c_y0, std = controlled_sde_coefficients(param, LEVELS[name][1], 0.0, eta)
        assert (c_x, std) == (0.0, 0.0)
        assert (c_x0, c_y0) == pytest.approx(((2 - 2 * eta) / (2 - eta), eta / (2 - eta)), rel=1e-15)


def test_the_step_from_flow_sigma_one_is_the_ode_step(source):
    """From sigma 1 the exact transition (rho = 0) would forget the inverted latent: rf_edit takes the ODE step,
    so the state after it does not depend on the seed."""
    data = gaussian(torch.zeros(4, 8, 8), 1.0)
    start = torch.randn(4, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    firsts = []
    for seed in (1, 2):
        states = []
        rf_edit(data.denoiser(FLOW), start, source, [1.0, 0.5, 0.0], FLOW, eta=0.5, stochastic=True, seed=seed,
                callback=lambda info: states.append(info["x"]))
        firsts.append(states[0])
    assert torch.equal(firsts[0], firsts[1])
    expected = controlled_reverse_step(FLOW, start, data.denoiser(FLOW)(start, torch.ones(4)), source, 1.0, 0.5, 0.5)
    assert torch.equal(firsts[0], expected)


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_point_mass_data_keeps_every_marginal(name, capsys):
    """Data at one point mu: its x0 prediction is mu exactly, and each exact step maps the marginal
    N(a mu, b^2) at one level to the marginal at the next, sampled here through rf_edit (eta 0)."""
    param, schedule = SCHEDULES[name]
    sigmas = schedule(10)
    mu = torch.full((1, 1, 64, 64), 0.7)
    count = 64
    generator = torch.Generator().manual_seed(0)
    x = param.alpha(sigmas[0]) * mu + param.noise(sigmas[0]) * torch.randn(count, 1, 64, 64, generator=generator)
    states = []
    rf_edit(lambda x, sigma: mu.expand_as(x), x, mu.expand_as(x), sigmas, param, eta=0.0, stochastic=True,
            seed=3, callback=lambda info: states.append(info["x"]))
    worst = 0.0
    for level, state in zip(sigmas[1:], states):
        noise = (state - param.alpha(level) * mu).double()
        if level == 0:
            assert float(noise.abs().max()) < 1e-5
            continue
        mean_error = abs(float(noise.mean())) / param.noise(level)
        std_ratio = float(noise.std()) / param.noise(level)
        worst = max(worst, mean_error, abs(std_ratio - 1))
    with capsys.disabled():
        print(f"\n[point-mass data, {name}, 10 exact steps, {count * 64 * 64} samples] worst marginal error {worst:.4f}")
    assert worst < 0.01


GAUSSIAN_WINDOW = dict(eta=0.9, eta_start=0, eta_stop=7)  # of 20 steps, y0 = 2.5, data N(0, 1)


def propagate(param, sigmas, coefficients, etas, y0, substeps=1):
    """Mean and variance of the reverse process on data N(0, 1) (x0_hat = a x / (a^2 + b^2), linear in x), from
    the exact top marginal, each step split into ``substeps`` steps of ``coefficients`` (ODE step from sigma 1)."""
    mean, variance = 0.0, param.alpha(sigmas[0]) ** 2 + param.noise(sigmas[0]) ** 2
    for k in range(len(sigmas) - 1):
        fine = [sigmas[k] + (sigmas[k + 1] - sigmas[k]) * j / substeps for j in range(substeps + 1)]
        for sigma, sigma_next in zip(fine[:-1], fine[1:]):
            a, b = param.alpha(sigma), param.noise(sigma)
            if a == 0:
                gain, pull = param.noise(sigma_next) / b, param.alpha(sigma_next) * etas[k]
                mean, variance = gain * mean + pull * y0, gain**2 * variance
                continue
            c_x, c_x0, c_y0, std = coefficients(param, sigma, sigma_next, etas[k])
            gain = c_x + c_x0 * a / (a * a + b * b)
            mean, variance = gain * mean + c_y0 * y0, gain**2 * variance + std**2
    return mean, variance


@pytest.mark.parametrize("name, euler_loss", [("eps", 0.2), ("flow", 0.35)])
def test_controller_pull_matches_the_continuous_sde(name, euler_loss, capsys):
    """eta 0.9 on steps [0, 7) of 20 pulls the final mean toward y0 = 2.5 by what the continuous Eq. (17) gives
    (the exact step on 2000 substeps per step); Euler-Maruyama loses a good part of it."""
    param, schedule = SCHEDULES[name]
    sigmas = schedule(20)
    etas = eta_schedule(20, **GAUSSIAN_WINDOW)
    continuous = propagate(param, sigmas, controlled_sde_coefficients, etas, 2.5, substeps=2000)[0]
    exact = propagate(param, sigmas, controlled_sde_coefficients, etas, 2.5)[0]
    euler = propagate(param, sigmas, euler_maruyama_coefficients, etas, 2.5)[0]
    with capsys.disabled():
        print(f"\n[controller pull, {name}, data N(0, 1), y0 2.5] continuous {continuous:.4f}, exact step "
              f"{exact:.4f}, Euler-Maruyama {euler:.4f}")
    assert exact == pytest.approx(continuous, rel=0.01)
    assert euler < (1 - euler_loss) * continuous


@pytest.mark.parametrize("name, steps, expected", [("eps", 10, 0.622), ("eps", 20, 0.773), ("flow", 10, 0.547),
                                                  ("flow", 20, 0.706)])
def test_fixed_x0_steps_under_disperse_gaussian_data(name, steps, expected):
    """The known cost of freezing x0_hat over a step on data that is not a point mass: on N(0, 1) the exact
    step (DDPM ancestral sampling, eta 0) ends with variance ``expected`` < 1 at these step counts, and the
    continuous SDE with 1 (to 2 %). Measured through rf_edit on samples and propagated in closed form."""
    param, schedule = SCHEDULES[name]
    sigmas = schedule(steps)
    etas = [0.0] * steps
    assert propagate(param, sigmas, controlled_sde_coefficients, etas, 0.0)[1] == pytest.approx(expected, abs=5e-4)
    assert propagate(param, sigmas, controlled_sde_coefficients, etas, 0.0, substeps=400)[1] == \
        pytest.approx(1.0, abs=0.02)
    data = gaussian(torch.zeros(1, 64, 64), 1.0)
    generator = torch.Generator().manual_seed(0)
    top = sigmas[0]
    x = param.alpha(top) * data.sample(64, generator).float() + param.noise(top) * torch.randn(
        64, 1, 64, 64, generator=generator)
    out = rf_edit(data.denoiser(param), x, torch.zeros_like(x), sigmas, param, eta=0.0, stochastic=True, seed=1)
    assert float(out.double().var()) == pytest.approx(expected, rel=0.03)


def as_rectified_flow(denoiser, sigmas):
    """An EPS/V denoiser and schedule as a flow model: t = sigma / (1 + sigma), x_flow = x / (1 + sigma)."""
    def flow_denoiser(z, t):
        return denoiser(z / (1 - t).view(-1, 1, 1, 1), t / (1 - t))
    return flow_denoiser, [s / (1 + s) for s in sigmas]


def test_eps_runs_the_flow_equations_through_the_time_map(data, source):
    """Every RF function on an EPS model equals the FLOW code on the model mapped to a rectified flow."""
    sigmas = sd_uniform_schedule(12)
    eps_denoiser = cfg_denoiser(data.denoiser(EPS), gaussian(torch.zeros(4, 8, 8), 1.0).denoiser(EPS), 2.0)
    flow_denoiser, times = as_rectified_flow(eps_denoiser, sigmas)
    scale = torch.tensor([1 + s for s in sigmas]).view(-1, 1, 1, 1, 1)
    _, eps_states = rf_invert(eps_denoiser, source, sigmas, EPS, gamma=0.5, seed=2, return_states=True)
    _, flow_states = rf_invert(flow_denoiser, source, times, FLOW, gamma=0.5, seed=2, return_states=True)
    assert torch.allclose(eps_states / scale, flow_states, rtol=1e-4, atol=1e-5)
    for stochastic in (False, True):
        settings = dict(eta=0.7, eta_start=1, eta_stop=6, stochastic=stochastic, seed=4)
        eps_out = rf_edit(eps_denoiser, eps_states[0], source, sigmas, EPS, **settings)
        flow_out = rf_edit(flow_denoiser, flow_states[0], source, times, FLOW, **settings)
        assert torch.allclose(eps_out, flow_out, rtol=1e-4, atol=1e-4)


# --- eta window, trend and the truncated start ------------------------------------------------------

def test_eta_schedule_step_by_step(capsys):
    """eta_k on a 10-step schedule with the window [2, 7): zero outside, trends as documented."""
    expected = {
        "constant": [0, 0, 0.8, 0.8, 0.8, 0.8, 0.8, 0, 0, 0],
        "linear_increase": [0, 0, 0, 0.2, 0.4, 0.6, 0.8, 0, 0, 0],
        "linear_decrease": [0, 0, 0.8, 0.6, 0.4, 0.2, 0, 0, 0, 0],
    }
    lines = []
    for trend, values in expected.items():
        etas = eta_schedule(10, 0.8, eta_start=2, eta_stop=7, eta_trend=trend)
        lines.append(f"{trend:>17}: " + " ".join(f"{e:.2f}" for e in etas))
        assert etas == pytest.approx(values, abs=1e-12)
    decayed = eta_schedule(10, 0.8, eta_start=2, eta_stop=7, eta_decay_power=1.0)
    lines.append(f"{'constant, decay 1':>17}: " + " ".join(f"{e:.2f}" for e in decayed))
    assert decayed == pytest.approx([0, 0, 0.64, 0.56, 0.48, 0.40, 0.32, 0, 0, 0], abs=1e-12)
    for trend in expected:  # a one-step window uses eta
        one_step = eta_schedule(10, 0.8, eta_start=4, eta_stop=5, eta_trend=trend)
        assert one_step == [0.8 if k == 4 else 0 for k in range(10)]
    assert eta_schedule(4, 0.5) == [0.5] * 4  # no stop: to the last step
    with capsys.disabled():
        print("\n[eta per reverse step k = 0..9, eta 0.8, window [2, 7)]\n" + "\n".join(lines))


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_truncated_start_and_the_eta_used_at_each_step(data, source, name):
    """start_step s (the paper's starting time): the forward stops at sigmas[s] and the reverse begins there;
    the eta window still counts steps of the whole schedule."""
    param, schedule = SCHEDULES[name]
    sigmas = schedule(10)
    denoiser = Recorder(data.denoiser(param))
    full, states = rf_invert(denoiser, source, sigmas, param, seed=5, return_states=True)
    assert torch.equal(full, states[0])
    denoiser.sigmas.clear()
    reports = []
    truncated = rf_invert(denoiser, source, sigmas, param, seed=5, start_step=3, callback=reports.append)
    assert torch.allclose(truncated, states[3], rtol=1e-6, atol=1e-6)
    assert torch.equal(truncated, rf_invert(data.denoiser(param), source, sigmas[3:], param, seed=5))
    assert [r["i"] for r in reports] == list(range(7))
    assert [r["sigma_next"] for r in reports] == pytest.approx(sigmas[3:][::-1][1:])
    assert denoiser.sigmas[1:] == pytest.approx(sigmas[4:][::-1][1:])  # step 0 reads sigma_1 at the clean latent

    denoiser.sigmas.clear()
    reports = []
    settings = dict(eta=0.8, eta_start=2, eta_stop=7, eta_trend="linear_decrease")
    rf_edit(denoiser, truncated, source, sigmas, param, start_step=3, callback=reports.append, **settings)
    assert denoiser.sigmas == pytest.approx(sigmas[3:-1], rel=1e-6)
    assert [r["i"] for r in reports] == list(range(3, 10))
    assert [r["eta"] for r in reports] == eta_schedule(10, **settings)[3:] == pytest.approx([0.6, 0.4, 0.2, 0, 0, 0, 0])
    assert set(reports[0]) >= {"i", "x", "denoised", "sigma", "sigma_next"}


def test_seeds_fix_the_target_noise_and_the_sde(data, source):
    param, schedule = SCHEDULES["flow"]
    sigmas = schedule(8)
    denoiser = data.denoiser(param)
    a, b, c = (rf_invert(denoiser, source, sigmas, param, seed=s) for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.allclose(a, c)
    d, e, f = (rf_edit(denoiser, a, source, sigmas, param, eta_stop=3, stochastic=True, seed=s) for s in (1, 1, 2))
    assert torch.equal(d, e) and not torch.allclose(d, f)


# --- colour edits on the labelled shape world ----------------------------------------------------

RECOLOUR_STEPS = 20
RF_SETTINGS = dict(gamma=0.5, eta=0.9, eta_stop=14)  # window [0, 14) of 20 steps, no truncation


def recolour_rate(world, param, sigmas, cases, gamma, eta, eta_stop=None, stochastic=False):
    """Invert with the unconditional model (the empty prompt), edit with the target colour at CFG 3.

    Returns the success rate and the mean standard deviation of the inverted noise (inverted latent / sigma_max).
    """
    unconditional = world.mixture().denoiser(param)
    hits, noise_std = 0, 0.0
    for seed, (source, target) in enumerate(cases):
        x0 = world.image(source)[None].float()
        edit = cfg_denoiser(world.mixture(colour=target.colour).denoiser(param), unconditional, 3.0)
        inverted = rf_invert(unconditional, x0, sigmas, param, gamma=gamma, seed=seed)
        out = rf_edit(edit, inverted, x0, sigmas, param, eta=eta, eta_stop=eta_stop, stochastic=stochastic, seed=seed)
        scene, distance = world.nearest(out[0])
        hits += scene == target and distance < 0.05
        noise_std += float((inverted / sigmas[0]).std()) / len(cases)
    return hits / len(cases), noise_std


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_colour_edit_keeps_shape_and_position(world, name, capsys):
    """The exact empirical model inverts a training image (gamma = 0) to a noise far from N(0, I) (std ~0.03:
    the paper's atypical noise), from which the target colour still decodes; gamma = 0.5 gives typical noise
    and the eta window restores the structure."""
    param, schedule = SCHEDULES[name]
    sigmas = schedule(RECOLOUR_STEPS)
    cases = world.recolour_cases(20)
    results = {
        "RF-Inversion ODE": recolour_rate(world, param, sigmas, cases, **RF_SETTINGS),
        "RF-Inversion SDE": recolour_rate(world, param, sigmas, cases, **RF_SETTINGS, stochastic=True),
        "plain ODE inversion": recolour_rate(world, param, sigmas, cases, gamma=0.0, eta=0.0),
    }
    with capsys.disabled():
        print(f"\n[recolour, {name}, {len(cases)} cases, {RECOLOUR_STEPS} steps, gamma 0.5, eta 0.9 on steps [0, 14)] "
              + ", ".join(f"{method}: success {rate:.0%} (inverted noise std {std:.3f})"
                          for method, (rate, std) in results.items()))
    assert results["RF-Inversion ODE"][0] >= 0.8
    assert 0.9 < results["RF-Inversion ODE"][1] < 1.1 and results["plain ODE inversion"][1] < 0.2


# --- errors ------------------------------------------------------------------------------------

def test_errors_name_the_input(data, source):
    denoiser, sigmas = data.denoiser(FLOW), flow_schedule(10)
    inverted = torch.randn_like(source)

    def invert(**kwargs):
        rf_invert(denoiser, kwargs.pop("x0", source), kwargs.pop("sigmas", sigmas), FLOW, **kwargs)

    def edit(**kwargs):
        rf_edit(denoiser, inverted, kwargs.pop("source", source), kwargs.pop("sigmas", sigmas), FLOW, **kwargs)

    bad_latent = source.clone()
    bad_latent[0, 0, 0, 0] = float("nan")
    cases = [
        (lambda: invert(sigmas=sigmas[::-1]), r"sigmas: noise levels must be strictly decreasing"),
        (lambda: edit(sigmas=sigmas[::-1]), r"sigmas: noise levels must be strictly decreasing"),
        (lambda: invert(sigmas=[1.5, 0.5, 0.0]), r"sigmas: a flow model needs noise levels <= 1.0"),
        (lambda: invert(gamma=1.5), r"gamma: must lie in \[0, 1\]"),
        (lambda: invert(gamma=-0.1), r"gamma: must lie in \[0, 1\]"),
        (lambda: invert(start_step=10), r"start_step: must be a whole number from 0 to 9"),
        (lambda: invert(noise=torch.randn(1, 4, 8, 8)), r"noise: shape \(1, 4, 8, 8\) differs"),
        (lambda: invert(x0=bad_latent), r"latent: contains NaN"),
        (lambda: edit(eta=1.2), r"eta: must lie in \[0, 1\]"),
        (lambda: edit(eta=-0.5), r"eta: must lie in \[0, 1\]"),
        (lambda: edit(eta_start=10), r"eta_start: must be a whole number from 0 to 9"),
        (lambda: edit(eta_stop=11), r"eta_stop: must be a whole number from 1 to 10"),
        (lambda: edit(eta_start=4, eta_stop=4), r"eta_stop: must be a whole number from 5 to 10"),
        (lambda: edit(eta_start=1.5), r"eta_start: must be a whole number"),
        (lambda: edit(eta_trend="cosine"), r"eta_trend: 'cosine' is not one of"),
        (lambda: edit(eta_decay_power=-1.0), r"eta_decay_power: must be a finite number >= 0"),
        (lambda: edit(start_step=-1), r"start_step: must be a whole number from 0 to 9"),
        (lambda: edit(eta_stop=3, start_step=5), r"eta_stop: the eta window \[0, 3\) has no step"),
        (lambda: edit(source=source[:2]), r"source: shape \(2, 4, 8, 8\) differs"),
    ]
    for call, message in cases:
        with pytest.raises(InputError, match=message):
            call()
    edit(eta=0.0, eta_stop=3, start_step=5)  # no pull: the window does not matter
