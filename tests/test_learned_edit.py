"""Core tier: the instruction-edit task of the learned world (bench/learned_edit.py): its training pairs are
misaligned and colour-cast as stated, its held-out cases change what they ask, and the edit model's denoiser
takes its reference in both CFG branches."""
import math
from dataclasses import replace

import pytest
import torch

from bench import learned_edit, learned_models
from bench.learned_edit import INSTRUCTIONS, NULL_INSTRUCTION
from bench.learned_world import detect, random_scene, render


def pairs(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [learned_edit.training_pair(generator) for _ in range(n)]


def test_a_whole_picture_shift_moves_object_and_background_alike():
    scene = random_scene(torch.Generator().manual_seed(1))
    assert torch.equal(render(scene, (0.0, 0.0)), render(scene))
    moved = render(scene, (2.0, -1.0))
    assert torch.allclose(moved[:, 4:-4, 4:-4], torch.roll(render(scene), (-1, 2), dims=(1, 2))[:, 4:-4, 4:-4],
                          atol=1e-6)


def test_training_pairs_are_misaligned_by_at_most_two_pixels_and_cast_slightly():
    shifts, casts = [], []
    for reference, target, index in pairs(160):
        if INSTRUCTIONS[index] != "keep":
            continue
        source, edited = detect(reference), detect(target)
        assert source.found and edited.found
        shifts.append(math.hypot(edited.cx - source.cx, edited.cy - source.cy))
        background = ~(source.mask | edited.mask)
        casts.append(((target - reference)[:, background].median(dim=1).values.abs().max()).item())
    assert len(shifts) >= 12
    assert max(shifts) <= 2.0 + 0.35  # 0-2 px (issue 19), plus the detector's centroid error at edges
    assert max(shifts) > 1.0 and min(shifts) < 0.7  # drawn over the whole 0-2 px range
    # a cast of at most 0.03 per channel in [0, 1] units, 0.06 in the images' [-1, 1]; a shifted gradient
    # background adds a little
    assert max(casts) <= 0.06 + 0.03 and max(casts) > 0.03


def test_training_targets_carry_out_their_instruction():
    done = {"recolour": [], "reshape": []}
    generator = torch.Generator().manual_seed(2)
    for reference, target, index in pairs(120, seed=3):
        instruction = INSTRUCTIONS[index]
        verb = instruction.split(" ")[0]
        if verb == "keep":
            continue
        source = detect(reference)
        scene = replace(random_scene(generator), shape=source.shape, colour=source.colour)  # as read
        done[verb].append(learned_edit.edit_reached(target, scene, instruction))
    for verb, values in done.items():
        assert len(values) >= 30 and sum(values) / len(values) >= 0.9, (verb, sum(values), len(values))


def test_held_out_edits_are_seeded_and_always_change_an_attribute():
    cases = learned_edit.held_out_edits(40, seed=5)
    assert cases == learned_edit.held_out_edits(40, seed=5)
    for index, (scene, instruction) in enumerate(cases):
        verb, _, value = instruction.partition(" ")
        assert verb == ("recolour" if index % 2 == 0 else "reshape")
        assert value != (scene.colour if verb == "recolour" else scene.shape)
        assert not learned_edit.edit_reached(render(scene), scene, instruction)
        assert learned_edit.edit_reached(render(learned_edit.edited_scene(scene, instruction,
                                                                          torch.Generator().manual_seed(0))),
                                         scene, instruction)


def test_training_batches_drop_instructions_to_the_empty_prompt():
    references, targets, ids = learned_edit.batch(torch.Generator().manual_seed(0), 400)
    assert references.shape == targets.shape == (400, 3, 24, 24)
    dropped = float((ids == NULL_INSTRUCTION).float().mean())
    assert 0.10 < dropped < 0.20  # INSTRUCTION_DROPOUT = 0.15
    assert set(ids.tolist()) == set(range(len(INSTRUCTIONS) + 1))


def test_the_edit_denoiser_sees_its_reference_in_both_cfg_branches():
    torch.manual_seed(0)
    unet = learned_models.build_unet("edit").eval()
    with pytest.raises(ValueError, match="^reference: an edit model needs its reference images"):
        learned_models.LearnedDenoiser(unet, "edit", 1, 3.0)
    with pytest.raises(ValueError, match="^reference: "):
        learned_models.LearnedDenoiser(unet, "flow", 1, 3.0, torch.zeros(1, 3, 24, 24))
    seen = []
    original_forward = unet.forward
    unet.forward = lambda sample, *args, **kwargs: (seen.append(sample[:, 3:].clone()),
                                                    original_forward(sample, *args, **kwargs))[1]
    reference = torch.randn(2, 3, 24, 24)
    denoiser = learned_models.LearnedDenoiser(unet, "edit", torch.tensor([1, 2]), 3.0, reference)
    x = torch.randn(2, 3, 24, 24)
    out = denoiser(x, torch.full((2,), 0.5))
    assert out.shape == x.shape and denoiser.calls == 1
    (inputs,) = seen
    assert torch.equal(inputs, torch.cat([reference, reference]))
    denoiser(torch.cat([x, x]), torch.full((4,), 0.5))  # a batched call (SDE-Drag's current + recorded states)
    assert torch.equal(seen[1], torch.cat([reference, reference, reference, reference]))
