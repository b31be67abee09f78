"""The instruction-edit task of ``learned_world``: a reference image and an instruction in, the edited image out,
with training pairs made as the real edit models' were (issue 19).

Instructions (``INSTRUCTIONS``): ``keep``, ``recolour <colour>`` (one per named colour) and ``reshape <shape>``
(one per shape class); the id ``NULL_INSTRUCTION`` is the empty prompt, for classifier-free guidance.

A training pair (``training_pair``) is a random scene as the reference and, as the target, the same scene with
the instruction applied (a recoloured object gets that colour with the world's RGB jitter; a reshaped one keeps
its centre and half-size), then

* shifted as a whole, object and background, by ``MAX_SHIFT`` px at most, in a random direction (the
  misaligned pairs behind Qwen-Image-Edit's pixel shift, Qwen-Image#160), and
* given a colour cast of up to ``COLOUR_JITTER`` per channel (the colour drift of Qwen-Image#274).

So a model trained on them learns to shift and to drift a little on every edit, as the real ones do; the pack's
methods keep the source outside a mask, which is what the benchmark measures.
"""
from __future__ import annotations

import math
from dataclasses import replace

import torch

from .learned_world import COLOURS, SHAPES, Scene, detect, random_scene, render

INSTRUCTIONS = ("keep",) + tuple(f"recolour {colour}" for colour in COLOURS) + tuple(
    f"reshape {shape}" for shape in SHAPES)
NULL_INSTRUCTION = len(INSTRUCTIONS)
MAX_SHIFT = 2.0       # pixels, the largest misalignment of a training pair
COLOUR_JITTER = 0.03  # largest colour cast per channel, in [0, 1] units
INSTRUCTION_DROPOUT = 0.15


def instruction_id(text: str) -> int:
    return INSTRUCTIONS.index(text)


def edited_scene(scene: Scene, instruction: str, generator: torch.Generator) -> Scene:
    """``scene`` with ``instruction`` applied (a recolour draws the new colour's RGB jitter from ``generator``)."""
    verb, _, value = instruction.partition(" ")
    if verb == "keep":
        return scene
    if verb == "recolour":
        jitter = (torch.rand(3, generator=generator) * 0.16 - 0.08).tolist()
        return replace(scene, colour=value, rgb=tuple(min(max(c + j, 0.0), 1.0)
                                                      for c, j in zip(COLOURS[value], jitter)))
    return replace(scene, shape=value)


def training_pair(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(reference, target, instruction id): images [3, SIZE, SIZE] in [-1, 1], the target misaligned by up to
    ``MAX_SHIFT`` px and colour-cast by up to ``COLOUR_JITTER``."""
    scene = random_scene(generator)
    index = int(torch.randint(len(INSTRUCTIONS), (), generator=generator))
    target = edited_scene(scene, INSTRUCTIONS[index], generator)
    radius, angle = torch.rand(2, generator=generator).tolist()
    shift = (MAX_SHIFT * radius * math.cos(2 * math.pi * angle), MAX_SHIFT * radius * math.sin(2 * math.pi * angle))
    cast = (torch.rand(3, 1, 1, generator=generator) * 2 - 1) * COLOUR_JITTER * 2  # [0, 1] units -> [-1, 1]
    return render(scene), (render(target, shift) + cast).clamp(-1, 1), index


def batch(generator: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` fresh training pairs: references, targets [n, 3, SIZE, SIZE] and instruction ids [n], each dropped
    to ``NULL_INSTRUCTION`` with probability ``INSTRUCTION_DROPOUT``."""
    references, targets, ids = zip(*(training_pair(generator) for _ in range(n)))
    ids = torch.tensor(ids)
    drop = torch.rand(n, generator=generator) < INSTRUCTION_DROPOUT
    return torch.stack(references), torch.stack(targets), torch.where(drop, NULL_INSTRUCTION, ids)


def held_out_edits(n: int, seed: int) -> list[tuple[Scene, str]]:
    """``n`` seeded (source scene, instruction) cases that change something: a recolour to another colour or a
    reshape to another shape, alternating."""
    generator = torch.Generator().manual_seed(seed)
    cases = []
    for index in range(n):
        scene = random_scene(generator)
        if index % 2 == 0:
            others = [colour for colour in COLOURS if colour != scene.colour]
            instruction = f"recolour {others[int(torch.randint(len(others), (), generator=generator))]}"
        else:
            others = [shape for shape in SHAPES if shape != scene.shape]
            instruction = f"reshape {others[int(torch.randint(len(others), (), generator=generator))]}"
        cases.append((scene, instruction))
    return cases


def edit_reached(image: torch.Tensor, scene: Scene, instruction: str) -> bool:
    """Whether the detector reads ``instruction`` done on ``scene`` in ``image``: the asked colour (shape) with
    the source's shape (colour) kept."""
    found = detect(image)
    verb, _, value = instruction.partition(" ")
    if not found.found:
        return False
    if verb == "recolour":
        return found.colour == value and found.shape == scene.shape
    if verb == "reshape":
        return found.shape == value and found.colour == scene.colour
    return found.shape == scene.shape and found.colour == scene.colour
