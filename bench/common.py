"""Shared by the demo and the benchmark: settings, the editors driven on the shape world, ground truth,
scores, progress line and drawing.

Everything runs on ``samplers.shape_world.ShapeWorld`` (32x32 RGB scenes: one circle/square/triangle in one
of 4 colours on a 3x3 grid) with its exact empirical denoisers: a "prompt" is a label selection of the
data set (``world.mixture(colour=...)``) with classifier-free guidance (``analytic.cfg_denoiser``), the
empty prompt is the unconditional mixture. The pixels are the latent (no VAE).

Ground truth (every case has one):

* recolour (Cycle-SDE, sync-SDE, RF-Inversion): the same shape in the same cell in the target colour;
* move (SDE-Drag): the same shape and colour in the target cell;
* inpainting (left or right half masked): the set of scenes equal to the source on the known half
  (``consistent_scenes``): the source alone when the known half shows any of its shape, else every scene
  whose shape lies wholly inside the masked half.

Scores of one edit (``score``):

* success: the nearest scene of the world is a ground-truth scene and lies within RMS 0.05 of the result
  (distinct scenes are >= ~0.1 apart, so 0.05 is half the smallest gap);
* RMS to ground truth: RMS distance (all pixels and channels) to the (nearest) ground-truth scene;
* RMS outside the edit: RMS distance to the source over the pixels the edit must not change: recolour,
  the pixels where source and ground truth agree (outside the shape); move, the pixels that are background
  in both source and ground truth; inpainting, the known half.
"""
from __future__ import annotations

import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from sde_edit.samplers import EPS, FLOW, cycle_sde_invert, cycle_sde_replay
from sde_edit.testing.analytic import cfg_denoiser
from sde_edit.samplers.sde_inpaint import sde_inpaint
from sde_edit.samplers.sync_sde import sync_sde
from sde_edit.samplers.sde_drag import DragSettings, sde_drag
from sde_edit.samplers.rf_inversion import rf_edit, rf_invert
from sde_edit.testing.schedules import reference_sigmas
from sde_edit.testing.shape_world import BACKGROUND, Scene, ShapeWorld

PARAMS = {"eps": EPS, "flow": FLOW}
PARAM_LABELS = {"eps": "EPS", "flow": "flow"}
SUCCESS_RMS = 0.05
CFG = 3.0

# Settings the core tests found to work (tests/test_sde_drag.py, test_sync_sde.py, test_rf_inversion.py).
RECOLOUR = dict(t0=0.7, steps=20, cfg=CFG)                 # Cycle-SDE and sync-SDE
DRAG = dict(t0=0.6, steps=12, cfg=CFG, subdrag_step=32.0)  # one sub-drag: shapes live on grid cells only
RF = dict(steps=20, flow_shift=3.0, cfg=CFG, gamma=0.5, eta=0.9, eta_stop=14)
INPAINT = dict(steps=10)                                   # full schedule, unconditional model
SETTINGS = {"recolour": RECOLOUR, "drag": DRAG, "rf_inversion": RF, "inpaint": INPAINT,
            "success_rms": SUCCESS_RMS}


# --------------------------------------------------------------------------------------------- models
class Models:
    """The shape world's exact denoisers, the label subsets built once."""

    def __init__(self, world: ShapeWorld):
        self.world = world
        self._mixtures = {}

    def mixture(self, **labels):
        key = tuple(sorted(labels.items()))
        if key not in self._mixtures:
            self._mixtures[key] = self.world.mixture(**labels)
        return self._mixtures[key]

    def unconditional(self, name: str):
        """The empty prompt."""
        return self.mixture().denoiser(PARAMS[name])

    def prompt(self, name: str, cfg: float = CFG, **labels):
        """A label prompt at guidance ``cfg``, e.g. ``prompt("eps", colour="red")``."""
        return cfg_denoiser(self.mixture(**labels).denoiser(PARAMS[name]), self.unconditional(name), cfg)

    def guided(self, name: str, **labels):
        """SDE-Drag's guided protocol ``(x, sigma, cfg) -> x0`` (the CFG scale changes per step)."""
        conditional, unconditional = self.mixture(**labels).denoiser(PARAMS[name]), self.unconditional(name)
        return lambda x, sigma, cfg: cfg_denoiser(conditional, unconditional, cfg)(x, sigma)


# --------------------------------------------------------------------------------------------- editors
# Each takes a batch x0 [B, 3, H, W] sharing one conditioning and returns the edited batch; ``count`` wraps
# every denoiser the editor calls.

def cycle_edit(models: Models, name, x0, source_colour, target_colour, *, eta, seed, count):
    """Cycle-SDE text edit (eta 1): invert under the source colour, replay under the target colour.
    eta 0: DDIM inversion, then DDIM sampling (the ODE baseline). Same colours: reconstruction."""
    sigmas = reference_sigmas(name, RECOLOUR["steps"], RECOLOUR["t0"])
    source = count(models.prompt(name, colour=source_colour))
    target = source if target_colour == source_colour else count(models.prompt(name, colour=target_colour))
    trajectory = cycle_sde_invert(source, x0, sigmas, PARAMS[name], eta=eta, seed=seed)
    return cycle_sde_replay(target, trajectory)


def sync_edit(models: Models, name, x0, source_colour, target_colour, *, discretisation, seed, count):
    """sync-SDE recolour: source and target colour on one Brownian path ('ddpm' or, flow only, 'rectified')."""
    sigmas = reference_sigmas(name, RECOLOUR["steps"], RECOLOUR["t0"])
    source = count(models.prompt(name, colour=source_colour))
    target = count(models.prompt(name, colour=target_colour))
    return sync_sde(source, target, x0, sigmas, PARAMS[name], discretisation=discretisation, seed=seed)


def rf_recolour(models: Models, name, x0, target_colour, *, controlled=True, stochastic=False, seed, count):
    """RF-Inversion recolour: invert with the empty prompt (gamma 0.5), edit with the target colour at CFG 3
    pulled toward the source (eta 0.9 on steps [0, 14) of 20); ``controlled=False``: plain ODE inversion and
    sampling (gamma = eta = 0)."""
    sigmas = reference_sigmas(name, RF["steps"], flow_shift=RF["flow_shift"])
    param = PARAMS[name]
    unconditional = count(models.unconditional(name))
    edit = count(models.prompt(name, colour=target_colour))
    gamma, eta, eta_stop = (RF["gamma"], RF["eta"], RF["eta_stop"]) if controlled else (0.0, 0.0, None)
    inverted = rf_invert(unconditional, x0, sigmas, param, gamma=gamma, seed=seed)
    return rf_edit(edit, inverted, x0, sigmas, param, eta=eta, eta_stop=eta_stop, stochastic=stochastic, seed=seed)


def cell_point(world: ShapeWorld, scene: Scene) -> tuple[int, int]:
    """The pixel (= latent cell) at the centre of a scene's grid cell, (x, y)."""
    return tuple(round(v) for v in world.centre(scene.row, scene.col))


def drag_move(models: Models, name, x0, source: Scene, target: Scene, *, eta, seed, count):
    """SDE-Drag (eta 1) / ODE-Drag (eta 0) of the shape's cell centre to the target cell's, one sub-drag,
    guided by the scene's shape and colour (CFG 3 at t0, 1 at the last step)."""
    sigmas = reference_sigmas(name, DRAG["steps"], DRAG["t0"])
    guided = count(models.guided(name, shape=source.shape, colour=source.colour))
    settings = DragSettings(eta=eta, subdrag_step=DRAG["subdrag_step"], cfg=DRAG["cfg"])
    pairs = [(cell_point(models.world, source), cell_point(models.world, target))]
    return sde_drag(guided, x0, sigmas, PARAMS[name], pairs, settings=settings, seed=seed)


def inpaint(models: Models, name, x0, mask, *, eta, seed, count):
    """SDE (eta 1) / ODE (eta 0) inpainting of ``mask`` (1 = fill) with the unconditional model."""
    sigmas = reference_sigmas(name, INPAINT["steps"])
    return sde_inpaint(count(models.unconditional(name)), x0, sigmas, PARAMS[name], mask, eta=eta, seed=seed)


# --------------------------------------------------------------------------------------------- ground truth
@dataclass(frozen=True)
class Case:
    """One benchmark case: a source scene and either a target scene (recolour, move) or a half to fill."""

    source: Scene
    target: Scene | None = None
    side: str | None = None        # inpainting: "left" or "right"


def inpaint_cases(world: ShapeWorld, n: int, seed: int = 0) -> list[Case]:
    """``n`` seeded inpainting cases: a scene and the half (left or right) to fill."""
    rng = random.Random(seed)
    return [Case(rng.choice(world.scenes), side=rng.choice(("left", "right"))) for _ in range(n)]


def half_mask(size: int, side: str) -> torch.Tensor:
    """[1, 1, size, size], 1 on the ``side`` half (the region to fill)."""
    mask = torch.zeros(1, 1, size, size)
    if side == "left":
        mask[..., : size // 2] = 1.0
    elif side == "right":
        mask[..., size // 2:] = 1.0
    else:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return mask


def foreground(image: torch.Tensor) -> torch.Tensor:
    """[H, W] bool: pixels that are not background."""
    background = torch.tensor(BACKGROUND, dtype=image.dtype).view(3, 1, 1)
    return (image != background).any(0)


def consistent_scenes(world: ShapeWorld, source: torch.Tensor, mask: torch.Tensor) -> list[int]:
    """Indices of the scenes equal to ``source`` on the known region (``mask`` == 0)."""
    known = (mask.reshape(mask.shape[-2:]) == 0)
    differs = (world.images - source.to(world.images.dtype)).abs()[:, :, known].amax(dim=(1, 2))
    return [int(i) for i in torch.nonzero(differs < 1e-6).flatten()]


def truths(world: ShapeWorld, case: Case) -> list[int]:
    """Indices of the ground-truth scenes of a case."""
    if case.side is not None:
        return consistent_scenes(world, world.image(case.source), half_mask(world.size, case.side))
    return [world.scenes.index(case.target)]


def unchanged_region(world: ShapeWorld, case: Case) -> torch.Tensor:
    """[H, W] bool: the pixels the edit must leave as in the source (see the module docstring)."""
    source = world.image(case.source)
    if case.side is not None:
        return half_mask(world.size, case.side)[0, 0] == 0
    target = world.image(case.target)
    if case.source.row == case.target.row and case.source.col == case.target.col:   # recolour
        return (source == target).all(0)
    return ~foreground(source) & ~foreground(target)                                   # move


@dataclass(frozen=True)
class Score:
    success: bool
    rms_truth: float
    rms_outside: float
    nearest: Scene


def rms(a: torch.Tensor, b: torch.Tensor, region: torch.Tensor | None = None) -> float:
    """RMS of a - b over all channels of the pixels in ``region`` ([H, W] bool; all pixels if None)."""
    diff = (a.double() - b.double()) ** 2
    return float((diff if region is None else diff[:, region]).mean().sqrt())


def score(world: ShapeWorld, case: Case, result: torch.Tensor) -> Score:
    """Scores of one edited image [3, H, W] (module docstring)."""
    indices = truths(world, case)
    nearest, distance = world.nearest(result)
    success = world.scenes.index(nearest) in indices and distance < SUCCESS_RMS
    rms_truth = min(rms(result, world.images[i]) for i in indices)
    return Score(bool(success), rms_truth, rms(result, world.image(case.source), unchanged_region(world, case)),
                 nearest)


# --------------------------------------------------------------------------------------------- runtime
@contextmanager
def torch_threads(threads: int):
    """Run with ``threads`` intra-op threads (0: leave torch's setting), restored afterwards.

    The work is tens of thousands of tiny tensor ops, where thread hand-off dominates: on a 2-core machine
    one thread ran the benchmark in 27 s against 37 s with two, and up to 7x faster when the machine was
    loaded, hence the CLIs' default of 1. The scores do not depend on it.
    """
    previous = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Progress:
    """A progress line on stderr: redrawn in place on a terminal, else a line every ``every`` seconds."""

    def __init__(self, total: int, name: str, stream=None, every: float = 10.0, width: int = 24):
        self.total, self.name, self.done, self.width, self.every = total, name, 0, width, every
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = self.last = time.perf_counter()

    def advance(self, n: int = 1, what: str = "") -> None:
        self.done += n
        now = time.perf_counter()
        if self.tty or now - self.last >= self.every or self.done >= self.total:
            self.last = now
            self._draw(what, now)

    def _draw(self, what: str, now: float) -> None:
        filled = int(self.width * self.done / max(self.total, 1))
        line = (f"[{self.name}] [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{now - self.start:6.1f} s  {what}")
        if self.tty:
            self.stream.write("\r" + line[:119].ljust(119))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> float:
        elapsed = time.perf_counter() - self.start
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
        return elapsed


# --------------------------------------------------------------------------------------------- drawing
def draw_drag_arrow(draw, source, target, scale: int) -> None:
    """A white arrow from pixel ``source`` to pixel ``target`` (x, y) of an image drawn ``scale`` times enlarged,
    with a ring at the source."""
    p, q = [((x + 0.5) * scale, (y + 0.5) * scale) for x, y in (source, target)]
    draw.line([p, q], fill=(255, 255, 255), width=2)
    dx, dy = q[0] - p[0], q[1] - p[1]
    length = max((dx * dx + dy * dy) ** 0.5, 1e-6)
    ux, uy = dx / length, dy / length
    head = [q, (q[0] - 10 * ux + 5 * uy, q[1] - 10 * uy - 5 * ux), (q[0] - 10 * ux - 5 * uy, q[1] - 10 * uy + 5 * ux)]
    draw.polygon(head, fill=(255, 255, 255))
    draw.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], outline=(255, 255, 255))


def to_pil(image: torch.Tensor, scale: int = 4):
    """An image [3, H, W] in [-1, 1] as an RGB PIL image upscaled ``scale`` x (nearest)."""
    from PIL import Image

    pixels = ((image.detach().double().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    picture = Image.fromarray(pixels.permute(1, 2, 0).contiguous().numpy(), "RGB")
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)


def contact_sheet(column_titles: list[str], rows: list[tuple[list[str], list]], *, label_width: int = 230,
                  pad: int = 6, header: int = 22, line_height: int = 13):
    """A grid of equally sized PIL tiles: ``rows`` = [(label lines, tiles)], titles above the columns."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    tile_w, tile_h = rows[0][1][0].size
    width = label_width + len(column_titles) * (tile_w + pad) + pad
    height = header + len(rows) * (tile_h + pad) + pad
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for j, title in enumerate(column_titles):
        draw.text((label_width + pad + j * (tile_w + pad), 5), title, fill=(0, 0, 0), font=font)
    for i, (lines, tiles) in enumerate(rows):
        top = header + pad + i * (tile_h + pad)
        for k, line in enumerate(lines):
            draw.text((pad, top + 4 + k * line_height), line, fill=(0, 0, 0) if k == 0 else (90, 90, 90), font=font)
        for j, tile in enumerate(tiles):
            sheet.paste(tile, (label_width + pad + j * (tile_w + pad), top))
    return sheet


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A padded markdown table (the same text is printed and written)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])
