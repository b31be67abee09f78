"""Demo: the pack's editors on the two learned models (EPS and flow), each beside its ODE baseline.

    python -m bench.demo [--out DIR] [--params eps,flow] [--scenes N] [--threads T]
    python -m bench.demo --toy [--out DIR] [--params eps,flow]   # the weight-free toy demo (bench.toy_demo)

The models are the trained denoisers committed in bench/weights (``bench.learned_models``); the scenes are
held-out scenes of ``bench.learned_world``, by a rule fixed before any run: the first ``--scenes`` (default 1)
cases of the benchmark's held-out list (``learned_bench.held_out``, seed ``CASE_SEED``), the same scenes in every
row, never chosen by outcome (a row runs its scenes as one batch, as the benchmark does, so the noise
of a scene depends on ``--scenes``). Every row runs two methods of the benchmark (``learned_bench.TASKS``, through
``sde_edit.samplers``) with the benchmark's settings, CFG 3 and seed 0:

* reconstruction: Cycle-SDE (eta 1) vs DDIM inversion (eta 0), source prompt; the relative error is printed;
* recolour (the benchmark's target colour): Cycle-SDE replay vs DDIM inversion + DDIM;
* recolour: RF-Inversion SDE (its stochastic sampler) vs RF-Inversion ODE (its controlled ODE);
* drag by 8 px (the benchmark's direction): SDE-Drag vs ODE-Drag;
* inpainting of a band over the object's right half, empty prompt: SDE (DDPM) vs ODE (DDIM).

Writes DIR/demo.png (contact sheet: source with the drag arrow or the inpainting mask drawn on it, result, ODE
baseline, and the difference maps |result - source| and |baseline - source|, white at a difference of 0.25) and
DIR/demo.md (per row: the detector's verdict, RMS to the source, background RMS and model passes). Default DIR
is docs/; about 20 s on 2 CPU cores. A scene per row is an illustration: the rates are the benchmark's
(``python -m bench.run --model learned``, docs/bench/bench_learned.md). Runs are reproducible: on one machine and
thread count the files come out byte for byte the same (the run time is printed, not written).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .common import Progress, contact_sheet, draw_drag_arrow, markdown_table, to_pil, torch_threads
from .learned_bench import (CASE_SEED, CFGS, DRAG, DRAG_LENGTHS, DRAG_TASKS, EDIT, INPAINT, RF, SUCCESS, TASKS, Case,
                            Task, drag_pairs, inpaint_mask)
from .learned_world import background_rms, render

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs"
PARAMS = ("eps", "flow")
PARAM_LABELS = {"eps": "EPS", "flow": "flow"}
CFG = CFGS[0]
SEED = 0
SCALE = 5                     # 24x24 scenes drawn at 120x120
DIFF_WHITE = 0.25             # a difference of this much (largest channel, images in [-1, 1]) or more is white
LABEL_WIDTH = 230             # the sheet's label column, pixels
LINE_HEIGHT = 16
COLUMNS = ["source", "result", "ODE baseline", "|result - source|", "|ODE - source|"]


@dataclass(frozen=True)
class Row:
    """One row kind of the sheet: ``method`` of the benchmark's task ``task`` beside its ODE ``baseline``."""
    title: str
    task: str
    method: str
    baseline: str
    settings: str


DRAG_TASK = f"drag {DRAG_LENGTHS[-1]} px"
ROWS = (
    Row("Reconstruction", "reconstruction", "Cycle-SDE (eta 1)", "DDIM inversion (eta 0)",
        f"t0 {EDIT['t0']}, {EDIT['steps']} steps, CFG {CFG:g}"),
    Row("Recolour", "recolour", "Cycle-SDE (eta 1)", "DDIM inversion + DDIM",
        f"t0 {EDIT['t0']}, {EDIT['steps']} steps, CFG {CFG:g}"),
    Row("Recolour", "recolour", "RF-Inversion SDE", "RF-Inversion ODE",
        f"gamma {RF['gamma']}, eta {RF['eta']}, {RF['steps']} steps, CFG {CFG:g}"),
    Row(f"Drag {DRAG_LENGTHS[-1]} px", DRAG_TASK, "SDE-Drag", "ODE-Drag",
        f"t0 {DRAG['t0']}, {DRAG['steps']} steps, CFG {CFG:g}"),
    Row("Inpainting", "inpainting", "SDE (DDPM)", "ODE (DDIM)", f"{INPAINT['steps']} steps, empty prompt"),
)


@dataclass(frozen=True)
class Measure:
    """One edited image against its source."""
    verdict: str                 # the benchmark's outcome ("success", "moved", ...); reconstruction: its error
    relative_error: float        # ||result - source|| / ||source||
    rms: float                   # RMS of result - source over the whole image
    background_rms: float        # ... over the pixels that are background in both


@dataclass(frozen=True)
class Edit:
    """A method's results on the cases of a row: images [N, 3, S, S], one ``Measure`` each, passes per edit."""
    method: str
    images: torch.Tensor
    measures: list[Measure]
    passes: float


def run_method(unet, kind: str, task: Task, name: str, cases: list[Case], seed: int = SEED) -> Edit:
    """Method ``name`` of the benchmark's ``task`` on ``cases`` (batched as the benchmark batches them)."""
    method = next((m for m in task.methods if m.name == name), None)
    if method is None:
        raise ValueError(f"method {name!r} is not one of task {task.name!r}: {[m.name for m in task.methods]}")
    sources = torch.stack([render(case.source) for case in cases])
    denoisers = []
    images = method.run(unet, kind, CFG, sources, cases, denoisers, seed)
    passes = sum(d.calls for d in denoisers)
    if task.name in DRAG_TASKS:  # the drags run case by case
        passes /= len(cases)
    return Edit(name, images, [measure(task, image, case, source) for image, case, source in
                               zip(images, cases, sources)], passes)


def measure(task: Task, image: torch.Tensor, case: Case, source: torch.Tensor) -> Measure:
    difference = image - source
    relative = float(difference.norm() / source.norm())
    verdict = f"rel. error {relative:.1e}" if task.outcome is None else task.outcome(image, case)
    return Measure(verdict, relative, float(difference.pow(2).mean().sqrt()), background_rms(image, source))


@dataclass(frozen=True)
class RowResult:
    row: Row
    kind: str
    scene: int                   # index in the benchmark's held-out list
    case: Case
    source: torch.Tensor
    result: tuple[Edit, int]     # (edit, index of this scene in it)
    baseline: tuple[Edit, int]

    def image(self, which: str) -> torch.Tensor:
        edit, index = getattr(self, which)
        return edit.images[index]

    def measure(self, which: str) -> Measure:
        edit, index = getattr(self, which)
        return edit.measures[index]


def run_row(unet, kind: str, row: Row, scenes: int, progress: Progress | None = None) -> list[RowResult]:
    """``row`` on the first ``scenes`` held-out cases of its task: one ``RowResult`` per scene."""
    task = TASKS[row.task]
    cases = task.cases(scenes)
    result = run_method(unet, kind, task, row.method, cases)
    baseline = run_method(unet, kind, task, row.baseline, cases)
    if progress is not None:
        progress.advance(1, f"{row.title}: {row.method} / {row.baseline} ({PARAM_LABELS[kind]})")
    return [RowResult(row, kind, index, case, render(case.source), (result, index), (baseline, index))
            for index, case in enumerate(cases)]


def run(unets: dict, kinds=PARAMS, rows=ROWS, scenes: int = 1, progress: Progress | None = None) -> list[RowResult]:
    """Every row for every model kind (row-major), on the first ``scenes`` held-out scenes."""
    results = []
    for row in rows:
        for kind in kinds:
            results.extend(run_row(unets[kind], kind, row, scenes, progress))
    return results


# ---- the sheet and the table -------------------------------------------------------------------------------

def describe(result: RowResult) -> str:
    source, target = result.case.source, result.case.target
    text = f"scene {result.scene}: {source.colour} {source.shape}"
    if result.row.task == "recolour":
        return f"{text} -> {target.colour}"
    if result.row.task in DRAG_TASKS:
        return f"{text}, by ({result.case.dx:+.1f}, {result.case.dy:+.1f}) px"
    if result.row.task == "inpainting":
        return f"{text}, right half masked"
    return text


def source_tile(result: RowResult):
    """The source, with the drag arrow or the inpainting mask drawn on it."""
    from PIL import Image, ImageDraw

    tile = to_pil(result.source, SCALE)
    if result.row.task == "inpainting":
        mask = inpaint_mask(result.case.source)[0, 0]
        rows, columns = (torch.nonzero(mask.any(axis)).flatten() for axis in (1, 0))
        box = (int(columns[0]) * SCALE, int(rows[0]) * SCALE, (int(columns[-1]) + 1) * SCALE - 1,
               (int(rows[-1]) + 1) * SCALE - 1)
        overlay = tile.copy()
        ImageDraw.Draw(overlay).rectangle(box, fill=(128, 128, 128))
        tile = Image.blend(tile, overlay, 0.75)
        ImageDraw.Draw(tile).rectangle(box, outline=(255, 255, 255))
    elif result.row.task in DRAG_TASKS:
        draw_drag_arrow(ImageDraw.Draw(tile), *drag_pairs(result.case)[0], SCALE)
    return tile


def difference_tile(image: torch.Tensor, source: torch.Tensor):
    """|image - source|, the largest channel per pixel, grey: black 0, white ``DIFF_WHITE`` or more."""
    from PIL import Image

    grey = ((image - source).abs().amax(dim=0) / DIFF_WHITE).clamp(0, 1)
    pixels = (grey * 255).round().to(torch.uint8).numpy()
    picture = Image.fromarray(pixels, "L").convert("RGB")
    return picture.resize((picture.width * SCALE, picture.height * SCALE), Image.NEAREST)


def sheet_verdict(m: Measure) -> str:
    return m.verdict if m.verdict == SUCCESS or m.verdict.startswith("rel. error") else f"failed: {m.verdict}"


def sheet(results: list[RowResult]):
    rows = []
    for r in results:
        labels = [f"{r.row.title} ({PARAM_LABELS[r.kind]})", r.row.settings, describe(r),
                  f"result: {r.row.method}", f"  {sheet_verdict(r.measure('result'))}",
                  f"ODE: {r.row.baseline}", f"  {sheet_verdict(r.measure('baseline'))}"]
        tiles = [source_tile(r), to_pil(r.image("result"), SCALE), to_pil(r.image("baseline"), SCALE),
                 difference_tile(r.image("result"), r.source), difference_tile(r.image("baseline"), r.source)]
        rows.append((labels, tiles))
    return contact_sheet(COLUMNS, rows, label_width=LABEL_WIDTH, line_height=LINE_HEIGHT)


HEADER = ["Row", "Model", "Scene", "Method", "Verdict", "RMS to source", "Background RMS", "Passes",
          "ODE baseline", "Verdict", "RMS to source", "Background RMS", "Passes"]


def table(results: list[RowResult]) -> str:
    lines = []
    for r in results:
        cells = [r.row.title, PARAM_LABELS[r.kind], describe(r)]
        for which in ("result", "baseline"):
            edit, _ = getattr(r, which)
            m = r.measure(which)
            cells += [edit.method, m.verdict, f"{m.rms:.4f}", f"{m.background_rms:.4f}", f"{edit.passes:g}"]
        lines.append(cells)
    return markdown_table(HEADER, lines)


def reconstruction_errors(results: list[RowResult]) -> list[str]:
    """One line per reconstruction row: the relative errors of Cycle-SDE and of DDIM inversion."""
    return [f"reconstruction, {PARAM_LABELS[r.kind]}, scene {r.scene}: {r.row.method} relative error "
            f"{r.measure('result').relative_error:.1e}, {r.row.baseline} {r.measure('baseline').relative_error:.1e}"
            for r in results if r.row.task == "reconstruction"]


def report(results: list[RowResult], scenes: int) -> str:
    chosen = "scene 0" if scenes == 1 else f"scenes 0-{scenes - 1}"
    return (f"`python -m bench.demo`: the learned models (bench/weights) on {chosen} of the benchmark's held-out "
            f"list (seed {CASE_SEED}; the first, a rule fixed before any run), seed {SEED}, CFG {CFG:g}; the methods and settings of "
            "`bench/learned_bench.py`. **Verdict**: the benchmark's outcome of the edit (`success` or the first "
            "check it missed), for reconstruction the relative L2 error. **RMS to source**: over the whole image; "
            "**background RMS**: over the pixels that are background in both; **passes**: model passes per edit "
            "(a CFG pair is one). The picture (`demo.png`) shows source, result, ODE baseline and the difference "
            f"maps |result - source| and |ODE - source| (largest channel, black 0, white {DIFF_WHITE:g} or more of "
            "the [-1, 1] range). One scene per row is an illustration: the rates are the benchmark's "
            "(`docs/bench/bench_learned.md`).\n\n"
            f"{table(results)}\n\n" + "\n".join(f"- {line}" for line in reconstruction_errors(results)) + "\n")


# ---- entry point -------------------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--toy", action="store_true",
                        help="the weight-free toy demo on the memorising shape world instead (bench/toy_demo.py; "
                             "see python -m bench.demo --toy --help)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default docs/)")
    parser.add_argument("--params", default=",".join(PARAMS), help="comma-separated subset of eps,flow")
    parser.add_argument("--scenes", type=int, default=1,
                        help="the first N held-out scenes of the benchmark, in every row (default 1)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: fastest for these small models; 0 = torch's default)")
    args = parser.parse_args(argv)
    args.params = [p.strip() for p in args.params.split(",") if p.strip()]
    if not args.params or any(p not in PARAMS for p in args.params):
        parser.error(f"--params: {args.params}; allowed: a comma-separated subset of eps, flow")
    if args.scenes < 1:
        parser.error(f"--scenes: {args.scenes}; allowed: 1 or more")
    return args


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--toy" in argv:
        from . import toy_demo
        return toy_demo.main([a for a in argv if a != "--toy"])
    args = parse_args(argv)
    from . import learned_models

    started = time.perf_counter()
    with torch_threads(args.threads):
        unets = {kind: learned_models.load(kind) for kind in args.params}
        progress = Progress(len(ROWS) * len(args.params), "demo")
        results = run(unets, args.params, ROWS, args.scenes, progress)
        progress.close()
    args.out.mkdir(parents=True, exist_ok=True)
    png, md = args.out / "demo.png", args.out / "demo.md"
    sheet(results).save(png, optimize=True)
    md.write_text(report(results, args.scenes))
    runtime = time.perf_counter() - started
    print(table(results))
    print("\n".join(reconstruction_errors(results)))
    print(f"runtime {runtime:.1f} s; wrote {png} and {md}")
    return {"results": results, "runtime_s": runtime, "png": str(png), "md": str(md)}


if __name__ == "__main__":
    main()
