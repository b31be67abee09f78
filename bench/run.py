"""Benchmark: every editor of the pack against its ODE counterpart on the shape world, EPS and flow.

    python -m bench.run [--cases 100] [--tasks cycle,drag,sync,rf,inpaint] [--params eps,flow] [--out DIR]
    python -m bench.run --model learned [--cases 100] [--tasks ...] [--params eps,flow] [--jobs 2]
    python -m bench.run --model learned-edit [--cases 100] [--tasks recolour,reshape,repeated] [--jobs 2]

``--model exact`` (the default) runs the exact empirical denoisers of the 108-scene world below; ``--model
learned`` the two trained denoisers of ``bench.learned_models`` on held-out scenes of ``bench.learned_world``
(tasks, settings and scores in ``bench.learned_bench``), writing DIR/bench_learned.md and .json; ``--model
learned-edit`` the trained instruction-edit model (``bench.learned_edit_bench``: plain sampling, Cycle-SDE and
sync-SDE, with and without a mask, and repeated edits), writing DIR/bench_learned_edit.md and .json.

Tasks (settings in ``bench.common``; ground truth and scores in its docstring):

* ``cycle``:   Cycle-SDE text edit (invert under the source colour, replay under the target colour, CFG 3,
               t0 0.7, 20 steps) vs DDIM inversion + DDIM sampling (eta 0). ``world.recolour_cases``.
* ``drag``:    SDE-Drag vs ODE-Drag (eta 0), cell centre to cell centre, t0 0.6, 12 steps, one sub-drag.
               ``world.move_cases``.
* ``sync``:    sync-SDE ('ddpm'; flow also 'rectified') vs the same ODE baseline as ``cycle``.
* ``rf``:      RF-Inversion (gamma 0.5, eta 0.9 on steps [0, 14) of 20), controlled ODE and stochastic
               sampler, vs plain ODE inversion and sampling (gamma = eta = 0). ``world.recolour_cases``.
* ``inpaint``: SDE (eta 1) vs ODE (eta 0) inpainting of the left or right half, 10 steps, unconditional.

Cases sharing a conditioning run as one batch (the analytic prompt is per call): recolour tasks group by
(source colour, target colour) or target colour, inpainting runs all cases in one batch (per-case masks),
drag runs case by case (its handle points are per call). Group g (in order of first appearance) uses seed g;
drag case i seed i. "Calls/edit" counts denoiser calls per edited image (a batched call serves every case of
its batch once; a CFG call is one call). "Wall s" is the time inside the editors, all cases.

Writes DIR/bench.md and DIR/bench.json and prints the table.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from sde_edit.testing.calls import CallCounter

from . import common
from .common import (PARAM_LABELS, SETTINGS, Case, Models, Progress, ShapeWorld, half_mask,
                     inpaint_cases, markdown_table, score, torch_threads)

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


@dataclass(frozen=True)
class Method:
    label: str
    kind: str                                  # "SDE" or "ODE"
    edit: Callable                             # (models, name, cases, x0, seed, count) -> edited batch


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    cases: Callable[[ShapeWorld, int], list[Case]]
    group: Callable[[int, Case], object]       # cases with the same key run as one batch
    methods: Callable[[str], list[Method]]


def _recolour_cases(world, n):
    return [Case(source, target) for source, target in world.recolour_cases(n)]


def _move_cases(world, n):
    return [Case(source, target) for source, target in world.move_cases(n)]


def _cycle(eta):
    def edit(models, name, cases, x0, seed, count):
        return common.cycle_edit(models, name, x0, cases[0].source.colour, cases[0].target.colour, eta=eta,
                                 seed=seed, count=count)
    return edit


def _sync(discretisation):
    def edit(models, name, cases, x0, seed, count):
        return common.sync_edit(models, name, x0, cases[0].source.colour, cases[0].target.colour,
                                discretisation=discretisation, seed=seed, count=count)
    return edit


def _rf(controlled, stochastic):
    def edit(models, name, cases, x0, seed, count):
        return common.rf_recolour(models, name, x0, cases[0].target.colour, controlled=controlled,
                                  stochastic=stochastic, seed=seed, count=count)
    return edit


def _drag(eta):
    def edit(models, name, cases, x0, seed, count):
        (case,) = cases
        return common.drag_move(models, name, x0, case.source, case.target, eta=eta, seed=seed, count=count)
    return edit


def _inpaint(eta):
    def edit(models, name, cases, x0, seed, count):
        mask = torch.cat([half_mask(models.world.size, case.side) for case in cases])
        return common.inpaint(models, name, x0, mask, eta=eta, seed=seed, count=count)
    return edit


ODE_RECOLOUR = Method("DDIM inversion + DDIM (eta 0)", "ODE", _cycle(0.0))

TASKS = {
    "cycle": Task("cycle", "Cycle-SDE recolour", _recolour_cases,
                  lambda i, c: (c.source.colour, c.target.colour),
                  lambda name: [Method("Cycle-SDE (eta 1)", "SDE", _cycle(1.0)), ODE_RECOLOUR]),
    "drag": Task("drag", "SDE-Drag move", _move_cases, lambda i, c: i,
                 lambda name: [Method("SDE-Drag", "SDE", _drag(1.0)), Method("ODE-Drag (eta 0)", "ODE", _drag(0.0))]),
    "sync": Task("sync", "sync-SDE recolour", _recolour_cases,
                 lambda i, c: (c.source.colour, c.target.colour),
                 lambda name: [Method("sync-SDE ddpm", "SDE", _sync("ddpm"))]
                 + ([Method("sync-SDE rectified", "SDE", _sync("rectified"))] if name == "flow" else [])
                 + [ODE_RECOLOUR]),
    "rf": Task("rf", "RF-Inversion recolour", _recolour_cases, lambda i, c: c.target.colour,
               lambda name: [Method("RF-Inversion ODE (gamma 0.5, eta 0.9)", "ODE", _rf(True, False)),
                             Method("RF-Inversion SDE (gamma 0.5, eta 0.9)", "SDE", _rf(True, True)),
                             Method("plain inversion (gamma = eta = 0)", "ODE", _rf(False, False))]),
    "inpaint": Task("inpaint", "inpainting (half)", inpaint_cases, lambda i, c: None,
                    lambda name: [Method("SDE inpainting (eta 1)", "SDE", _inpaint(1.0)),
                                  Method("ODE inpainting (eta 0)", "ODE", _inpaint(0.0))]),
}


def groups(task: Task, cases: list[Case]) -> list[list[int]]:
    """Case indices batched together, groups in order of first appearance."""
    batches: dict = {}
    for i, case in enumerate(cases):
        batches.setdefault(task.group(i, case), []).append(i)
    return list(batches.values())


def run_method(models: Models, task: Task, name: str, method: Method, cases: list[Case],
               progress: Progress | None = None) -> dict:
    """Run one method on all cases; returns its row (scores averaged over the cases)."""
    world = models.world
    results: list = [None] * len(cases)
    calls, wall = set(), 0.0
    for seed, indices in enumerate(groups(task, cases)):
        batch = [cases[i] for i in indices]
        x0 = torch.stack([world.image(case.source) for case in batch]).float()
        counter = CallCounter()
        start = time.perf_counter()
        out = method.edit(models, name, batch, x0, indices[0] if task.name == "drag" else seed, counter)
        wall += time.perf_counter() - start
        calls.add(counter.calls)
        for i, image in zip(indices, out):
            results[i] = image
        if progress is not None:
            progress.advance(len(batch), f"{task.name} {name} {method.label}")
    scores = [score(world, case, image) for case, image in zip(cases, results)]
    n = len(cases)
    return {
        "task": task.name, "title": task.title, "param": name, "method": method.label, "kind": method.kind,
        "cases": n, "successes": sum(s.success for s in scores),
        "success_rate": sum(s.success for s in scores) / n,
        "rms_truth": sum(s.rms_truth for s in scores) / n,
        "rms_outside": sum(s.rms_outside for s in scores) / n,
        "calls_per_edit": max(calls), "wall_s": wall,
    }


HEADER = ["Task", "Model", "Method", "Success", "RMS to GT", "RMS outside edit", "Calls/edit", "Wall s"]


def table_rows(rows: list[dict]) -> list[list[str]]:
    return [[r["title"], PARAM_LABELS[r["param"]], r["method"], f"{r['successes']}/{r['cases']}",
             f"{r['rms_truth']:.4f}", f"{r['rms_outside']:.4f}", str(r["calls_per_edit"]), f"{r['wall_s']:.1f}"]
            for r in rows]


def parse_args(argv=None):
    from . import learned_bench, learned_edit_bench
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["exact", "learned", "learned-edit"], default="exact",
                        help="exact: the shape world's exact denoisers; learned: the trained denoisers; "
                             "learned-edit: the trained instruction-edit model")
    parser.add_argument("--cases", type=int, default=100, help="cases per task (default 100)")
    parser.add_argument("--tasks", default=None,
                        help=f"comma-separated subset of {','.join(TASKS)} (exact), "
                             f"{','.join(learned_bench.TASKS)} (learned) or {','.join(learned_edit_bench.TASKS)} "
                             "(learned-edit)")
    parser.add_argument("--params", default="eps,flow",
                        help="comma-separated subset of eps,flow (exact, learned; learned-edit has one model)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default bench/out/)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: fastest for these tiny ops; 0 = torch's default)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="learned, learned-edit: rows run in this many processes of --threads threads each "
                             "(default 1); "
                             "each row is seeded on its own, so the table is the same")
    args = parser.parse_args(argv)
    tasks = {"exact": TASKS, "learned": learned_bench.TASKS, "learned-edit": learned_edit_bench.TASKS}[args.model]
    args.tasks = [t.strip() for t in (args.tasks or ",".join(tasks)).split(",") if t.strip()]
    args.params = [p.strip() for p in args.params.split(",") if p.strip()]
    for value, allowed, flag in ((args.tasks, tasks, "--tasks"), (args.params, common.PARAMS, "--params")):
        unknown = [v for v in value if v not in allowed]
        if unknown or not value:
            parser.error(f"{flag}: {unknown or 'nothing selected'}; allowed: {', '.join(allowed)}")
    if args.cases < 1:
        parser.error("--cases must be at least 1")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    command = "python -m bench.run" + ("" if argv is None and len(sys.argv) <= 1 else
                                       " " + " ".join(sys.argv[1:] if argv is None else argv))
    if args.model == "learned":
        return main_learned(args, command)
    if args.model == "learned-edit":
        return main_learned_edit(args, command)
    started = time.perf_counter()
    with torch_threads(args.threads):
        models = Models(ShapeWorld(size=32, grid=3))
        plan = [(TASKS[t], name, TASKS[t].cases(models.world, args.cases)) for t in args.tasks for name in args.params]
        total = sum(len(cases) * len(task.methods(name)) for task, name, cases in plan)
        progress = Progress(total, "bench")
        rows = [run_method(models, task, name, method, cases, progress)
                for task, name, cases in plan for method in task.methods(name)]
        progress.close()
        threads = torch.get_num_threads()
    runtime = time.perf_counter() - started
    table = markdown_table(HEADER, table_rows(rows))
    footer = (f"{args.cases} cases per task; total runtime {runtime:.1f} s on {threads} torch thread(s), "
              f"{platform.processor() or platform.machine()}, torch {torch.__version__}.")
    report = {"command": command, "cases": args.cases, "tasks": args.tasks, "params": args.params,
              "threads": threads, "torch": torch.__version__, "runtime_s": runtime, "settings": SETTINGS,
              "rows": rows}
    return write_report(args.out, "bench", command, table, footer, report)


def write_report(out: Path, name: str, command: str, table: str, footer: str, report: dict) -> dict:
    """OUT/<name>.md (the command, the table, the footer) and OUT/<name>.json; prints the table."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(f"`{command}`\n\n{table}\n\n{footer}\n")
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(table)
    print(footer)
    print(f"wrote {out / f'{name}.md'} and {out / f'{name}.json'}")
    return report


_WORKER: dict = {}


def _learned_worker_init(tasks: list[str], params: list[str], cases: int, threads: int) -> None:
    from . import learned_bench, learned_models
    if threads > 0:  # 0: torch's default
        torch.set_num_threads(threads)
    _WORKER.update(unets={kind: learned_models.load(kind) for kind in params},
                   plan=learned_bench.plan(tasks, params, cases))


def _learned_row(index: int) -> tuple[int, dict]:
    """Row ``index`` of the plan, in a worker process (or in this one, after ``_learned_worker_init``)."""
    from . import learned_bench
    task, kind, cfg, method, cases = _WORKER["plan"][index]
    return index, learned_bench.run_method(_WORKER["unets"][kind], kind, cfg, task, method, cases)


def _learned_edit_worker_init(tasks: list[str], cases: int, threads: int) -> None:
    from . import learned_edit_bench, learned_models
    if threads > 0:
        torch.set_num_threads(threads)
    _WORKER.update(unet=learned_models.load("edit"), plan=learned_edit_bench.plan(tasks), cases=cases)


def _learned_edit_row(index: int) -> tuple[int, dict]:
    from . import learned_edit_bench
    return index, learned_edit_bench.run_row(_WORKER["unet"], _WORKER["plan"][index], _WORKER["cases"])


def run_rows(count: int, jobs: int, init: Callable, setup: tuple, row: Callable, finished: Callable) -> None:
    """Rows 0..count-1 of a plan: here (``jobs`` 1) or in ``jobs`` fresh processes (spawn: forking a process that
    has run torch's thread pool can hang), each set up by ``init(*setup)``; ``finished(index, row)`` as each ends."""
    import multiprocessing
    if jobs == 1:
        init(*setup)
        for index in range(count):
            finished(*row(index))
        return
    with multiprocessing.get_context("spawn").Pool(jobs, init, setup) as pool:
        for index, result in pool.imap_unordered(row, range(count)):
            finished(index, result)


def main_learned(args, command: str) -> dict:
    from . import learned_bench
    started = time.perf_counter()
    plan = learned_bench.plan(args.tasks, args.params, args.cases)
    progress = Progress(sum(len(cases) for *_, cases in plan), "bench (learned)")
    rows: list[dict | None] = [None] * len(plan)
    setup = (args.tasks, args.params, args.cases, args.threads)

    def finished(index: int, row: dict) -> None:
        rows[index] = row
        task, kind, cfg, method, cases = plan[index]
        progress.advance(len(cases), f"{task.name} {kind} cfg {cfg:g} {method.name}")

    with torch_threads(args.threads):
        threads = torch.get_num_threads()
        run_rows(len(plan), args.jobs, _learned_worker_init, setup, _learned_row, finished)
    progress.close()
    runtime = time.perf_counter() - started
    table = markdown_table(learned_bench.HEADER, learned_bench.table_rows(rows))
    footer = (f"{args.cases} held-out cases per task; total runtime {runtime:.0f} s in {args.jobs} process(es) of "
              f"{threads} torch thread(s), {platform.processor() or platform.machine()}, torch {torch.__version__}.")
    report = {"command": command, "model": "learned", "cases": args.cases, "tasks": args.tasks,
              "params": args.params, "threads": threads, "jobs": args.jobs, "torch": torch.__version__,
              "runtime_s": runtime, "settings": learned_bench.SETTINGS, "rows": rows}
    return write_report(args.out, "bench_learned", command, table, footer, report)


def main_learned_edit(args, command: str) -> dict:
    from . import learned_edit_bench
    started = time.perf_counter()
    plan = learned_edit_bench.plan(args.tasks)
    progress = Progress(len(plan), "bench (learned edit)")
    rows: list[dict | None] = [None] * len(plan)

    def finished(index: int, row: dict) -> None:
        rows[index] = row
        spec = plan[index]
        progress.advance(1, f"{spec.task} cfg {spec.cfg:g} {spec.method}{' masked' if spec.masked else ''}")

    with torch_threads(args.threads):
        threads = torch.get_num_threads()
        run_rows(len(plan), args.jobs, _learned_edit_worker_init, (args.tasks, args.cases, args.threads),
                 _learned_edit_row, finished)
    progress.close()
    runtime = time.perf_counter() - started
    table = markdown_table(learned_edit_bench.HEADER, learned_edit_bench.table_rows(rows))
    repeated = learned_edit_bench.repeated_rows(rows)
    if repeated:
        table += (f"\n\nRepeated edits ({learned_edit_bench.ROUNDS} recolours in a row, each on the previous output, "
                  f"CFG {learned_edit_bench.CFGS[0]:g}; scores against the original source):\n\n"
                  + markdown_table(learned_edit_bench.REPEATED_HEADER, repeated))
    footer = (f"{args.cases} held-out cases per task; total runtime {runtime:.0f} s in {args.jobs} process(es) of "
              f"{threads} torch thread(s), {platform.processor() or platform.machine()}, torch {torch.__version__}.")
    report = {"command": command, "model": "learned-edit", "cases": args.cases, "tasks": args.tasks,
              "threads": threads, "jobs": args.jobs, "torch": torch.__version__, "runtime_s": runtime,
              "settings": learned_edit_bench.SETTINGS, "rows": rows}
    return write_report(args.out, "bench_learned_edit", command, table, footer, report)


if __name__ == "__main__":
    main()
