"""ComfyUI tier, in-process: the SDE-Drag nodes with tiny random SD2 and Flux models."""
import json
import os

import pytest
import torch

from conftest import custom_advanced, rel_err

pytestmark = pytest.mark.comfyui

if os.environ.get("COMFYUI_ROOT"):
    import comfy_harness as harness

    harness.import_comfyui()
    import folder_paths
    import numpy as np
    from comfy_api.latest import io
    from comfy_extras import nodes_custom_sampler as custom
    from PIL import Image

    from sde_edit.nodes import sde_drag
    from sde_edit.samplers import InputError

POINTS = json.dumps({"pairs": [{"source": [20, 20], "target": [44, 28]}]})


def drag(model, latent, points=POINTS, **overrides):
    inputs = dict(model=model, positive=harness.sd2_conditioning(0), latent=latent, drag_points=points,
                  preset="custom", steps=4, t0=0.6, cfg=3.0, scheduler="normal", alpha=1.1, beta=0.3, window=2,
                  subdrag_step=2.0, seed=0, eta=1.0)
    inputs.update(overrides)
    return harness.call_node(sde_drag.SDEDragNode, **inputs)[0]


def test_drag_runs_masks_exactly_and_is_deterministic(sd_model):
    latent = {"samples": torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))}
    mask = torch.zeros(1, 64, 64)
    mask[:, 8:40, 8:56] = 1.0
    out = drag(sd_model, latent, mask=mask)["samples"]
    again = drag(sd_model, latent, mask=mask)["samples"]
    assert torch.equal(out, again)
    cells = (torch.nn.functional.interpolate(mask[:, None], size=(8, 8), mode="area")[:, 0] > 0.5)
    outside = (~cells).expand(2, 4, 8, 8)
    assert torch.equal(out[outside], latent["samples"][outside])  # bit for bit, not merely within rounding
    assert float((out[~outside] - latent["samples"][~outside]).abs().max()) > 1e-2


def editor_mask_text(mask: torch.Tensor) -> str:
    """The editor's run-length JSON of a [H, W] 0/1 mask (written here independently of web/js/editor_mask.js)."""
    bits, runs, value, length = mask.flatten().int().tolist(), [], 0, 0
    for bit in bits:
        if bit == value:
            length += 1
        else:
            runs.append(length)
            value, length = bit, 1
    runs.append(length)
    return json.dumps({"size": [mask.shape[1], mask.shape[0]], "runs": runs})


def test_the_editor_mask_is_the_drag_mask(sd_model):
    """A painted editor_mask goes the way of a connected mask: the same latent mask, the same result bit for bit,
    the source kept exactly outside it."""
    latent = {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))}
    painted = torch.zeros(64, 64)
    painted[8:40, 8:56] = 1.0
    painted[50, 3] = 1.0  # a stray pixel: less than half of its cell, so the cell is kept
    text = editor_mask_text(painted)
    out = drag(sd_model, latent, editor_mask=text)["samples"]
    assert torch.equal(out, drag(sd_model, latent, mask=painted[None])["samples"])
    kept = torch.ones(8, 8, dtype=torch.bool)
    kept[1:5, 1:7] = False
    assert torch.equal(out[..., kept], latent["samples"][..., kept])
    assert float((out[..., ~kept] - latent["samples"][..., ~kept]).abs().max()) > 1e-2
    assert torch.equal(drag(sd_model, latent, editor_mask="")["samples"], drag(sd_model, latent)["samples"])


def test_a_connected_mask_wins_over_the_editor_mask(sd_model):
    latent = {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(4))}
    left, right = torch.zeros(64, 64), torch.zeros(64, 64)
    left[:, :32], right[:, 32:] = 1.0, 1.0
    points = json.dumps({"pairs": [{"source": [44, 20], "target": [52, 28]}]})
    wired = drag(sd_model, latent, points=points, mask=right[None], editor_mask=editor_mask_text(left))["samples"]
    assert torch.equal(wired, drag(sd_model, latent, points=points, mask=right[None])["samples"])
    assert torch.equal(wired[..., :4], latent["samples"][..., :4])


def test_editor_mask_errors_name_it(sd_model):
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    image = torch.rand(1, 64, 64, 3)
    small = editor_mask_text(torch.ones(32, 32))
    with pytest.raises(InputError, match=r"^editor_mask: painted on a 32x32 image, but 'image' is 64x64; clear the "
                                         r"mask in the point editor"):
        drag(sd_model, latent, image=image, editor_mask=small)
    with pytest.raises(InputError, match=r"^editor_mask: size 32x32 matches neither the image \(64x64"):
        drag(sd_model, latent, editor_mask=small)
    with pytest.raises(InputError, match="^editor_mask: not valid JSON"):
        drag(sd_model, latent, editor_mask="{runs")
    thin = torch.zeros(64, 64)
    thin[:, 10:13] = 1.0  # 3 of a cell's 8 columns: no cell is more than half painted
    with pytest.raises(InputError, match=r"^editor_mask: nothing is editable .*; paint a larger area with the "
                                         r"editor's brush"):
        drag(sd_model, latent, editor_mask=editor_mask_text(thin))


def test_the_image_reaches_the_editor_before_the_empty_pairs_error(sd_model, monkeypatch):
    """The node publishes its image (the first of the batch) and its connected mask as soon as it runs, so one
    queue with no pairs fills the editor; then it refuses, saying so."""
    sent = []
    monkeypatch.setattr(sde_drag.adapter, "send_to_client", lambda event, data: sent.append((event, data)))
    monkeypatch.setattr(sde_drag.SDEDragNode, "hidden", io.HiddenHolder.from_dict({io.Hidden.unique_id: "7"}))
    image = torch.rand(2, 64, 64, 3, generator=torch.Generator().manual_seed(5))
    mask = torch.zeros(2, 64, 64)
    mask[0, :, :20] = 1.0
    with pytest.raises(InputError, match="^drag_points: no pairs yet; the node's point editor now shows the image"):
        drag(sd_model, {"samples": torch.randn(2, 4, 8, 8)}, points='{"pairs": []}', image=image, mask=mask)
    assert [(event, data["node"]) for event, data in sent] == [(sde_drag.EDITOR_IMAGE_EVENT, "7")]

    def saved(file) -> torch.Tensor:
        assert file["type"] == "temp"
        path = os.path.join(folder_paths.get_temp_directory(), file["subfolder"], file["filename"])
        return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).float()

    shown_image, shown_mask = saved(sent[0][1]["image"]), saved(sent[0][1]["mask"])
    assert torch.equal(shown_image, (image[0] * 255).clamp(0, 255).to(torch.uint8).float())
    assert torch.equal(shown_mask[..., 0], mask[0] * 255)
    sent.clear()
    with pytest.raises(InputError, match="^drag_points: no pairs; connect the source image to 'image'"):
        drag(sd_model, {"samples": torch.randn(1, 4, 8, 8)}, points="")
    assert sent == []


def test_a_run_publishes_the_image_once_for_the_editor_and_its_ui_output(sd_model, monkeypatch):
    sent = []
    monkeypatch.setattr(sde_drag.adapter, "send_to_client", lambda event, data: sent.append(data))
    monkeypatch.setattr(sde_drag.SDEDragNode, "hidden", io.HiddenHolder.from_dict({io.Hidden.unique_id: "3"}))
    output = sde_drag.SDEDragNode.execute(model=sd_model, positive=harness.sd2_conditioning(0),
                                      latent={"samples": torch.randn(1, 4, 8, 8)}, drag_points=POINTS,
                                      preset="custom", steps=2, t0=0.6, cfg=3.0, scheduler="normal", alpha=1.1,
                                      beta=0.3, window=2, subdrag_step=8.0, seed=0, eta=1.0,
                                      image=torch.rand(1, 64, 64, 3))
    assert len(sent) == 1 and sent[0]["mask"] is None
    assert output.ui[sde_drag.EDITOR_IMAGE_KEY] == [sent[0]["image"]]


def test_one_batched_forward_per_step_and_subdrag(sd_model):
    counter = harness.ModelPassCounter(sd_model)
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    # Move (20, 20) -> (44, 28) px = cells (2, 2) -> (5, 3): 3.16 cells, step 2 -> 2 sub-drags.
    drag(counter.model, latent)
    assert counter.calls == 2 * 4
    # current + recorded state, each with cond and uncond in one pass; CFG 1 at the last step drops uncond
    assert counter.batches == [4, 4, 4, 2] * 2


def test_sampler_node_with_sampler_custom_advanced_and_flux():
    flux = harness.tiny_flux_model()
    latent = {"samples": torch.randn(1, 16, 8, 8)}
    negative = [[torch.zeros(1, 8, 32), {"pooled_output": torch.zeros(1, 32), "guidance": 3.5}]]
    guider = harness.call_node(custom.CFGGuider, model=flux, positive=harness.flux_conditioning(0),
                               negative=negative, cfg=2.0)[0]
    sigmas = harness.call_node(custom.BasicScheduler, model=flux, scheduler="simple", steps=4, denoise=0.6)[0]
    sampler = harness.call_node(sde_drag.SDEDragSamplerNode, drag_points=POINTS, alpha=1.1, beta=0.3, window=2,
                                subdrag_step=8.0, seed=1, eta=1.0)[0]
    out = custom_advanced(guider, sampler, sigmas, latent)["samples"]
    assert out.shape == latent["samples"].shape and torch.isfinite(out).all()
    assert guider.cfg == 2.0  # the per-step CFG ramp is undone afterwards


@pytest.mark.parametrize("points, message", [
    ("not json", "drag_points: not valid JSON"),
    ('{"pairs": []}', "drag_points: no pairs"),
    ('{"pairs": [{"source": [70, 2], "target": [3, 4]}]}', r"drag_points: pair 1 source \(70, 2\) lies outside the 64x64"),
])
def test_bad_points_are_explained(sd_model, points, message):
    with pytest.raises(InputError, match=message):
        drag(sd_model, {"samples": torch.randn(1, 4, 8, 8)}, points=points)


def test_bad_mask_and_image_sizes_are_explained(sd_model):
    latent = {"samples": torch.randn(1, 4, 8, 8)}
    with pytest.raises(InputError, match=r"mask: size 32x64 matches neither the image \(64x64, up to 7 pixels more per side\) nor the latent"):
        drag(sd_model, latent, mask=torch.ones(1, 64, 32))
    with pytest.raises(InputError, match="mask: nothing is editable"):
        drag(sd_model, latent, mask=torch.zeros(1, 64, 64))
    with pytest.raises(InputError, match="image: size 60x64 does not encode to the latent's 8x8 cells"):
        drag(sd_model, latent, image=torch.rand(1, 64, 60, 3))


def test_images_off_the_multiple_of_8_are_cropped_as_vae_encode_does(sd_model):
    """A 67x71 image encodes to 8x8 cells: VAE Encode centre-crops it, dropping 1 pixel left and 3 on top.
    The image, its mask and the points placed on it must all be read through that crop."""
    latent = {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))}
    image = torch.rand(1, 71, 67, 3)
    mask = torch.zeros(1, 71, 67)
    mask[:, 3 + 8 * 2:3 + 8 * 6, 1 + 8 * 1:1 + 8 * 7] = 1.0  # cell rows 2-5, cell columns 1-6
    cells = sde_drag.latent_mask(mask, latent["samples"], 8)
    expected = torch.zeros(1, 8, 8)
    expected[:, 2:6, 1:7] = 1.0
    assert torch.equal(cells, expected)
    points = json.dumps({"pairs": [{"source": [1 + 8 * 2, 3 + 8 * 3], "target": [1 + 8 * 5 + 7, 3 + 8 * 4]}]})
    out = drag(sd_model, latent, points=points, image=image, mask=mask)["samples"]
    outside = (expected == 0).expand(1, 4, 8, 8)
    assert float((out[outside] - latent["samples"][outside]).abs().max()) <= 1e-5 * float(latent["samples"].abs().max())
    # x = 65 lies in the image but in the pixel column VAE Encode dropped on the right: cell 8 of 0-7
    beyond = json.dumps({"pairs": [{"source": [20, 20], "target": [65, 20]}]})
    with pytest.raises(InputError, match=r"pair 1 target cell \(8, 2\) lies outside the 8x8 latent"):
        drag(sd_model, latent, points=beyond, image=image)


def test_preview_of_the_source_image_for_the_editor(sd_model):
    output = sde_drag.SDEDragNode.execute(model=sd_model, positive=harness.sd2_conditioning(0),
                                      latent={"samples": torch.randn(1, 4, 8, 8)}, drag_points=POINTS,
                                      preset="custom", steps=2, t0=0.6, cfg=3.0, scheduler="normal", alpha=1.1,
                                      beta=0.3, window=2, subdrag_step=8.0, seed=0, eta=1.0,
                                      image=torch.rand(1, 64, 64, 3))
    files = output.ui[sde_drag.EDITOR_IMAGE_KEY]
    assert "images" not in output.ui  # no second preview drawn under the node
    assert len(files) == 1 and files[0]["type"] == "temp" and files[0]["filename"].endswith(".png")


def test_lora_schedule_follows_the_cosine_ramp_in_every_subdrag(sd_model):
    """A synthetic LoRA on one layer: the strength applied at each forward pass, read back from the live
    (hook-patched) weight, rises from strength_at_t0 toward 1 within each sub-drag and restarts every time."""
    unet = sd_model.model.diffusion_model
    layer = unet.input_blocks[1][1].proj_in
    generator = torch.Generator().manual_seed(0)
    up, down = torch.randn(layer.weight.shape[0], 2, generator=generator), torch.randn(2, layer.weight.shape[1],
                                                                                       generator=generator)
    lora = {"diffusion_model.input_blocks.1.1.proj_in.lora_up.weight": up,
            "diffusion_model.input_blocks.1.1.proj_in.lora_down.weight": down}
    base, delta = layer.weight.detach().clone().float(), (up @ down)
    strengths = []

    def read_strength(apply_model, args):
        applied = (layer.weight.detach().float() - base)
        strengths.append(float((applied * delta).sum() / (delta * delta).sum()))
        return apply_model(args["input"], args["timestep"], **args["c"])

    model = sd_model.clone()
    model.set_model_unet_function_wrapper(read_strength)
    positive = harness.call_node(sde_drag.SDEDragLoraScheduleNode, positive=harness.sd2_conditioning(0), lora=lora,
                                 t0=0.6, strength_at_t0=0.5, keyframes=10)[0]
    steps = 6
    drag(model, {"samples": torch.randn(1, 4, 8, 8)}, positive=positive, steps=steps, t0=0.6)  # 2 sub-drags
    assert len(strengths) == 2 * steps
    first, second = strengths[:steps], strengths[steps:]
    assert first == pytest.approx(second, abs=1e-4)  # the schedule restarts with each sub-drag
    assert all(b >= a - 1e-4 for a, b in zip(first, first[1:]))  # non-decreasing toward the clean end
    assert first[0] == pytest.approx(0.5, abs=0.1) and first[-1] > 0.9
    assert float((layer.weight.detach().float() - base).abs().max()) == 0  # weights restored afterwards


def test_core_train_lora_feeds_the_schedule(sd_model):
    """The paper's LoRA stage with ComfyUI's own parts: core Train LoRA on the source latent, then the
    schedule node; the LoRA changes the drag (1 training step keeps the CPU test short)."""
    from comfy_extras import nodes_train
    latent = {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))}
    inputs = dict(model=sd_model, latents=latent, positive=harness.sd2_conditioning(0), batch_size=1, steps=1,
                  grad_accumulation_steps=1, learning_rate=2e-4, rank=4, optimizer="AdamW", loss_function="MSE",
                  seed=0, training_dtype="fp32", lora_dtype="fp32", gradient_checkpointing=False,
                  existing_lora="[None]")
    with torch.inference_mode():  # as ComfyUI runs nodes
        outputs = harness.call_node_with_defaults(nodes_train.TrainLoraNode, **inputs)
    lora = outputs[harness.output_index(nodes_train.TrainLoraNode, "LORA_MODEL")]
    assert any(key.endswith("lora_up.weight") for key in lora)
    positive = harness.call_node(sde_drag.SDEDragLoraScheduleNode, positive=harness.sd2_conditioning(0), lora=lora,
                                 t0=0.6, strength_at_t0=0.5, keyframes=10)[0]
    with_lora = drag(sd_model, latent, positive=positive)["samples"]
    without = drag(sd_model, latent)["samples"]
    assert torch.isfinite(with_lora).all() and rel_err(with_lora, without) > 1e-6


def test_vae_downscale_places_points_for_16x_vaes(sd_model):
    """Flux.2's VAE has 16 pixels per latent cell: a 64x64 image is a 4x4 latent, and x = 40 is cell 2."""
    latent = {"samples": torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(2))}
    image = torch.rand(1, 64, 64, 3)
    points = json.dumps({"pairs": [{"source": [8, 8], "target": [40, 8]}]})
    mask = torch.zeros(1, 4, 4)
    mask[:, 0, :] = 1.0  # the top row of cells: the drag stays in it
    out = drag(sd_model, latent, points=points, image=image, mask=mask, vae_downscale=16, window=1)["samples"]
    kept = latent["samples"][..., 1:, :]
    assert float((out[..., 1:, :] - kept).abs().max()) <= 1e-5 * float(kept.abs().max())
    assert float((out[..., 0, :] - latent["samples"][..., 0, :]).abs().max()) > 1e-2
    with pytest.raises(InputError, match="image: size 64x64 does not encode to the latent's 4x4 cells at "
                                         "vae_downscale 8"):
        drag(sd_model, latent, points=points, image=image)
    beyond = json.dumps({"pairs": [{"source": [8, 8], "target": [40, 8]}]})
    with pytest.raises(InputError, match=r"pair 1 target \(40, 8\) lies outside the 32x32 image"):
        custom_advanced(harness.call_node(custom.CFGGuider, model=sd_model, positive=harness.sd2_conditioning(0),
                                          negative=harness.sd2_conditioning(1), cfg=2.0)[0],
                        harness.call_node(sde_drag.SDEDragSamplerNode, drag_points=beyond, alpha=1.1, beta=0.3,
                                          window=1, subdrag_step=2.0, seed=0, eta=1.0)[0],
                        torch.tensor([2.0, 0.5, 0.0]), latent)
