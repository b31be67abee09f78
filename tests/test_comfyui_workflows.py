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
shape. The instruction-edit workflows add the reference image with their own core nodes (ReferenceLatent,
TextEncodeQwenImageEditPlus), so their prompts get the conditioning of the text encoder's family, without
reference latents; a CLIP loader that a core node other than CLIPTextEncode encodes with becomes
SDEEditTest_FamilyClip, a stand-in CLIP of that family, and the core node runs on it. The 1 MP resizes the edit
models' templates put first (FluxKontextImageScale, ImageScaleToTotalPixels) become an ImageScale to the test
image's own 64x64. A workflow with a core node that the release lacks, or whose family it lacks, is skipped,
naming the node or the family.

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
from tools.workflow_schema import WORKFLOW_DIR, load_object_info, workflow_node_types
from workflow_check import ui_to_api

pytestmark = pytest.mark.comfyui

TEST_STEPS = 5
SAVING_NODES = ("SaveImage", "PreviewImage", "SaveWEBM")
TEST_IMAGE_SIZE = 64
RESIZE_NODES = ("FluxKontextImageScale", "ImageScaleToTotalPixels")
# workflow -> (its family in comfy_families, the VAE file standing in for the family's[, the family whose
# conditioning stands in for the prompts when the workflow's core nodes add the reference image])
FAMILY_WORKFLOWS = {"cycle_sde_qwen_image_edit.json": ("Qwen-Image", WAN21_VAE),
                    "sync_sde_flux2_edit.json": ("Flux.2", FLUX2_VAE),
                    "cycle_sde_sd35_edit.json": ("SD3.5", FLUX_VAE),
                    "sde_drag_sdxl.json": ("SDXL", SD_VAE),
                    # HunyuanVideo's VAE has the Wan 2.1 VAE's latent geometry (16 channels, 8x, 4x in time)
                    "cycle_sde_wan21_video_edit.json": ("Wan 2.1 (T2V)", WAN21_VAE),
                    "sync_sde_wan21_video_edit.json": ("Wan 2.1 (T2V)", WAN21_VAE),
                    "rf_inversion_hunyuan_video_edit.json": ("HunyuanVideo", WAN21_VAE),
                    "sync_sde_qwen_image_edit_2511.json": ("Qwen-Image-Edit 2511", WAN21_VAE, "Qwen-Image"),
                    "cycle_sde_flux_kontext_edit.json": ("Flux.1 Kontext", FLUX_VAE, "Flux.1 dev"),
                    "cycle_sde_flux2_reference_edit.json": ("FLUX.2 + 1 reference", FLUX2_VAE, "Flux.2")}


@pytest.fixture(scope="session")
def server(request):
    return comfy_server.shared_server(request.config)


@pytest.fixture(scope="module")
def object_info():
    return load_object_info()


def family_node(kind: str, inputs: dict, family: str, vae: str, text_family: str | None = None,
                encodes_for_core: bool = False):
    """The stand-in of a loader or text encoder for a family workflow, or None to drop the node.
    ``encodes_for_core``: a core node other than CLIPTextEncode encodes with this CLIP loader's output."""
    text_family = text_family or family
    if kind == "CheckpointLoaderSimple":
        return "SDEEditTest_FamilyCheckpoint", {"family": family, "vae_name": vae}
    if kind == "UNETLoader":
        return "SDEEditTest_FamilyModel", {"family": family}
    if kind == "VAELoader":
        return kind, {"vae_name": vae}
    if kind in ("CLIPLoader", "DualCLIPLoader"):
        return ("SDEEditTest_FamilyClip", {"family": text_family}) if encodes_for_core else None
    if kind == "CLIPTextEncode":
        return "SDEEditTest_FamilyConditioning", {"family": text_family, "seed": zlib.crc32(inputs["text"].encode())}
    return kind, inputs


def tiny_prompt(prompt: dict, family: tuple[str, ...] | None = None) -> dict:
    """Swap the real model loaders and text encoders for the test fixtures (see the module docstring)."""
    flux = any(node["class_type"] == "UNETLoader" for node in prompt.values())
    linked_beyond_text_encode = {value[0] for node in prompt.values() if node["class_type"] != "CLIPTextEncode"
                                 for value in node["inputs"].values() if isinstance(value, list)}
    out = {}
    for node_id, node in prompt.items():
        kind, inputs = node["class_type"], dict(node["inputs"])
        if family is not None and kind in ("CheckpointLoaderSimple", "UNETLoader", "VAELoader", "CLIPLoader",
                                           "DualCLIPLoader", "CLIPTextEncode"):
            stand_in = family_node(kind, inputs, *family, encodes_for_core=node_id in linked_beyond_text_encode)
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
        elif kind in RESIZE_NODES:
            kind, inputs = "ImageScale", {"image": inputs["image"], "upscale_method": "nearest-exact",
                                          "width": TEST_IMAGE_SIZE, "height": TEST_IMAGE_SIZE, "crop": "disabled"}
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


def lacking_nodes(name: str, release_node_types: set[str]) -> str | None:
    """Why this release cannot run ``example_workflows/<name>``: the node types it needs that the release (its
    /object_info, ``release_node_types``) lacks, named; or None."""
    workflow = json.loads((WORKFLOW_DIR / name).read_text())
    lacking = sorted(workflow_node_types(workflow) - release_node_types)
    return f"{name} needs {', '.join(lacking)}, which this release lacks" if lacking else None


def example_prompt(name: str, object_info: dict) -> dict:
    """The API prompt the tier runs for ``example_workflows/<name>``: converted, then on the tiny models."""
    workflow = json.loads((WORKFLOW_DIR / name).read_text())
    return tiny_prompt(ui_to_api(workflow, object_info), FAMILY_WORKFLOWS.get(name))


def saved_outputs(prompt: dict, result) -> dict:
    """``{node_id: (class_type, [file entries of its ui output])}`` of the prompt's image and video saving nodes;
    ``server.output_file(entry)`` is where ComfyUI wrote each (``tools.thumbnails`` draws from them)."""
    return {node_id: (node["class_type"], result.outputs[node_id]["images"]) for node_id, node in prompt.items()
            if node["class_type"] in SAVING_NODES}


@pytest.fixture(scope="module")
def release_node_types(server):
    return set(server.object_info())


@pytest.mark.parametrize("name", sorted(path.name for path in WORKFLOW_DIR.glob("*.json")))
def test_example_workflow_runs(server, object_info, release_node_types, name):
    from PIL import Image

    missing = lacking_nodes(name, release_node_types) or family_missing(name)
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
            assert len(frames) == TEST_VIDEO_FRAMES and frames[0].shape == (TEST_IMAGE_SIZE, TEST_IMAGE_SIZE, 3)
        else:
            with Image.open(path) as image:
                assert image.size == (TEST_IMAGE_SIZE, TEST_IMAGE_SIZE)
