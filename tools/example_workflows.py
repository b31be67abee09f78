"""The generator of the pack's example workflows, ``example_workflows/*.json`` (UI format 0.4, as ComfyUI
0.8.0's frontend saves them), built from the node schemas of ``tools.workflow_schema``::

    python -m tools.example_workflows           # check: exit 1 and a diff if a committed file differs
    python -m tools.example_workflows --write   # rewrite example_workflows/*.json

Validation and the UI -> API conversion are the tests' (``tests/workflow_check.py``, ``tests/test_workflows.py``).
"""
from __future__ import annotations

import json

from tools.generated_files import check_or_write, tool_parser
from tools.workflow_schema import (FRONTEND_ONLY, WORKFLOW_DIR, input_options, input_type, is_widget,
                                   load_object_info, node_inputs, widget_layout)


class WorkflowBuilder:
    """Writes UI-format (version 0.4) workflows; widget values are given by input name."""

    def __init__(self, object_info: dict, pack_id: str = "sde-edit", pack_version: str = "0.1.0"):
        self.info, self.pack_id, self.pack_version = object_info, pack_id, pack_version
        self.nodes, self.links, self.groups = [], [], []

    def node(self, node_type: str, pos, size, title: str | None = None, models: list | None = None,
             control: str = "fixed", **widgets) -> dict:
        node_id = len(self.nodes) + 1
        values = []
        for name, extra in widget_layout(node_type, self.info):
            if extra == "control":
                values.append(control)
            elif extra == "upload":
                values.append("image")
            else:
                if name not in widgets:
                    spec = dict((n, s) for n, s, _ in node_inputs(self.info[node_type]))[name]
                    if "default" not in input_options(spec):
                        raise ValueError(f"{node_type}.{name}: no value and no default")
                    widgets[name] = input_options(spec)["default"]
                values.append(widgets.pop(name))
        if widgets:
            raise ValueError(f"{node_type}: not widgets: {sorted(widgets)}")
        node = {"id": node_id, "type": node_type, "pos": list(pos), "size": list(size), "flags": {},
                "order": 0, "mode": 0, "inputs": [], "outputs": [], "properties": {},
                "widgets_values": values}
        if node_type not in FRONTEND_ONLY:
            info = self.info[node_type]
            node["inputs"] = [{"name": name, "type": input_type(spec), "link": None}
                              for name, spec, _ in node_inputs(info) if not is_widget(spec)]
            node["outputs"] = [{"name": name, "type": kind, "links": [], "slot_index": index}
                               for index, (name, kind) in enumerate(zip(info["output_name"], info["output"]))]
            core = info.get("python_module", "").startswith(("nodes", "comfy_extras"))
            node["properties"] = {"cnr_id": "comfy-core" if core else self.pack_id,
                                  "ver": "0.8.0" if core else self.pack_version,
                                  "Node name for S&R": node_type}
            if models:
                node["properties"]["models"] = models
        if title:
            node["title"] = title
        if node_type in FRONTEND_ONLY:
            node["color"], node["bgcolor"] = "#432", "#653"
        self.nodes.append(node)
        return node

    def link(self, src: dict, src_slot: int, dst: dict, input_name: str) -> None:
        link_id = len(self.links) + 1
        out_type = src["outputs"][src_slot]["type"]
        slots = [i for i, entry in enumerate(dst["inputs"]) if entry["name"] == input_name]
        if not slots:  # a widget turned into a socket
            spec = dict((n, s) for n, s, _ in node_inputs(self.info[dst["type"]]))[input_name]
            dst["inputs"].append({"name": input_name, "type": input_type(spec), "widget": {"name": input_name},
                                  "link": None})
            slots = [len(dst["inputs"]) - 1]
        dst["inputs"][slots[0]]["link"] = link_id
        src["outputs"][src_slot]["links"].append(link_id)
        self.links.append([link_id, src["id"], src_slot, dst["id"], slots[0], out_type])

    def wire(self, dst: dict, **sources) -> None:
        """Link several inputs of ``dst`` in order: ``input_name=node`` (its output 0) or ``=(node, slot)``."""
        for input_name, source in sources.items():
            src, slot = source if isinstance(source, tuple) else (source, 0)
            self.link(src, slot, dst, input_name)

    def group(self, title: str, bounding, color: str = "#3f789e") -> None:
        self.groups.append({"id": len(self.groups) + 1, "title": title, "bounding": list(bounding),
                            "color": color, "font_size": 24, "flags": {}})

    def build(self) -> dict:
        self._set_order()
        return {"last_node_id": len(self.nodes), "last_link_id": len(self.links), "nodes": self.nodes,
                "links": self.links, "groups": self.groups, "config": {},
                "extra": {"ds": {"scale": 0.75, "offset": [40, 40]}}, "version": 0.4}

    def _set_order(self) -> None:
        """Execution order as the frontend stores it: a topological order (notes first)."""
        parents = {node["id"]: {link[1] for link in self.links if link[3] == node["id"]} for node in self.nodes}
        done, order = set(), []
        while len(order) < len(self.nodes):
            ready = [n for n in self.nodes if n["id"] not in done and parents[n["id"]] <= done]
            if not ready:
                raise ValueError("the workflow has a cycle")
            for node in ready:
                done.add(node["id"])
                order.append(node)
        for index, node in enumerate(order):
            node["order"] = index


def _sampler_run(b: WorkflowBuilder, pos, title: str, noise, guider, sampler, sigmas, latent) -> dict:
    """SamplerCustomAdvanced with its five inputs; ``sigmas`` may be (node, slot)."""
    run = b.node("SamplerCustomAdvanced", pos, (260, 330), title=title)
    b.wire(run, noise=noise, guider=guider, sampler=sampler, sigmas=sigmas, latent_image=latent)
    return run


def _branches(b: WorkflowBuilder, x: int, y: int, vae, sigmas, latent, invert, source_guider,
              target_guider, prefix: str) -> None:
    """The two replay branches: reconstruct (source guider) and edit (target guider), one sampler node."""
    sampler = b.node("SDEEdit_CycleSDESampler", (x, y + 250), (280, 70))
    b.link(invert, 0, sampler, "trajectory")
    noise = b.node("DisableNoise", (x, y + 370), (210, 30))
    for row, (label, the_guider) in enumerate((("Reconstruct", source_guider), ("Edit", target_guider))):
        top = y + row * 480
        run = _sampler_run(b, (x + 330, top), f"{label} (replay)", noise, the_guider, sampler, sigmas, latent)
        decode = b.node("VAEDecode", (x + 630, top), (210, 50))
        b.link(run, 0, decode, "samples")
        b.link(vae, 0 if vae["type"] == "VAELoader" else 2, decode, "vae")
        if label == "Reconstruct":
            show = b.node("PreviewImage", (x + 870, top), (360, 380), title="Reconstruction (= the input)")
        else:
            show = b.node("SaveImage", (x + 870, top), (360, 400), title="Edited image",
                          filename_prefix=f"{prefix}_edit")
        b.link(decode, 0, show, "images")
        b.group(f"{label}", (x + 310, top - 75, 940, 455),
                "#3f789e" if row == 0 else "#8a5a2b")


SD15_NOTE = "\n".join([
    'Cycle-SDE edit (Nie et al., arXiv 2311.01410) for SD1.5',
    '',
    "Cycle-SDE Invert records the input image's noising trajectory once, under the SOURCE guider. "
    'Cycle-SDE Sampler replays that trajectory inside SamplerCustomAdvanced with any guider:',
    '- Reconstruct (source guider): gives back the input exactly. Use it as a check.',
    '- Edit (target guider): changes what the target prompt asks for and keeps the rest.',
    'Changing only the target prompt or its CFG does not re-run the inversion (keep the Invert seed on '
    '"fixed").',
    '',
    'What to tune',
    '- BasicScheduler denoise = edit strength t0 (0.5-0.8): raise it when the edit shows no effect, lower'
    ' it to stay closer to the input. steps (30-50) are the steps actually run from t0 down.',
    '- Target guider cfg (5-10): higher gives stronger edits.',
    '- Prompts: let the target prompt differ from the source prompt only in the words you want to change;'
    ' the source prompt should describe the input image.',
    "- eta on Cycle-SDE Invert: 1 = the paper's SDE (best edits); lower moves towards DDIM. "
    'Reconstruction stays exact for any eta > 0.',
    '- seed: another seed gives another, equally valid edit of the same image.',
    '- For a one-off edit, the all-in-one Cycle-SDE Edit node does inversion and edit in one node.',
])

FLUX_NOTE = "\n".join([
    'Cycle-SDE edit (Nie et al., arXiv 2311.01410) for FLUX.1-dev',
    '',
    'Flux is a flow model; guidance comes from FluxGuidance on each prompt and BasicGuider (CFG 1). '
    "Cycle-SDE Invert records the input's trajectory once, under the SOURCE prompt. Cycle-SDE Sampler "
    'replays it:',
    '- Reconstruct (source guider): gives back the input exactly. Use it as a check.',
    '- Edit (target guider): applies the target prompt.',
    'Changing only the target prompt does not re-run the inversion (keep the Invert seed on "fixed").',
    '',
    'What to tune',
    '- BasicScheduler denoise = edit strength t0 (0.6-0.9 for Flux): raise it when nothing changes. steps'
    ' 20-30.',
    '- FluxGuidance of the target (2.5-5): higher follows the target prompt more closely.',
    '- The source FluxGuidance should fit the input image (3.5 is a good start).',
    "- eta on Cycle-SDE Invert: 1 = the paper's SDE; reconstruction stays exact for any eta > 0.",
    '- Image size: use multiples of 16 px; the input is encoded at its own size.',
])

SD15_CKPT = {"name": "v1-5-pruned-emaonly.safetensors", "directory": "checkpoints",
             "url": "https://huggingface.co/Comfy-Org/stable-diffusion-v1-5-archive/resolve/main/"
                    "v1-5-pruned-emaonly.safetensors?download=true"}
FLUX_MODELS = {
    "unet": {"name": "flux1-dev.safetensors", "directory": "diffusion_models",
             "url": "https://huggingface.co/Comfy-Org/flux1-dev/resolve/main/flux1-dev.safetensors"},
    "clip_l": {"name": "clip_l.safetensors", "directory": "text_encoders",
               "url": "https://huggingface.co/comfyanonymous/flux_text_encoders/resolve/main/clip_l.safetensors"},
    "t5": {"name": "t5xxl_fp16.safetensors", "directory": "text_encoders",
           "url": "https://huggingface.co/comfyanonymous/flux_text_encoders/resolve/main/t5xxl_fp16.safetensors"},
    "vae": {"name": "ae.safetensors", "directory": "vae",
            "url": "https://huggingface.co/Comfy-Org/Lumina_Image_2.0_Repackaged/resolve/main/split_files/vae/"
                   "ae.safetensors"},
}


def sd15_workflow(object_info: dict) -> dict:
    b = WorkflowBuilder(object_info)
    ckpt = _checkpoint(b, SD15_CKPT)
    image, encode = _encode(b, ckpt, 2, 0, 160)
    guiders, sigmas, invert = _cfg_cycle_sde(b, ckpt, ckpt, 1, encode, (*CAT_TO_DOG, "blurry, low quality, distorted"),
                                             7.5, 35, 0.7)
    _branches(b, 1170, 0, ckpt, sigmas, encode, invert, guiders["source"], guiders["target"], "cycle_sde_sd15")
    b.node("Note", (0, 640), (760, 420), title="Cycle-SDE: what to tune", text=SD15_NOTE)
    return b.build()


def flux_workflow(object_info: dict) -> dict:
    b = WorkflowBuilder(object_info)
    unet, clip, vae = _flux_loaders(b)
    image, encode = _encode(b, vae, 0, 0, 420)
    guiders = _flux_guiders(b, clip, unet, (("source", "a photo of a cat sitting on a wooden bench", 3.5),
                                            ("target", "a photo of a dog sitting on a wooden bench", 3.5)))
    sigmas = b.node("BasicScheduler", (820, 260), (270, 110), scheduler="simple", steps=28, denoise=0.8)
    b.link(unet, 0, sigmas, "model")
    invert = _invert(b, (820, 420), guiders["source"], sigmas, encode)
    _branches(b, 1170, 0, vae, sigmas, encode, invert, guiders["source"], guiders["target"], "cycle_sde_flux")
    b.node("Note", (370, 640), (560, 420), title="Cycle-SDE: what to tune", text=FLUX_NOTE)
    return b.build()


SDXL_CKPT = {"name": "sd_xl_base_1.0.safetensors", "directory": "checkpoints",
             "url": "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/"
                    "sd_xl_base_1.0.safetensors"}

DRAG_NOTE = "\n".join([
    "SDE-Drag (Nie et al., arXiv 2311.01410): drag handles to targets",
    "",
    "Click on the image in the SDE-Drag node: first the handle (red), then its target (blue); pairs are "
    "numbered, drag a point to move it, right-click deletes a pair, Clear empties the list. The points are "
    "stored in drag_points (image pixels), so the workflow can also be driven from the API. No LoadImage "
    "right before the node? Queue once without pairs: the node shows its image, then asks for them.",
    "",
    "Mask (optional): Brush in the editor paints the area that may change (Erase, Clear mask); it is saved "
    "with the workflow. Or connect a MASK to SDE-Drag's mask (it wins; the editor shows it). Outside the mask "
    "the result equals the input exactly. After a run, Result shows the edited image over the source.",
    "",
    "What to tune",
    "- preset: fast (30 steps) to explore, paper (120 steps) for the final result.",
    "- t0 (0.5-0.7): higher gives the drag more freedom; lower stays closer to the input.",
    "- A copy stays behind at the handle: lower beta or raise t0. Nothing moves: raise window so the copied "
    "square covers the part to drag.",
    "- Long drags are split into sub-drags of subdrag_step latent cells (x8 px); each costs a full round.",
    "- The prompt should describe the image; seed gives other, equally valid results.",
])

SYNC_NOTE = "\n".join([
    "sync-SDE edit (Zhang & Scott, arXiv 2509.24223)",
    "",
    "The source and the target prompt are denoised along one shared Brownian path started from the input: "
    "only the prompt-dependent drift differs, so everything the prompts agree on stays. No inversion pass; "
    "2 model calls per step. The same prompt twice gives the input back exactly.",
    "",
    "What to tune",
    "- start step (SplitSigmas / start_step): 4 of 28 is the official default (sigma ~0.95 for Flux at "
    "1024 px). Smaller allows bigger structural edits, larger stays closer to the input.",
    "- Guidance: FluxGuidance on each prompt for Flux (cfg 1 in the guider); for SDXL the target cfg "
    "(4-8) sets the edit strength.",
    "- A negative prompt on the target removes things; it takes effect when the target cfg is not 1.",
    "- Prompts: describe the whole image in both, differing only where the edit should happen.",
    "- discretisation: rectified is the official Flux solver; ddpm works for every model.",
])

INPAINT_NOTE = "\n".join([
    "SDE vs ODE inpainting (Nie et al., arXiv 2311.01410, Table 2)",
    "",
    "Paint the area to fill: right-click LoadImage -> Open in MaskEditor. Set Latent Noise Mask hands it "
    "to the sampler; everything outside follows the noised input and is kept.",
    "The two branches run the same model, prompt and step count: SDE = DDPM steps (eta 1), ODE = DDIM "
    "steps (eta 0). The paper finds SDE better at every step count (SDE at 25 steps beats ODE at 100).",
    "Works with a plain SD1.5 checkpoint; no inpainting model needed.",
])


def _conditioning(b: WorkflowBuilder, clip, clip_slot: int, x: int, y: int, key: str, text: str) -> dict:
    prompt = b.node("CLIPTextEncode", (x, y), (400, 140), title=f"{key.capitalize()} prompt", text=text)
    b.link(clip, clip_slot, prompt, "clip")
    return prompt


def _encode(b: WorkflowBuilder, vae, vae_slot: int, x: int, y: int) -> tuple[dict, dict]:
    image = b.node("LoadImage", (x, y), (320, 330), title="Input image", image="example.png")
    encode = b.node("VAEEncode", (x, y + 380), (210, 50))
    b.link(image, 0, encode, "pixels")
    b.link(vae, vae_slot, encode, "vae")
    return image, encode


def _decode_save(b: WorkflowBuilder, latent_node, vae, vae_slot: int, x: int, y: int, prefix: str,
                 title: str = "Edited image", preview: bool = False) -> None:
    decode = b.node("VAEDecode", (x, y), (210, 50))
    b.link(latent_node, 0, decode, "samples")
    b.link(vae, vae_slot, decode, "vae")
    if preview:
        show = b.node("PreviewImage", (x + 240, y), (360, 380), title=title)
    else:
        show = b.node("SaveImage", (x + 240, y), (360, 400), title=title, filename_prefix=prefix)
    b.link(decode, 0, show, "images")


def _prompts(b: WorkflowBuilder, clip, clip_slot: int, texts: tuple) -> dict:
    """Source, target and negative prompt nodes, one below the other."""
    return {key: _conditioning(b, clip, clip_slot, 370, row * 180, key, text)
            for row, (key, text) in enumerate(zip(("source", "target", "negative"), texts))}


NEGATIVE = "blurry, low quality, distorted"


def _cfg_cycle_sde(b: WorkflowBuilder, model, clip, clip_slot: int, encode, texts: tuple, cfg: float, steps: int,
                   denoise: float) -> tuple[dict, dict, dict]:
    """Source / target / negative prompts, a CFGGuider per branch, BasicScheduler and Cycle-SDE Invert under the
    source guider; returns (guiders, sigmas, invert)."""
    prompts = _prompts(b, clip, clip_slot, texts)
    guiders = {}
    for row, key in enumerate(("source", "target")):
        guiders[key] = b.node("CFGGuider", (820, row * 150), (270, 100), title=f"{key.capitalize()} guider",
                              cfg=cfg)
        b.wire(guiders[key], model=model, positive=prompts[key], negative=prompts["negative"])
    sigmas = b.node("BasicScheduler", (820, 320), (270, 110), scheduler="simple", steps=steps, denoise=denoise)
    b.link(model, 0, sigmas, "model")
    return guiders, sigmas, _invert(b, (820, 480), guiders["source"], sigmas, encode)


CAT_TO_DOG = ("a photo of a cat sitting on a wooden bench", "a photo of a dog sitting on a wooden bench")


def _unet_loader(b: WorkflowBuilder, model: dict) -> dict:
    return b.node("UNETLoader", (0, 0), (320, 82), models=[model], unet_name=model["name"], weight_dtype="default")


def _clip_loader(b: WorkflowBuilder, y: int, model: dict, kind: str) -> dict:
    return b.node("CLIPLoader", (0, y), (320, 110), models=[model], clip_name=model["name"], type=kind,
                  device="default")


def _vae_loader(b: WorkflowBuilder, y: int, model: dict) -> dict:
    return b.node("VAELoader", (0, y), (320, 60), models=[model], vae_name=model["name"])


def _checkpoint(b: WorkflowBuilder, ckpt: dict) -> dict:
    return b.node("CheckpointLoaderSimple", (0, 0), (320, 100), models=[ckpt], ckpt_name=ckpt["name"])


def _checkpoint_cat_to_dog(b: WorkflowBuilder, ckpt_name: dict) -> tuple[dict, dict, dict]:
    """A checkpoint, its encoded input image and the cat -> dog prompts with a negative."""
    ckpt = _checkpoint(b, ckpt_name)
    _, encode = _encode(b, ckpt, 2, 0, 160)
    return ckpt, encode, _prompts(b, ckpt, 1, (*CAT_TO_DOG, NEGATIVE))


def _flux_guiders(b: WorkflowBuilder, clip, unet, prompts) -> dict:
    """One BasicGuider per (key, text, FluxGuidance) row: CLIPTextEncode -> FluxGuidance -> BasicGuider."""
    guiders = {}
    for row, (key, text, guidance) in enumerate(prompts):
        prompt = _conditioning(b, clip, 0, 370, row * 300, key, text)
        flux_guidance = b.node("FluxGuidance", (370, row * 300 + 190), (270, 60), guidance=guidance)
        b.link(prompt, 0, flux_guidance, "conditioning")
        guiders[key] = b.node("BasicGuider", (820, row * 120), (240, 50), title=f"{key.capitalize()} guider")
        b.wire(guiders[key], model=unet, conditioning=flux_guidance)
    return guiders


def _invert(b: WorkflowBuilder, pos, guider, sigmas, latent) -> dict:
    invert = b.node("SDEEdit_CycleSDEInvert", pos, (300, 180), seed=0, eta=1.0, storage_dtype="float32")
    b.wire(invert, guider=guider, sigmas=sigmas, latent=latent)
    return invert


def _flux_loaders(b: WorkflowBuilder, unet_model: dict = FLUX_MODELS["unet"]) -> tuple[dict, dict, dict]:
    """UNETLoader (FLUX.1 dev, or ``unet_model`` of the same family), DualCLIPLoader (CLIP-L + T5), the Flux VAE."""
    unet = _unet_loader(b, unet_model)
    clip = b.node("DualCLIPLoader", (0, 130), (320, 130), models=[FLUX_MODELS["clip_l"], FLUX_MODELS["t5"]],
                  clip_name1="clip_l.safetensors", clip_name2="t5xxl_fp16.safetensors", type="flux",
                  device="default")
    vae = b.node("VAELoader", (0, 310), (320, 60), models=[FLUX_MODELS["vae"]], vae_name="ae.safetensors")
    return unet, clip, vae


def drag_workflow(family: str):
    """SDE-Drag: LoadImage -> VAEEncode -> SDE-Drag (image input for the point editor) -> decode, save."""
    points = {"sd15": '{"pairs": [{"source": [200, 256], "target": [300, 256]}]}',
              "sdxl": '{"pairs": [{"source": [400, 512], "target": [600, 512]}]}',
              "flux": '{"pairs": [{"source": [400, 512], "target": [600, 512]}]}'}[family]
    prompt = "a photo of a red apple on a wooden table"

    def build(object_info: dict) -> dict:
        b = WorkflowBuilder(object_info)
        if family == "flux":
            model, clip, vae = _flux_loaders(b)
            model_slot, clip_slot, vae_slot = 0, 0, 0
            positive = _conditioning(b, clip, clip_slot, 370, 0, "image", prompt)
            guidance = b.node("FluxGuidance", (370, 190), (270, 60), guidance=3.5)
            b.link(positive, 0, guidance, "conditioning")
            positive, cfg = guidance, 1.0
        else:
            ckpt = SD15_CKPT if family == "sd15" else SDXL_CKPT
            model = clip = vae = _checkpoint(b, ckpt)
            model_slot, clip_slot, vae_slot = 0, 1, 2
            positive, cfg = _conditioning(b, clip, clip_slot, 370, 0, "image", prompt), 3.0
        image, encode = _encode(b, vae, vae_slot, 0, 420)
        drag = b.node("SDEEdit_SDEDrag", (820, 0), (460, 760), title="SDE-Drag (click: handle, then target)",
                      drag_points=points, preset="fast (30 steps)", steps=30, t0=0.6, cfg=cfg, scheduler="simple",
                      alpha=1.1, beta=0.3, window=5, subdrag_step=2.0, seed=0, eta=1.0)
        b.wire(drag, model=(model, model_slot), positive=positive, latent=encode, image=image)
        _decode_save(b, drag, vae, vae_slot, 1320, 0, f"sde_drag_{family}", title="Dragged image")
        b.node("Note", (0, 900), (760, 380), title="SDE-Drag: how to use", text=DRAG_NOTE)
        return b.build()

    return build


def _flux_sync_sde(b: WorkflowBuilder, unet, clip, vae, encode, guidance: float, schedule, prefix: str) -> None:
    """Composable sync-SDE on a guidance-distilled model: FluxGuidance on both prompts, sync-SDE Guider,
    ``schedule(b)`` -> SplitSigmas at step 4, sync-SDE Sampler (rectified) in SamplerCustomAdvanced, decode."""
    prompts = {}
    for row, (key, text) in enumerate(zip(("source", "target"), CAT_TO_DOG)):
        prompt = _conditioning(b, clip, 0, 370, row * 300, key, text)
        prompts[key] = b.node("FluxGuidance", (370, row * 300 + 190), (270, 60), guidance=guidance)
        b.link(prompt, 0, prompts[key], "conditioning")
    guider = b.node("SDEEdit_SyncSDEGuider", (820, 0), (300, 150), source_cfg=1.0, target_cfg=1.0)
    b.wire(guider, model=unet, source=prompts["source"], target=prompts["target"])
    sigmas = schedule(b)
    split = b.node("SplitSigmas", (820, 360), (270, 80), title="Start at step 4", step=4)
    b.link(sigmas, 0, split, "sigmas")
    sampler = b.node("SDEEdit_SyncSDESampler", (820, 490), (270, 80), discretisation="rectified", seed=0)
    noise = b.node("DisableNoise", (820, 620), (210, 30))
    run = _sampler_run(b, (1160, 0), "sync-SDE edit", noise, guider, sampler, (split, 1), encode)
    _decode_save(b, run, vae, 0, 1460, 0, prefix)


def sync_flux_workflow(object_info: dict) -> dict:
    """sync-SDE on Flux, composable: sync-SDE Guider + sync-SDE Sampler in SamplerCustomAdvanced."""
    b = WorkflowBuilder(object_info)
    unet, clip, vae = _flux_loaders(b)
    image, encode = _encode(b, vae, 0, 0, 420)

    def schedule(b):
        sigmas = b.node("BasicScheduler", (820, 200), (270, 110), scheduler="simple", steps=28, denoise=1.0)
        b.link(unet, 0, sigmas, "model")
        return sigmas

    _flux_sync_sde(b, unet, clip, vae, encode, 3.5, schedule, "sync_sde_flux")
    b.node("Note", (0, 900), (760, 400), title="sync-SDE: what to tune", text=SYNC_NOTE)
    return b.build()


def sync_sdxl_workflow(object_info: dict) -> dict:
    """sync-SDE on SDXL with the all-in-one node."""
    b = WorkflowBuilder(object_info)
    ckpt, encode, prompts = _checkpoint_cat_to_dog(b, SDXL_CKPT)
    edit = b.node("SDEEdit_SyncSDEEdit", (820, 0), (320, 330), steps=28, start_step=6, source_cfg=5.0,
                  target_cfg=5.0, scheduler="simple", discretisation="ddpm", seed=0)
    b.wire(edit, model=ckpt, source=prompts["source"], target=prompts["target"], latent=encode,
           source_negative=prompts["negative"], target_negative=prompts["negative"])
    _decode_save(b, edit, ckpt, 2, 1180, 0, "sync_sde_sdxl")
    b.node("Note", (0, 640), (760, 400), title="sync-SDE: what to tune", text=SYNC_NOTE)
    return b.build()


def inpaint_sd15_workflow(object_info: dict) -> dict:
    """SDE (DDPM) vs ODE (DDIM) inpainting with a plain SD1.5 checkpoint, same steps."""
    b = WorkflowBuilder(object_info)
    ckpt = _checkpoint(b, SD15_CKPT)
    image, encode = _encode(b, ckpt, 2, 0, 160)
    masked = b.node("SetLatentNoiseMask", (0, 620), (240, 50))
    b.wire(masked, samples=encode, mask=(image, 1))
    positive = _conditioning(b, ckpt, 1, 370, 0, "prompt", "a wooden park bench in a sunny garden")
    negative = _conditioning(b, ckpt, 1, 370, 180, "negative", "blurry, low quality, distorted")
    guider = b.node("CFGGuider", (820, 0), (270, 100), cfg=7.5)
    b.wire(guider, model=ckpt, positive=positive, negative=negative)
    sigmas = b.node("BasicScheduler", (820, 150), (270, 110), scheduler="simple", steps=25, denoise=1.0)
    b.link(ckpt, 0, sigmas, "model")
    noise = b.node("DisableNoise", (820, 310), (210, 30))
    for row, (label, eta) in enumerate((("SDE (DDPM)", 1.0), ("ODE (DDIM)", 0.0))):
        top = row * 480
        sampler = b.node("SDEEdit_SDEInpaintSampler", (1120, top + 350), (270, 80), title=f"{label} inpaint",
                         eta=eta, seed=0)
        run = _sampler_run(b, (1120, top), f"{label} inpainting", noise, guider, sampler, sigmas, masked)
        _decode_save(b, run, ckpt, 2, 1420, top, "sde_inpaint_sd15", title=label, preview=row == 1)
    b.node("Note", (0, 720), (760, 300), title="SDE vs ODE inpainting", text=INPAINT_NOTE)
    return b.build()


RF_NOTE = "\n".join([
    "RF-Inversion (Rout et al., arXiv 2410.10792)",
    "",
    "Forward: a controlled ODE turns the image into structured noise, pulled by gamma toward a fixed "
    "Gaussian sample (empty prompt, guidance 0). Reverse: the target prompt's ODE, pulled back toward the "
    "input by eta over the window [eta_start, eta_stop) of steps. The usual descending sigmas serve both "
    "passes: no FlipSigmas and no model-sampling patch nodes.",
    "",
    "The edit shows NO EFFECT (output = input):",
    "- end the eta window earlier (eta_stop 4-6 of 28; past ~8 the input dominates, paper Fig. 10),",
    "- lower eta (0.6-0.8) or use eta_trend linear_decrease,",
    "- raise the target's guidance (FluxGuidance 3.5-5; cfg 4-7 for SD models).",
    "The edit DRIFTS from the input (identity, layout lost):",
    "- raise eta or end the window later, lower gamma (0.3-0.5), or start later (start_step: invert only "
    "part of the way, SDEdit-like).",
    "Presets fill start_step, the window and eta from the paper's Table 4 (stroke-to-image, object insert, "
    "gender, age, glasses, stylisation).",
])

SD3_CKPT = {"name": "sd3.5_medium_incl_clips_t5xxlfp8scaled.safetensors", "directory": "checkpoints",
            "url": "https://huggingface.co/Comfy-Org/stable-diffusion-3.5-fp8/resolve/main/"
                   "sd3.5_medium_incl_clips_t5xxlfp8scaled.safetensors"}


def rf_flux_edit_workflow(object_info: dict) -> dict:
    """RF-Inversion on Flux, composable: forward and reverse samplers in two SamplerCustomAdvanced."""
    b = WorkflowBuilder(object_info)
    unet, clip, vae = _flux_loaders(b)
    image, encode = _encode(b, vae, 0, 0, 420)
    guiders = _flux_guiders(b, clip, unet, (("inversion", "", 0.0),
                                            ("target", "a photo of a smiling woman with glasses", 3.5)))
    sigmas = b.node("BasicScheduler", (820, 260), (270, 110), scheduler="simple", steps=28, denoise=1.0)
    b.link(unet, 0, sigmas, "model")
    noise = b.node("DisableNoise", (820, 420), (210, 30))
    forward_sampler = b.node("SDEEdit_RFInversionForwardSampler", (820, 500), (300, 80), gamma=0.5, seed=0)
    forward = _sampler_run(b, (1160, 0), "Invert (forward ODE)", noise, guiders["inversion"], forward_sampler, sigmas,
                           encode)
    reverse_sampler = b.node("SDEEdit_RFInversionReverseSampler", (1160, 380), (300, 230), eta=0.9, eta_start=0,
                             eta_stop=6, eta_trend="constant", stochastic=False, seed=0)
    b.link(encode, 0, reverse_sampler, "source")
    reverse = _sampler_run(b, (1500, 0), "Edit (reverse ODE)", noise, guiders["target"], reverse_sampler, sigmas,
                           forward)
    _decode_save(b, reverse, vae, 0, 1800, 0, "rf_inversion_flux")
    b.node("Note", (0, 900), (760, 440), title="RF-Inversion: what to tune", text=RF_NOTE)
    return b.build()


def rf_all_in_one_workflow(family: str, preset: str, target_text: str):
    """RF-Inversion Edit node on Flux (FluxGuidance, cfg 1), SD3.5 or SDXL (cfg with a negative)."""
    def build(object_info: dict) -> dict:
        b = WorkflowBuilder(object_info)
        if family == "flux":
            model, clip, vae = _flux_loaders(b)
            model_slot, clip_slot, vae_slot = 0, 0, 0
        else:
            ckpt = SD3_CKPT if family == "sd3" else SDXL_CKPT
            model = clip = vae = _checkpoint(b, ckpt)
            model_slot, clip_slot, vae_slot = 0, 1, 2
        image, encode = _encode(b, vae, vae_slot, 0, 420)
        target = _conditioning(b, clip, clip_slot, 370, 0, "target", target_text)
        edit = b.node("SDEEdit_RFInversionEdit", (820, 0), (320, 460), preset=preset, steps=28, start_step=0,
                      gamma=0.5, eta=0.9, eta_start=0, eta_stop=6, eta_trend="constant", stochastic=False,
                      cfg=1.0 if family == "flux" else 4.5, scheduler="simple", seed=0)
        if family == "flux":
            guidance = b.node("FluxGuidance", (370, 190), (270, 60), guidance=3.5)
            b.link(target, 0, guidance, "conditioning")
            target = guidance
        else:
            negative = _conditioning(b, clip, clip_slot, 370, 190, "negative", "blurry, low quality, distorted")
            b.link(negative, 0, edit, "negative")
        if family == "sd3":
            shifted = b.node("ModelSamplingSD3", (820, 520), (270, 60), shift=3.0)
            b.link(model, model_slot, shifted, "model")
            model, model_slot = shifted, 0
        b.wire(edit, model=(model, model_slot), target=target, latent=encode)
        _decode_save(b, edit, vae, vae_slot, 1180, 0, f"rf_inversion_{family}_{preset.replace(' ', '_')}")
        b.node("Note", (0, 900), (760, 440), title="RF-Inversion: what to tune", text=RF_NOTE)
        return b.build()

    return build


def repackaged(repo: str, folder: str, name: str) -> dict:
    """A model file of a Comfy-Org repackaged repository (split_files/<folder>/<name>), as workflows list it."""
    return {"name": name, "directory": folder,
            "url": f"https://huggingface.co/Comfy-Org/{repo}/resolve/main/split_files/{folder}/{name}"}


QWEN_IMAGE_MODELS = {"unet": repackaged("Qwen-Image_ComfyUI", "diffusion_models", "qwen_image_fp8_e4m3fn.safetensors"),
                     "clip": repackaged("Qwen-Image_ComfyUI", "text_encoders", "qwen_2.5_vl_7b_fp8_scaled.safetensors"),
                     "vae": repackaged("Qwen-Image_ComfyUI", "vae", "qwen_image_vae.safetensors")}
FLUX2_MODELS = {"unet": repackaged("flux2-dev", "diffusion_models", "flux2_dev_fp8mixed.safetensors"),
                "clip": repackaged("flux2-dev", "text_encoders", "mistral_3_small_flux2_fp8.safetensors"),
                "vae": repackaged("flux2-dev", "vae", "flux2-vae.safetensors")}

QWEN_IMAGE_NOTE = "\n".join([
    "Cycle-SDE edit (Nie et al., arXiv 2311.01410) for Qwen-Image",
    "",
    "Qwen-Image is a flow model with real CFG. ModelSamplingAuraFlow (shift 3.1) is its usual schedule "
    "shift, as in the Qwen-Image template. Cycle-SDE Invert records the input's trajectory once under the "
    "SOURCE guider; Cycle-SDE Sampler replays it:",
    "- Reconstruct (source guider): gives back the input exactly. Use it as a check.",
    "- Edit (target guider): applies the target prompt.",
    "",
    "What to tune",
    "- BasicScheduler denoise = edit strength t0 (0.6-0.8): raise it when nothing changes. steps 20-30.",
    "- CFG of the target guider (2.5-4): higher follows the target prompt more closely; keep the source "
    "guider's CFG low (1-2.5).",
    "- Its latents are video-shaped (one frame): every latent node of ComfyUI handles them; images of any "
    "size in multiples of 16 px.",
    "- The text encoder reads long prompts well: describe the whole image in both prompts, differing only "
    "where the edit should happen.",
])

FLUX2_NOTE = "\n".join([
    "sync-SDE edit (Zhang & Scott, arXiv 2509.24223) for FLUX.2 dev",
    "",
    "FLUX.2 is guidance-distilled: guidance comes from FluxGuidance on each prompt, the guider's CFG stays "
    "1. Flux2Scheduler gives the resolution-dependent schedule; set its width and height to the input "
    "image's. SplitSigmas starts the edit at step 4 of 28 (the official sync-SDE default).",
    "",
    "What to tune",
    "- Start step (SplitSigmas): smaller allows bigger changes, larger stays closer to the input.",
    "- FluxGuidance of the target (3-5): higher follows the target prompt more closely.",
    "- discretisation: rectified is the official solver for flow models; ddpm works too.",
    "- FLUX.2's VAE has 16 px per latent cell: use image sides that are multiples of 16 (for SDE-Drag on "
    "FLUX.2 set vae_downscale to 16).",
])

SD35_NOTE = "\n".join([
    "Cycle-SDE edit (Nie et al., arXiv 2311.01410) for SD3.5, all in one node",
    "",
    "Cycle-SDE Edit inverts the input under the source prompt and replays it under the target prompt. "
    "ModelSamplingSD3 (shift 3) is SD3.5's usual schedule shift, as in plain sampling.",
    "",
    "What to tune",
    "- t0 (0.6-0.8): the edit strength; raise it when nothing changes.",
    "- cfg (4-5): guidance for both prompts; higher gives stronger edits.",
    "- steps: the steps run from t0 down (25-35).",
    "- To try several targets on one image, use Cycle-SDE Invert + Cycle-SDE Sampler, which invert once.",
])


def qwen_image_workflow(object_info: dict) -> dict:
    """Cycle-SDE on Qwen-Image, composable: invert once, reconstruct and edit branches."""
    b = WorkflowBuilder(object_info)
    unet = _unet_loader(b, QWEN_IMAGE_MODELS["unet"])
    shift = b.node("ModelSamplingAuraFlow", (0, 130), (320, 60), shift=3.1)
    b.link(unet, 0, shift, "model")
    clip = _clip_loader(b, 240, QWEN_IMAGE_MODELS["clip"], "qwen_image")
    vae = _vae_loader(b, 400, QWEN_IMAGE_MODELS["vae"])
    image, encode = _encode(b, vae, 0, 0, 510)
    guiders, sigmas, invert = _cfg_cycle_sde(b, shift, clip, 0, encode, (*CAT_TO_DOG, ""), 2.5, 30, 0.7)
    _branches(b, 1170, 0, vae, sigmas, encode, invert, guiders["source"], guiders["target"], "cycle_sde_qwen_image")
    b.node("Note", (0, 1000), (760, 420), title="Cycle-SDE on Qwen-Image: what to tune", text=QWEN_IMAGE_NOTE)
    return b.build()


def flux2_sync_workflow(object_info: dict) -> dict:
    """sync-SDE on FLUX.2 dev, composable: sync-SDE Guider + sync-SDE Sampler in SamplerCustomAdvanced."""
    b = WorkflowBuilder(object_info)
    unet = _unet_loader(b, FLUX2_MODELS["unet"])
    clip = _clip_loader(b, 130, FLUX2_MODELS["clip"], "flux2")
    vae = _vae_loader(b, 290, FLUX2_MODELS["vae"])
    image, encode = _encode(b, vae, 0, 0, 420)
    _flux_sync_sde(b, unet, clip, vae, encode, 4.0, lambda b: b.node(
        "Flux2Scheduler", (820, 200), (270, 110), steps=28, width=1024, height=1024), "sync_sde_flux2")
    b.node("Note", (0, 900), (760, 400), title="sync-SDE on FLUX.2: what to tune", text=FLUX2_NOTE)
    return b.build()


def sd35_edit_workflow(object_info: dict) -> dict:
    """Cycle-SDE Edit (all in one) on SD3.5 Medium."""
    b = WorkflowBuilder(object_info)
    ckpt, encode, prompts = _checkpoint_cat_to_dog(b, SD3_CKPT)
    shift = b.node("ModelSamplingSD3", (820, 0), (270, 60), shift=3.0)
    b.link(ckpt, 0, shift, "model")
    edit = b.node("SDEEdit_CycleSDEEdit", (820, 110), (320, 330), steps=30, t0=0.7, cfg=4.5, scheduler="simple",
                  seed=0, eta=1.0)
    b.wire(edit, model=shift, source=prompts["source"], target=prompts["target"], latent=encode,
           negative=prompts["negative"])
    _decode_save(b, edit, ckpt, 2, 1180, 0, "cycle_sde_sd35")
    b.node("Note", (0, 640), (760, 360), title="Cycle-SDE on SD3.5: what to tune", text=SD35_NOTE)
    return b.build()


WAN21_MODELS = {"unet": repackaged("Wan_2.1_ComfyUI_repackaged", "diffusion_models", "wan2.1_t2v_1.3B_fp16.safetensors"),
                "clip": repackaged("Wan_2.1_ComfyUI_repackaged", "text_encoders",
                                   "umt5_xxl_fp8_e4m3fn_scaled.safetensors"),
                "vae": repackaged("Wan_2.1_ComfyUI_repackaged", "vae", "wan_2.1_vae.safetensors")}
HUNYUAN_VIDEO_MODELS = {
    "unet": repackaged("HunyuanVideo_repackaged", "diffusion_models", "hunyuan_video_t2v_720p_bf16.safetensors"),
    "clip_l": repackaged("HunyuanVideo_repackaged", "text_encoders", "clip_l.safetensors"),
    "llava": repackaged("HunyuanVideo_repackaged", "text_encoders", "llava_llama3_fp8_scaled.safetensors"),
    "vae": repackaged("HunyuanVideo_repackaged", "vae", "hunyuan_video_vae_bf16.safetensors")}

VIDEO_NOTE = "\n".join([
    "Editing a video: the whole clip is one latent [1, C, frames, H, W]; every method edits all frames at once",
    "",
    "- The clip: LoadVideo -> GetVideoComponents (frames and frame rate). Wan and HunyuanVideo VAEs take 4k + 1 "
    "frames (e.g. 33, 49, 81); sides in multiples of 16 px.",
    "- Memory: the Cycle-SDE trajectory holds 2 * steps + 1 latents on the CPU: for a Wan 2.1 480p clip of 81 "
    "frames (latent 16 x 21 x 60 x 104) 8 MiB each, so 488 MiB at 30 steps in float32 (storage_dtype float16: "
    "244 MiB).",
    "- Flicker between frames: lower t0 (denoise) or raise the source guider's share; the edit starts from "
    "noisier states at higher t0. No effect: raise t0 or the target CFG.",
    "- A noise mask (Set Latent Noise Mask) may hold one mask for all frames or one per frame; outside it every "
    "frame stays the source exactly.",
])
WAN_NOTE = VIDEO_NOTE + "\n\n" + "\n".join([
    "Wan 2.1: ModelSamplingSD3 shift 8 as in the Wan templates (3-5 for short clips also works), CFG 5-6; the "
    "target prompt differs from the source only in the words to change.",
])
HUNYUAN_VIDEO_NOTE = VIDEO_NOTE + "\n\n" + "\n".join([
    "HunyuanVideo is guidance-distilled: FluxGuidance 6 on the target prompt, CFG 1. RF-Inversion inverts "
    "with the empty prompt at guidance 0 (the node's default) and pulls the reverse pass toward the source "
    "over the eta window: end the window earlier when the edit shows no effect.",
])


def _video_input(b: WorkflowBuilder, vae, vae_slot: int, x: int, y: int) -> tuple[dict, dict]:
    """LoadVideo -> GetVideoComponents -> VAE Encode of its frames; returns (components, encode)."""
    video = b.node("LoadVideo", (x, y), (320, 330), title="Input video", file="example.mp4")
    components = b.node("GetVideoComponents", (x, y + 380), (240, 70))
    b.link(video, 0, components, "video")
    encode = b.node("VAEEncode", (x, y + 500), (210, 50))
    b.wire(encode, pixels=components, vae=(vae, vae_slot))
    return components, encode


def _decode_save_video(b: WorkflowBuilder, latent_node, vae, vae_slot: int, components, x: int, y: int,
                       prefix: str) -> None:
    """VAE Decode -> Save WEBM at the input's frame rate (SaveWEBM has the same widgets in 0.8 and 0.33)."""
    decode = b.node("VAEDecode", (x, y), (210, 50))
    b.wire(decode, samples=latent_node, vae=(vae, vae_slot))
    save = b.node("SaveWEBM", (x + 240, y), (360, 400), title="Edited video", filename_prefix=prefix, codec="vp9",
                  fps=16.0, crf=32.0)
    b.wire(save, images=decode, fps=(components, 2))


def _wan_loaders(b: WorkflowBuilder) -> tuple[dict, dict, dict]:
    unet = _unet_loader(b, WAN21_MODELS["unet"])
    shift = b.node("ModelSamplingSD3", (0, 130), (320, 60), shift=8.0)
    b.link(unet, 0, shift, "model")
    clip = _clip_loader(b, 240, WAN21_MODELS["clip"], "wan")
    vae = _vae_loader(b, 400, WAN21_MODELS["vae"])
    return shift, clip, vae


def wan_cycle_sde_video_workflow(object_info: dict) -> dict:
    """Cycle-SDE on a Wan 2.1 video: invert once, reconstruct and edit, each saved as a video."""
    b = WorkflowBuilder(object_info)
    model, clip, vae = _wan_loaders(b)
    components, encode = _video_input(b, vae, 0, 0, 510)
    guiders, sigmas, invert = _cfg_cycle_sde(b, model, clip, 0, encode, (
        "a red car driving along a coastal road", "a blue car driving along a coastal road",
        "blurry, low quality, distorted"), 5.0, 30, 0.7)
    sampler = b.node("SDEEdit_CycleSDESampler", (1170, 250), (280, 70))
    b.link(invert, 0, sampler, "trajectory")
    noise = b.node("DisableNoise", (1170, 370), (210, 30))
    for row, (label, the_guider) in enumerate((("Reconstruct", guiders["source"]), ("Edit", guiders["target"]))):
        run = _sampler_run(b, (1500, row * 480), f"{label} (replay)", noise, the_guider, sampler, sigmas, encode)
        _decode_save_video(b, run, vae, 0, components, 1800, row * 480, f"cycle_sde_wan21_{label.lower()}")
    b.node("Note", (0, 1100), (760, 440), title="Cycle-SDE on a Wan 2.1 video: what to tune", text=WAN_NOTE)
    return b.build()


def wan_sync_sde_video_workflow(object_info: dict) -> dict:
    """sync-SDE Edit (all in one) on a Wan 2.1 video."""
    b = WorkflowBuilder(object_info)
    model, clip, vae = _wan_loaders(b)
    components, encode = _video_input(b, vae, 0, 0, 510)
    prompts = {key: _conditioning(b, clip, 0, 370, row * 180, key, text) for row, (key, text) in enumerate((
        ("source", "a red car driving along a coastal road"),
        ("target", "a red car driving along a coastal road in snow"),
        ("negative", "blurry, low quality, distorted")))}
    edit = b.node("SDEEdit_SyncSDEEdit", (820, 0), (320, 330), steps=30, start_step=8, source_cfg=5.0,
                  target_cfg=5.0, scheduler="simple", discretisation="rectified", seed=0)
    b.wire(edit, model=model, source=prompts["source"], target=prompts["target"], latent=encode,
           source_negative=prompts["negative"], target_negative=prompts["negative"])
    _decode_save_video(b, edit, vae, 0, components, 1180, 0, "sync_sde_wan21")
    b.node("Note", (0, 1100), (760, 440), title="sync-SDE on a Wan 2.1 video: what to tune", text=WAN_NOTE)
    return b.build()


def hunyuan_video_rf_workflow(object_info: dict) -> dict:
    """RF-Inversion Edit (all in one) on a HunyuanVideo clip."""
    b = WorkflowBuilder(object_info)
    unet = _unet_loader(b, HUNYUAN_VIDEO_MODELS["unet"])
    clip = b.node("DualCLIPLoader", (0, 130), (320, 130),
                  models=[HUNYUAN_VIDEO_MODELS["clip_l"], HUNYUAN_VIDEO_MODELS["llava"]],
                  clip_name1=HUNYUAN_VIDEO_MODELS["clip_l"]["name"], clip_name2=HUNYUAN_VIDEO_MODELS["llava"]["name"],
                  type="hunyuan_video", device="default")
    vae = _vae_loader(b, 310, HUNYUAN_VIDEO_MODELS["vae"])
    components, encode = _video_input(b, vae, 0, 0, 420)
    target = _conditioning(b, clip, 0, 370, 0, "target", "a cat walking on a sunny beach, watercolour painting")
    guidance = b.node("FluxGuidance", (370, 190), (270, 60), guidance=6.0)
    b.link(target, 0, guidance, "conditioning")
    edit = b.node("SDEEdit_RFInversionEdit", (820, 0), (320, 460), preset="custom", steps=30, start_step=0,
                  gamma=0.5, eta=0.9, eta_start=0, eta_stop=6, eta_trend="constant", stochastic=False, cfg=1.0,
                  scheduler="simple", seed=0)
    b.wire(edit, model=unet, target=guidance, latent=encode)
    _decode_save_video(b, edit, vae, 0, components, 1180, 0, "rf_inversion_hunyuan_video")
    b.node("Note", (0, 1000), (760, 460), title="RF-Inversion on HunyuanVideo: what to tune",
           text=HUNYUAN_VIDEO_NOTE)
    return b.build()


QWEN_IMAGE_EDIT_2511_UNET = repackaged("Qwen-Image-Edit_ComfyUI", "diffusion_models",
                                       "qwen_image_edit_2511_fp8mixed.safetensors")
KONTEXT_UNET = repackaged("flux1-kontext-dev_ComfyUI", "diffusion_models", "flux1-dev-kontext_fp8_scaled.safetensors")
# An instruction-edit model's source prompt is a "keep" instruction (its answer is the input itself), the target
# prompt the instruction.
KEEP_INSTRUCTION = "Keep the image unchanged."
EDIT_INSTRUCTION = "Replace the cat with a dog sitting in the same place. Keep everything else unchanged."
DRIFT = "an edit model redraws the whole picture, and its output drifts from the input (a shift of a few pixels, a " \
        "zoom, a colour cast that grows over repeated edits)"


def exact_outside_the_mask(cell_px: int) -> str:
    """What "exact outside the mask" means, for a VAE of ``cell_px`` pixels per latent cell."""
    return ("Outside the mask the result's latent equals the input's latent bit for bit: decoded, the image there "
            "is the VAE's round trip of the input, with no shift, zoom or colour drift. The mask is scaled to the "
            f"latent grid ({cell_px} px cells); a soft edge blends.")


QWEN_IMAGE_EDIT_2511_NOTE = "\n".join([
    "sync-SDE Edit (Zhang & Scott, arXiv 2509.24223) on Qwen-Image-Edit 2511, with a painted mask",
    "",
    "Paint the mask: right-click the input image -> Open in MaskEditor, paint what may change (here the cat). "
    "Set Latent Noise Mask hands LoadImage's MASK to the edit. Why: " + DRIFT + ". " + exact_outside_the_mask(8) +
    " A mask with nothing painted is refused with an error; to edit the "
    "whole picture, remove Set Latent Noise Mask (sync-SDE then keeps what the two prompts agree on).",
    "",
    "The reference, as in ComfyUI's 2511 template: FluxKontextImageScale resizes the input to a size the model "
    "was trained on; TextEncodeQwenImageEditPlus shows it to the text encoder and appends its VAE latent as the "
    "reference, on every prompt (the negative included); Edit Model Reference Method index_timestep_zero marks "
    "the references as 2511 reads them (ComfyUI's own 2511 file sets that already, some repackaged files do "
    "not).",
    "",
    "Settings",
    "- Source prompt: a \"keep\" instruction (the model answers it with the input); target prompt: the "
    "instruction; negative: empty, with the image.",
    "- steps 40 (Qwen's recommendation; 20 also works); start_step 0: the full schedule from noise, as the "
    "model is sampled. Raise it (4-10) to keep more of the input's layout inside the mask.",
    "- source_cfg = target_cfg = 4, the template's CFG; raise target_cfg for a stronger edit.",
    "- ModelSamplingAuraFlow shift 3.1 as in the template; discretisation rectified (the flow SDE), or ddpm.",
])

KONTEXT_NOTE = "\n".join([
    "Cycle-SDE Edit (Nie et al., arXiv 2311.01410) on FLUX.1 Kontext dev",
    "",
    "Kontext sees the input twice: as the latent to edit (VAE Encode) and as its reference (ReferenceLatent on "
    "both prompts, as in ComfyUI's Kontext template; FluxKontextImageScale first resizes the input to a size "
    "Kontext was trained on). Cycle-SDE Edit inverts the input under the SOURCE prompt and replays that path "
    "under the TARGET prompt, so what the two prompts agree on stays in place.",
    "",
    "Settings",
    "- Source prompt: a \"keep\" instruction (Kontext answers it with the input); target prompt: the instruction.",
    "- steps 28 (the template samples 20); t0 1.0: the full schedule from noise, as Kontext is sampled. A lower "
    "t0 (0.8-0.9) starts from the partly noised input and keeps more of its layout.",
    "- cfg 1: Kontext is guidance-distilled. FluxGuidance 2.5 on both prompts (the template's); raise the "
    "target's (3-4) for a stronger edit.",
    "- eta 1: the paper's SDE; with the target prompt equal to the source the input comes back exactly.",
    "- Mask (optional): " + DRIFT + ". To keep all but a painted area, put Set Latent Noise Mask (LoadImage's "
    "MASK, painted in the MaskEditor) between VAE Encode and the edit's latent. " + exact_outside_the_mask(8),
])

FLUX2_REFERENCE_NOTE = "\n".join([
    "Cycle-SDE (Nie et al., arXiv 2311.01410) on FLUX.2 dev with the input as its reference image",
    "",
    "FLUX.2 takes reference images as latents in the conditioning: the input, resized to about 1 MP "
    "(ImageScaleToTotalPixels, sides in multiples of 16 for the 16 px VAE) and encoded, goes through "
    "ReferenceLatent on both prompts, as in ComfyUI's FLUX.2 template, and is also the latent to edit. "
    "Cycle-SDE Invert records its path under the SOURCE guider, Cycle-SDE Sampler replays it:",
    "- Reconstruct (source guider): gives back the input exactly. Use it as a check.",
    "- Edit (target guider): applies the instruction.",
    "Changing only the target prompt does not re-run the inversion (keep the Invert seed on \"fixed\").",
    "",
    "Settings",
    "- Source prompt: a \"keep\" instruction; target prompt: the instruction.",
    "- Flux2Scheduler: 28 steps (the template samples 20) at the image's own size (GetImageSize). Start step "
    "(SplitSigmas) 0: the full schedule from noise, as FLUX.2 samples with a reference; raise it (4-8) to keep "
    "more of the input's layout.",
    "- CFG 1 (BasicGuider): FLUX.2 is guidance-distilled; FluxGuidance 4 on both prompts (the template's); "
    "raise the target's for a stronger edit.",
    "- Mask (optional): " + DRIFT + ". To keep all but a painted area, put Set Latent Noise Mask (LoadImage's "
    "MASK, painted in the MaskEditor) on the latent of the Edit branch's SamplerCustomAdvanced. " +
    exact_outside_the_mask(16),
])


def _scaled_input(b: WorkflowBuilder, vae, y: int, scale_type: str, title: str = "Input image",
                  **scale_widgets) -> tuple[dict, dict, dict]:
    """LoadImage -> ``scale_type`` (the resize the model's core template puts first) -> VAE Encode; returns
    (image, scaled image, encode)."""
    image = b.node("LoadImage", (0, y), (320, 330), title=title, image="example.png")
    scaled = b.node(scale_type, (0, y + 380), (320, 60 + 30 * len(scale_widgets)), **scale_widgets)
    b.link(image, 0, scaled, "image")
    encode = b.node("VAEEncode", (0, y + 500), (210, 50))
    b.wire(encode, pixels=scaled, vae=vae)
    return image, scaled, encode


def _reference_prompts(b: WorkflowBuilder, clip, reference, guidance: float) -> dict:
    """The source ("keep") and the target (the instruction), each CLIPTextEncode -> ReferenceLatent (the encoded
    input) -> FluxGuidance, in the order of ComfyUI's Kontext and FLUX.2 templates."""
    prompts = {}
    for row, (key, text) in enumerate(zip(("source", "target"), (KEEP_INSTRUCTION, EDIT_INSTRUCTION))):
        prompt = _conditioning(b, clip, 0, 370, row * 340, key, text)
        referenced = b.node("ReferenceLatent", (370, row * 340 + 170), (240, 50))
        b.wire(referenced, conditioning=prompt, latent=reference)
        prompts[key] = b.node("FluxGuidance", (370, row * 340 + 250), (270, 60), guidance=guidance)
        b.link(referenced, 0, prompts[key], "conditioning")
    return prompts


def qwen_image_edit_2511_workflow(object_info: dict) -> dict:
    """sync-SDE Edit (all in one) on Qwen-Image-Edit 2511, the edit limited to a mask painted in LoadImage."""
    b = WorkflowBuilder(object_info)
    unet = _unet_loader(b, QWEN_IMAGE_EDIT_2511_UNET)
    shift = b.node("ModelSamplingAuraFlow", (0, 130), (320, 60), shift=3.1)
    b.link(unet, 0, shift, "model")
    clip = _clip_loader(b, 240, QWEN_IMAGE_MODELS["clip"], "qwen_image")
    vae = _vae_loader(b, 400, QWEN_IMAGE_MODELS["vae"])
    image, scaled, encode = _scaled_input(b, vae, 510, "FluxKontextImageScale",
                                          title="Input image (paint the mask: right-click -> Open in MaskEditor)")
    masked = b.node("SetLatentNoiseMask", (0, 1090), (240, 50))
    b.wire(masked, samples=encode, mask=(image, 1))
    prompts = {}
    for row, (key, text) in enumerate(zip(("source", "target", "negative"), (KEEP_INSTRUCTION, EDIT_INSTRUCTION, ""))):
        encoded = b.node("TextEncodeQwenImageEditPlus", (370, row * 300), (400, 180),
                         title=f"{key.capitalize()} prompt", prompt=text)
        b.wire(encoded, clip=clip, vae=vae, image1=scaled)
        prompts[key] = b.node("FluxKontextMultiReferenceLatentMethod", (370, row * 300 + 220), (400, 60),
                              reference_latents_method="index_timestep_zero")
        b.link(encoded, 0, prompts[key], "conditioning")
    edit = b.node("SDEEdit_SyncSDEEdit", (820, 0), (320, 330), steps=40, start_step=0, source_cfg=4.0,
                  target_cfg=4.0, scheduler="simple", discretisation="rectified", seed=0)
    b.wire(edit, model=shift, source=prompts["source"], target=prompts["target"], latent=masked,
           source_negative=prompts["negative"], target_negative=prompts["negative"])
    _decode_save(b, edit, vae, 0, 1180, 0, "sync_sde_qwen_image_edit_2511")
    b.node("Note", (820, 460), (760, 620), title="sync-SDE on Qwen-Image-Edit 2511: settings",
           text=QWEN_IMAGE_EDIT_2511_NOTE)
    return b.build()


def kontext_edit_workflow(object_info: dict) -> dict:
    """Cycle-SDE Edit (all in one) on FLUX.1 Kontext dev, the input also its reference through ReferenceLatent."""
    b = WorkflowBuilder(object_info)
    unet, clip, vae = _flux_loaders(b, KONTEXT_UNET)
    _, _, encode = _scaled_input(b, vae, 420, "FluxKontextImageScale")
    prompts = _reference_prompts(b, clip, encode, 2.5)
    edit = b.node("SDEEdit_CycleSDEEdit", (820, 0), (320, 330), steps=28, t0=1.0, cfg=1.0, scheduler="simple",
                  seed=0, eta=1.0)
    b.wire(edit, model=unet, source=prompts["source"], target=prompts["target"], latent=encode)
    _decode_save(b, edit, vae, 0, 1180, 0, "cycle_sde_flux_kontext")
    b.node("Note", (820, 460), (760, 520), title="Cycle-SDE on FLUX.1 Kontext: settings", text=KONTEXT_NOTE)
    return b.build()


def flux2_reference_edit_workflow(object_info: dict) -> dict:
    """Cycle-SDE on FLUX.2 dev with the input as one reference image, composable: invert once, reconstruct and
    edit branches."""
    b = WorkflowBuilder(object_info)
    unet = _unet_loader(b, FLUX2_MODELS["unet"])
    clip = _clip_loader(b, 130, FLUX2_MODELS["clip"], "flux2")
    vae = _vae_loader(b, 290, FLUX2_MODELS["vae"])
    _, scaled, encode = _scaled_input(b, vae, 420, "ImageScaleToTotalPixels", upscale_method="lanczos",
                                      megapixels=1.0, resolution_steps=16)
    prompts = _reference_prompts(b, clip, encode, 4.0)
    guiders = {}
    for row, key in enumerate(("source", "target")):
        guiders[key] = b.node("BasicGuider", (820, row * 100), (240, 50), title=f"{key.capitalize()} guider")
        b.wire(guiders[key], model=unet, conditioning=prompts[key])
    size = b.node("GetImageSize", (820, 220), (210, 90))
    b.link(scaled, 0, size, "image")
    schedule = b.node("Flux2Scheduler", (820, 350), (270, 110), steps=28, width=1024, height=1024)
    b.wire(schedule, width=(size, 0), height=(size, 1))
    start = b.node("SplitSigmas", (820, 500), (270, 80), title="Start step (0: from noise)", step=0)
    b.link(schedule, 0, start, "sigmas")
    invert = _invert(b, (820, 620), guiders["source"], (start, 1), encode)
    _branches(b, 1170, 0, vae, (start, 1), encode, invert, guiders["source"], guiders["target"],
              "cycle_sde_flux2_reference")
    b.node("Note", (0, 1100), (760, 560), title="Cycle-SDE on FLUX.2 with a reference image: settings",
           text=FLUX2_REFERENCE_NOTE)
    return b.build()


WORKFLOWS = {"cycle_sde_sd15_edit.json": sd15_workflow, "cycle_sde_flux_edit.json": flux_workflow,
             "sde_drag_sd15.json": drag_workflow("sd15"), "sde_drag_sdxl.json": drag_workflow("sdxl"),
             "sde_drag_flux.json": drag_workflow("flux"), "sync_sde_flux_edit.json": sync_flux_workflow,
             "sync_sde_sdxl_edit.json": sync_sdxl_workflow, "sde_inpaint_sd15.json": inpaint_sd15_workflow,
             "rf_inversion_flux_edit.json": rf_flux_edit_workflow,
             "rf_inversion_flux_stylisation.json": rf_all_in_one_workflow(
                 "flux", "stylisation", "a photo of a cat sitting on a wooden bench, watercolour painting"),
             "rf_inversion_sd3_edit.json": rf_all_in_one_workflow(
                 "sd3", "custom", "a photo of a dog sitting on a wooden bench"),
             "rf_inversion_sdxl_edit.json": rf_all_in_one_workflow(
                 "sdxl", "custom", "a photo of a dog sitting on a wooden bench"),
             "cycle_sde_qwen_image_edit.json": qwen_image_workflow, "sync_sde_flux2_edit.json": flux2_sync_workflow,
             "cycle_sde_sd35_edit.json": sd35_edit_workflow,
             "cycle_sde_wan21_video_edit.json": wan_cycle_sde_video_workflow,
             "sync_sde_wan21_video_edit.json": wan_sync_sde_video_workflow,
             "rf_inversion_hunyuan_video_edit.json": hunyuan_video_rf_workflow,
             "sync_sde_qwen_image_edit_2511.json": qwen_image_edit_2511_workflow,
             "cycle_sde_flux_kontext_edit.json": kontext_edit_workflow,
             "cycle_sde_flux2_reference_edit.json": flux2_reference_edit_workflow}


def generated_files(object_info: dict | None = None) -> dict:
    """{path in example_workflows/: content} of every workflow, from ``object_info`` (default: 0.8.0 + pack)."""
    object_info = load_object_info() if object_info is None else object_info
    return {WORKFLOW_DIR / name: json.dumps(build(object_info), indent=2) + "\n" for name, build in WORKFLOWS.items()}


def main(argv: list[str] | None = None) -> int:
    return check_or_write(generated_files(), tool_parser(__doc__).parse_args(argv).write)


if __name__ == "__main__":
    raise SystemExit(main())
