"""The weight-free toy demo: each editor of the pack on one fixed shape-world case, EPS and flow, next to its ODE
baseline, on the exact (memorising) denoisers of ``sde_edit.testing.shape_world``.

    python -m bench.demo --toy [--out DIR] [--params eps,flow]

Rows (editor x parameterisation): Cycle-SDE reconstruction, SDE-Drag move, sync-SDE recolour ('ddpm' for
EPS, 'rectified' for flow), RF-Inversion recolour (its stochastic sampler, gamma 0.5, eta 0.9) and SDE
inpainting of the left half. Columns: source (drag arrow / masked half drawn on it), the edit, the ground
truth, the ODE baseline (DDIM inversion + DDIM; ODE-Drag; plain ODE inversion gamma = eta = 0; ODE
inpainting). Writes DIR/demo_toy.png (contact sheet, 32x32 images at 4x) and DIR/demo_toy.md (scores); no
weights, a few seconds on a CPU. One case per row is an illustration; ``python -m bench.run`` gives the rates.
The exact denoiser memorises its 108 scenes, so its DDIM inversion is exact and the ODE baselines cannot lose
here: ``python -m bench.demo`` (without ``--toy``) shows the learned models, where they can.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from sde_edit.testing.calls import CallCounter

from . import common
from .common import (DRAG, INPAINT, PARAM_LABELS, RECOLOUR, RF, Case, Models, Progress, Scene, draw_drag_arrow,
                     ShapeWorld, cell_point, contact_sheet, half_mask, markdown_table, score, to_pil,
                     torch_threads)

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
SCALE = 4
SEED = 0


@dataclass(frozen=True)
class Row:
    editor: str
    settings: str
    case: Case
    edit: Callable             # (models, name, x0, variant, count, case) -> edited [1, 3, H, W]
    sde: object                # the argument selecting the SDE editor
    ode: object                # ... and its ODE baseline


def _cycle(models, name, x0, eta, count, case):
    return common.cycle_edit(models, name, x0, case.source.colour, case.target.colour, eta=eta, seed=SEED,
                             count=count)


def _drag(models, name, x0, eta, count, case):
    return common.drag_move(models, name, x0, case.source, case.target, eta=eta, seed=SEED, count=count)


def _sync(models, name, x0, variant, count, case):
    if variant == "ode":
        return _cycle(models, name, x0, 0.0, count, case)
    discretisation = "rectified" if name == "flow" else "ddpm"
    return common.sync_edit(models, name, x0, case.source.colour, case.target.colour,
                            discretisation=discretisation, seed=SEED, count=count)


def _rf(models, name, x0, controlled, count, case):
    return common.rf_recolour(models, name, x0, case.target.colour, controlled=controlled, stochastic=controlled,
                              seed=SEED, count=count)


def _inpaint(models, name, x0, eta, count, case):
    return common.inpaint(models, name, x0, half_mask(models.world.size, case.side), eta=eta, seed=SEED, count=count)


def rows() -> list[Row]:
    recolour = f"t0 {RECOLOUR['t0']}, {RECOLOUR['steps']} steps, CFG {RECOLOUR['cfg']:g}"
    reconstruct = Case(Scene("triangle", "yellow", 0, 2), Scene("triangle", "yellow", 0, 2))
    move = Case(Scene("circle", "red", 1, 0), Scene("circle", "red", 1, 2))
    sync = Case(Scene("square", "blue", 2, 1), Scene("square", "green", 2, 1))
    rf = Case(Scene("circle", "green", 1, 1), Scene("circle", "red", 1, 1))
    fill = Case(Scene("circle", "red", 1, 1), side="left")
    return [
        Row("Cycle-SDE reconstruction", recolour, reconstruct, _cycle, 1.0, 0.0),
        Row("SDE-Drag move", f"t0 {DRAG['t0']}, {DRAG['steps']} steps, CFG {DRAG['cfg']:g}", move, _drag, 1.0, 0.0),
        Row("sync-SDE recolour", recolour, sync, _sync, "sde", "ode"),
        Row("RF-Inversion SDE recolour", f"gamma {RF['gamma']}, eta {RF['eta']}, {RF['steps']} steps",
            rf, _rf, True, False),
        Row("SDE inpainting", f"{INPAINT['steps']} steps, unconditional", fill, _inpaint, 1.0, 0.0),
    ]


def describe(case: Case) -> str:
    source = f"{case.source.colour} {case.source.shape} ({case.source.row},{case.source.col})"
    if case.side is not None:
        return f"{source}, fill {case.side} half"
    if case.target == case.source:
        return source
    if case.target.colour != case.source.colour:
        return f"{source} -> {case.target.colour}"
    return f"{source} -> ({case.target.row},{case.target.col})"


def source_tile(world: ShapeWorld, case: Case):
    """The source, with the drag arrow or the masked half drawn on it."""
    from PIL import Image, ImageDraw

    tile = to_pil(world.image(case.source), SCALE)
    draw = ImageDraw.Draw(tile)
    if case.side is not None:
        mask = half_mask(world.size, case.side)[0, 0]
        columns = torch.nonzero(mask.any(0)).flatten()
        box = (int(columns[0]) * SCALE, 0, (int(columns[-1]) + 1) * SCALE - 1, tile.height - 1)
        overlay = tile.copy()
        ImageDraw.Draw(overlay).rectangle(box, fill=(128, 128, 128))
        tile = Image.blend(tile, overlay, 0.75)
        draw = ImageDraw.Draw(tile)
        draw.rectangle(box, outline=(255, 255, 255))
    elif case.target.row != case.source.row or case.target.col != case.source.col:
        draw_drag_arrow(draw, cell_point(world, case.source), cell_point(world, case.target), SCALE)
    return tile


def ground_truth(world: ShapeWorld, case: Case, result: torch.Tensor) -> torch.Tensor:
    """The ground-truth scene nearest to ``result`` (inpainting may have several)."""
    indices = common.truths(world, case)
    return world.images[min(indices, key=lambda i: common.rms(result, world.images[i]))]


def verdict(s) -> str:
    return ("ok" if s.success else "FAIL") + f", RMS to GT {s.rms_truth:.3f}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.demo --toy", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default bench/out/)")
    parser.add_argument("--params", default="eps,flow", help="comma-separated subset of eps,flow")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: fastest for these tiny ops; 0 = torch's default)")
    args = parser.parse_args(argv)
    args.params = [p.strip() for p in args.params.split(",") if p.strip()]
    if not args.params or any(p not in common.PARAMS for p in args.params):
        parser.error(f"--params: {args.params}; allowed: eps, flow")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    started = time.perf_counter()
    plan = [(row, name) for row in rows() for name in args.params]
    sheet_rows, table, records = [], [], []
    with torch_threads(args.threads):
        models = Models(ShapeWorld(size=32, grid=3))
        world = models.world
        progress = Progress(len(plan), "demo --toy")
        for row, name in plan:
            x0 = world.image(row.case.source)[None].float()
            outputs, scores, calls = {}, {}, {}
            for kind, variant in (("sde", row.sde), ("ode", row.ode)):
                counter = CallCounter()
                outputs[kind] = row.edit(models, name, x0, variant, counter, row.case)[0]
                scores[kind], calls[kind] = score(world, row.case, outputs[kind]), counter.calls
            progress.advance(1, f"{row.editor} ({PARAM_LABELS[name]})")
            sde, ode = scores["sde"], scores["ode"]
            sheet_rows.append(([f"{row.editor} ({PARAM_LABELS[name]})", row.settings, describe(row.case),
                                f"edit: {verdict(sde)}", f"ODE:  {verdict(ode)}"],
                               [source_tile(world, row.case), to_pil(outputs["sde"], SCALE),
                                to_pil(ground_truth(world, row.case, outputs["sde"]), SCALE),
                                to_pil(outputs["ode"], SCALE)]))
            table.append([row.editor, PARAM_LABELS[name], describe(row.case),
                          "yes" if sde.success else "no", f"{sde.rms_truth:.4f}", f"{sde.rms_outside:.4f}",
                          "yes" if ode.success else "no", f"{ode.rms_truth:.4f}", f"{ode.rms_outside:.4f}",
                          f"{calls['sde']} / {calls['ode']}"])
            records.append({"editor": row.editor, "param": name, "case": describe(row.case),
                            "sde": sde.__dict__ | {"nearest": str(sde.nearest)},
                            "ode": ode.__dict__ | {"nearest": str(ode.nearest)}, "calls": calls})
        progress.close()
    header = ["Editor", "Model", "Case", "Edit ok", "Edit RMS to GT", "Edit RMS outside", "ODE ok",
              "ODE RMS to GT", "ODE RMS outside", "Calls edit / ODE"]
    text = markdown_table(header, table)
    runtime = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    picture = contact_sheet(["source", "edit (SDE)", "ground truth", "ODE baseline"], sheet_rows)
    picture.save(args.out / "demo_toy.png", optimize=True)
    (args.out / "demo_toy.md").write_text(
        f"`python -m bench.demo --toy`: one fixed case per row, seed {SEED}; success = nearest scene is the ground "
        f"truth and within RMS {common.SUCCESS_RMS}.\n\n{text}\n\nRuntime {runtime:.1f} s.\n")
    print(text)
    print(f"runtime {runtime:.1f} s; wrote {args.out / 'demo_toy.png'} and {args.out / 'demo_toy.md'}")
    return {"rows": records, "runtime_s": runtime, "png": str(args.out / "demo_toy.png")}


if __name__ == "__main__":
    main()
