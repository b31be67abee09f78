"""The SDE-Drag point editor (web/js/) in a real ComfyUI page, driven by headless Chromium.

Runs ``tests/browser/drag_editor.e2e.mjs`` (Node + npm ``playwright-core`` + Debian's ``chromium``) against the
shared test server of ``comfy_server`` (tiny SD2 checkpoint, test conditioning node, 64x64 input image). The
script clicks pairs on the editor canvas, checks the ``drag_points`` JSON against image pixels computed from
the click positions, edits/saves/reloads the workflow and queues it; see its header for the full list.

Needs, besides ``COMFYUI_ROOT``: ``node`` >= 20 on PATH, ``npm install`` run at the repo root
(``node_modules/playwright-core``) and Chromium at ``/usr/bin/chromium`` (``apt-get install chromium``; another
path via ``SDE_EDIT_CHROMIUM``). Skipped with the reason when one is missing. Screenshots go to pytest's tmp
dir, or to ``SDE_EDIT_SCREENSHOT_DIR`` when set.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import comfy_server
from comfy_server import SD2_CKPT, TEST_IMAGE

pytestmark = pytest.mark.comfyui

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "browser" / "drag_editor.e2e.mjs"
CHROMIUM = os.environ.get("SDE_EDIT_CHROMIUM", "/usr/bin/chromium")
NODE_CLASS = "SDEEdit_SDEDrag"


def _missing_tool() -> str | None:
    node = shutil.which("node")
    if node is None:
        return "node (Node.js >= 20) is not on PATH"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < 20:
        return f"Node.js >= 20 needed for playwright-core, found {version or 'unknown'}"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set SDE_EDIT_CHROMIUM)"
    if not (ROOT / "node_modules" / "playwright-core" / "package.json").exists():
        return "node_modules/playwright-core is missing (run `npm install` at the repo root)"
    return None


@pytest.fixture(scope="module")
def browser_server(request):
    reason = _missing_tool()
    if reason:
        pytest.skip(reason)
    server = comfy_server.shared_server(request.config)
    if NODE_CLASS not in server.object_info():
        pytest.skip(f"{NODE_CLASS} is not registered by the pack on this server")
    return server


def test_drag_point_editor_in_chromium(browser_server, tmp_path):
    out = Path(os.environ.get("SDE_EDIT_SCREENSHOT_DIR") or tmp_path / "screenshots")
    command = ["node", str(SCRIPT), "--url", browser_server.url, "--image", TEST_IMAGE, "--ckpt", SD2_CKPT,
               "--out", str(out), "--chromium", CHROMIUM]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = run.stdout + ("\n---- stderr ----\n" + run.stderr if run.stderr.strip() else "")
    print(report)  # shown by pytest -s / on failure: every check, the frontend version, screenshot paths
    assert run.returncode == 0, report[-12000:] + "\n" + browser_server.log_tail(3000)
    assert "0 failed" in run.stdout.splitlines()[-1]
