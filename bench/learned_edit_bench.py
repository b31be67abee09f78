"""The benchmark of the learned instruction-edit model (``python -m bench.run --model learned-edit``, issue 19):
does the pack keep an edit model's output on its input, and what does it cost in reaching the edit?

The model (``learned_models``, kind ``edit``) was trained on misaligned, colour-cast pairs (``learned_edit``), as
the real edit models were, so used plainly it shifts the picture by up to 2 px and casts its colours a little.

Cases: held-out scenes and instructions (``learned_edit.held_out_edits`` at ``CASE_SEED``; training draws fresh
scenes from its own seed, the quality gate from ``EDIT_GATE_SEED``): ``recolour`` and ``reshape``, each case
asking for a colour (a shape) the source does not have. Settings are fixed here before any run (``SETTINGS``);
every method runs on the same cases, in one batch, from the same seed.

Methods, each without and with a mask (1 over a box ``MASK_MARGIN`` px around the source object: a reshape keeps
the centre and the half-size, so every target fits in it):

* ``plain sampling``: the edit model as it is used, from noise with the reference and the instruction, Euler
  (eta 0), ``STEPS`` steps. With the mask: the source pasted back outside it afterwards (the usual composite).
* ``Cycle-SDE``: the source inverted under the "keep" instruction (eta 1, from ``T0``), replayed under the
  instruction; both passes see the reference, as an edit model's reference latents. With the mask: the replay
  pinned to the recorded path outside it (exact there).
* ``sync-SDE``: "keep" and the instruction on one Brownian path, from ``T0``, discretisation ``rectified`` (the
  rectified-flow SDE of a flow model; its ``ddpm`` discretisation is the same coupling as Cycle-SDE's and gives
  Cycle-SDE's rows to the bit); the mask pins the target to the source path outside it.

Scores per case, averaged over the cases: the attribute reached (``learned_edit.edit_reached``: the asked colour
(shape) with the other attribute kept); the shift of the object's centroid against that of the ideal edit (the
source scene with the instruction applied, rendered in place: a triangle's centroid is not a circle's), in px, over
the cases where the detector finds an object; the background RMS against the source (pixels that are background in
both, ``learned_world.background_rms``); the colour drift (the largest per-channel mean difference over those
pixels, in [0, 1] units); for masked rows the largest difference outside the mask.

Repeated edits (``repeated``): ``ROUNDS`` recolours in a row, each on the previous output (and with it as the
reference), each to a colour the previous round did not ask for, at the first CFG; after each round the same
scores against the original source (the attribute: the colour this round asked for, the original shape kept; the
ideal edit: the original scene in that colour).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import torch

from sde_edit.samplers import FLOW, cycle_sde_invert, cycle_sde_replay
from sde_edit.samplers.sync_sde import sync_sde
from sde_edit.testing.schedules import flow_schedule

from .learned_edit import edit_reached, edited_scene, held_out_edits, instruction_id
from .learned_models import LearnedDenoiser
from .learned_world import COLOURS, SIZE, Scene, background_rms, detect, render
from .train import sample_from_noise

CASE_SEED = 20261205
CFGS = (3.0, 6.0)
STEPS = 20
T0 = 1.0
MASK_MARGIN = 2
ROUNDS = 5
SETTINGS = {"case_seed": CASE_SEED, "cfgs": CFGS, "steps": STEPS, "t0": T0, "mask_margin": MASK_MARGIN,
            "rounds": ROUNDS, "repeated_cfg": CFGS[0], "cycle_eta": 1.0, "sync_discretisation": "rectified",
            "seed": 0}
TASKS = ("recolour", "reshape", "repeated")
KEEP = instruction_id("keep")


def cases(task: str, n: int) -> list[tuple[Scene, str]]:
    """``n`` held-out (source scene, instruction) cases of ``task`` ("recolour" or "reshape"; "repeated" starts from
    the recolour cases)."""
    verb = "reshape" if task == "reshape" else "recolour"
    return [case for case in held_out_edits(2 * n, CASE_SEED) if case[1].startswith(verb)][:n]


def object_mask(scene: Scene) -> torch.Tensor:
    """[1, SIZE, SIZE]: 1 over the box of half-size ``scene.half + MASK_MARGIN`` around the object's centre."""
    reach = scene.half + MASK_MARGIN
    columns = torch.arange(SIZE, dtype=torch.float64) + 0.5
    inside = ((columns - scene.cx).abs() <= reach)[None, :] & ((columns - scene.cy).abs() <= reach)[:, None]
    return inside.float()[None]


# ---- methods: (unet, cfg, references [B, 3, S, S], instruction ids [B], masks [B, 1, S, S] | None, seed)
#      -> (edited batch, model passes) ---------------------------------------------------------------------

def plain(unet, cfg, references, instructions, masks, seed):
    denoiser = LearnedDenoiser(unet, "edit", instructions, cfg, reference=references)
    result = sample_from_noise(denoiser, FLOW, flow_schedule(STEPS), len(references), seed)
    if masks is not None:
        result = masks * result + (1 - masks) * references
    return result, denoiser.calls


def keep_and_edit(unet, cfg, references, instructions):
    return (LearnedDenoiser(unet, "edit", torch.full_like(instructions, KEEP), cfg, reference=references),
            LearnedDenoiser(unet, "edit", instructions, cfg, reference=references))


def cycle(unet, cfg, references, instructions, masks, seed):
    keep, edit = keep_and_edit(unet, cfg, references, instructions)
    trajectory = cycle_sde_invert(keep, references, flow_schedule(STEPS, T0), FLOW, eta=1.0, seed=seed)
    return cycle_sde_replay(edit, trajectory, mask=masks), keep.calls + edit.calls


def sync(unet, cfg, references, instructions, masks, seed):
    keep, edit = keep_and_edit(unet, cfg, references, instructions)
    result = sync_sde(keep, edit, references, flow_schedule(STEPS, T0), FLOW, discretisation="rectified",
                      seed=seed, mask=masks)
    return result, keep.calls + edit.calls


METHODS: dict[str, Callable] = {"plain sampling": plain, "Cycle-SDE": cycle, "sync-SDE": sync}


# ---- scores ------------------------------------------------------------------------------------------------

def colour_drift(result: torch.Tensor, source: torch.Tensor) -> float:
    """The largest per-channel mean difference over the pixels that are background in both, in [0, 1] units."""
    keep = ~(detect(result).mask | detect(source).mask)
    return float((result - source)[:, keep].mean(dim=1).abs().max()) / 2


def ideal_edit(scene: Scene, instruction: str) -> Scene:
    """``scene`` with ``instruction`` applied exactly: the named colour's RGB, or the shape, in place."""
    edited = edited_scene(scene, instruction, torch.Generator().manual_seed(0))
    return replace(edited, rgb=COLOURS[edited.colour])


def case_scores(result: torch.Tensor, source: torch.Tensor, scene: Scene, instruction: str) -> dict:
    """Scores of one edited image against its source ``scene`` (rendered: ``source``) and ``instruction``."""
    found, ideal = detect(result), detect(render(ideal_edit(scene, instruction)))
    return {"reached": edit_reached(result, scene, instruction),
            "shift": math.hypot(found.cx - ideal.cx, found.cy - ideal.cy) if found.found else None,
            "background_rms": background_rms(result, source), "colour_drift": colour_drift(result, source)}


def summary(scores: list[dict]) -> dict:
    shifts = [s["shift"] for s in scores if s["shift"] is not None]
    n = len(scores)
    return {"cases": n, "reached": sum(s["reached"] for s in scores) / n,
            "shift_px": sum(shifts) / len(shifts) if shifts else None, "no_object": n - len(shifts),
            "background_rms": sum(s["background_rms"] for s in scores) / n,
            "colour_drift": sum(s["colour_drift"] for s in scores) / n}


# ---- rows --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    task: str
    cfg: float
    method: str
    masked: bool


def plan(tasks: list[str]) -> list[Row]:
    """Every row of the benchmark, in order."""
    rows = []
    for task in tasks:
        for cfg in (CFGS[:1] if task == "repeated" else CFGS):
            rows += [Row(task, cfg, method, masked) for method in METHODS for masked in (False, True)]
    return rows


def batch_of(task_cases: list[tuple[Scene, str]]):
    sources = torch.stack([render(scene) for scene, _ in task_cases])
    masks = torch.stack([object_mask(scene) for scene, _ in task_cases])
    instructions = torch.tensor([instruction_id(instruction) for _, instruction in task_cases])
    return sources, masks, instructions


def run_row(unet, row: Row, n: int) -> dict:
    """One row on ``n`` cases: the scores (for ``repeated``, per round) and the cost."""
    task_cases = cases(row.task, n)
    sources, masks, instructions = batch_of(task_cases)
    edit = METHODS[row.method]
    start = time.perf_counter()
    if row.task != "repeated":
        result, passes = edit(unet, row.cfg, sources, instructions, masks if row.masked else None, SETTINGS["seed"])
        out = summary([case_scores(r, s, scene, instruction)
                       for r, s, (scene, instruction) in zip(result, sources, task_cases)])
        if row.masked:
            out["outside_mask_max"] = float(((result - sources).abs() * (1 - masks)).max())
        rounds = None
    else:
        rounds, passes, current = [], 0, sources
        colours = [scene.colour for scene, _ in task_cases]
        for round_index in range(ROUNDS):
            asked = [next_colour(colour, index, round_index) for index, colour in enumerate(colours)]
            ids = torch.tensor([instruction_id(f"recolour {colour}") for colour in asked])
            current, calls = edit(unet, row.cfg, current, ids, masks if row.masked else None,
                                  SETTINGS["seed"] + round_index)
            passes += calls
            rounds.append(summary([case_scores(r, s, scene, f"recolour {colour}")
                                   for r, s, (scene, _), colour in zip(current, sources, task_cases, asked)]))
            colours = asked
        out = dict(rounds[-1])
    seconds = time.perf_counter() - start
    return {"task": row.task, "cfg": row.cfg, "method": row.method, "masked": row.masked, **out,
            "rounds": rounds, "calls_per_edit": passes / (ROUNDS if rounds else 1), "seconds_per_edit":
            seconds / (n * (ROUNDS if rounds else 1))}


def next_colour(current: str, case_index: int, round_index: int) -> str:
    """The colour round ``round_index`` of case ``case_index`` asks for: another than ``current``, seeded."""
    others = [colour for colour in COLOURS if colour != current]
    return others[(case_index + round_index) % len(others)]


# ---- tables ------------------------------------------------------------------------------------------------

HEADER = ["Task", "CFG", "Method", "Mask", "Attribute reached", "Shift px", "Background RMS",
          "Colour drift", "Max outside mask", "Calls/edit", "s/edit"]
REPEATED_HEADER = ["Method", "Mask", "Round", "Attribute reached", "Shift px", "Background RMS",
                   "Colour drift"]


def score_cells(r: dict) -> list[str]:
    reached = f"{round(r['reached'] * r['cases'])}/{r['cases']}"
    shift = "-" if r["shift_px"] is None else f"{r['shift_px']:.2f}" + (f" ({r['no_object']} no object)"
                                                                        if r["no_object"] else "")
    return [reached, shift, f"{r['background_rms']:.3f}", f"{r['colour_drift']:.4f}"]


def table_rows(rows: list[dict]) -> list[list[str]]:
    out = []
    for r in rows:
        if r["task"] == "repeated":
            continue
        outside = f"{r['outside_mask_max']:.1e}" if r["masked"] else "-"
        out.append([r["task"], f"{r['cfg']:g}", r["method"], "object box" if r["masked"] else "none",
                    *score_cells(r), outside, f"{r['calls_per_edit']:g}", f"{r['seconds_per_edit']:.3f}"])
    return out


def repeated_rows(rows: list[dict]) -> list[list[str]]:
    return [[r["method"], "object box" if r["masked"] else "none", str(index + 1), *score_cells(round_scores)]
            for r in rows if r["task"] == "repeated" for index, round_scores in enumerate(r["rounds"])]
