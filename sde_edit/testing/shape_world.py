"""A procedural image set with labels: one coloured shape on a plain background.

Every combination of shape x colour x grid position is in the set, so every edit has an exact ground
truth (the same scene with the shape moved or recoloured), and the exact empirical denoiser of
``analytic.empirical`` serves it. Images are [3, size, size] in [-1, 1], like decoded VAE images.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import torch

from .analytic import GaussianMixture, empirical

SHAPES = ("circle", "square", "triangle")
# Colours close to each other and far from the background: recolouring a shape in place is then the
# nearest change in L2 (a red -> blue swap costs 1.28 per pixel, moving a shape >= 10), so a colour
# edit has one well-defined ground truth and the exact denoiser's posterior respects it.
COLOURS = {"red": (0.9, 0.1, 0.1), "green": (0.1, 0.9, 0.1), "blue": (0.1, 0.1, 0.9), "yellow": (0.9, 0.9, 0.1)}
BACKGROUND = (-0.9, -0.9, -0.9)


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    row: int
    col: int


class ShapeWorld:
    """All scenes on a ``grid`` x ``grid`` lattice of positions in ``size`` x ``size`` images."""

    def __init__(self, size: int = 32, grid: int = 3, radius: int | None = None):
        self.size, self.grid = size, grid
        self.radius = radius if radius is not None else max(2, size // (2 * grid) - 1)
        self.scenes = [Scene(s, c, r, q) for s, c, r, q in
                       itertools.product(SHAPES, COLOURS, range(grid), range(grid))]
        self.images = torch.stack([self.render(scene) for scene in self.scenes])
        self._index = {scene: i for i, scene in enumerate(self.scenes)}

    def centre(self, row: int, col: int) -> tuple[float, float]:
        """Pixel centre (x, y) of a grid cell."""
        cell = self.size / self.grid
        return (col + 0.5) * cell - 0.5, (row + 0.5) * cell - 0.5

    def render(self, scene: Scene) -> torch.Tensor:
        ys, xs = torch.meshgrid(torch.arange(self.size, dtype=torch.float64),
                                torch.arange(self.size, dtype=torch.float64), indexing="ij")
        cx, cy = self.centre(scene.row, scene.col)
        dx, dy, r = xs - cx, ys - cy, self.radius
        if scene.shape == "circle":
            inside = dx**2 + dy**2 <= r**2
        elif scene.shape == "square":
            inside = (dx.abs() <= r * 0.85) & (dy.abs() <= r * 0.85)
        else:  # triangle pointing up
            inside = (dy <= r) & (dy >= -r) & (dx.abs() <= (dy + r) / 2)
        image = torch.tensor(BACKGROUND, dtype=torch.float64).view(3, 1, 1).repeat(1, self.size, self.size)
        colour = torch.tensor(COLOURS[scene.colour], dtype=torch.float64).view(3, 1)
        image[:, inside] = colour
        return image

    def image(self, scene: Scene) -> torch.Tensor:
        return self.images[self._index[scene]]

    def select(self, **labels) -> torch.Tensor:
        """Boolean index of the scenes whose labels match, e.g. ``select(colour="red")``."""
        return torch.tensor([all(getattr(s, k) == v for k, v in labels.items()) for s in self.scenes])

    def mixture(self, **labels) -> GaussianMixture:
        """Empirical distribution of the matching scenes (all scenes without labels)."""
        data = empirical(self.images)
        return data.subset(self.select(**labels)) if labels else data

    def nearest(self, image: torch.Tensor) -> tuple[Scene, float]:
        """The closest scene to ``image`` and its RMS distance."""
        d = (self.images - image.to(torch.float64)).pow(2).flatten(1).mean(1)
        i = int(d.argmin())
        return self.scenes[i], float(d[i].sqrt())

    def recolour_cases(self, n: int, seed: int = 0) -> list[tuple[Scene, Scene]]:
        """``n`` seeded (source, ground truth) pairs: the same shape in the same cell, another colour."""
        rng = random.Random(seed)
        cases = []
        for _ in range(n):
            source = rng.choice(self.scenes)
            colour = rng.choice([c for c in COLOURS if c != source.colour])
            cases.append((source, Scene(source.shape, colour, source.row, source.col)))
        return cases

    def move_cases(self, n: int, seed: int = 0) -> list[tuple[Scene, Scene]]:
        """``n`` seeded (source, ground truth) pairs: the same shape and colour in another grid cell."""
        rng = random.Random(seed)
        cases = []
        for _ in range(n):
            source = rng.choice(self.scenes)
            row, col = rng.choice([(r, c) for r in range(self.grid) for c in range(self.grid)
                                   if (r, c) != (source.row, source.col)])
            cases.append((source, Scene(source.shape, source.colour, row, col)))
        return cases
