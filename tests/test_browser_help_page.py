"""A node's help page (web/docs/<node id>.md) in a real ComfyUI page, driven by headless Chromium.

Runs ``tests/browser/help_page.e2e.mjs`` (Node + npm ``playwright-core`` + Debian's ``chromium``) against the shared
test server of ``comfy_server``: the script adds Cycle-SDE Edit to an empty graph, selects it with a click on its
title, clicks the selection toolbox's "Node Info" button and checks that the frontend fetched ``/extensions/<pack folder>/docs/SDEEdit_CycleSDEEdit.md``
and that its documentation panel shows the page (its first paragraph, its headings, its inputs table with the
defaults), not the node's description, which is the frontend's fallback when it finds no page. Passes on the
frontends of ComfyUI 0.33.0 (1.49.6) and 0.8.0 (1.35.9), whose Node Info button opens the properties panel's Info
tab, and 0.3.64 (1.27.10), whose button opens the node library's help page.

Needs, besides ``COMFYUI_ROOT``: ``node`` >= 20 on PATH, ``npm install`` run at the repo root
(``node_modules/playwright-core``) and Chromium at ``/usr/bin/chromium`` (another path via ``SDE_EDIT_CHROMIUM``).
Skipped with the reason when one is missing. The screenshot goes to pytest's tmp dir, or to
``SDE_EDIT_SCREENSHOT_DIR`` when set.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import comfy_server

pytestmark = pytest.mark.comfyui

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "browser" / "help_page.e2e.mjs"
CHROMIUM = os.environ.get("SDE_EDIT_CHROMIUM", "/usr/bin/chromium")
NODE_CLASS = "SDEEdit_CycleSDEEdit"


def test_help_page_in_the_documentation_panel(request, tmp_path):
    reason = comfy_server.missing_browser_tools(CHROMIUM)
    if reason:
        pytest.skip(reason)
    server = comfy_server.shared_server(request.config)
    if NODE_CLASS not in server.object_info():
        pytest.skip(f"{NODE_CLASS} is not registered by the pack on this server")
    out = Path(os.environ.get("SDE_EDIT_SCREENSHOT_DIR") or tmp_path / "screenshots")
    command = ["node", str(SCRIPT), "--url", server.url, "--node", NODE_CLASS, "--out", str(out),
               "--chromium", CHROMIUM]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = run.stdout + ("\n---- stderr ----\n" + run.stderr if run.stderr.strip() else "")
    print(report)  # shown by pytest -s / on failure: every check and the frontend version
    assert run.returncode == 0, report[-12000:] + "\n" + server.log_tail(3000)
    assert run.stdout.splitlines()[-1] == "7 passed, 0 failed"
