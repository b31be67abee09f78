"""The example workflows run in a real ComfyUI server (over HTTP), with tiny stand-ins for the big models.

Each ``example_workflows/*.json`` is converted to an API prompt (``workflow_check.ui_to_api``, widget order
from the pack snapshot + 0.8.0's trimmed core schemas), then the heavy loaders are swapped for the test fixtures:

* CheckpointLoaderSimple -> the tiny SD2 checkpoint; UNETLoader -> SDEEditTest_TinyFluxLoader;
  VAELoader -> the tiny 16-channel TAESD; DualCLIPLoader is dropped;
* CLIPTextEncode -> SDEEditTest_Conditioning (1024-d for SD2, 32-d + pooled for Flux; its seed is a hash
  of the prompt text, so source and target differ); FluxGuidance stays;
* LoadImage -> the fixture's 64x64 test image; BasicScheduler steps are cut to 5 (CPU time), as are the
  all-in-one nodes' steps; SDE-Drag's points are moved inside the 64x64 image.

The workflows of ``FAMILY_WORKFLOWS`` run on a tiny model of their own family instead (``comfy_families``):
the model loaders become SDEEditTest_FamilyModel / SDEEditTest_FamilyCheckpoint, the text encoders
SDEEditTest_FamilyConditioning (the family's conditioning shapes), the VAE a stand-in of the family's latent
shape. A workflow whose family the release lacks is skipped.

Asserted: the prompt runs to success with no node served from ComfyUI's cache (the server's cache is
dropped first: several workflows share their tiny stand-ins), and every image node writes its image
(SaveImage to output/, PreviewImage to temp/), decoded at the input's size.
"""
from __future__ import annotations

import json
import zlib

import pytest

import comfy_server
from comfy_server import FLUX2_VAE, FLUX_VAE, SD2_CKPT, SD_VAE, TEST_IMAGE, TEST_VIDEO, TEST_VIDEO_FRAMES, WAN21_VAE
from tools.workflow_schema import WORKFLOW_DIR, load_object_info
from workflow_check import ui_to_api

pytestmark = pytest.mark.comfyui

TEST_STEPS = 5
SAVING_NODES = ("SaveImage", "PreviewImage", "SaveWEBM")
# workflow -> (its family in comfy_families, the VAE file standing in for the family's)
FAMILY_WORKFLOWS = {"cycle_sde_qwen_image_edit.json": ("Qwen-Image", WAN21_VAE),
                    "sync_sde_flux2_edit.json": ("Flux.2", FLUX2_VAE),
                    "cycle_sde_sd35_edit.json": ("SD3.5", FLUX_VAE),
                    "sde_drag_sdxl.json": ("SDXL", SD_VAE),
                    # HunyuanVideo's VAE has the Wan 2.1 VAE's latent geometry (16 channels, 8x, 4x in time)
                    "cycle_sde_wan21_video_edit.json": ("Wan 2.1 (T2V)", WAN21_VAE),
                    "sync_sde_wan21_video_edit.json": ("Wan 2.1 (T2V)", WAN21_VAE),
                    "rf_inversion_hunyuan_video_edit.json": ("HunyuanVideo", WAN21_VAE)}


@pytest.fixture(scope="session")
def server(request):
    return comfy_server.shared_server(request.config)


@pytest.fixture(scope="module")
def object_info():
    return load_object_info()


def family_node(kind: str, inputs: dict, family: str, vae: str):
    """The stand-in of a loader or text encoder for a family workflow, or None to drop the node."""
    if kind == "CheckpointLoaderSimple":
        return "SDEEditTest_FamilyCheckpoint", {"family": family, "vae_name": vae}
    if kind == "UNETLoader":
        return "SDEEditTest_FamilyModel", {"family": family}
    if kind == "VAELoader":
        return kind, {"vae_name": vae}
    if kind in ("CLIPLoader", "DualCLIPLoader"):
        return None
    if kind == "CLIPTextEncode":
        return "SDEEditTest_FamilyConditioning", {"family": family, "seed": zlib.crc32(inputs["text"].encode())}
    return kind, inputs


def tiny_prompt(prompt: dict, family: tuple[str, str] | None = None) -> dict:
    """Swap the real model loaders and text encoders for the test fixtures (see the module docstring)."""
    flux = any(node["class_type"] == "UNETLoader" for node in prompt.values())
    out = {}
    for node_id, node in prompt.items():
        kind, inputs = node["class_type"], dict(node["inputs"])
        if family is not None and kind in ("CheckpointLoaderSimple", "UNETLoader", "VAELoader", "CLIPLoader",
                                           "DualCLIPLoader", "CLIPTextEncode"):
            stand_in = family_node(kind, inputs, *family)
            if stand_in is None:
                continue
            kind, inputs = stand_in
        elif kind == "CheckpointLoaderSimple":
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
        elif kind == "LoadVideo":
            inputs["file"] = TEST_VIDEO
        elif kind in ("BasicScheduler", "Flux2Scheduler"):
            inputs["steps"] = TEST_STEPS
        elif kind == "SDEEdit_SDEDrag":  # points inside the 64x64 test image, few steps
            inputs.update(drag_points='{"pairs": [{"source": [16, 24], "target": [40, 32]}]}', preset="custom",
                          steps=3)
        elif kind == "SDEEdit_CycleSDEEdit":
            inputs.update(steps=TEST_STEPS)
        elif kind == "SDEEdit_SyncSDEEdit":
            inputs.update(steps=TEST_STEPS, start_step=1)
        elif kind == "SDEEdit_RFInversionEdit":
            inputs.update(steps=TEST_STEPS)
        out[node_id] = {"class_type": kind, "inputs": inputs, "_meta": node.get("_meta", {})}
    for node in out.values():  # nothing may still point at a dropped node
        for value in node["inputs"].values():
            assert not isinstance(value, list) or value[0] in out, value
    return out


def family_missing(name: str) -> str | None:
    """Why this release cannot run the workflow's family (``FAMILY_WORKFLOWS``), or None when it can."""
    family = FAMILY_WORKFLOWS.get(name)
    if family is None:
        return None
    from comfy_families import FAMILIES
    missing = FAMILIES[family[0]].missing()
    return f"{name} runs on {family[0]}: {missing}" if missing else None


def example_prompt(name: str, object_info: dict) -> dict:
    """The API prompt the tier runs for ``example_workflows/<name>``: converted, then on the tiny models."""
    workflow = json.loads((WORKFLOW_DIR / name).read_text())
    return tiny_prompt(ui_to_api(workflow, object_info), FAMILY_WORKFLOWS.get(name))


def saved_outputs(prompt: dict, result) -> dict:
    """``{node_id: (class_type, [file entries of its ui output])}`` of the prompt's image and video saving nodes;
    ``server.output_file(entry)`` is where ComfyUI wrote each (``tools.thumbnails`` draws from them)."""
    return {node_id: (node["class_type"], result.outputs[node_id]["images"]) for node_id, node in prompt.items()
            if node["class_type"] in SAVING_NODES}


@pytest.mark.parametrize("name", sorted(path.name for path in WORKFLOW_DIR.glob("*.json")))
def test_example_workflow_runs(server, object_info, name):
    from PIL import Image

    missing = family_missing(name)
    if missing:
        pytest.skip(missing)
    prompt = example_prompt(name, object_info)
    if name in FAMILY_WORKFLOWS:  # the family's own tiny model, not the SD2 / Flux stand-ins
        assert {"SDEEditTest_FamilyModel", "SDEEditTest_FamilyCheckpoint"} & \
            {node["class_type"] for node in prompt.values()}
    result = server.queue_uncached(prompt)
    assert result.status == "success"
    assert result.message("execution_cached")["nodes"] == []
    saved = saved_outputs(prompt, result)
    assert {"SaveImage", "SaveWEBM"} & {kind for kind, _ in saved.values()}
    for node_id, (kind, files) in saved.items():
        assert len(files) == 1
        assert files[0]["type"] == ("temp" if kind == "PreviewImage" else "output")
        path = server.output_file(files[0])
        assert path.is_file(), path
        if kind == "SaveWEBM":  # every frame of the 64x64 test video, decoded at its size
            import av
            with av.open(str(path)) as video:
                frames = [frame.to_ndarray(format="rgb24") for frame in video.decode(video=0)]
            assert len(frames) == TEST_VIDEO_FRAMES and frames[0].shape == (64, 64, 3)
        else:
            with Image.open(path) as image:
                assert image.size == (64, 64)
