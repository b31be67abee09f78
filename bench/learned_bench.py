"""The benchmark on the learned models (``python -m bench.run --model learned``): SDE against ODE editing where
the model generalises instead of memorising, scored by ``learned_world.detect``.

Cases are held-out scenes (seed ``CASE_SEED``, never drawn in training, whose scenes are fresh every batch).
Settings are fixed here before any run; every method of a task runs on the same cases, its edits batched, and
is counted in model passes (a CFG pair is one pass) and timed.

* Reconstruction: Cycle-SDE (eta 1) against DDIM inversion (eta 0), the source label as prompt: RMS error.
* Recolour / change shape (target label: the source's with the colour / the shape changed): Cycle-SDE target
  replay, sync-SDE (ddpm; rectified on flow), RF-Inversion ODE and SDE, against DDIM inversion + DDIM.
  Success: the detector reads the target colour / shape, the other attribute kept, the centroid within
  ``KEEP_RADIUS`` px and the size within 25 % of the source's.
* Drag by ``DRAG_LENGTHS`` px (a random direction that keeps the shape inside): SDE-Drag, ODE-Drag and plain
  copy-and-paste (Eq. 12 without sampling). The prompt is the label of the moved scene: a label names the 3x3
  cell, so the source's label would ask for the object back in its old cell whenever the drag leaves it.
  Success: centroid within ``DRAG_RADIUS`` px of the target, shape and colour kept.
* Inpainting (a band over the right half of the object is masked, the empty prompt): SDE against ODE at the
  same steps. Success: the completed object has the source's shape and colour and a centroid within
  ``KEEP_RADIUS`` px.

Every row also gives the background RMS against the source (pixels that are background in both), and every
scored row the count of each way its failed cases failed (the ``*_outcome`` functions: the first check missed).
"""
from __future__ import annotations

import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import torch

from sde_edit.samplers import EPS, FLOW, cycle_sde_invert, cycle_sde_replay
from sde_edit.samplers.engine import seeded
from sde_edit.samplers.rf_inversion import rf_edit, rf_invert
from sde_edit.testing.schedules import reference_sigmas
from sde_edit.samplers.sde_drag import DragSettings, copy_and_paste, sde_drag
from sde_edit.samplers.sde_inpaint import sde_inpaint
from sde_edit.samplers.sync_sde import sync_sde

from .learned_models import LearnedDenoiser
from .learned_world import (COLOURS, NULL_CLASS, SHAPES, SIZE, Scene, background_rms, detect, moved,
                            random_scene, render)

CASE_SEED = 20261201
CFGS = (3.0, 7.5)
PARAMS = {"eps": EPS, "flow": FLOW}
EDIT = dict(t0=0.7, steps=20)
RF = dict(steps=20, gamma=0.5, eta=0.9, eta_stop=7)
DRAG = dict(t0=0.6, steps=16, window=3, subdrag_step=64.0)
DRAG_LENGTHS = (4, 8)
INPAINT = dict(steps=20)
KEEP_RADIUS = 2.0
DRAG_RADIUS = 2.5
SETTINGS = {"edit": EDIT, "rf_inversion": RF, "drag": DRAG, "drag_lengths": DRAG_LENGTHS, "inpaint": INPAINT,
            "cfgs": CFGS, "keep_radius": KEEP_RADIUS, "drag_radius": DRAG_RADIUS, "case_seed": CASE_SEED}


@dataclass
class Case:
    source: Scene
    target: Scene | None = None          # the ground-truth scene of the edit
    dx: float = 0.0                      # drag displacement, pixels
    dy: float = 0.0


def held_out(n: int, seed: int = CASE_SEED) -> list[Scene]:
    generator = torch.Generator().manual_seed(seed)
    return [random_scene(generator) for _ in range(n)]


def recolour_cases(n: int) -> list[Case]:
    rng = random.Random(1)
    cases = []
    for scene in held_out(n):
        colour = rng.choice([c for c in COLOURS if c != scene.colour])
        cases.append(Case(scene, Scene(scene.shape, colour, scene.cx, scene.cy, scene.half, COLOURS[colour],
                                       scene.background)))
    return cases


def reshape_cases(n: int) -> list[Case]:
    rng = random.Random(2)
    cases = []
    for scene in held_out(n):
        shape = rng.choice([s for s in SHAPES if s != scene.shape])
        cases.append(Case(scene, Scene(shape, scene.colour, scene.cx, scene.cy, scene.half, scene.rgb,
                                       scene.background)))
    return cases


def drag_cases(n: int, length: float) -> list[Case]:
    rng = random.Random(int(length) + 3)
    cases = []
    for scene in held_out(n):
        for _ in range(100):  # a direction that keeps the whole shape inside
            angle = rng.uniform(0, 2 * math.pi)
            dx, dy = length * math.cos(angle), length * math.sin(angle)
            if scene.half + 1 <= scene.cx + dx <= SIZE - 1 - scene.half and \
                    scene.half + 1 <= scene.cy + dy <= SIZE - 1 - scene.half:
                break
        cases.append(Case(scene, moved(scene, dx, dy), dx, dy))
    return cases


def inpaint_mask(scene: Scene) -> torch.Tensor:
    """1 over a band covering the right half of the object (the left half and the background are known)."""
    mask = torch.zeros(1, 1, SIZE, SIZE)
    top, bottom = max(0, int(scene.cy - scene.half - 2)), min(SIZE, int(math.ceil(scene.cy + scene.half + 2)))
    mask[..., top:bottom, int(scene.cx):min(SIZE, int(math.ceil(scene.cx + scene.half + 2)))] = 1.0
    return mask


# ---- scoring -----------------------------------------------------------------------------------------------

def distance(found, scene: Scene) -> float:
    cx, cy = scene.centroid
    return math.hypot(found.cx - cx, found.cy - cy) if found.found else float("inf")


SUCCESS = "success"


def attribute_edit_outcome(result: torch.Tensor, case: Case) -> str:
    """``SUCCESS`` or the first check a recolour / change of shape fails: "no object", "unchanged" (still the
    source's shape and colour), "wrong attribute" (not the target's), "moved" (centroid more than
    ``KEEP_RADIUS`` px from the source's), "resized" (size off by more than 25 %)."""
    found = detect(result)
    if not found.found:
        return "no object"
    if (found.shape, found.colour) == (case.source.shape, case.source.colour):
        return "unchanged"
    if (found.shape, found.colour) != (case.target.shape, case.target.colour):
        return "wrong attribute"
    if distance(found, case.source) > KEEP_RADIUS:
        return "moved"
    source_size = math.sqrt(float(detect(render(case.source)).mask.sum()))
    return "resized" if abs(found.size - source_size) > 0.25 * source_size else SUCCESS


def drag_outcome(result: torch.Tensor, case: Case) -> str:
    """``SUCCESS`` or the first check a drag fails: "no object", "lost shape/colour", "stayed" (centroid within
    ``DRAG_RADIUS`` px of the source's), "off target" (moved, but more than ``DRAG_RADIUS`` px from the target)."""
    found = detect(result)
    if not found.found:
        return "no object"
    if (found.shape, found.colour) != (case.source.shape, case.source.colour):
        return "lost shape/colour"
    if distance(found, case.target) <= DRAG_RADIUS:
        return SUCCESS
    return "stayed" if distance(found, case.source) <= DRAG_RADIUS else "off target"


def inpaint_outcome(result: torch.Tensor, case: Case) -> str:
    """``SUCCESS`` or the first check an inpainting fails: "no object", "wrong shape/colour", "misplaced"
    (centroid more than ``KEEP_RADIUS`` px from the source's)."""
    found = detect(result)
    if not found.found:
        return "no object"
    if (found.shape, found.colour) != (case.source.shape, case.source.colour):
        return "wrong shape/colour"
    return SUCCESS if distance(found, case.source) <= KEEP_RADIUS else "misplaced"


def attribute_edit_success(result: torch.Tensor, case: Case) -> bool:
    return attribute_edit_outcome(result, case) == SUCCESS


def drag_success(result: torch.Tensor, case: Case) -> bool:
    return drag_outcome(result, case) == SUCCESS


# ---- methods -----------------------------------------------------------------------------------------------
# Each takes (unet, kind, cfg, sources [B, 3, S, S], cases) and returns the edited batch; the denoisers it
# builds are recorded in ``denoisers`` so that their passes are counted.

def prompt(unet, kind, labels, cfg, denoisers) -> LearnedDenoiser:
    denoiser = LearnedDenoiser(unet, kind, torch.as_tensor(labels), cfg)
    denoisers.append(denoiser)
    return denoiser


def cycle(eta: float) -> Callable:
    def run(unet, kind, cfg, x0, cases, denoisers, seed):
        source = prompt(unet, kind, [c.source.label for c in cases], cfg, denoisers)
        target = prompt(unet, kind, [c.target.label for c in cases], cfg, denoisers)
        trajectory = cycle_sde_invert(source, x0, reference_sigmas(kind, EDIT["steps"], EDIT["t0"]), PARAMS[kind],
                                      eta=eta, seed=seed)
        return cycle_sde_replay(target, trajectory)
    return run


def sync(discretisation: str) -> Callable:
    def run(unet, kind, cfg, x0, cases, denoisers, seed):
        source = prompt(unet, kind, [c.source.label for c in cases], cfg, denoisers)
        target = prompt(unet, kind, [c.target.label for c in cases], cfg, denoisers)
        return sync_sde(source, target, x0, reference_sigmas(kind, EDIT["steps"], EDIT["t0"]), PARAMS[kind],
                        discretisation=discretisation, seed=seed)
    return run


def rf(stochastic: bool) -> Callable:
    def run(unet, kind, cfg, x0, cases, denoisers, seed):
        sigmas = reference_sigmas(kind, RF["steps"])
        empty = prompt(unet, kind, [NULL_CLASS] * len(cases), 1.0, denoisers)
        target = prompt(unet, kind, [c.target.label for c in cases], cfg, denoisers)
        inverted = rf_invert(empty, x0, sigmas, PARAMS[kind], gamma=RF["gamma"], seed=seed)
        return rf_edit(target, inverted, x0, sigmas, PARAMS[kind], eta=RF["eta"], eta_stop=RF["eta_stop"],
                       stochastic=stochastic, seed=seed)
    return run


def drag_pairs(case: Case) -> list:
    cx, cy = case.source.centroid
    return [((int(cx), int(cy)), (int(round(cx + case.dx)), int(round(cy + case.dy))))]


def drag(eta: float) -> Callable:
    def run(unet, kind, cfg, x0, cases, denoisers, seed):
        settings = DragSettings(window=DRAG["window"], subdrag_step=DRAG["subdrag_step"], cfg=cfg, eta=eta)
        sigmas = reference_sigmas(kind, DRAG["steps"], DRAG["t0"])
        outputs = []
        for index, case in enumerate(cases):  # each case has its own points: one drag each
            denoiser = prompt(unet, kind, [case.target.label], 1.0, denoisers)  # the moved scene's label

            def guided(x, sigma, scale, denoiser=denoiser):
                denoiser.cfg = scale
                return denoiser(x, sigma)

            outputs.append(sde_drag(guided, x0[index:index + 1], sigmas, PARAMS[kind], drag_pairs(case),
                                    settings=settings, seed=seed + index))
        return torch.cat(outputs)
    return run


def paste_only(unet, kind, cfg, x0, cases, denoisers, seed):
    """Eq. 12 at the clean image, with the paper's alpha and beta and no noise: the drag with no sampling."""
    generator = seeded(seed)
    settings = DragSettings()
    return torch.cat([copy_and_paste(x0[i:i + 1], drag_pairs(case), DRAG["window"], settings.alpha, settings.beta,
                                     generator, 0.0) for i, case in enumerate(cases)])


def inpaint(eta: float) -> Callable:
    def run(unet, kind, cfg, x0, cases, denoisers, seed):
        empty = prompt(unet, kind, [NULL_CLASS] * len(cases), 1.0, denoisers)
        masks = torch.cat([inpaint_mask(case.source) for case in cases])
        return sde_inpaint(empty, x0, reference_sigmas(kind, INPAINT["steps"]), PARAMS[kind], masks, eta=eta, seed=seed)
    return run


def reconstruction(eta: float) -> Callable:
    def run(unet, kind, cfg, x0, cases, denoisers, seed):
        source = prompt(unet, kind, [c.source.label for c in cases], cfg, denoisers)
        trajectory = cycle_sde_invert(source, x0, reference_sigmas(kind, EDIT["steps"], EDIT["t0"]), PARAMS[kind],
                                      eta=eta, seed=seed)
        return cycle_sde_replay(source, trajectory)
    return run


@dataclass(frozen=True)
class Method:
    name: str
    kind: str          # "SDE" / "ODE" / "none"
    run: Callable


TEXT_EDIT_METHODS = [Method("Cycle-SDE (eta 1)", "SDE", cycle(1.0)), Method("sync-SDE ddpm", "SDE", sync("ddpm")),
                     Method("sync-SDE rectified", "SDE", sync("rectified")),
                     Method("RF-Inversion ODE", "ODE", rf(False)), Method("RF-Inversion SDE", "SDE", rf(True)),
                     Method("DDIM inversion + DDIM", "ODE", cycle(0.0))]


@dataclass(frozen=True)
class Task:
    name: str
    cases: Callable[[int], list[Case]]
    methods: list[Method]
    outcome: Callable | None       # (result, case) -> SUCCESS or why not; None: reconstruction (its error)
    uses_cfg: bool = True

    def methods_for(self, kind: str) -> list[Method]:
        return [m for m in self.methods if kind == "flow" or m.name != "sync-SDE rectified"]


TASKS = {
    "reconstruction": Task("reconstruction", lambda n: [Case(s) for s in held_out(n)],
                           [Method("Cycle-SDE (eta 1)", "SDE", reconstruction(1.0)),
                            Method("DDIM inversion (eta 0)", "ODE", reconstruction(0.0))], None),
    "recolour": Task("recolour", recolour_cases, TEXT_EDIT_METHODS, attribute_edit_outcome),
    "change shape": Task("change shape", reshape_cases, TEXT_EDIT_METHODS, attribute_edit_outcome),
    **{f"drag {length} px": Task(f"drag {length} px", lambda n, length=length: drag_cases(n, length),
                                 [Method("SDE-Drag", "SDE", drag(1.0)), Method("ODE-Drag", "ODE", drag(0.0)),
                                  Method("copy-and-paste only", "none", paste_only)], drag_outcome)
       for length in DRAG_LENGTHS},
    "inpainting": Task("inpainting", lambda n: [Case(s) for s in held_out(n)],
                       [Method("SDE (DDPM)", "SDE", inpaint(1.0)), Method("ODE (DDIM)", "ODE", inpaint(0.0))],
                       inpaint_outcome, uses_cfg=False),
}


def run_method(unet, kind: str, cfg: float, task: Task, method: Method, cases: list[Case], seed: int = 0) -> dict:
    x0 = torch.stack([render(case.source) for case in cases])
    denoisers: list[LearnedDenoiser] = []
    start = time.perf_counter()
    result = method.run(unet, kind, cfg, x0, cases, denoisers, seed)
    seconds = time.perf_counter() - start
    passes = sum(d.calls for d in denoisers)
    calls_per_edit = passes if task.name not in DRAG_TASKS else passes / len(cases)
    row = {"task": task.name, "model": kind, "cfg": cfg if task.uses_cfg else None, "method": method.name,
           "kind": method.kind, "cases": len(cases), "calls_per_edit": calls_per_edit,
           "seconds_per_edit": seconds / len(cases),
           "background_rms": sum(background_rms(r, x) for r, x in zip(result, x0)) / len(cases)}
    if task.outcome is None:
        errors = [float((r - x).pow(2).mean().sqrt()) for r, x in zip(result, x0)]
        row.update(rms_error=sum(errors) / len(errors), max_rms_error=max(errors),
                   max_relative_error=max(float((r - x).norm() / x.norm()) for r, x in zip(result, x0)))
    else:
        outcomes = Counter(task.outcome(r, case) for r, case in zip(result, cases))
        row["success"] = outcomes.pop(SUCCESS, 0) / len(cases)
        row["failures"] = dict(outcomes.most_common())
    return row


DRAG_TASKS = {f"drag {length} px" for length in DRAG_LENGTHS}


def plan(tasks: list[str], kinds: list[str], cases: int):
    """(task, kind, cfg, method, cases) for every row of the benchmark, in order."""
    rows = []
    for task_name in tasks:
        task = TASKS[task_name]
        task_cases = task.cases(cases)
        for kind in kinds:
            for cfg in (CFGS if task.uses_cfg else (1.0,)):
                for method in task.methods_for(kind):
                    rows.append((task, kind, cfg, method, task_cases))
    return rows


HEADER = ["Task", "Model", "CFG", "Method", "Success / RMS error", "Failures", "Background RMS", "Calls/edit",
          "s/edit"]


def table_rows(rows: list[dict]) -> list[list[str]]:
    out = []
    for r in rows:
        if "success" in r:
            score = f"{round(r['success'] * r['cases'])}/{r['cases']}"
        else:
            score = f"RMS {r['rms_error']:.2e} (max rel {r['max_relative_error']:.1e})"
        failures = ", ".join(f"{why} {count}" for why, count in r.get("failures", {}).items()) or "-"
        out.append([r["task"], r["model"], "-" if r["cfg"] is None else f"{r['cfg']:g}", r["method"], score, failures,
                    f"{r['background_rms']:.3f}", f"{r['calls_per_edit']:g}", f"{r['seconds_per_edit']:.3f}"])
    return out
