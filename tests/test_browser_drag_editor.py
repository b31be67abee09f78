"""The SDE-Drag point editor (web/js/) in a real ComfyUI page, driven by headless Chromium.

Runs ``tests/browser/drag_editor.e2e.mjs`` (Node + npm ``playwright-core`` + Debian's ``chromium``) against the
shared test server of ``comfy_server`` (tiny SD2 checkpoint, test conditioning node, 64x64 input image). The
script clicks pairs on the editor canvas, checks the ``drag_points`` JSON against image pixels computed from
the click positions, edits/saves/reloads the workflow and queues it; paints a mask with the editor's brush, runs
a graph that saves the source and result latents, reloads it and runs it again; see its header for the full
list. The saved latents are compared here: the result equals the source bit for bit outside the painted mask,
and the reloaded workflow gives the same result bit for bit.

One test per page mode of the script: ``litegraph`` (``Comfy.VueNodes.Enabled`` off), ``vue_nodes`` (on) and
``subgraph`` (the SDE-Drag node of the mask-and-run graph inside a subgraph); ``vue_nodes`` is skipped, naming the
frontend version, on frontends before 1.41.

Needs, besides ``COMFYUI_ROOT``: ``node`` >= 20 on PATH, ``npm install`` run at the repo root
(``node_modules/playwright-core``) and Chromium at ``/usr/bin/chromium`` (``apt-get install chromium``; another
path via ``SDE_EDIT_CHROMIUM``). Skipped with the reason when one is missing. Screenshots go to pytest's tmp
dir, or to ``SDE_EDIT_SCREENSHOT_DIR`` when set.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import comfy_server
from comfy_server import SD2_CKPT, TEST_IMAGE

pytestmark = pytest.mark.comfyui

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "browser" / "drag_editor.e2e.mjs"
CHROMIUM = os.environ.get("SDE_EDIT_CHROMIUM", "/usr/bin/chromium")
NODE_CLASS = "SDEEdit_SDEDrag"
VUE_NODES_FROM = (1, 41)


@pytest.fixture(scope="module")
def browser_server(request):
    reason = comfy_server.missing_browser_tools(CHROMIUM)
    if reason:
        pytest.skip(reason)
    server = comfy_server.shared_server(request.config)
    if NODE_CLASS not in server.object_info():
        pytest.skip(f"{NODE_CLASS} is not registered by the pack on this server")
    return server


def frontend_version() -> str:
    """The version of the frontend package this ComfyUI serves (installed in the venv that runs the tier)."""
    try:
        return importlib.metadata.version("comfyui-frontend-package")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


# The page modes of the script (--mode) and the first frontend release each one runs on here. Subgraphs: every
# frontend of the tier (1.27.10, 1.35.9, 1.49.6). Vue nodes: from 1.41 on, where they became the default of Desktop
# and Cloud installs. Before that they are an opt-in beta that this test does not cover: on 1.35.9 the Vue node keeps
# its own size (setSize has no effect) and its drag_points box grows, so the editor's canvas falls below the page;
# on 1.27.10 the setting draws no Vue nodes at all.
MODES = {"litegraph": (0,), "vue-nodes": VUE_NODES_FROM, "subgraph": (1, 27)}


@pytest.mark.parametrize("mode", list(MODES), ids=lambda mode: mode.replace("-", "_"))
def test_drag_point_editor_in_chromium(browser_server, tmp_path, mode):
    version = frontend_version()
    if _version_tuple(version) < MODES[mode]:
        pytest.skip(f"mode {mode}: this ComfyUI serves frontend {version}; the browser test runs the {mode} mode "
                    f"from frontend {'.'.join(map(str, MODES[mode]))} on (tested on 1.49.6)")
    out = Path(os.environ.get("SDE_EDIT_SCREENSHOT_DIR") or tmp_path) / f"screenshots_{mode}"
    command = ["node", str(SCRIPT), "--url", browser_server.url, "--image", TEST_IMAGE, "--ckpt", SD2_CKPT,
               "--out", str(out), "--chromium", CHROMIUM, "--mode", mode]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = run.stdout + ("\n---- stderr ----\n" + run.stderr if run.stderr.strip() else "")
    print(report)  # shown by pytest -s / on failure: every check, the frontend version, screenshot paths
    assert run.returncode == 0, report[-12000:] + "\n" + browser_server.log_tail(3000)
    assert "0 failed" in run.stdout.splitlines()[-1]
    check_the_painted_runs(browser_server, json.loads((out / "report.json").read_text()))


def saved_latent(server, entry: dict, node_id: str):
    """The LATENT a SaveLatent node of a finished prompt wrote (its raw tensor, as the node received it)."""
    from safetensors.torch import load_file
    return load_file(server.output_file(entry["outputs"][node_id]["latents"][0]))["latent_tensor"]


def painted_mask(text: str) -> np.ndarray:
    """editor_mask's run-length JSON as a [H, W] bool array (decoded here, independently of the pack)."""
    data = json.loads(text)
    width, height = data["size"]
    return np.repeat(np.arange(len(data["runs"])) % 2, data["runs"]).reshape(height, width).astype(bool)


def check_the_painted_runs(server, report: dict) -> None:
    """Both runs of the browser's painted-mask workflow (before and after save + reload): the same latents bit for
    bit, and the source kept exactly in every latent cell that is not more than half painted."""
    entries = [server.request(f"/history/{prompt_id}")[prompt_id] for prompt_id in report["runs"]]
    sources = [saved_latent(server, entry, report["saveSource"]) for entry in entries]
    results = [saved_latent(server, entry, report["saveResult"]) for entry in entries]
    assert sources[0].equal(sources[1]) and results[0].equal(results[1]), "the reloaded workflow ran differently"
    mask = painted_mask(entries[0]["prompt"][2][report["drag"]]["inputs"]["editor_mask"])
    height, width = mask.shape
    editable_cells = mask.reshape(height // 8, 8, width // 8, 8).mean(axis=(1, 3)) > 0.5
    kept = ~editable_cells
    assert kept.any() and editable_cells.any(), editable_cells
    source, result = sources[0].numpy(), results[0].numpy()
    assert np.array_equal(result[..., kept], source[..., kept]), "the result differs from the source outside the mask"
    assert np.abs(result[..., editable_cells] - source[..., editable_cells]).max() > 1e-2, "the drag changed nothing"
