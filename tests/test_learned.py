"""Core tier: the learned-model benchmark (bench.learned_*), on the committed weights.

The world and its detector; the committed models pass the quality gate; the pack's samplers are exact and
seeded on them; a small version of ``python -m bench.run --model learned`` runs every task and method (10
cases) and prints its table. No winner is asserted here: that is the benchmark's reading, in the README.
"""
import json
import math

import pytest
import torch

from conftest import rel_err
from bench import learned_bench, learned_models, learned_world, run, train
from sde_edit.samplers import EPS, cycle_sde_invert, cycle_sde_replay
from sde_edit.samplers.rf_inversion import rf_edit
from sde_edit.testing.schedules import reference_sigmas


@pytest.fixture(autouse=True)
def two_torch_threads():
    from bench import common
    with common.torch_threads(2):
        yield


@pytest.fixture(scope="module")
def unets():
    return {kind: learned_models.load(kind) for kind in ("eps", "flow")}


def test_the_detector_reads_the_rendered_factors():
    images, _, scenes = learned_world.dataset(300, seed=7)
    found = [learned_world.detect(image) for image in images]
    assert sum(f.shape == s.shape for f, s in zip(found, scenes)) / len(scenes) >= 0.98
    assert all(f.colour == s.colour for f, s in zip(found, scenes))
    errors = [math.hypot(f.cx - s.centroid[0], f.cy - s.centroid[1]) for f, s in zip(found, scenes)]
    assert max(errors) < 0.8 and sum(errors) / len(errors) < 0.3
    sizes = [abs(f.size - math.sqrt(float(learned_world.shape_mask(s.shape, s.cx, s.cy, s.half).sum())))
             for f, s in zip(found, scenes)]
    assert max(sizes) < 1.0
    assert learned_world.background_rms(images[0], images[0]) == 0.0


def test_the_world_is_continuous_and_labelled():
    _, labels, scenes = learned_world.dataset(400, seed=3)
    assert len({(round(s.cx, 3), round(s.cy, 3)) for s in scenes}) == len(scenes)  # no grid of positions
    assert len(set(labels.tolist())) > 80 and int(labels.max()) < learned_world.NUM_CLASSES
    assert {s.shape for s in scenes} == set(learned_world.SHAPES)
    assert any(s.background[0] != s.background[1] for s in scenes)  # gradient backgrounds too


@pytest.mark.parametrize("kind", ["eps", "flow"])
def test_committed_weights_pass_the_quality_gate(unets, kind, capsys):
    with capsys.disabled():
        result = train.gate(unets[kind], kind)
    assert result["passed"], result


@pytest.mark.parametrize("steps", [10, 20])
def test_plain_stochastic_sampling_reads_its_labels_on_the_eps_model(unets, steps, capsys):
    """RF-Inversion's stochastic sampler with eta 0 (Eq. 17's exact step) from the same noise as the ODE, every
    label once at CFG 3: it draws at least as many samples that read as their label as the ODE, less 3 (Euler-
    Maruyama drew 5 and 46 of 108 at 10 and 20 steps, the ODE 106 and 105)."""
    labels = [(shape, colour, (col, row)) for shape in learned_world.SHAPES for colour in learned_world.COLOURS
              for row in range(learned_world.CELLS) for col in range(learned_world.CELLS)]
    ids = torch.tensor([learned_world.label_of(*label) for label in labels])
    denoiser = learned_models.LearnedDenoiser(unets["eps"], "eps", ids, 3.0)
    sigmas = reference_sigmas("eps", steps)
    x = sigmas[0] * torch.randn(len(ids), 3, learned_world.SIZE, learned_world.SIZE,
                                generator=torch.Generator().manual_seed(0))
    read = {}
    for name, stochastic in (("ODE", False), ("stochastic", True)):
        images = rf_edit(denoiser, x, torch.zeros_like(x), sigmas, EPS, eta=0.0, stochastic=stochastic, seed=1)
        read[name] = sum(all(train.recognised(image, *label).values()) for image, label in zip(images, labels))
    with capsys.disabled():
        print(f"\n[learned EPS model, {steps} steps, CFG 3, {len(labels)} labels] read as asked: "
              + ", ".join(f"{name} {count}" for name, count in read.items()))
    assert read["stochastic"] >= read["ODE"] - 3


@pytest.mark.parametrize("kind", ["eps", "flow"])
def test_cycle_sde_is_exact_and_seeded_on_a_learned_model(unets, kind):
    scenes = learned_bench.held_out(4)
    x0 = torch.stack([learned_world.render(s) for s in scenes])
    denoiser = learned_models.LearnedDenoiser(unets[kind], kind, torch.tensor([s.label for s in scenes]), 7.5)
    sigmas = reference_sigmas(kind, 12, 0.7)
    trajectory = cycle_sde_invert(denoiser, x0, sigmas, learned_bench.PARAMS[kind], seed=1)
    assert rel_err(cycle_sde_replay(denoiser, trajectory), x0) <= 1e-5
    again = cycle_sde_invert(denoiser, x0, sigmas, learned_bench.PARAMS[kind], seed=1)
    assert torch.equal(trajectory.start, again.start) and torch.equal(trajectory.source_means, again.source_means)


def test_outcomes_name_the_first_check_an_edit_fails():
    scene = learned_bench.held_out(1)[0]
    recolour = learned_bench.recolour_cases(1)[0]
    assert learned_bench.attribute_edit_outcome(learned_world.render(recolour.target), recolour) == "success"
    assert learned_bench.attribute_edit_outcome(learned_world.render(scene), recolour) == "unchanged"
    far = learned_world.moved(recolour.target, 3.0, 0.0)
    assert learned_bench.attribute_edit_outcome(learned_world.render(far), recolour) == "moved"
    assert learned_bench.attribute_edit_outcome(torch.full((3, 24, 24), -0.8), recolour) == "no object"
    drag = learned_bench.drag_cases(1, 8)[0]
    assert learned_bench.drag_outcome(learned_world.render(drag.target), drag) == "success"
    assert learned_bench.drag_outcome(learned_world.render(drag.source), drag) == "stayed"
    assert learned_bench.drag_outcome(learned_world.render(recolour.target), recolour) == "lost shape/colour"


def test_small_learned_benchmark_runs_every_task_and_is_reproducible(tmp_path, capsys):
    report = run.main(["--model", "learned", "--cases", "10", "--out", str(tmp_path)])
    rows = report["rows"]
    expected = {(task, kind, method.name) for task, spec in learned_bench.TASKS.items()
                for kind in ("eps", "flow") for method in spec.methods_for(kind)}
    assert {(r["task"], r["model"], r["method"]) for r in rows} == expected
    assert all(r["calls_per_edit"] > 0 for r in rows if r["method"] != "copy-and-paste only")
    for row in rows:
        if "success" in row:
            assert round(row["success"] * row["cases"]) + sum(row["failures"].values()) == row["cases"] == 10
        elif row["method"].startswith("Cycle-SDE"):  # reconstruction
            assert row["max_relative_error"] <= 1e-5
    table = (tmp_path / "bench_learned.md").read_text()
    assert table.count("\n|") >= len(rows)
    again = run.main(["--model", "learned", "--cases", "10", "--tasks", "recolour", "--params", "flow", "--jobs", "2",
                      "--out", str(tmp_path / "again")])["rows"]  # rows in spawned processes: the same table
    first = [r for r in rows if r["task"] == "recolour" and r["model"] == "flow"]
    strip = [{k: v for k, v in r.items() if k != "seconds_per_edit"} for r in first]
    assert strip == [{k: v for k, v in r.items() if k != "seconds_per_edit"} for r in again]
    json.loads((tmp_path / "bench_learned.json").read_text())
