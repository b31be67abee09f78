"""Node schemas for UI-format workflows, read from /object_info dumps (no ComfyUI or torch needed).

A release's schemas are its core nodes, trimmed to the node types the example workflows use
(``tests/data/object_info_<release>.trimmed.json``, written by ``python -m tools.trim_schemas``), plus the
pack's own snapshot ``tests/data/pack_object_info.json`` (``python -m tools.schema_snapshot``).

Widget rules (ComfyUI frontend 1.2x-1.3x, checked against the official workflow templates):

* widget inputs are the INT / FLOAT / STRING / BOOLEAN / COMBO inputs (required, then optional, in
  ``input_order``) unless ``forceInput``; sockets (MODEL, LATENT, ...) are not widgets;
* ``widgets_values`` is positional in that order, plus one frontend-only value right after a widget with
  ``control_after_generate`` ("fixed" / "increment" / "decrement" / "randomize") and one after a combo with
  ``image_upload`` (the upload button, value "image"); a widget converted to an input keeps its value;
* frontend-only nodes (Note, MarkdownNote) have only ``widgets_values`` and never reach the API prompt.
"""
from __future__ import annotations

import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "tests" / "data"
PACK_SNAPSHOT = DATA_DIR / "pack_object_info.json"
WORKFLOW_DIR = REPO_ROOT / "example_workflows"
GENERATOR_RELEASE = "0.8.0"  # the workflows are written as the frontend of this release saves them
CHECKED_RELEASES = ("0.8.0", "0.33.0")  # the example workflows are validated against these releases' schemas

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
FRONTEND_ONLY = {"Note": ["text"], "MarkdownNote": ["text"]}  # node type -> its widgets
UPLOAD_KEYS = ("image_upload", "video_upload", "audio_upload", "animated_image_upload")


def trimmed_schemas_path(release: str) -> Path:
    return DATA_DIR / f"object_info_{release}.trimmed.json"


def with_pack_schemas(core: dict) -> dict:
    """Core schemas + the pack snapshot (the pack wins on a name clash)."""
    return {**core, **json.loads(PACK_SNAPSHOT.read_text())}


def load_object_info(release: str = GENERATOR_RELEASE) -> dict:
    """A checked release's trimmed core schemas + the pack snapshot."""
    return with_pack_schemas(json.loads(trimmed_schemas_path(release).read_text()))


def workflow_node_types(workflow: dict) -> set[str]:
    """The core and pack node types of a UI workflow (frontend-only notes left out)."""
    return {node["type"] for node in workflow["nodes"]} - set(FRONTEND_ONLY)


def input_type(spec) -> str:
    """The type name of an /object_info input spec: V1 combos are [[options], {...}] -> "COMBO"."""
    kind = spec[0]
    return "COMBO" if isinstance(kind, list) else kind


def input_options(spec) -> dict:
    return spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}


def combo_choices(spec) -> list | None:
    if isinstance(spec[0], list):
        return spec[0]
    return input_options(spec).get("options") if spec[0] == "COMBO" else None


def node_inputs(node_info: dict) -> list[tuple[str, list, bool]]:
    """[(name, spec, required)] in the frontend's order: required then optional, each in input_order."""
    out = []
    order = node_info.get("input_order") or {k: list(v) for k, v in node_info["input"].items()}
    for section in ("required", "optional"):
        specs = node_info["input"].get(section) or {}
        for name in order.get(section, list(specs)):
            out.append((name, specs[name], section == "required"))
    return out


def is_widget(spec) -> bool:
    return input_type(spec) in WIDGET_TYPES and not input_options(spec).get("forceInput", False)


def widget_layout(node_type: str, object_info: dict) -> list[tuple[str, str | None]]:
    """The positions of ``widgets_values``: (input name, None) for a real widget, (input name, "control")
    / (input name, "upload") for the frontend-only value that follows it."""
    if node_type in FRONTEND_ONLY:
        return [(name, None) for name in FRONTEND_ONLY[node_type]]
    layout = []
    for name, spec, _ in node_inputs(object_info[node_type]):
        if not is_widget(spec):
            continue
        layout.append((name, None))
        options = input_options(spec)
        if options.get("control_after_generate"):
            layout.append((name, "control"))
        if any(options.get(key) for key in UPLOAD_KEYS):
            layout.append((name, "upload"))
    return layout
