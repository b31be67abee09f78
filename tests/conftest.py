"""Test setup, shared fixtures and helpers.

pytest puts the repository root on the path (``pythonpath`` in pyproject.toml), so the tests import the pack as
``sde_edit`` and the benchmarks as ``bench``, plainly. Test modules take the helpers below with
``from conftest import ...``.
"""
import os

import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if os.environ.get("COMFYUI_ROOT"):
        return
    skip = pytest.mark.skip(reason="ComfyUI tier: set COMFYUI_ROOT to a ComfyUI checkout to run it")
    for item in items:
        if "comfyui" in item.keywords:
            item.add_marker(skip)


# ---- helpers ---------------------------------------------------------------------------------------------

def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Relative L2 error of ``a`` against the reference ``b`` (in float64)."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a.double() - b.double()).norm() / b.double().norm())


def max_rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest absolute error of ``a`` relative to the largest magnitude of the reference ``b``."""
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def custom_advanced(guider, sampler, sigmas, latent: dict) -> dict:
    """ComfyUI tier: core SamplerCustomAdvanced with DisableNoise, in-process; returns its output LATENT."""
    import comfy_harness as harness
    from comfy_extras import nodes_custom_sampler as custom
    return harness.call_node(custom.SamplerCustomAdvanced, noise=harness.call_node(custom.DisableNoise)[0],
                             guider=guider, sampler=sampler, sigmas=sigmas, latent_image=latent)[0]


# ---- fixtures --------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def seeded_torch():
    """Every test starts from the same global torch seed: torch's default seed differs per process, so
    unseeded ``torch.randn`` inputs would otherwise change from run to run."""
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def mixture():
    """A 4-component Gaussian mixture of [4, 8, 8] latents, with its exact denoiser."""
    from sde_edit.testing.analytic import GaussianMixture
    generator = torch.Generator().manual_seed(0)
    return GaussianMixture(torch.randn(4, 4, 8, 8, generator=generator), [0.3, 0.5, 0.2, 0.4])


@pytest.fixture(scope="session")
def world():
    """The labelled shape world (32x32, every shape x colour on a 3x3 grid) with its exact denoisers."""
    from sde_edit.testing.shape_world import ShapeWorld
    return ShapeWorld(size=32, grid=3)


@pytest.fixture(scope="session")
def sd_model(tmp_path_factory):
    """ComfyUI tier: the tiny SD2 (EPS) checkpoint, written and loaded through ComfyUI's own loader."""
    import comfy_harness as harness
    harness.import_comfyui()
    import comfy.sd
    path = harness.write_tiny_sd_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny_sd2.safetensors")
    return comfy.sd.load_checkpoint_guess_config(str(path), output_clip=False)[0]


@pytest.fixture(scope="session")
def flux_model():
    """ComfyUI tier: a tiny Flux (CONST) built in Python."""
    import comfy_harness as harness
    harness.import_comfyui()
    return harness.tiny_flux_model()
