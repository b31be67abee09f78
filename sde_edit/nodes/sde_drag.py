"""SDE-Drag nodes: a SAMPLER for SamplerCustomAdvanced and an all-in-one node with the in-page point editor."""
from __future__ import annotations

import math
from dataclasses import replace

import torch
from comfy_api.latest import io, ui

from ..drag_wire import (EDITOR_IMAGE_EVENT, EDITOR_IMAGE_KEY, NO_POINTS, fits_latent, latent_mask, latent_pairs,
                         parse_drag_points, parse_editor_mask)
from ..samplers.sde_drag import DragSettings, sde_drag
from ..samplers.validation import InputError, check_choice
from . import comfy_adapter as adapter
from .inputs import CATEGORY, cfg_input, eta_input, scheduler_input, seed_input

VAE_DOWNSCALE = 8  # SD1.x, SDXL, SD3 and Flux VAEs
EDITOR_MASK_PAINTING = ("paint a larger area with the editor's brush (a latent cell is editable when more than half "
                        "of its pixels are painted), or clear the mask to edit the whole image")
PRESETS = {"paper (120 steps)": 120, "fast (30 steps)": 30}


class SDEDragSampler(adapter.PackSampler):
    """Runs SDE-Drag over the schedule it is given (t0 -> 0); CFG ramps from 1 up to the guider's cfg at t0.

    ``points``: the parsed ``drag_points`` (image pixels). The latent's ``noise_mask`` (1 = editable) is the drag
    mask; ``image_size``: (width, height) of the image the points were placed on (default: the latent's size in
    pixels).
    """

    def __init__(self, points, settings: DragSettings, seed: int, downscale: int = VAE_DOWNSCALE,
                 image_size: tuple[int, int] | None = None):
        self.points, self.settings, self.seed, self.downscale = points, settings, seed, downscale
        self.image_size = image_size

    def check(self, call):
        call.require_image_grid("SDE-Drag")

    def run(self, call):
        pairs = latent_pairs(self.points, call.latent.shape, self.downscale, self.image_size)
        return sde_drag(call.guided, call.latent, call.sigmas, call.param, pairs,
                        settings=replace(self.settings, cfg=call.cfg), mask=call.mask, seed=self.seed,
                        callback=call.core_callback)


def cosine_lora_keyframes(t0: float, strength_at_t0: float, count: int) -> list[tuple[float, float]]:
    """(start_percent, strength) pairs: strength_at_t0 at t0 rising as a half cosine to 1 at the end
    (``scale_schedule`` of the official ``sdedrag_dragbench.py``: lambda = 1 - (1 - lambda_min)
    (1 - cos(pi k / L)) / 2 over the forward steps k)."""
    keyframes = []
    for j in range(count):
        fraction = j / (count - 1)  # 0 at t0, 1 at the clean end
        strength = strength_at_t0 + (1 - strength_at_t0) * (1 - math.cos(math.pi * fraction)) / 2
        keyframes.append(((1 - t0) + t0 * fraction, strength))
    return keyframes


def drag_inputs():
    """The drag settings shared by the SAMPLER and the all-in-one node."""
    return [
        io.Float.Input("alpha", default=1.1, min=0.0, max=3.0, step=0.01,
                       tooltip="Amplification of the content pasted at the target (paper: 1.1)."),
        io.Float.Input("beta", default=0.3, min=0.0, max=1.0, step=0.01,
                       tooltip="Share of the signal kept at the source; the rest is fresh noise (paper: 0.3). "
                               "Lower it if a copy of the object stays behind."),
        io.Int.Input("window", default=5, min=1, max=64,
                     tooltip="Half-size of the copied square, in latent cells (vae_downscale pixels each). Paper: "
                             "5 (80 px with an 8x VAE)."),
        io.Float.Input("subdrag_step", default=2.0, min=0.5, max=64.0, step=0.5,
                       tooltip="Longest move per sub-drag, in latent cells; long drags are split into "
                               "sub-drags, each a full noising and denoising round (costs time)."),
        seed_input("Seed of the forward chains and the paste noise of every sub-drag."),
        eta_input(1.0, "1 = SDE-Drag; 0 = ODE-Drag, the deterministic baseline of the paper."),
        io.Int.Input("vae_downscale", default=VAE_DOWNSCALE, min=1, max=64,
                     tooltip="Image pixels per latent cell, to place the points: 8 for SD1.x, SDXL, SD3 and "
                             "Flux.1 VAEs; 16 for Flux.2."),
    ]


def settings_from(alpha, beta, window, subdrag_step, eta) -> DragSettings:
    return DragSettings(alpha=alpha, beta=beta, window=window, subdrag_step=subdrag_step, eta=eta)


class SDEDragSamplerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SDEDragSampler",
            display_name="SDE-Drag Sampler",
            category=CATEGORY,
            description="SAMPLER for SamplerCustomAdvanced: point dragging by copy-and-paste at t0, then "
                        "Cycle-SDE sampling (Nie et al. 2311.01410). Use a CFGGuider (CFG ramps from 1 to "
                        "its cfg at t0, paper: 3), BasicScheduler sigmas with denoise = t0 (paper: 0.6), the "
                        "source latent, and Set Latent Noise Mask for the editable region.",
            inputs=[
                io.String.Input("drag_points", multiline=True, default=NO_POINTS,
                                tooltip='JSON {"pairs": [{"source": [x, y], "target": [x, y]}]} in image pixels.'),
                *drag_inputs(),
            ],
            outputs=[io.Sampler.Output()],
        )

    @classmethod
    def execute(cls, drag_points, alpha, beta, window, subdrag_step, seed, eta,
                vae_downscale=VAE_DOWNSCALE) -> io.NodeOutput:
        points = parse_drag_points(drag_points)  # syntax errors now, bounds at sampling
        if not points:
            raise InputError("drag_points: no pairs; place at least one handle and its target")
        return io.NodeOutput(SDEDragSampler(points, settings_from(alpha, beta, window, subdrag_step, eta),
                                            seed, vae_downscale))


class SDEDragNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SDEDrag",
            display_name="SDE-Drag",
            category=CATEGORY,
            description="Drag points of an image (handle -> target) with SDE-Drag (Nie et al. 2311.01410): "
                        "copy-and-paste of the noisy latent at t0, then Cycle-SDE sampling. Connect the "
                        "source IMAGE to place points on it in the node and paint the editable area with its "
                        "brush (or connect a mask, white = editable). Outside the mask the result equals the "
                        "source.",
            inputs=[
                io.Model.Input("model"),
                io.Conditioning.Input("positive", tooltip="A prompt describing the image."),
                io.Latent.Input("latent", tooltip="Source latent (VAE Encode of the image)."),
                io.String.Input("drag_points", multiline=True, default=NO_POINTS,
                                tooltip='Handle -> target pairs in image pixels, JSON {"pairs": [{"source": '
                                        '[x, y], "target": [x, y]}]}; the point editor writes it.'),
                io.Combo.Input("preset", options=[*PRESETS, "custom"], default="fast (30 steps)",
                               tooltip="paper: 120 steps from t0 (the paper's 200-step grid); fast: 30 steps; "
                                       "custom: use 'steps'."),
                io.Int.Input("steps", default=60, min=1, max=1000, tooltip="Steps from t0 with preset 'custom'."),
                io.Float.Input("t0", default=0.6, min=0.05, max=1.0, step=0.01,
                               tooltip="Noise level of the copy-and-paste. Higher: more freedom and fidelity to "
                                       "the drag; lower: closer to the source."),
                cfg_input("cfg", 3.0, "CFG at t0; it falls linearly to 1 at the end (paper: 3).", minimum=1.0,
                          maximum=30.0, round_to=None),
                scheduler_input(),
                *drag_inputs(),
                io.Conditioning.Input("negative", optional=True, tooltip="Default: empty (zeroed) conditioning."),
                io.Mask.Input("mask", optional=True,
                              tooltip="Editable region (white), image or latent size. For a video, one mask for all "
                                      "frames (a mask per frame counts as their union: the drag moves every frame)."),
                io.Image.Input("image", optional=True,
                               tooltip="The source image, shown in the point editor (not used for sampling); of a "
                                       "video's frames the editor shows the first."),
                # Last, so that the widget values of workflows saved before it keep their places. Socketless:
                # it is the editor's data, hidden in the node, not something to wire.
                io.String.Input("editor_mask", optional=True, default="", socketless=True,
                                tooltip='The mask painted with the point editor\'s brush, written by the editor: '
                                        '{"size": [W, H], "runs": [...]}, a run-length code of the editable '
                                        'pixels at the image\'s size ("" = none). A connected mask wins.'),
            ],
            outputs=[io.Latent.Output(display_name="latent")],
            hidden=[io.Hidden.unique_id],  # which node's editor shows the published image
            is_output_node=False,
        )

    @classmethod
    def execute(cls, model, positive, latent, drag_points, preset, steps, t0, cfg, scheduler, alpha, beta,
                window, subdrag_step, seed, eta, vae_downscale=VAE_DOWNSCALE, negative=None, mask=None,
                image=None, editor_mask="") -> io.NodeOutput:
        source_image = publish_to_editor(cls, image, mask, latent)
        check_choice(preset, [*PRESETS, "custom"], "preset")
        points = parse_drag_points(drag_points)
        if not points:
            if image is None:
                raise InputError("drag_points: no pairs; connect the source image to 'image' to place them in "
                                 "the node's point editor, or write them by hand")
            raise InputError("drag_points: no pairs yet; the node's point editor now shows the image: click a "
                             "handle, then its target, and queue again")
        samples = adapter.model_latent(model, latent, grid_for="SDE-Drag")
        downscale, image_size = vae_downscale, None
        if image is not None:
            height, width = samples.shape[-2:]
            if not (fits_latent(image.shape[1], height, downscale) and fits_latent(image.shape[2], width, downscale)):
                raise InputError(f"image: size {image.shape[2]}x{image.shape[1]} does not encode to the latent's "
                                 f"{width}x{height} cells at vae_downscale {downscale}; connect the image that "
                                 f"VAE Encode received (and set vae_downscale for the model's VAE)")
            image_size = (image.shape[2], image.shape[1])
        sampler = SDEDragSampler(points, settings_from(alpha, beta, window, subdrag_step, eta), seed,
                                 downscale, image_size)
        sigmas = adapter.scheduler_sigmas(model, scheduler, PRESETS.get(preset, steps), t0)
        noise_mask = drag_mask(latent, samples, downscale, mask, editor_mask, image_size)
        (callback,) = adapter.progress(model, len(sigmas) - 1)
        out = adapter.run_sampler(adapter.cfg_guider(model, positive, negative, cfg), sampler, sigmas, samples,
                                  denoise_mask=noise_mask, seed=seed, callback=callback)
        # for the point editor only: under "images" the frontend would draw a second preview
        editor_ui = None if source_image is None else {EDITOR_IMAGE_KEY: source_image}
        return io.NodeOutput(adapter.latent_with(latent, out, keep_mask=False), ui=editor_ui)


def publish_to_editor(cls, image, mask, latent) -> list | None:
    """Show the node's image (and its connected mask) in the point editor as soon as the node runs, whatever
    produced them upstream and even when the node then refuses to run (no pairs yet): saved as temp previews and
    sent to the browser that queued the prompt. Of a batch the editor shows the first image; of a video's masks
    the union, which is the mask the drag uses. Returns the image's preview files (for the UI output), or None."""
    image_file = mask_file = None
    if image is not None:
        image_file = ui.PreviewImage(image[:1], cls=cls).as_dict()["images"][0]
    if mask is not None:
        masks = mask if mask.ndim == 3 else mask[None]
        shown = masks.amax(0, keepdim=True) if latent["samples"].ndim == 5 else masks[:1]
        mask_file = ui.PreviewMask(shown, cls=cls).as_dict()["images"][0]
    node_id = cls.hidden.unique_id if cls.hidden is not None else None  # None: execute called outside ComfyUI
    if node_id is not None and (image_file or mask_file):
        adapter.send_to_client(EDITOR_IMAGE_EVENT, {"node": node_id, "image": image_file, "mask": mask_file})
    return None if image_file is None else [image_file]


def drag_mask(latent: dict, samples: torch.Tensor, downscale: int, mask, editor_mask: str,
              image_size: tuple[int, int] | None):
    """The editable region as a noise mask: a connected ``mask`` wins, then the mask painted in the editor, then
    the latent's own noise_mask (None: the whole image)."""
    if mask is not None:
        return latent_mask(mask, samples, downscale)
    painted = parse_editor_mask(editor_mask)
    if painted is None:
        return adapter.noise_mask(latent, samples)
    painted_size = (painted.shape[-1], painted.shape[-2])
    if image_size is not None and painted_size != image_size:
        raise InputError(f"editor_mask: painted on a {painted_size[0]}x{painted_size[1]} image, but 'image' is "
                         f"{image_size[0]}x{image_size[1]}; clear the mask in the point editor and paint it on "
                         f"this image")
    return latent_mask(painted, samples, downscale, name="editor_mask", painting=EDITOR_MASK_PAINTING)


class SDEDragLoraScheduleNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SDEEdit_SDEDragLoraSchedule",
            display_name="SDE-Drag LoRA Schedule",
            category=CATEGORY,
            description="The paper's optional identity LoRA for SDE-Drag: train a LoRA on the source image "
                        "with core Train LoRA (paper: the image's prompt, rank 4, 100 steps, lr 2e-4), then "
                        "attach it here to the prompt with a per-step strength: strength_at_t0 at t0 rising "
                        "as a half cosine to 1 at the end. Feed the result to SDE-Drag's positive input. "
                        "Use it when the drag changes the main subject and loses its identity; skip it if "
                        "the output just copies the input (overfitting).",
            inputs=[
                io.Conditioning.Input("positive", tooltip="The prompt SDE-Drag uses."),
                io.Custom("LORA_MODEL").Input("lora", tooltip="From core Train LoRA (Train LoRA -> lora)."),
                io.Float.Input("t0", default=0.6, min=0.05, max=1.0, step=0.01,
                               tooltip="The SDE-Drag node's t0."),
                io.Float.Input("strength_at_t0", default=0.5, min=0.0, max=1.0, step=0.01,
                               tooltip="LoRA strength at t0 (paper: 0.5); it reaches 1 at the last step."),
                io.Int.Input("keyframes", default=10, min=2, max=100,
                             tooltip="Steps of the piecewise-constant strength schedule."),
            ],
            outputs=[io.Conditioning.Output()],
        )

    @classmethod
    def execute(cls, positive, lora, t0, strength_at_t0, keyframes) -> io.NodeOutput:
        return io.NodeOutput(adapter.scheduled_lora(positive, lora, cosine_lora_keyframes(t0, strength_at_t0,
                                                                                          keyframes)))


NODES = [SDEDragSamplerNode, SDEDragNode, SDEDragLoraScheduleNode]
