"""Exact Cycle-SDE reconstruction with random-weight real architectures (no downloads).

A tiny diffusers ``UNet2DConditionModel`` (as an EPS and as a V model on the SD discrete schedule) and a tiny
``FluxTransformer2DModel`` (flow, with 2x2 latent packing, img_ids/txt_ids) are wrapped as ComfyUI-unit
denoisers ``denoiser(x, sigma[B]) -> x0``, with classifier-free guidance run as one batched forward pass of 2B.

* Cycle-SDE (eta in {0.3, 1}) inversion followed by replay under the same denoiser returns the source latent
  exactly (the replay is in deviation form), with and without CFG.
* The eta = 0 baseline (DDIM inversion, then DDIM sampling) is not exact; its error is printed (pytest -s).
* A replay from a stored trajectory costs exactly one model forward pass per step, also for a different
  target denoiser.
"""
import math

import pytest
import torch
diffusers = pytest.importorskip("diffusers", reason="core tier needs diffusers (requirements-test.txt); ComfyUI venvs may lack it")
FluxTransformer2DModel = diffusers.FluxTransformer2DModel
UNet2DConditionModel = diffusers.UNet2DConditionModel

from conftest import max_rel_err
from bench.diffusers_denoisers import FluxDenoiser, UNetDenoiser, pack, sigma_to_timestep, unpack
from sde_edit.samplers import EPS, FLOW, cycle_sde_invert, cycle_sde_replay
from sde_edit.testing.schedules import flow_schedule, sd_uniform_schedule as sd_schedule

STEPS = 12
BATCH = 2
LATENT = (BATCH, 4, 8, 8)
TXT_LEN = 7
EMBED = 32

# --------------------------------------------------------------------------------------------- models
def tiny_unet() -> UNet2DConditionModel:
    torch.manual_seed(0)
    return UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
        cross_attention_dim=EMBED, attention_head_dim=8, norm_num_groups=8,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    ).eval()


def tiny_flux() -> FluxTransformer2DModel:
    torch.manual_seed(0)
    return FluxTransformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=EMBED, pooled_projection_dim=EMBED,
        guidance_embeds=False, axes_dims_rope=(4, 6, 6),
    ).eval()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The models are tiny: one intra-op thread is as fast, and immune to oversubscribed CI machines."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def unet():
    return tiny_unet()


@pytest.fixture(scope="module")
def flux():
    return tiny_flux()


class ForwardCounter:
    """Counts forward passes of a module (and records their batch sizes) via a pre-forward hook."""

    def __init__(self, module: torch.nn.Module):
        self.batches: list[int] = []
        self._handle = module.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs):
        x = args[0] if args else kwargs.get("sample", kwargs.get("hidden_states"))
        self.batches.append(int(x.shape[0]))

    @property
    def calls(self) -> int:
        return len(self.batches)

    def reset(self):
        self.batches.clear()

    def close(self):
        self._handle.remove()


def make_setup(kind: str, unet, flux, cfg: float, cond_seed: int = 1):
    """(model, denoiser, parameterization, schedule, source latent) for 'eps', 'v' or 'flow'."""
    gen = torch.Generator().manual_seed(cond_seed)
    cond = torch.randn(BATCH, TXT_LEN, EMBED, generator=gen)
    if kind == "flow":
        pooled = torch.randn(BATCH, EMBED, generator=gen)
        uncond = torch.randn(BATCH, TXT_LEN, EMBED, generator=torch.Generator().manual_seed(0))
        uncond_pooled = torch.zeros(BATCH, EMBED)
        return flux, FluxDenoiser(flux, cond, pooled, uncond, uncond_pooled, cfg), FLOW, flow_schedule(STEPS)
    return unet, UNetDenoiser(unet, kind, cond, cfg=cfg), EPS, sd_schedule(STEPS)


def source_latent(seed: int = 123) -> torch.Tensor:
    return torch.randn(LATENT, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------------------------- tests
def test_wrappers_are_real_models(unet, flux):
    """Sanity: packing round-trips, schedules have STEPS steps, and every denoiser's output depends on the
    latent, the noise level and the conditioning (so exact reconstruction below is not a trivial identity)."""
    x = source_latent()
    assert torch.equal(unpack(pack(x), x.shape), x)
    assert len(sd_schedule(STEPS)) == len(flow_schedule(STEPS)) == STEPS + 1
    assert sigma_to_timestep(torch.tensor(sd_schedule(STEPS)[:-1])).tolist() == \
        torch.linspace(999, 0, STEPS).round().long().tolist()
    for kind in ("eps", "v", "flow"):
        for cfg in (1.0, 7.5):
            _, den, param, sigmas = make_setup(kind, unet, flux, cfg)
            _, other, _, _ = make_setup(kind, unet, flux, cfg, cond_seed=2)
            s = torch.full((BATCH,), sigmas[3])
            xs = param.add_noise(x, torch.randn_like(x), sigmas[3])
            a = den(xs, s)
            assert a.shape == x.shape and torch.isfinite(a).all()
            assert max_rel_err(den(xs, torch.full((BATCH,), sigmas[5])), a) > 1e-3
            assert max_rel_err(other(xs, s), a) > 1e-4
            assert max_rel_err(den(xs + 0.1 * torch.randn_like(xs), s), a) > 1e-3


@pytest.mark.parametrize("cfg", [1.0, 7.5])
@pytest.mark.parametrize("eta", [0.3, 1.0])
@pytest.mark.parametrize("kind", ["eps", "v", "flow"])
def test_cycle_sde_reconstruction_is_exact(kind, eta, cfg, unet, flux):
    model, den, param, sigmas = make_setup(kind, unet, flux, cfg)
    x0 = source_latent()
    counter = ForwardCounter(model)
    try:
        traj = cycle_sde_invert(den, x0, sigmas, param, eta=eta, seed=5)
        assert counter.calls == STEPS
        assert max_rel_err(traj.start, x0) > 0.5  # the replay starts from (mostly) noise
        counter.reset()
        out = cycle_sde_replay(den, traj)
        assert counter.calls == STEPS
    finally:
        counter.close()
    err = max_rel_err(out, x0)
    print(f"\n[cycle-sde] {kind:4s} eta={eta} cfg={cfg}: relative reconstruction error {err:.3e}")
    assert err <= 1e-5


@pytest.mark.parametrize("cfg", [1.0, 7.5])
@pytest.mark.parametrize("kind", ["eps", "v", "flow"])
def test_ddim_inversion_baseline_is_not_exact(kind, cfg, unet, flux):
    _, den, param, sigmas = make_setup(kind, unet, flux, cfg)
    x0 = source_latent()
    traj = cycle_sde_invert(den, x0, sigmas, param, eta=0.0)
    assert traj.source_means is None
    out = cycle_sde_replay(den, traj)
    err = max_rel_err(out, x0)
    print(f"\n[eta=0 baseline] {kind:4s} cfg={cfg}: relative reconstruction error {err:.3e}")
    assert math.isfinite(err) and err > 1e-4


@pytest.mark.parametrize("kind", ["eps", "v", "flow"])
def test_replay_with_other_target_costs_one_forward_per_step(kind, unet, flux):
    cfg = 7.5
    model, source, param, sigmas = make_setup(kind, unet, flux, cfg, cond_seed=1)
    _, target, _, _ = make_setup(kind, unet, flux, cfg, cond_seed=2)
    x0 = source_latent()
    counter = ForwardCounter(model)
    try:
        traj = cycle_sde_invert(source, x0, sigmas, param, eta=1.0, seed=11)
        assert counter.batches == [2 * BATCH] * STEPS  # CFG: one batched pass (2B) per step
        counter.reset()
        again = cycle_sde_replay(source, traj)
        assert counter.calls == STEPS
        counter.reset()
        edited = cycle_sde_replay(target, traj)
        assert counter.batches == [2 * BATCH] * STEPS
    finally:
        counter.close()
    assert max_rel_err(again, x0) <= 1e-5  # the stored trajectory is reusable
    assert torch.isfinite(edited).all()
    diff = max_rel_err(edited, x0)
    print(f"\n[edit] {kind:4s}: relative change under a different cond {diff:.3e}")
    assert diff > 1e-3
