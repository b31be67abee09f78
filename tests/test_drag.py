"""Core tier: SDE-Drag planning, copy-and-paste, CFG ramp, exactness outside the mask, success on the shape world."""

import pytest
import torch

from sde_edit.samplers import EPS, FLOW, InputError
from sde_edit.samplers.analytic import cfg_denoiser
from sde_edit.samplers.drag import (DragSettings, cfg_ramp, copy_and_paste, parse_drag_points, pixels_to_cells,
                                    plan_subdrags, sde_drag)
from sde_edit.samplers.schedules import flow_schedule, sd_uniform_schedule
from sde_edit.samplers.shape_world import Scene, ShapeWorld

PARAMS = {"eps": (EPS, sd_uniform_schedule(12, 0.6)), "flow": (FLOW, flow_schedule(12, 0.6))}


@pytest.fixture(scope="module")
def world():
    return ShapeWorld(size=32, grid=3)


def class_guided(world, scene, param):
    conditional = world.mixture(shape=scene.shape, colour=scene.colour).denoiser(param)
    unconditional = world.mixture().denoiser(param)
    return lambda x, sigma, cfg: cfg_denoiser(conditional, unconditional, cfg)(x, sigma)


class CountingGuided:
    def __init__(self, guided):
        self.guided, self.calls, self.batches, self.cfgs = guided, 0, [], []

    def __call__(self, x, sigma, cfg):
        self.calls += 1
        self.batches.append(x.shape[0])
        self.cfgs.append(cfg)
        return self.guided(x, sigma, cfg)


def test_parse_drag_points_and_latent_cells():
    pairs = parse_drag_points('{"pairs": [{"source": [120, 200], "target": [180.5, 7]}]}', 512, 256)
    assert pairs == [((120.0, 200.0), (180.5, 7.0))]
    assert pixels_to_cells(pairs, 8) == [((15, 25), (22, 0))]


@pytest.mark.parametrize("text, message", [
    ("{pairs: []}", "not valid JSON"),
    ('[{"source": [1, 2]}]', 'object with a "pairs" list'),
    ('{"pairs": []}', "no pairs"),
    ('{"pairs": [{"source": [1, 2]}]}', "pair 1 needs a target"),
    ('{"pairs": [{"source": [1, 2], "target": [1, "a"]}]}', "pair 1 needs a target"),
    ('{"pairs": [{"source": [1, 2], "target": [3, 4]}, {"source": [600, 2], "target": [3, 4]}]}',
     r"pair 2 source \(600, 2\) lies outside the 512x256 image"),
    ('{"pairs": [{"source": [1, 2], "target": [3, 256]}]}', "outside the 512x256 image"),
])
def test_bad_drag_points_are_explained(text, message):
    with pytest.raises(InputError, match=f"drag_points: .*{message}"):
        parse_drag_points(text, 512, 256)


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
    out = copy_and_paste(x, [((3, 4), (10, 12))], radius=5, alpha=1.1, beta=0.3, generator=generator)
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
    counter = CountingGuided(class_guided(world, scene, param))
    steps = len(sigmas) - 1
    sde_drag(counter, world.image(scene)[None].float(), sigmas, param, [((15, 15), (15, 9)), ((15, 15), (21, 15))],
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
