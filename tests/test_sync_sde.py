"""Core tier: sync-SDE (Zhang & Scott 2509.24223, both discretisations) on exact analytic denoisers."""
import pytest
import torch

from sde_edit.samplers import EPS, FLOW, InputError, cycle_sde_invert, cycle_sde_replay
from sde_edit.testing.calls import CallCounter
from sde_edit.testing.analytic import cfg_denoiser
from sde_edit.samplers.noise_levels import flow
from sde_edit.testing.schedules import flow_schedule, sd_uniform_schedule
from sde_edit.samplers.sync_sde import rectified_offset_coefficients, sync_sde

PARAMS = {"eps": (EPS, sd_uniform_schedule(20, 0.7)), "flow": (FLOW, flow_schedule(20, 0.7)),
          "flow-noise-scale-8": (flow(8.0), flow_schedule(20, 0.7))}
DISCRETISATIONS = {"eps": ["ddpm"], "flow": ["ddpm", "rectified"]}


def colour_denoiser(world, colour, param, cfg=3.0):
    return cfg_denoiser(world.mixture(colour=colour).denoiser(param), world.mixture().denoiser(param), cfg)


@pytest.mark.parametrize("name, discretisation", [("eps", "ddpm"), ("flow", "ddpm"), ("flow", "rectified"),
                                                  ("flow-noise-scale-8", "ddpm"), ("flow-noise-scale-8", "rectified")])
@pytest.mark.parametrize("cfg", [1.0, 7.5])
def test_same_prompt_returns_the_source_exactly(mixture, name, discretisation, cfg):
    param, sigmas = PARAMS[name]
    denoiser = cfg_denoiser(mixture.subset(torch.tensor([True, False, True, False])).denoiser(param),
                            mixture.denoiser(param), cfg)
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    out = sync_sde(denoiser, denoiser, x0, sigmas, param, discretisation=discretisation, seed=3)
    assert torch.equal(out, x0)


@pytest.mark.parametrize("name, discretisation", [("eps", "ddpm"), ("flow", "ddpm"), ("flow", "rectified")])
def test_same_prompt_with_a_soft_mask_returns_the_source_exactly(mixture, name, discretisation):
    param, sigmas = PARAMS[name]
    denoiser = cfg_denoiser(mixture.subset(torch.tensor([True, False, True, False])).denoiser(param),
                            mixture.denoiser(param), 3.0)
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    soft = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    out = sync_sde(denoiser, denoiser, x0, sigmas, param, discretisation=discretisation, seed=3, mask=soft)
    assert torch.equal(out, x0)


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_ddpm_sync_sde_is_cycle_sde_with_source_noise(mixture, name):
    """sync-SDE's DDPM discretisation and Cycle-SDE (invert under the source, replay under the target)
    are the same coupling: identical results for the same seed, at 2 vs 1 + 1 calls per step."""
    param, sigmas = PARAMS[name]
    source_calls, target_calls = CallCounter(), CallCounter()
    source = source_calls(mixture.subset(torch.tensor([True, True, False, False])).denoiser(param))
    target = target_calls(mixture.subset(torch.tensor([False, False, True, True])).denoiser(param))
    x0 = torch.randn(1, 4, 8, 8)
    synced = sync_sde(source, target, x0, sigmas, param, seed=5)
    steps = len(sigmas) - 1
    assert (source_calls.calls, target_calls.calls) == (steps, steps)
    trajectory = cycle_sde_invert(source, x0, sigmas, param, seed=5)
    replayed = cycle_sde_replay(target, trajectory)
    assert torch.allclose(synced, replayed, atol=1e-6, rtol=1e-6)
    target_calls.calls = 0
    cycle_sde_replay(target, trajectory)  # a reused source trajectory: one call per step
    assert target_calls.calls == steps


def recolour_rate(world, param, sigmas, method, cases):
    hits = 0
    for seed, (source, target) in enumerate(cases):
        d_source = colour_denoiser(world, source.colour, param)
        d_target = colour_denoiser(world, target.colour, param)
        x0 = world.image(source)[None].float()
        if method in ("ddpm", "rectified"):
            out = sync_sde(d_source, d_target, x0, sigmas, param, discretisation=method, seed=seed)
        else:
            eta = 1.0 if method == "cycle" else 0.0
            out = cycle_sde_replay(d_target, cycle_sde_invert(d_source, x0, sigmas, param, eta=eta, seed=seed))
        scene, distance = world.nearest(out[0])
        hits += scene == target and distance < 0.05
    return hits / len(cases)


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_colour_edit_keeps_shape_and_position(world, name, capsys):
    param, sigmas = PARAMS[name]
    cases = world.recolour_cases(20)
    methods = [*DISCRETISATIONS[name], "cycle", "ode"]
    rates = {m: recolour_rate(world, param, sigmas, m, cases) for m in methods}
    with capsys.disabled():
        print(f"\n[recolour success, {name}, {len(cases)} cases, t0 0.7, 20 steps] "
              + ", ".join(f"{'sync-SDE ' + m if m in ('ddpm', 'rectified') else m}: {r:.0%}"
                          for m, r in rates.items()))
    for discretisation in DISCRETISATIONS[name]:
        assert rates[discretisation] >= 0.8


@pytest.mark.parametrize("t0", [1.0, 0.999, 0.7])
def test_rectified_offset_step_is_stable_and_is_the_ddpm_coupling(mixture, t0):
    """The exact offset step keeps D's factor in [0, 1] on every step, from sigma 1 (which the release's Euler
    step cannot start from) to the step into 0 (where Euler's factor is -1/(1 - sigma)), and the coupling is
    the 'ddpm' one: both give the same edit up to rounding."""
    sigmas = flow_schedule(20, t0, shift=3.0)
    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:]):
        keep, pull = rectified_offset_coefficients(FLOW, sigma, sigma_next)
        assert 0.0 <= keep <= 1.0 and 0.0 <= pull <= 1.0
        euler_keep = 1 - (sigma - sigma_next) * (2 / sigma + 1 / (1 - sigma)) if sigma < 1 else float("-inf")
        if sigma_next == 0:
            assert keep == 0.0 and euler_keep == pytest.approx(-1 / (1 - sigma))
    source = mixture.subset(torch.tensor([True, True, False, False])).denoiser(FLOW)
    target = mixture.subset(torch.tensor([False, False, True, True])).denoiser(FLOW)
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    rectified = sync_sde(source, target, x0, sigmas, FLOW, discretisation="rectified", seed=3)
    ddpm = sync_sde(source, target, x0, sigmas, FLOW, discretisation="ddpm", seed=3)
    assert torch.isfinite(rectified).all() and float((rectified - x0).abs().max()) > 0.1
    assert torch.allclose(rectified, ddpm, rtol=1e-5, atol=1e-5)


def test_errors_are_named(mixture):
    x0 = torch.randn(1, 4, 8, 8)
    denoiser = mixture.denoiser(EPS)
    with pytest.raises(InputError, match="'rectified' is the rectified-flow SDE and needs a flow"):
        sync_sde(denoiser, denoiser, x0, PARAMS["eps"][1], EPS, discretisation="rectified")
    with pytest.raises(InputError, match="discretisation: 'euler' is not one of"):
        sync_sde(denoiser, denoiser, x0, PARAMS["eps"][1], EPS, discretisation="euler")
    with pytest.raises(InputError, match="mask: nothing is editable"):
        sync_sde(denoiser, denoiser, x0, PARAMS["eps"][1], EPS, mask=torch.zeros(1, 1, 8, 8))
