"""A world that a model cannot memorise: one shape with continuous factors on a plain or gradient background,
with the factors of every image kept, and a detector in code that reads them back.

Factors (``Scene``): shape class (circle, square, triangle), centre anywhere the shape fits, half-size, colour
(one of four named colours, its RGB jittered), background (a plain dark level or a linear gradient between two
dark colours in a random direction). Images are ``[3, SIZE, SIZE]`` in [-1, 1], anti-aliased by 4x4
supersampling. A label is (shape, colour, coarse position: the 3x3 cell of the centre), one class id of
``NUM_CLASSES``; the id ``NULL_CLASS`` is the empty prompt.

The detector (``detect``) fits the background as a linear gradient to the image's border, takes the pixels far
from it as the object, and reads its centroid, size, colour (nearest named colour of the object's core) and
shape class (the rendered shape of that centroid and area that overlaps it most).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

SIZE = 24
SHAPES = ("circle", "square", "triangle")
COLOURS = {"red": (0.85, 0.15, 0.15), "green": (0.15, 0.8, 0.2), "blue": (0.2, 0.3, 0.9),
           "yellow": (0.9, 0.85, 0.15)}
CELLS = 3
NUM_CLASSES = len(SHAPES) * len(COLOURS) * CELLS * CELLS
NULL_CLASS = NUM_CLASSES
SUPERSAMPLE = 4
OBJECT_THRESHOLD = 0.35  # RGB distance from the fitted background that counts as object


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    cx: float                # centre, pixels (x to the right, y down)
    cy: float
    half: float              # half-size: circle radius, square half-side, triangle half-base
    rgb: tuple[float, float, float]
    background: tuple[tuple[float, float, float], tuple[float, float, float], float]  # colour at 0, at 1, angle

    @property
    def centroid(self) -> tuple[float, float]:
        """The shape's centre of area (a triangle's lies a third of its half-size below its box centre)."""
        return self.cx, self.cy + (self.half / 3 if self.shape == "triangle" else 0.0)

    @property
    def cell(self) -> tuple[int, int]:
        return cell_of(*self.centroid)

    @property
    def label(self) -> int:
        return label_of(self.shape, self.colour, self.cell)


def cell_of(x: float, y: float) -> tuple[int, int]:
    """The 3x3 cell (column, row) of a point: the coarse position of a label."""
    return min(max(int(x * CELLS / SIZE), 0), CELLS - 1), min(max(int(y * CELLS / SIZE), 0), CELLS - 1)


def label_of(shape: str, colour: str, cell: tuple[int, int]) -> int:
    col, row = cell
    return ((SHAPES.index(shape) * len(COLOURS) + list(COLOURS).index(colour)) * CELLS + row) * CELLS + col


def random_scene(generator: torch.Generator, shape: str | None = None, colour: str | None = None) -> Scene:
    def uniform(low, high):
        return low + (high - low) * float(torch.rand((), generator=generator))

    shape = shape or SHAPES[int(torch.randint(len(SHAPES), (), generator=generator))]
    colour = colour or list(COLOURS)[int(torch.randint(len(COLOURS), (), generator=generator))]
    half = uniform(0.13, 0.22) * SIZE
    cx, cy = uniform(half + 1, SIZE - 1 - half), uniform(half + 1, SIZE - 1 - half)
    rgb = tuple(min(max(c + uniform(-0.08, 0.08), 0.0), 1.0) for c in COLOURS[colour])
    low = uniform(0.02, 0.25)
    start = (low, low, low)
    if float(torch.rand((), generator=generator)) < 0.5:  # a plain background
        end = start
    else:  # a gradient between two dark colours
        end = tuple(uniform(0.02, 0.3) for _ in range(3))
    return Scene(shape, colour, cx, cy, half, rgb, (start, end, uniform(0, 2 * math.pi)))


def shape_mask(shape: str, cx: float, cy: float, half: float, size: int = SIZE, supersample: int = SUPERSAMPLE):
    """Coverage [size, size] in [0, 1] of a shape (the share of each pixel it covers)."""
    n = size * supersample
    coords = (torch.arange(n, dtype=torch.float64) + 0.5) / supersample
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    if shape == "circle":
        inside = (x - cx) ** 2 + (y - cy) ** 2 <= half**2
    elif shape == "square":
        inside = ((x - cx).abs() <= half) & ((y - cy).abs() <= half)
    else:  # an upright isosceles triangle of base 2 half and height 2 half, centred on (cx, cy)
        top, bottom = cy - half, cy + half
        width = (y - top) / (2 * half) * half
        inside = (y >= top) & (y <= bottom) & ((x - cx).abs() <= width)
    return inside.double().reshape(size, supersample, size, supersample).mean(dim=(1, 3))


def background_image(background, size: int = SIZE, shift: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
    """The background [3, size, size], its gradient moved by ``shift`` = (dx, dy) pixels."""
    start, end, angle = background
    pixels = torch.arange(size, dtype=torch.float64) + 0.5
    y, x = torch.meshgrid((pixels - shift[1]) / size, (pixels - shift[0]) / size, indexing="ij")
    ramp = ((x - 0.5) * math.cos(angle) + (y - 0.5) * math.sin(angle)) / math.sqrt(2) + 0.5
    start, end = torch.tensor(start, dtype=torch.float64), torch.tensor(end, dtype=torch.float64)
    return start[:, None, None] + (end - start)[:, None, None] * ramp[None]


def render(scene: Scene, shift: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
    """The scene as a [3, SIZE, SIZE] float32 image in [-1, 1]; ``shift`` = (dx, dy) moves the whole picture,
    object and background, by that many pixels (the misaligned pairs of ``learned_edit``)."""
    dx, dy = shift
    coverage = shape_mask(scene.shape, scene.cx + dx, scene.cy + dy, scene.half)[None]
    rgb = torch.tensor(scene.rgb, dtype=torch.float64)[:, None, None]
    image = background_image(scene.background, shift=shift) * (1 - coverage) + rgb * coverage
    return (image * 2 - 1).float()


def dataset(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[Scene]]:
    """``n`` seeded scenes: images [n, 3, SIZE, SIZE], labels [n], the scenes."""
    generator = torch.Generator().manual_seed(seed)
    scenes = [random_scene(generator) for _ in range(n)]
    return torch.stack([render(s) for s in scenes]), torch.tensor([s.label for s in scenes]), scenes


# ---- the detector ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Detection:
    found: bool
    shape: str | None = None
    colour: str | None = None
    cx: float = float("nan")
    cy: float = float("nan")
    size: float = 0.0            # sqrt of the object's area, pixels
    mask: torch.Tensor | None = None

    @property
    def cell(self) -> tuple[int, int] | None:
        return cell_of(self.cx, self.cy) if self.found else None


def fitted_background(image: torch.Tensor) -> torch.Tensor:
    """A linear gradient a + b x + c y per channel, least-squares fitted to the image's border pixels."""
    channels, height, width = image.shape
    y, x = torch.meshgrid(torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64),
                          indexing="ij")
    border = torch.zeros(height, width, dtype=torch.bool)
    border[0], border[-1], border[:, 0], border[:, -1] = True, True, True, True
    design = torch.stack([torch.ones_like(x), x, y], dim=-1)
    coefficients = torch.linalg.lstsq(design[border], image.double().reshape(channels, -1).T[border.flatten()]).solution
    return (design.reshape(-1, 3) @ coefficients).T.reshape(channels, height, width)


def detect(image: torch.Tensor) -> Detection:
    """Shape class, centroid, size and colour of the object in a [3, SIZE, SIZE] image in [-1, 1]."""
    pixels = (image.double().clamp(-1, 1) + 1) / 2
    distance = (pixels - fitted_background(pixels)).norm(dim=0)
    mask = distance > OBJECT_THRESHOLD
    area = int(mask.sum())
    if area < 4:
        return Detection(False, mask=mask)
    y, x = torch.nonzero(mask, as_tuple=True)
    cx, cy = float(x.double().mean()) + 0.5, float(y.double().mean()) + 0.5
    core = distance > max(OBJECT_THRESHOLD, 0.7 * float(distance[mask].max()))
    mean = pixels[:, core].mean(dim=1)
    colour = min(COLOURS, key=lambda name: float((mean - torch.tensor(COLOURS[name], dtype=torch.float64)).norm()))
    areas = {"circle": math.pi, "square": 4.0, "triangle": 2.0}  # area / half^2
    overlap = {}
    for shape, factor in areas.items():
        half = math.sqrt(area / factor)
        centre_y = cy - half / 3 if shape == "triangle" else cy  # a triangle's box centre lies above its centroid
        template = shape_mask(shape, cx, centre_y, half) > 0.5
        overlap[shape] = float((template & mask).sum()) / float((template | mask).sum())
    return Detection(True, max(overlap, key=overlap.get), colour, cx, cy, math.sqrt(area), mask)


def background_rms(result: torch.Tensor, source: torch.Tensor) -> float:
    """RMS of the result against the source over the pixels that are background in both."""
    keep = ~(detect(result).mask | detect(source).mask)
    return float((result - source)[:, keep].pow(2).mean().sqrt())


def moved(scene: Scene, dx: float, dy: float) -> Scene:
    return replace(scene, cx=scene.cx + dx, cy=scene.cy + dy)
