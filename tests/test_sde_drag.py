"""Core tier: SDE-Drag planning, copy-and-paste, CFG ramp, exactness outside the mask, success on the shape world."""
import pytest
import torch

from sde_edit.samplers import EPS, FLOW, InputError
from sde_edit.testing.calls import CallCounter
from sde_edit.testing.analytic import cfg_denoiser
from sde_edit.samplers.sde_drag import DragSettings, cfg_ramp, copy_and_paste, plan_subdrags, sde_drag
from sde_edit.testing.schedules import flow_schedule, sd_uniform_schedule
from sde_edit.testing.shape_world import Scene

PARAMS = {"eps": (EPS, sd_uniform_schedule(12, 0.6)), "flow": (FLOW, flow_schedule(12, 0.6))}


def class_guided(world, scene, param):
    conditional = world.mixture(shape=scene.shape, colour=scene.colour).denoiser(param)
    unconditional = world.mixture().denoiser(param)
    return lambda x, sigma, cfg: cfg_denoiser(conditional, unconditional, cfg)(x, sigma)


def test_subdrag_plan_follows_the_paper():
    # D = 10 cells, step 2 -> m = 5; every pair moves its own fraction, truncated toward zero.
    plan = plan_subdrags([((0, 0), (10, 0)), ((5, 5), (5, 2))], 2.0)
    assert len(plan) == 5
    assert [p[0] for p in plan] == [((0, 0), (2, 0)), ((2, 0), (4, 0)), ((4, 0), (6, 0)), ((6, 0), (8, 0)),
                                    ((8, 0), (10, 0))]
    assert [p[1][1][1] for p in plan] == [5, 4, 4, 3, 2]  # 5 + trunc(-3 * (i + 1) / 5)
    # D = 5: m = floor(5 / 2) = 2 moves 2.5 per sub-drag, m = 3 moves 1.67, closer to 2 -> m = 3.
    assert len(plan_subdrags([((0, 0), (5, 0))], 2.0)) == 3
    assert len(plan_subdrags([((0, 0), (1, 1))], 2.0)) == 1


def test_copy_and_paste_windows():
    x = torch.arange(2 * 16 * 16, dtype=torch.float32).view(1, 2, 16, 16)
    generator = torch.Generator().manual_seed(0)
    out = copy_and_paste(x, [((3, 4), (10, 12))], window=5, alpha=1.1, beta=0.3, generator=generator)
    # Clipped window: left = min(5, 3, 10) = 3, right = min(5, 12, 5) = 5, up = min(5, 4, 12) = 4,
    # down = min(5, 11, 3) = 3 -> rows [y-4, y+3), cols [x-3, x+5).
    assert torch.equal(out[..., 8:15, 7:15], 1.1 * x[..., 0:7, 0:8])
    noise = (out[..., 0:7, 0:8] - 0.3 * x[..., 0:7, 0:8]) / (1 - 0.09) ** 0.5
    assert abs(float(noise.mean())) < 0.3 and 0.7 < float(noise.std()) < 1.3
    untouched = torch.ones_like(x, dtype=torch.bool)
    untouched[..., 8:15, 7:15] = False
    untouched[..., 0:7, 0:8] = False
    assert torch.equal(out[untouched], x[untouched])


def test_cfg_ramp_rises_to_cfg_at_t0():
    assert cfg_ramp(5, 3.0) == [3.0, 2.5, 2.0, 1.5, 1.0]
    assert cfg_ramp(1, 3.0) == [3.0]


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_one_batched_call_per_step_and_subdrag(world, name):
    param, sigmas = PARAMS[name]
    scene = Scene("circle", "red", 1, 1)
    counter = CallCounter()
    steps = len(sigmas) - 1
    sde_drag(counter(class_guided(world, scene, param)), world.image(scene)[None].float(), sigmas, param, [((15, 15), (15, 9)), ((15, 15), (21, 15))],
             settings=DragSettings(subdrag_step=2.0), seed=0)
    subdrags = 3
    assert counter.calls == subdrags * steps
    assert set(counter.batches) == {2}  # current and recorded state in one call
    assert counter.cfgs == cfg_ramp(steps, 3.0) * subdrags


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_output_equals_source_outside_the_mask(world, name):
    param, sigmas = PARAMS[name]
    scene = Scene("square", "blue", 0, 0)
    source = world.image(scene)[None].float()
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 0:11, :] = 1.0  # the top row of cells: drag along it
    out = sde_drag(class_guided(world, scene, param), source, sigmas, param, [((5, 5), (15, 5))], mask=mask,
                   settings=DragSettings(subdrag_step=32), seed=3)
    outside = (mask == 0).expand_as(source)
    assert torch.equal(out[outside], source[outside])
    assert world.nearest(out[0])[0] == Scene("square", "blue", 0, 1)


def drag_success(world, param, sigmas, eta, cases):
    hits = 0
    for seed, (source, target) in enumerate(cases):
        p = tuple(round(v) for v in world.centre(source.row, source.col))
        q = tuple(round(v) for v in world.centre(target.row, target.col))
        out = sde_drag(class_guided(world, source, param), world.image(source)[None].float(), sigmas, param,
                       [(p, q)], settings=DragSettings(eta=eta, subdrag_step=32), seed=seed)
        scene, distance = world.nearest(out[0])
        hits += scene == target and distance < 0.05
    return hits / len(cases)


@pytest.mark.parametrize("name", ["eps", "flow"])
def test_drag_lands_on_the_ground_truth_scene(world, name, capsys):
    """A shape dragged from cell p to cell q must become the scene with the shape at q (one sub-drag:
    the world has shapes on grid cells only, so intermediate sub-drag positions are off the data)."""
    cases = world.move_cases(20)
    param, sigmas = PARAMS[name]
    sde = drag_success(world, param, sigmas, 1.0, cases)
    ode = drag_success(world, param, sigmas, 0.0, cases)
    with capsys.disabled():
        print(f"\n[drag success, {name}, {len(cases)} cases, t0 0.6, 12 steps] SDE-Drag {sde:.0%}, ODE-Drag {ode:.0%}")
    assert sde >= 0.8


def test_bad_inputs(world):
    param, sigmas = PARAMS["eps"]
    guided = class_guided(world, world.scenes[0], param)
    source = world.images[:1].float()
    with pytest.raises(InputError, match=r"pair 1 target cell \(40, 3\) lies outside the 32x32 latent"):
        sde_drag(guided, source, sigmas, param, [((1, 1), (40, 3))])
    with pytest.raises(InputError, match="mask: shape"):
        sde_drag(guided, source, sigmas, param, [((1, 1), (4, 3))], mask=torch.ones(1, 1, 16, 16))
    with pytest.raises(InputError, match="no pairs"):
        sde_drag(guided, source, sigmas, param, [])


def test_subdrag_waypoints_are_exact_truncations():
    """Every waypoint is s + trunc(i * d / m) in exact arithmetic (float i / m * d misplaced some cells,
    e.g. d = -55, m = 33, i = 9 gave -14 instead of -15)."""
    from fractions import Fraction
    source, target = (60, 50), (5, 12)
    plan = plan_subdrags([(source, target)], 2.0)
    m = len(plan)
    assert m == 33
    for i, subdrag in enumerate(plan):
        expected = tuple(s + int(Fraction(i + 1, m) * (t - s)) for s, t in zip(source, target))
        assert subdrag[0][1] == expected
    assert plan[8][0][1] == (60 - 15, 50 - 10)
    assert plan[-1][0][1] == target


@pytest.mark.parametrize("name, t0", [("eps", 2.276), ("flow", 0.6)])
def test_paste_noise_has_the_scale_of_the_noisy_state(name, t0):
    """Eq. 12's fresh noise is unit-variance in the paper's VP units; in ComfyUI units the re-noised
    handle window must have the scale of the noisy state at t0, sqrt(a^2 + sigma^2) for unit data
    (EPS: 2.49, flow: 0.72 here), not 1."""
    param = {"eps": EPS, "flow": FLOW}[name]
    seen = []

    def guided(x, sigma, cfg):
        seen.append(x[:1].clone())  # the current (pasted) state of the first step
        return torch.zeros_like(x)

    x0 = torch.randn(1, 4, 64, 64)
    sde_drag(guided, x0, [t0, 0.0], param, [((12, 32), (52, 32))],
             settings=DragSettings(beta=0.0, window=8, subdrag_step=64), seed=1)
    handle_window = seen[0][..., 24:40, 4:20]
    expected = param.vp_scale(t0)
    assert expected == pytest.approx({"eps": (1 + t0**2) ** 0.5, "flow": ((1 - t0)**2 + t0**2) ** 0.5}[name])
    assert float(handle_window.std()) == pytest.approx(expected, rel=0.06)
    rest = seen[0][..., :, 24:40]  # between the windows: the recorded state, unit data noised to t0
    assert float(rest.std()) == pytest.approx(expected, rel=0.06)


def test_subdrags_share_one_generator():
    """Seeds near the top of ComfyUI's range work (seed + i overflowed), and seed s does not reuse seed
    s + 1's noise one sub-drag later."""
    param, sigmas = FLOW, flow_schedule(3, 0.6)
    first_states = []

    def guided(x, sigma, cfg):
        if abs(float(sigma[0]) - sigmas[0]) < 1e-6:
            first_states.append(x[1:].clone())  # the recorded state at t0 of this sub-drag
        return torch.zeros_like(x)

    x0 = torch.zeros(1, 4, 32, 32)
    pairs = [((4, 16), (20, 16))]
    out = sde_drag(guided, x0, sigmas, param, pairs, seed=2**64 - 1, settings=DragSettings(subdrag_step=4))
    assert torch.isfinite(out).all() and len(first_states) == 4
    first_states.clear()
    sde_drag(guided, x0, sigmas, param, pairs, seed=5, settings=DragSettings(subdrag_step=4))
    seed5 = list(first_states)
    first_states.clear()
    sde_drag(guided, x0, sigmas, param, pairs, seed=6, settings=DragSettings(subdrag_step=4))
    assert not torch.equal(seed5[1], first_states[0])


@pytest.mark.parametrize("field, value, message", [
    ("alpha", 0.0, "alpha: must be a positive number"),
    ("subdrag_step", 0.0, "subdrag_step: must be a positive number"),
    ("window", 0, "window: must be a whole number"),
    ("window", 2.5, "window: must be a whole number"),
    ("beta", 1.5, r"beta: must lie in \[0, 1\]"),
    ("eta", 2.0, r"eta: must lie in \[0, 1\]"),
    ("cfg", float("nan"), "cfg: must be a number >= 0"),
])
def test_bad_settings(field, value, message):
    with pytest.raises(InputError, match=message):
        DragSettings(**{field: value})


def test_schedule_must_end_at_zero(world):
    """Each sub-drag restarts from the previous result as a clean latent: a tail split off the schedule
    would compound the leftover noise from sub-drag to sub-drag."""
    param = FLOW
    guided = class_guided(world, world.scenes[0], param)
    with pytest.raises(InputError, match="sigmas: .* must end at 0; it ends at 0.1"):
        sde_drag(guided, world.images[:1].float(), [0.6, 0.3, 0.1], param, [((1, 1), (4, 3))])
    with pytest.raises(InputError, match=r"pair 1 must be \(\(x, y\), \(x, y\)\) in whole latent cells"):
        sde_drag(guided, world.images[:1].float(), [0.6, 0.3, 0.0], param, [((1.5, 1), (4, 3))])
