"""The example workflows run in a real ComfyUI server (over HTTP), with tiny stand-ins for the big models.

Each ``example_workflows/*.json`` is converted to an API prompt (``workflow_tools.ui_to_api``, widget order
from the pack snapshot + 0.8.0 core schemas), then the heavy loaders are swapped for the test fixtures:

* CheckpointLoaderSimple -> the tiny SD2 checkpoint; UNETLoader -> SDEEditTest_TinyFluxLoader;
  VAELoader -> the tiny 16-channel TAESD; DualCLIPLoader is dropped;
* CLIPTextEncode -> SDEEditTest_Conditioning (1024-d for SD2, 32-d + pooled for Flux; its seed is a hash
  of the prompt text, so source and target differ); FluxGuidance stays;
* LoadImage -> the fixture's 64x64 test image; BasicScheduler steps are cut to 5 (CPU time), as are the
  all-in-one nodes' steps; SDE-Drag's points are moved inside the 64x64 image.

Asserted: the prompt runs to success with no node served from ComfyUI's cache (the server's cache is
dropped first: several workflows share their tiny stand-ins), and every image node writes its image
(SaveImage to output/, PreviewImage to temp/), decoded at the input's size.
"""
from __future__ import annotations

import json
import zlib

import pytest

import comfy_server
import workflow_tools as wt
from comfy_server import FLUX_VAE, SD2_CKPT, TEST_IMAGE

pytestmark = pytest.mark.comfyui

TEST_STEPS = 5


@pytest.fixture(scope="session")
def server(request):
    return comfy_server.shared_server(request.config)


@pytest.fixture(scope="module")
def object_info():
    path = wt.core_object_info_path()
    if not path.is_file():
        pytest.skip(f"ComfyUI 0.8.0 node schemas not found at {path}")
    return wt.load_object_info(path)


def tiny_prompt(prompt: dict) -> dict:
    """Swap the real model loaders and text encoders for the test fixtures (see the module docstring)."""
    flux = any(node["class_type"] == "UNETLoader" for node in prompt.values())
    out = {}
    for node_id, node in prompt.items():
        kind, inputs = node["class_type"], dict(node["inputs"])
        if kind == "CheckpointLoaderSimple":
            inputs["ckpt_name"] = SD2_CKPT
        elif kind == "UNETLoader":
            kind, inputs = "SDEEditTest_TinyFluxLoader", {"seed": 0}
        elif kind == "DualCLIPLoader":
            continue
        elif kind == "VAELoader":
            inputs["vae_name"] = FLUX_VAE
        elif kind == "CLIPTextEncode":
            seed = zlib.crc32(inputs["text"].encode())
            kind = "SDEEditTest_Conditioning"
            inputs = dict(dim=32, tokens=8, pooled_dim=32, seed=seed, guidance=3.5) if flux else \
                dict(dim=1024, tokens=4, pooled_dim=0, seed=seed, guidance=0.0)
        elif kind == "LoadImage":
            inputs["image"] = TEST_IMAGE
        elif kind == "BasicScheduler":
            inputs["steps"] = TEST_STEPS
        elif kind == "SDEEdit_SDEDrag":  # points inside the 64x64 test image, few steps
            inputs.update(drag_points='{"pairs": [{"source": [16, 24], "target": [40, 32]}]}', preset="custom",
                          steps=3)
        elif kind == "SDEEdit_SyncSDEEdit":
            inputs.update(steps=TEST_STEPS, start_step=1)
        elif kind == "SDEEdit_RFInversionEdit":
            inputs.update(steps=TEST_STEPS)
        out[node_id] = {"class_type": kind, "inputs": inputs, "_meta": node.get("_meta", {})}
    for node in out.values():  # nothing may still point at a dropped node
        for value in node["inputs"].values():
            assert not isinstance(value, list) or value[0] in out, value
    return out


@pytest.mark.parametrize("name", sorted(wt.WORKFLOWS))
def test_example_workflow_runs(server, object_info, name):
    from PIL import Image

    workflow = json.loads((wt.WORKFLOW_DIR / name).read_text())
    prompt = tiny_prompt(wt.ui_to_api(workflow, object_info))
    server.free_cache()
    result = server.queue_prompt(prompt)
    assert result.status == "success"
    assert result.message("execution_cached")["nodes"] == [], "nodes served from the cache ran nothing"
    image_nodes = {node_id: node["class_type"] for node_id, node in prompt.items()
                   if node["class_type"] in ("SaveImage", "PreviewImage")}
    assert "SaveImage" in image_nodes.values()
    for node_id, kind in image_nodes.items():
        images = result.outputs[node_id]["images"]
        assert len(images) == 1
        assert images[0]["type"] == ("output" if kind == "SaveImage" else "temp")
        path = server.output_file(images[0])
        assert path.is_file(), path
        with Image.open(path) as image:
            assert image.size == (64, 64)
