"""Test setup: the pack is imported under one package name, ``sde_edit``, wherever the checkout lives.

ComfyUI has top-level modules ``nodes`` and ``comfy``; the pack's own ``nodes``/``samplers`` are only
ever reached as ``sde_edit.nodes`` / ``sde_edit.samplers``.
"""
import importlib.util
import sys
from pathlib import Path

import pytest

PACK_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "sde_edit"


def _import_pack():
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(PACKAGE, PACK_ROOT / "__init__.py",
                                                  submodule_search_locations=[str(PACK_ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


_import_pack()


@pytest.fixture(autouse=True)
def seeded_torch():
    """Every test starts from the same global torch seed: torch's default seed differs per process, so
    unseeded ``torch.randn`` inputs would otherwise change from run to run."""
    import torch
    torch.manual_seed(0)


def pytest_collection_modifyitems(config, items):
    import os
    if os.environ.get("COMFYUI_ROOT"):
        return
    skip = pytest.mark.skip(reason="ComfyUI tier: set COMFYUI_ROOT to a ComfyUI checkout to run it")
    for item in items:
        if "comfyui" in item.keywords:
            item.add_marker(skip)


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
