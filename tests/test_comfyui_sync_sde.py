"""ComfyUI tier, in-process: sync-SDE guider/sampler/all-in-one and the SDE inpainting sampler."""
import os

import pytest
import torch

from conftest import custom_advanced, rel_err

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    from comfy_extras import nodes_custom_sampler as custom

    from sde_edit.nodes import sde_inpaint, sync_sde
    from sde_edit.samplers import InputError


def run_sampler(guider, sampler, sigmas, latent):
    return custom_advanced(guider, sampler, sigmas, latent)["samples"]


def sync_guider(model, source, target, cfg, **negatives):
    return harness.call_node(sync_sde.SyncSDEGuiderNode, model=model, source=source, target=target,
                             source_cfg=cfg, target_cfg=cfg, **negatives)[0]


def split_sigmas(model, scheduler, steps, start):
    sigmas = harness.call_node(custom.BasicScheduler, model=model, scheduler=scheduler, steps=steps, denoise=1.0)[0]
    return sigmas[start:]


@pytest.mark.parametrize("discretisation", ["ddpm", "rectified"])
def test_flux_same_prompt_is_exact_and_edits_differ(discretisation):
    flux = harness.tiny_flux_model()
    sigmas = split_sigmas(flux, "simple", 8, 2)
    latent = {"samples": torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(0))}
    sampler = harness.call_node(sync_sde.SyncSDESamplerNode, discretisation=discretisation, seed=3)[0]
    source, target = harness.flux_conditioning(0), harness.flux_conditioning(1)
    same = run_sampler(sync_guider(flux, source, source, 1.0), sampler, sigmas, latent)
    assert rel_err(same, latent["samples"]) <= 1e-5
    edited = run_sampler(sync_guider(flux, source, target, 1.0), sampler, sigmas, latent)
    assert rel_err(edited, latent["samples"]) > 1e-5


def test_two_forward_passes_per_step_and_true_cfg_negative_takes_effect(sd_model):
    counter = harness.ModelPassCounter(sd_model)
    sigmas = split_sigmas(sd_model, "normal", 6, 2)
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    sampler = harness.call_node(sync_sde.SyncSDESamplerNode, discretisation="ddpm", seed=0)[0]
    source, target = harness.sd2_conditioning(0), harness.sd2_conditioning(1)
    plain = run_sampler(sync_guider(counter.model, source, target, 5.0), sampler, sigmas, latent)
    assert counter.calls == 2 * 4  # a CFG pair is one batched forward pass
    negative = harness.sd2_conditioning(7)
    with_negative = run_sampler(sync_guider(counter.model, source, target, 5.0, target_negative=negative),
                                sampler, sigmas, latent)
    assert rel_err(with_negative, plain) > 1e-3


def test_sync_sampler_needs_the_sync_guider(sd_model):
    sigmas = split_sigmas(sd_model, "normal", 6, 2)
    guider = harness.call_node(custom.CFGGuider, model=sd_model, positive=harness.sd2_conditioning(0),
                               negative=harness.sd2_conditioning(1), cfg=2.0)[0]
    sampler = harness.call_node(sync_sde.SyncSDESamplerNode, discretisation="ddpm", seed=0)[0]
    with pytest.raises(InputError, match="guider: the sync-SDE sampler needs the sync-SDE Guider"):
        run_sampler(guider, sampler, sigmas, {"samples": torch.randn(1, 4, 8, 8)})
    rectified = harness.call_node(sync_sde.SyncSDESamplerNode, discretisation="rectified", seed=0)[0]
    source = harness.sd2_conditioning(0)
    with pytest.raises(InputError, match="discretisation: 'rectified' is the rectified-flow SDE"):
        run_sampler(sync_guider(sd_model, source, source, 1.0), rectified, sigmas, {"samples": torch.randn(1, 4, 8, 8)})


def test_all_in_one_with_mask(sd_model):
    samples = torch.randn(1, 4, 8, 8)
    mask = torch.zeros(1, 8, 8)
    mask[:, 2:6, 2:6] = 1.0
    args = dict(model=sd_model, source=harness.sd2_conditioning(0), latent={"samples": samples, "noise_mask": mask},
                steps=6, start_step=2, source_cfg=4.0, target_cfg=4.0, scheduler="normal", discretisation="ddpm",
                seed=1)
    same = harness.call_node(sync_sde.SyncSDEEditNode, target=harness.sd2_conditioning(0), **args)[0]["samples"]
    assert rel_err(same, samples) <= 1e-5
    edited = harness.call_node(sync_sde.SyncSDEEditNode, target=harness.sd2_conditioning(1), **args)[0]["samples"]
    outside = (mask == 0).expand_as(samples[0])[None]
    assert rel_err(edited[outside], samples[outside]) <= 1e-5
    assert rel_err(edited[~outside], samples[~outside]) > 1e-3
    with pytest.raises(InputError, match=r"start_step: must lie in \[0, 5\]"):
        harness.call_node(sync_sde.SyncSDEEditNode, target=harness.sd2_conditioning(1), **{**args, "start_step": 6})


@pytest.mark.parametrize("eta", [1.0, 0.0])
def test_inpaint_sampler_keeps_the_unmasked_area(sd_model, eta):
    samples = torch.randn(1, 4, 8, 8)
    mask = torch.zeros(1, 8, 8)
    mask[:, :, :4] = 1.0
    guider = harness.call_node(custom.CFGGuider, model=sd_model, positive=harness.sd2_conditioning(0),
                               negative=harness.sd2_conditioning(1), cfg=3.0)[0]
    sigmas = split_sigmas(sd_model, "normal", 5, 0)
    sampler = harness.call_node(sde_inpaint.SDEInpaintSamplerNode, eta=eta, seed=0)[0]
    out = run_sampler(guider, sampler, sigmas, {"samples": samples, "noise_mask": mask})
    assert rel_err(out[..., 4:], samples[..., 4:]) <= 1e-5
    assert rel_err(out[..., :4], samples[..., :4]) > 1e-2
    with pytest.raises(InputError, match="latent: the SDE inpainting sampler needs a noise_mask"):
        run_sampler(guider, sampler, sigmas, {"samples": samples})


def test_differential_diffusion_is_refused_by_name(sd_model):
    """Core applies Differential Diffusion's per-step mask only inside its own inpainting wrapper; the pack's
    samplers would silently use the plain mask, so they refuse the patch instead."""
    from comfy_extras.nodes_differential_diffusion import DifferentialDiffusion
    patched = harness.call_node(DifferentialDiffusion, model=sd_model)[0]
    samples = torch.randn(1, 4, 8, 8)
    mask = torch.zeros(1, 8, 8)
    mask[:, :, :4] = 1.0
    guider = harness.call_node(custom.CFGGuider, model=patched, positive=harness.sd2_conditioning(0),
                               negative=harness.sd2_conditioning(1), cfg=3.0)[0]
    sampler = harness.call_node(sde_inpaint.SDEInpaintSamplerNode, eta=1.0, seed=0)[0]
    with pytest.raises(InputError, match=r"model: a per-step mask patch \(Differential Diffusion\)"):
        run_sampler(guider, sampler, split_sigmas(patched, "normal", 5, 0), {"samples": samples, "noise_mask": mask})
