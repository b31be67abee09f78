"""Core tier: SDE against ODE inpainting (Nie et al. 2311.01410, Table 2) on exact analytic denoisers."""
import random

import pytest
import torch

from sde_edit.samplers import EPS, FLOW, InputError
from sde_edit.testing.schedules import flow_schedule, sd_uniform_schedule
from sde_edit.samplers.sde_inpaint import sde_inpaint


def test_sde_inpainting_is_closer_to_valid_images_than_ode(world, capsys):
    """Inpaint the left half of shape-world scenes (no prompt) with the same step count; the metric is the
    RMS distance of the result to the nearest scene of the data set."""
    rng = random.Random(0)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., :, :16] = 1.0
    report = []
    for name, steps in [("eps", 10), ("flow", 10)]:
        param = EPS if name == "eps" else FLOW
        sigmas = sd_uniform_schedule(steps) if name == "eps" else flow_schedule(steps)
        scenes = [rng.choice(world.scenes) for _ in range(20)]
        distance = {}
        for eta in (1.0, 0.0):
            distances = []
            for seed, scene in enumerate(scenes):
                out = sde_inpaint(world.mixture().denoiser(param), world.image(scene)[None].float(), sigmas, param,
                                  mask, eta=eta, seed=seed)
                assert torch.equal(out[..., 16:], world.image(scene)[None, ..., 16:].float())
                distances.append(world.nearest(out[0])[1])
            distance[eta] = sum(distances) / len(distances)
        report.append(f"{name}: SDE {distance[1.0]:.4f} vs ODE {distance[0.0]:.4f}")
        assert distance[1.0] < distance[0.0]
    with capsys.disabled():
        print("\n[inpainting, mean distance to the nearest valid image, 10 steps, 20 cases] " + "; ".join(report))


def test_errors_are_named(mixture):
    x0, sigmas = torch.randn(1, 4, 8, 8), sd_uniform_schedule(20, 0.7)
    denoiser = mixture.denoiser(EPS)
    with pytest.raises(InputError, match="mask: inpainting needs a mask"):
        sde_inpaint(denoiser, x0, sigmas, EPS, None)
    with pytest.raises(InputError, match="mask: shape"):
        sde_inpaint(denoiser, x0, sigmas, EPS, torch.ones(1, 1, 4, 8))
    with pytest.raises(InputError, match="mask: nothing is editable .* An unpainted LoadImage mask is all 0"):
        sde_inpaint(denoiser, x0, sigmas, EPS, torch.zeros(1, 1, 8, 8))
    with pytest.raises(InputError, match="eta: must lie in"):
        sde_inpaint(denoiser, x0, sigmas, EPS, torch.ones(1, 1, 8, 8), eta=2.0)
