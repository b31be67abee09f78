"""The template browser's thumbnails of the example workflows: ``example_workflows/<name>.jpg``, one per workflow.

ComfyUI serves a custom node pack's ``example_workflows/`` at ``/api/workflow_templates/<pack folder>/`` and
lists its ``*.json`` at ``/workflow_templates``; the frontend's template browser (1.27.10, 1.35.9, 1.49.6:
``getTemplateThumbnailUrl``) gives every custom-node template ``mediaType: "image"``, ``mediaSubtype: "jpg"``
and asks for ``/api/workflow_templates/<pack folder>/<name>.jpg``: a JPEG beside the json, same stem.

Each thumbnail is drawn from a real run of the workflow's graph through the ComfyUI tier's machinery
(``tests/test_comfyui_workflows.py``: converted to an API prompt and run over HTTP on a ``main.py --cpu``
server); the images its saving nodes wrote (the middle frame of a video) are put side by side and scaled to
``WIDTH`` pixels. The models it runs on:

* ``LEARNED_WORKFLOWS`` (the SD1.5 / SDXL graphs, whose loader is CheckpointLoaderSimple) run on the pack's
  learned EPS model of ``bench.learned_world`` (``tools/thumbnail_nodes.py``: the image is the latent), on the
  benchmark's first held-out scene of the task (a fixed rule), with the workflow's own steps, CFG and settings;
  the prompts become labels of that scene: the source prompt (the first of two) the source scene's, the edit
  prompt the edited scene's, a negative prompt the empty one. So these show a real edit of a 24 x 24 scene.
* every other workflow runs on the tier's tiny random-weight stand-ins (``tiny_prompt``, as the tier test,
  steps cut to 5): its thumbnail shows what they really decode to, not an edit: a flat black or grey for the
  tiny TAESD and Wan VAEs, noise for FLUX.2's full-width random VAE.

The JPEG's comment names the release that rendered it. Runs under the ComfyUI checkout's Python::

    COMFYUI_ROOT=/path/to/ComfyUI /path/to/its/python -m tools.thumbnails [--write]

The check (the default) renders every workflow again and compares the pixels with the committed thumbnails.
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path

from tools.generated_files import REPO_ROOT, tool_parser
from tools.workflow_schema import WORKFLOW_DIR, load_object_info

THUMBNAIL_SUFFIX = ".jpg"  # the frontend's mediaSubtype for custom-node templates
WIDTH = 256
MAX_HEIGHT = 256
MAX_BYTES = 16 * 1024
JPEG_QUALITY = 85
PIXEL_TOLERANCE = 2  # largest difference (of 255) between a committed and a re-rendered thumbnail
# workflow -> the learned benchmark's task whose first held-out scene it edits (SD1.5 / SDXL graphs only: the
# learned model is EPS, and SD3's ModelSamplingSD3 would make it a flow model)
LEARNED_WORKFLOWS = {"cycle_sde_sd15_edit.json": "recolour", "sync_sde_sdxl_edit.json": "recolour",
                     "rf_inversion_sdxl_edit.json": "recolour", "sde_drag_sd15.json": "drag",
                     "sde_inpaint_sd15.json": "inpaint"}
NEGATIVE_INPUTS = ("negative", "source_negative", "target_negative")
LEARNED_NODES = "sde_edit_thumbnail_nodes.py"
COMMENT = re.compile(r"rendered by python -m tools\.thumbnails on ComfyUI (\d+\.\d+\.\d+)")


def thumbnail_path(workflow: Path) -> Path:
    """Where the template browser looks for a workflow's thumbnail: same folder and stem, ``.jpg``."""
    return workflow.with_suffix(THUMBNAIL_SUFFIX)


def comment_text(release: str, learned: bool = False) -> str:
    models = "the pack's learned EPS model" if learned else "the ComfyUI tier's tiny random-weight stand-in models"
    return f"rendered by python -m tools.thumbnails on ComfyUI {release}: the example workflow run on {models}"


def thumbnail_problems(workflow_dir: Path = WORKFLOW_DIR) -> list[str]:
    """Every way the thumbnails of ``workflow_dir`` miss what the template browser needs (empty = none):
    a workflow without ``<name>.jpg``, a thumbnail without its workflow, a file that is not a baseline RGB JPEG
    ``WIDTH`` wide and at most ``MAX_HEIGHT`` high and ``MAX_BYTES`` long, or one whose comment does not name
    the release that rendered it."""
    from PIL import Image

    problems = []
    workflows = sorted(workflow_dir.glob("*.json"))
    stems = {path.stem for path in workflows}
    for path in sorted(workflow_dir.glob("*" + THUMBNAIL_SUFFIX)):
        if path.stem not in stems:
            problems.append(f"{path.name}: no workflow {path.stem}.json beside it")
    for workflow in workflows:
        path = thumbnail_path(workflow)
        if not path.is_file():
            problems.append(f"{workflow.name}: no thumbnail {path.name}")
            continue
        size = path.stat().st_size
        if size > MAX_BYTES:
            problems.append(f"{path.name}: {size} bytes, more than {MAX_BYTES}")
        try:
            with Image.open(path) as image:
                image.load()
                kind, mode, (width, height) = image.format, image.mode, image.size
                comment = image.info.get("comment", b"")
        except OSError as error:
            problems.append(f"{path.name}: not an image ({error})")
            continue
        if kind != "JPEG" or mode != "RGB":
            problems.append(f"{path.name}: {kind} {mode}, expected an RGB JPEG")
        if width != WIDTH or not 0 < height <= MAX_HEIGHT:
            problems.append(f"{path.name}: {width}x{height}, expected {WIDTH} wide and at most {MAX_HEIGHT} high")
        if not COMMENT.search(comment.decode("utf-8", "replace") if isinstance(comment, bytes) else comment):
            problems.append(f"{path.name}: its JPEG comment does not name the ComfyUI release that rendered it")
    return problems


def rendered_release(path: Path) -> str | None:
    """The ComfyUI release named in a thumbnail's comment."""
    from PIL import Image
    with Image.open(path) as image:
        comment = image.info.get("comment", b"")
    found = COMMENT.search(comment.decode("utf-8", "replace") if isinstance(comment, bytes) else comment)
    return found.group(1) if found else None


def saved_image(path: Path, kind: str):
    """The picture of one saved output: the image, or the middle frame of a SaveWEBM video."""
    from PIL import Image
    if kind != "SaveWEBM":
        with Image.open(path) as image:
            return image.convert("RGB")
    import av
    with av.open(str(path)) as video:
        frames = [frame.to_image() for frame in video.decode(video=0)]
    return frames[len(frames) // 2].convert("RGB")


def compose(images: list):
    """The saved images side by side (in the workflow's node order), scaled to ``WIDTH`` wide."""
    from PIL import Image
    height = max(image.height for image in images)
    strip = Image.new("RGB", (sum(image.width for image in images), height))
    left = 0
    for image in images:
        strip.paste(image, (left, 0))
        left += image.width
    scaled_height = min(MAX_HEIGHT, max(1, round(height * WIDTH / strip.width)))
    return strip.resize((WIDTH, scaled_height), Image.Resampling.LANCZOS)


def jpeg_bytes(image, release: str, learned: bool = False) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, comment=comment_text(release, learned))
    return buffer.getvalue()


def learned_case(task: str):
    """The learned benchmark's first held-out case of ``task`` (recolour, 8 px drag, inpainting)."""
    from bench import learned_bench
    if task == "recolour":
        return learned_bench.recolour_cases(1)[0]
    if task == "drag":
        return learned_bench.drag_cases(1, max(learned_bench.DRAG_LENGTHS))[0]
    if task == "inpaint":
        return learned_bench.Case(learned_bench.held_out(1)[0])
    raise ValueError(f"learned task {task!r}: expected one of recolour, drag, inpaint")


def learned_input_name(task: str) -> str:
    return f"sde_edit_learned_{task}.png"


def write_learned_input(folder: Path, task: str) -> None:
    """The case's source scene as LoadImage reads it; for inpainting, alpha 0 over the benchmark's mask (LoadImage's
    MASK is 1 - alpha)."""
    import numpy as np
    import torch
    from PIL import Image

    from bench import learned_bench, learned_world
    case = learned_case(task)
    rgb = (learned_world.render(case.source) + 1) / 2
    alpha = 1 - learned_bench.inpaint_mask(case.source)[0] if task == "inpaint" else torch.ones_like(rgb[:1])
    pixels = np.concatenate([rgb.numpy(), alpha.numpy()]).transpose(1, 2, 0)
    Image.fromarray((pixels * 255).round().astype(np.uint8), "RGBA").save(folder / learned_input_name(task))


def learned_prompt(prompt: dict, task: str) -> dict:
    """The workflow's API prompt on the learned model (see the module docstring)."""
    from bench import learned_bench
    case = learned_case(task)
    negatives = {value[0] for node in prompt.values() for name, value in node["inputs"].items()
                 if name in NEGATIVE_INPUTS and isinstance(value, list)}
    texts = [node_id for node_id in sorted(prompt, key=int)
             if prompt[node_id]["class_type"] == "CLIPTextEncode" and node_id not in negatives]
    if task == "recolour":
        labels = dict(zip(texts, [case.source.label, case.target.label] if len(texts) == 2 else [case.target.label]))
    else:  # the drag prompt names the moved scene, the inpainting prompt the scene
        labels = {node_id: (case.target or case.source).label for node_id in texts}
    out = {}
    for node_id, node in prompt.items():
        kind, inputs = node["class_type"], dict(node["inputs"])
        if kind == "CheckpointLoaderSimple":
            kind, inputs = "SDEEditThumbnail_LearnedCheckpoint", {}
        elif kind == "CLIPTextEncode":
            kind, inputs = "SDEEditThumbnail_LearnedConditioning", {"label": labels.get(node_id, -1)}
        elif kind == "LoadImage":
            inputs["image"] = learned_input_name(task)
        elif kind == "SDEEdit_SDEDrag":  # the case's drag in image pixels: the latent is the image
            (sx, sy), (tx, ty) = learned_bench.drag_pairs(case)[0]
            inputs.update(drag_points=json.dumps({"pairs": [{"source": [sx, sy], "target": [tx, ty]}]}),
                          vae_downscale=1)
        out[node_id] = {"class_type": kind, "inputs": inputs, "_meta": node.get("_meta", {})}
    return out


def render_all(comfy_root: str) -> tuple[str, dict[str, bytes], dict[str, str]]:
    """Run every example workflow on a fresh tier server: (its release, {workflow: thumbnail JPEG},
    {workflow: why this release cannot run it})."""
    sys.path.insert(0, str(REPO_ROOT / "tests"))  # the tier's modules import each other by name
    import comfy_server
    import test_comfyui_workflows as tier

    import workflow_check

    object_info = load_object_info()
    server = comfy_server.start_server(comfy_root, extra_nodes={LEARNED_NODES: Path(__file__).with_name(
        "thumbnail_nodes.py")})
    try:
        release = server.request("/system_stats")["system"]["comfyui_version"]
        node_types = set(server.object_info())
        for task in sorted(set(LEARNED_WORKFLOWS.values())):
            write_learned_input(server.base_dir / "input", task)
        thumbnails, skipped = {}, {}
        for workflow in sorted(WORKFLOW_DIR.glob("*.json")):
            task = LEARNED_WORKFLOWS.get(workflow.name)
            missing = tier.lacking_nodes(workflow.name, node_types) or tier.family_missing(workflow.name)
            if missing:
                skipped[workflow.name] = missing
                continue
            if task is None:
                prompt = tier.example_prompt(workflow.name, object_info)
            else:
                prompt = learned_prompt(workflow_check.ui_to_api(json.loads(workflow.read_text()), object_info), task)
            result = server.queue_uncached(prompt)
            outputs = sorted(tier.saved_outputs(prompt, result).items(), key=lambda item: int(item[0]))
            images = [saved_image(server.output_file(files[0]), kind) for _, (kind, files) in outputs]
            thumbnails[workflow.name] = jpeg_bytes(compose(images), release, learned=task is not None)
            print(f"rendered {workflow.name} on " + (f"the learned model ({task})" if task else "the tiny models") +
                  f": {len(images)} saved image(s)", flush=True)
        return release, thumbnails, skipped
    finally:
        server.shutdown()


def pixel_difference(committed: Path, rendered: bytes) -> int | None:
    """Largest channel difference between two thumbnails, or None when their sizes differ."""
    import numpy as np
    from PIL import Image
    with Image.open(committed) as old, Image.open(io.BytesIO(rendered)) as new:
        if old.size != new.size:
            return None
        return int(np.abs(np.asarray(old.convert("RGB"), dtype=int) - np.asarray(new.convert("RGB"), dtype=int)).max())


def main(argv: list[str] | None = None) -> int:
    args = tool_parser(__doc__).parse_args(argv)
    if not os.environ.get("COMFYUI_ROOT"):
        raise SystemExit("set COMFYUI_ROOT to a ComfyUI checkout and run this under its Python "
                         "(the thumbnails are rendered by running the workflows there)")
    release, thumbnails, skipped = render_all(os.environ["COMFYUI_ROOT"])
    for name, reason in skipped.items():
        print(f"not rendered on ComfyUI {release}: {reason}")
    if args.write:
        if skipped:
            raise SystemExit(f"ComfyUI {release} cannot run {len(skipped)} workflow(s); write the thumbnails "
                             f"from a release that runs every family (0.33.0)")
        for name, data in thumbnails.items():
            path = thumbnail_path(WORKFLOW_DIR / name)
            path.write_bytes(data)
            print(f"wrote {path.relative_to(REPO_ROOT)} ({len(data)} bytes)")
        return 0
    stale = []
    for name, data in thumbnails.items():
        path = thumbnail_path(WORKFLOW_DIR / name)
        if not path.is_file():
            stale.append(f"{path.name}: missing")
            continue
        difference = pixel_difference(path, data)
        if difference is None or difference > PIXEL_TOLERANCE:
            stale.append(f"{path.name}: " + ("another size" if difference is None else
                                             f"pixels differ by up to {difference}") +
                         f" (committed one rendered on ComfyUI {rendered_release(path)}, this run on {release})")
    for line in stale:
        print(line)
    if stale:
        print(f"{len(stale)} of {len(thumbnails)} thumbnails differ; rerun with --write to update them")
        return 1
    print(f"up to date: {len(thumbnails)} thumbnails match this run on ComfyUI {release}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
