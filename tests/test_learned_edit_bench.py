"""Core tier: the learned instruction-edit model's committed weights and a small run of its benchmark
(``python -m bench.run --model learned-edit``, issue 19): the quality gate, every row printed, seeded rows, and the
source kept exactly outside the mask. It asserts no winner: which method does best is the benchmark's answer."""
import json
from dataclasses import replace

import pytest

from bench import learned_edit_bench, learned_models, run, train
from bench.learned_world import SHAPES, detect, render

CASES = 10


@pytest.fixture(scope="module")
def unet():
    return learned_models.load("edit")


def test_committed_edit_model_passes_its_quality_gate(unet, capsys):
    with capsys.disabled():
        result = train.edit_gate(unet, log=lambda line: print("\n" + line))
    assert result["passed"], result["shares"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_learned_edit")
    report = run.main(["--model", "learned-edit", "--cases", str(CASES), "--out", str(out)])
    return out, report


def test_small_benchmark_prints_every_row(small_run):
    out, report = small_run
    rows = report["rows"]
    single = [r for r in rows if r["task"] != "repeated"]
    repeated = [r for r in rows if r["task"] == "repeated"]
    methods = len(learned_edit_bench.METHODS)
    assert len(single) == 2 * len(learned_edit_bench.CFGS) * methods * 2  # tasks x CFGs x methods x mask
    assert len(repeated) == methods * 2 and all(len(r["rounds"]) == learned_edit_bench.ROUNDS for r in repeated)
    table = (out / "bench_learned_edit.md").read_text()
    assert table.count("\n| recolour ") + table.count("\n| reshape ") == len(single)
    assert len([line for line in table.splitlines() if line.startswith("| ") and line.split("|")[3].strip()
                in {"1", "2", "3", "4", "5"}]) == methods * 2 * learned_edit_bench.ROUNDS
    assert json.loads((out / "bench_learned_edit.json").read_text())["rows"] == json.loads(json.dumps(rows))
    for r in rows:
        assert r["cases"] == CASES and 0.0 <= r["reached"] <= 1.0
        assert r["calls_per_edit"] == {"plain sampling": learned_edit_bench.STEPS}.get(
            r["method"], 2 * learned_edit_bench.STEPS)


def test_masked_rows_keep_the_source_exactly_outside_the_mask(small_run):
    _, report = small_run
    masked = [r for r in report["rows"] if r["masked"] and r["task"] != "repeated"]
    assert masked and all(r["outside_mask_max"] == 0.0 for r in masked)


@pytest.mark.parametrize("method", ["Cycle-SDE", "sync-SDE", "plain sampling"])
def test_rows_are_seeded(unet, small_run, method):
    _, report = small_run
    row = learned_edit_bench.Row("recolour", learned_edit_bench.CFGS[1], method, True)
    again = learned_edit_bench.run_row(unet, row, CASES)
    first = next(r for r in report["rows"] if (r["task"], r["cfg"], r["method"], r["masked"]) ==
                 (row.task, row.cfg, row.method, row.masked))
    for key in ("reached", "shift_px", "background_rms", "colour_drift", "outside_mask_max"):
        assert again[key] == first[key], key


def test_the_object_box_holds_the_source_object_in_every_shape():
    for scene, _ in learned_edit_bench.cases("reshape", 20):
        box = learned_edit_bench.object_mask(scene)[0].bool()
        assert box.float().mean() < 0.6  # a box around the object, not the whole image
        for shape in SHAPES:
            assert not (detect(render(replace(scene, shape=shape))).mask & ~box).any(), (scene, shape)


def test_shift_is_measured_against_the_ideal_edit():
    for scene, text in learned_edit_bench.cases("reshape", 10) + learned_edit_bench.cases("recolour", 10):
        ideal = learned_edit_bench.ideal_edit(scene, text)
        exact = learned_edit_bench.case_scores(render(ideal), render(scene), scene, text)
        assert exact["reached"] and exact["shift"] == 0.0
        moved = learned_edit_bench.case_scores(render(ideal, (2.0, 0.0)), render(scene), scene, text)
        assert abs(moved["shift"] - 2.0) < 0.8  # the detector's centroid error is below 0.8 px
