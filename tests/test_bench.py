"""Demo and benchmark (bench/): the shape world's ground truth for every edit type, the scores, a small
benchmark run (files and table), and the demo's entry point ``python -m bench.demo``."""
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench import common, run
from sde_edit.testing.calls import CallCounter
from bench.common import Case, Models, consistent_scenes, foreground, half_mask, score
from sde_edit.testing.shape_world import BACKGROUND, COLOURS, Scene

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    """Thousands of tiny tensor ops: one torch thread is faster on a small machine, several times when loaded."""
    with common.torch_threads(1):
        yield


def colour_of(colour):
    return torch.tensor(COLOURS[colour], dtype=torch.float64).view(3, 1)


def shape_by_fill(mask):
    """Classify a foreground blob by how much of its bounding box it fills (independent of the renderer)."""
    ys, xs = torch.nonzero(mask, as_tuple=True)
    fill = float(mask.sum()) / float((xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1))
    ideal = {"triangle": 0.5, "circle": math.pi / 4, "square": 1.0}
    return min(ideal, key=lambda shape: abs(ideal[shape] - fill)), ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2)


def test_every_scene_is_recognisable(world):
    for scene in world.scenes:
        mask = foreground(world.image(scene))
        shape, (cx, cy) = shape_by_fill(mask)
        x, y = world.centre(scene.row, scene.col)
        assert shape == scene.shape and abs(cx - x) <= 1 and abs(cy - y) <= 1
        assert torch.equal(world.image(scene)[:, mask], colour_of(scene.colour).expand(3, int(mask.sum())))


def test_recolour_ground_truth_changes_only_the_shapes_colour(world):
    for source, target in world.recolour_cases(100):
        a, b = world.image(source), world.image(target)
        shape = foreground(a)
        assert torch.equal(foreground(b), shape)                        # same pixels: shape and cell
        assert torch.equal((a != b).any(0), shape)                      # changed exactly there ...
        assert torch.equal(b[:, shape], colour_of(target.colour).expand(3, int(shape.sum())))  # ... to the new colour
        assert target.colour != source.colour and (target.shape, target.row, target.col) == \
            (source.shape, source.row, source.col)
        assert torch.equal(common.unchanged_region(world, Case(source, target)), ~shape)


def test_move_ground_truth_is_the_same_shape_at_the_new_cell(world):
    for source, target in world.move_cases(100):
        a, b = world.image(source), world.image(target)
        mask = foreground(b)
        assert (target.row, target.col) != (source.row, source.col)
        assert torch.equal(b[:, mask], colour_of(source.colour).expand(3, int(mask.sum())))  # same colour
        shape, (cx, cy) = shape_by_fill(mask)
        x, y = world.centre(target.row, target.col)
        assert shape == source.shape and abs(cx - x) <= 1 and abs(cy - y) <= 1   # same shape, new cell
        outside = common.unchanged_region(world, Case(source, target))
        assert not (outside & (foreground(a) | mask)).any() and outside.sum() > 0.8 * outside.numel()


def test_inpainting_ground_truth_is_consistent_with_the_known_half(world):
    cases = common.inpaint_cases(world, 100)
    assert {case.side for case in cases} == {"left", "right"}
    shapes = [foreground(image) for image in world.images]
    inside = {side: [i for i, shape in enumerate(shapes) if not (shape & (half_mask(32, side)[0, 0] == 0)).any()]
              for side in ("left", "right")}            # scenes whose shape lies wholly inside that masked half
    for case in cases:
        source = world.image(case.source)
        mask = half_mask(world.size, case.side)
        known = mask[0, 0] == 0
        truths = common.truths(world, case)
        assert world.scenes.index(case.source) in truths
        equal_on_known = (world.images[:, :, known] == source[:, known]).flatten(1).all(1)
        assert truths == torch.nonzero(equal_on_known).flatten().tolist()
        if (foreground(source) & known).any():       # the known half shows part of the shape: unique
            assert truths == [world.scenes.index(case.source)]
        else:                                        # any shape wholly inside the masked half
            assert truths == inside[case.side]
            assert len(truths) == len(world.scenes) // world.grid
        assert torch.equal(common.unchanged_region(world, case), known)
    assert consistent_scenes(world, torch.full((3, 32, 32), BACKGROUND[0]), half_mask(32, "left")) == \
        [i for i, scene in enumerate(world.scenes) if scene.col == 0]


def test_scores(world):
    source, target = Scene("circle", "red", 1, 1), Scene("circle", "blue", 1, 1)
    recolour = Case(source, target)
    perfect = score(world, recolour, world.image(target))
    assert perfect.success and perfect.rms_truth == 0 and perfect.rms_outside == 0
    unedited = score(world, recolour, world.image(source))
    assert not unedited.success and unedited.rms_truth > 2 * common.SUCCESS_RMS and unedited.rms_outside == 0
    move = Case(source, Scene("circle", "red", 0, 2))
    wrong_colour = score(world, move, world.image(Scene("circle", "green", 0, 2)))
    assert not wrong_colour.success and wrong_colour.rms_outside == 0
    wrong_shape = score(world, move, world.image(Scene("square", "red", 0, 2)))   # its corners leave the circle
    assert not wrong_shape.success and wrong_shape.rms_outside > 0 and wrong_shape.nearest == Scene("square", "red", 0, 2)
    fill = Case(Scene("square", "green", 2, 0), side="left")           # known right half: background
    assert score(world, fill, world.image(Scene("triangle", "yellow", 0, 0))).success
    assert not score(world, fill, world.image(Scene("triangle", "yellow", 0, 2))).success
    noisy = world.image(target) + 0.03 * torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(0)).double()
    assert score(world, recolour, noisy).success                       # RMS 0.03 < 0.05


def test_a_case_does_not_depend_on_its_batch(world):
    """The benchmark batches cases that share a prompt: a row's result must not depend on the other rows."""
    models = Models(world)
    red = [i for i, scene in enumerate(world.scenes) if scene.colour == "red"]
    first, second = world.images[[red[0], red[5]]].float(), world.images[[red[0], red[9]]].float()
    editors = [lambda x: common.cycle_edit(models, "eps", x, "red", "blue", eta=1.0, seed=3, count=CallCounter()),
               lambda x: common.sync_edit(models, "flow", x, "red", "blue", discretisation="rectified", seed=3,
                                          count=CallCounter())]
    for edit in editors:
        assert torch.equal(edit(first)[0], edit(second)[0])


def test_small_benchmark_writes_its_table(tmp_path, capsys):
    report = run.main(["--cases", "4", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    methods = {"eps": 2 + 2 + 2 + 3 + 2, "flow": 2 + 2 + 3 + 3 + 2}
    rows = report["rows"]
    assert len(rows) == sum(methods.values())
    assert json.loads((tmp_path / "bench.json").read_text())["rows"] == json.loads(json.dumps(rows))
    expected_calls = {"cycle": {40}, "drag": {12, 24}, "sync": {40}, "rf": {40}, "inpaint": {10}}
    for row in rows:
        assert row["cases"] == 4 and 0 <= row["successes"] <= 4 and row["wall_s"] >= 0
        assert row["rms_truth"] >= 0 and row["rms_outside"] >= 0 and row["kind"] in ("SDE", "ODE")
        assert row["calls_per_edit"] in expected_calls[row["task"]]
        if row["task"] == "inpaint":
            assert row["rms_outside"] < 1e-6                             # the known half is pinned (fp32)
    assert {(r["task"], r["calls_per_edit"]) for r in rows if r["task"] == "drag"} == {("drag", 12), ("drag", 24)}
    table = (tmp_path / "bench.md").read_text()
    lines = [line for line in table.splitlines() if line.startswith("|")]
    assert [c.strip() for c in lines[0].strip("|").split("|")] == run.HEADER
    assert len(lines) == 2 + len(rows) and all(line in printed for line in lines)
    assert "4 cases per task; total runtime" in table


def test_benchmark_selects_tasks_and_models(tmp_path):
    report = run.main(["--cases", "2", "--tasks", "inpaint", "--params", "flow", "--out", str(tmp_path)])
    assert [(r["task"], r["param"], r["kind"]) for r in report["rows"]] == [("inpaint", "flow", "SDE"),
                                                                              ("inpaint", "flow", "ODE")]
    with pytest.raises(SystemExit):
        run.main(["--tasks", "paint", "--out", str(tmp_path)])


def test_toy_demo_entry_point_writes_the_contact_sheet(tmp_path):
    """``python -m bench.demo --toy`` from the repo root (runpy is what -m runs); the pack is only ever imported as
    ``sde_edit``, never as top-level ``samplers``/``nodes`` (ComfyUI owns a top-level ``nodes``)."""
    from PIL import Image

    code = ("import runpy, sys; sys.argv = ['bench.demo', '--toy', '--out', sys.argv[1]]; "
            "runpy.run_module('bench.demo', run_name='__main__', alter_sys=True); "
            "assert not {'samplers', 'nodes'} & set(sys.modules), 'the pack leaked as top-level modules'")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    picture = Image.open(tmp_path / "demo_toy.png")
    rows, columns = 10, 4
    assert picture.size == (230 + columns * (128 + 6) + 6, 22 + rows * (128 + 6) + 6)
    table = [line for line in (tmp_path / "demo_toy.md").read_text().splitlines() if line.startswith("|")]
    assert len(table) == 2 + rows and "Cycle-SDE reconstruction" in table[2]
    assert "[demo --toy]" in result.stderr                             # the progress line
    assert not (tmp_path / "demo.png").exists()                        # the learned demo's file is not touched


# ---- the learned demo (python -m bench.demo) ------------------------------------------------------------------

@pytest.fixture(scope="module")
def learned_unets():
    from bench import learned_models
    return {kind: learned_models.load(kind) for kind in ("eps", "flow")}


@pytest.fixture
def few_steps(monkeypatch):
    """The benchmark's settings at a few steps: the demo reads them from bench.learned_bench at run time."""
    from bench import learned_bench
    monkeypatch.setitem(learned_bench.EDIT, "steps", 6)
    monkeypatch.setitem(learned_bench.INPAINT, "steps", 4)


def test_learned_demo_reconstruction_is_exact_where_ddim_inversion_is_not(learned_unets, few_steps):
    """The demo's reconstruction row on its fixed scene (the benchmark's first held-out one): Cycle-SDE returns
    the source (relative error 0 up to rounding), DDIM inversion does not."""
    from bench import demo, learned_bench

    row = demo.ROWS[0]
    assert (row.task, row.method, row.baseline) == ("reconstruction", "Cycle-SDE (eta 1)", "DDIM inversion (eta 0)")
    for kind in ("eps", "flow"):
        first, = demo.run_row(learned_unets[kind], kind, row, scenes=1)
        assert first.case.source == learned_bench.held_out(1)[0]       # the rule: the first held-out scene
        exact, ddim = first.measure("result"), first.measure("baseline")
        assert exact.relative_error < 1e-5 and exact.rms < 1e-5
        assert ddim.relative_error > 5e-3 and ddim.relative_error > 1000 * max(exact.relative_error, 1e-7)
        assert exact.verdict.startswith("rel. error") and first.result[0].passes == 12   # 6 steps, invert + replay


def test_learned_demo_is_seeded(learned_unets, few_steps):
    """A seeded row (SDE inpainting draws fresh noise every step) gives the same images run after run, and
    another seed gives another image: the demo's picture is reproducible, not a lucky draw."""
    from bench import demo, learned_bench

    row = demo.ROWS[-1]
    first, = demo.run_row(learned_unets["flow"], "flow", row, scenes=1)
    again, = demo.run_row(learned_unets["flow"], "flow", row, scenes=1)
    assert torch.equal(again.image("result"), first.image("result"))
    assert torch.equal(again.image("baseline"), first.image("baseline"))
    other = demo.run_method(learned_unets["flow"], "flow", learned_bench.TASKS[row.task], row.method, [first.case],
                            seed=demo.SEED + 1)
    assert float((other.images[0] - first.image("result")).abs().max()) > 1e-3


def test_learned_demo_writes_sheet_and_table(tmp_path, monkeypatch, few_steps, capsys):
    """``bench.demo.main`` with two of its rows, EPS only: the sheet's size (label column + 5 tiles of 24 px at
    5x per row), one table line per row with the benchmark's verdicts, and the reconstruction error printed."""
    from PIL import Image
    from bench import demo

    monkeypatch.setattr(demo, "ROWS", (demo.ROWS[0], demo.ROWS[-1]))      # reconstruction and inpainting
    report = demo.main(["--out", str(tmp_path), "--params", "eps"])
    rows = 2
    assert Image.open(tmp_path / "demo.png").size == (230 + 5 * (120 + 6) + 6, 22 + rows * (120 + 6) + 6)
    table = [[cell.strip() for cell in line.split("|")[1:-1]]
             for line in (tmp_path / "demo.md").read_text().splitlines() if line.startswith("|")]
    assert len(table) == 2 + rows
    reconstruction, inpainting = table[2:]
    assert reconstruction[:4] == ["Reconstruction", "EPS", "scene 0: green square", "Cycle-SDE (eta 1)"]
    assert float(reconstruction[4].removeprefix("rel. error ")) < 1e-5 < float(reconstruction[9].split()[-1])
    assert inpainting[3] == "SDE (DDPM)" and inpainting[8] == "ODE (DDIM)"
    inpainting_outcomes = {"success", "no object", "wrong shape/colour", "misplaced"}
    assert {inpainting[4], inpainting[9]} <= inpainting_outcomes
    printed = re.search(r"reconstruction, EPS, scene 0: Cycle-SDE \(eta 1\) relative error (\S+), "
                        r"DDIM inversion \(eta 0\) (\S+)", capsys.readouterr().out)
    assert printed and float(printed[1]) < 1e-5 < float(printed[2])
    assert [r.row.title for r in report["results"]] == ["Reconstruction", "Inpainting"]
    with pytest.raises(SystemExit):
        demo.main(["--params", "eps,vpred", "--out", str(tmp_path)])
