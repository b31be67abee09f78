"""The example workflows (``example_workflows/*.json``) are loadable UI workflows for ComfyUI 0.8.0 and 0.33.0.

No ComfyUI needed: node schemas come from the releases' /object_info dumps (``<repo>/../shared/comfyui/
object_info_<release>.json``) plus the pack's snapshot ``tests/data/pack_object_info.json``. Checked: node types
exist, links join matching types, required sockets are connected, ``widgets_values`` follow each node's
widget order (with the frontend's control_after_generate / upload entries) and hold valid values, and the
UI -> API conversion gives a complete prompt. Running them in a real server: ``test_comfyui_workflows.py``.
"""
from __future__ import annotations

import copy
import json

import pytest

import workflow_tools as wt

WORKFLOW_FILES = sorted(wt.WORKFLOW_DIR.glob("*.json"))
EXPECTED = {"cycle_sde_sd15_edit.json", "cycle_sde_flux_edit.json"}
CYCLE_SDE_FILES = [wt.WORKFLOW_DIR / name for name in sorted(EXPECTED)]


@pytest.fixture(scope="module", params=wt.CHECKED_RELEASES)
def object_info(request):
    path = wt.core_object_info_path(request.param)
    if not path.is_file():
        pytest.skip(f"ComfyUI {request.param} node schemas not found at {path} (expected shared/comfyui/ beside "
                    f"the checkout, or env SDE_EDIT_OBJECT_INFO for 0.8.0)")
    return wt.load_object_info(path)


def load(path):
    return json.loads(path.read_text())


def test_example_workflows_present():
    assert {p.name for p in WORKFLOW_FILES} >= EXPECTED


def test_pack_snapshot_has_the_pack_nodes():
    snapshot = json.loads(wt.PACK_SNAPSHOT.read_text())
    assert set(snapshot) >= {"SDEEdit_CycleSDEInvert", "SDEEdit_CycleSDESampler", "SDEEdit_CycleSDEEdit"}
    for name, entry in snapshot.items():
        assert entry["name"] == name and entry["input_order"] and "output" in entry


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_is_valid(path, object_info):
    """Every shipped workflow, whatever its method."""
    workflow = load(path)
    assert workflow["version"] == 0.4
    assert wt.validate_workflow(workflow, object_info) == []


@pytest.mark.parametrize("path", CYCLE_SDE_FILES, ids=lambda p: p.name)
def test_cycle_sde_workflow_nodes(path, object_info):
    types = [node["type"] for node in load(path)["nodes"]]
    for needed in ("SDEEdit_CycleSDEInvert", "SDEEdit_CycleSDESampler", "Note", "DisableNoise", "VAEDecode"):
        assert needed in types, needed
    assert types.count("SamplerCustomAdvanced") == 2  # reconstruct + edit


@pytest.mark.parametrize("path", CYCLE_SDE_FILES, ids=lambda p: p.name)
def test_workflow_wiring(path, object_info):
    """Both replays use the inversion's SIGMAS and source latent; reconstruct uses the source guider."""
    workflow = load(path)
    prompt = wt.ui_to_api(workflow, object_info)
    by_type = {}
    for node_id, node in prompt.items():
        by_type.setdefault(node["class_type"], []).append(node_id)
    (invert_id,) = by_type["SDEEdit_CycleSDEInvert"]
    invert = prompt[invert_id]["inputs"]
    # the seed must stay fixed, or every queue re-runs the inversion (no caching)
    node = next(n for n in workflow["nodes"] if str(n["id"]) == invert_id)
    assert node["widgets_values"][1] == "fixed"
    guiders = set()
    for run_id in by_type["SamplerCustomAdvanced"]:
        run = prompt[run_id]["inputs"]
        assert run["sigmas"] == invert["sigmas"] and run["latent_image"] == invert["latent"]
        assert prompt[run["sampler"][0]]["class_type"] == "SDEEdit_CycleSDESampler"
        assert prompt[run["noise"][0]]["class_type"] == "DisableNoise"
        guiders.add(tuple(run["guider"]))
    assert tuple(invert["guider"]) in guiders and len(guiders) == 2  # reconstruct (source) + edit (target)
    outputs = [n for n in prompt.values() if n["class_type"] in ("SaveImage", "PreviewImage")]
    assert len(outputs) == 2


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_ui_to_api(path, object_info):
    workflow = load(path)
    prompt = wt.ui_to_api(workflow, object_info)
    notes = [n for n in workflow["nodes"] if n["type"] in wt.FRONTEND_ONLY]
    assert len(prompt) == len(workflow["nodes"]) - len(notes)
    for node_id, node in prompt.items():
        info = object_info[node["class_type"]]
        for name, spec, required in wt.node_inputs(info):
            if required:
                assert name in node["inputs"], (node_id, node["class_type"], name)
        for name, value in node["inputs"].items():
            if isinstance(value, list):  # a link: [source id, output index]
                source = prompt[value[0]]
                assert value[1] < len(object_info[source["class_type"]]["output"])


@pytest.fixture(scope="module")
def generator_object_info():
    """The schemas the generator writes the workflows from (ComfyUI 0.8.0's, as the frontend saves them)."""
    path = wt.core_object_info_path()
    if not path.is_file():
        pytest.skip(f"ComfyUI 0.8.0 node schemas not found at {path}")
    return wt.load_object_info(path)


@pytest.mark.parametrize("name", sorted(wt.WORKFLOWS))
def test_committed_workflows_match_the_generator(name, generator_object_info):
    """``python tests/workflow_tools.py`` regenerates the files; keep them in sync with it."""
    assert load(wt.WORKFLOW_DIR / name) == json.loads(json.dumps(wt.WORKFLOWS[name](generator_object_info)))


def test_validator_finds_errors(object_info):
    """The checks above would catch the usual mistakes."""
    good = load(wt.WORKFLOW_DIR / "cycle_sde_sd15_edit.json")
    assert wt.validate_workflow(good, object_info) == []

    def broken(change):
        workflow = copy.deepcopy(good)
        nodes = {n["type"]: n for n in workflow["nodes"]}
        change(workflow, nodes)
        return wt.validate_workflow(workflow, object_info)

    def drop_control(w, n):  # seed without its control_after_generate value
        n["SDEEdit_CycleSDEInvert"]["widgets_values"].pop(1)

    def bad_combo(w, n):
        n["SDEEdit_CycleSDEInvert"]["widgets_values"][3] = "float64"

    def unknown_type(w, n):
        n["VAEEncode"]["type"] = "NoSuchNode"

    def wrong_type(w, n):  # feed the trajectory into the latent input: SDE_TRAJECTORY -> LATENT
        invert = n["SDEEdit_CycleSDEInvert"]
        link_id = next(i["link"] for i in invert["inputs"] if i["name"] == "latent")
        link = next(l for l in w["links"] if l[0] == link_id)
        link[1], link[2], link[5] = invert["id"], 0, "SDE_TRAJECTORY"

    def unlinked(w, n):  # required socket left open
        sampler = n["SDEEdit_CycleSDESampler"]
        link_id = sampler["inputs"][0]["link"]
        sampler["inputs"][0]["link"] = None
        w["links"] = [l for l in w["links"] if l[0] != link_id]
        for node in w["nodes"]:
            for out in node["outputs"]:
                if out["links"] and link_id in out["links"]:
                    out["links"].remove(link_id)

    def out_of_range(w, n):
        n["BasicScheduler"]["widgets_values"][2] = 1.5  # denoise > 1

    for change, expected in [(drop_control, "widgets_values has"), (bad_combo, "float64"),
                             (unknown_type, "unknown node type"), (wrong_type, "does not fit"),
                             (unlinked, "is not connected"), (out_of_range, "outside")]:
        problems = broken(change)
        assert any(expected in p for p in problems), (change.__name__, problems)


def test_types_match():
    assert wt.types_match("LATENT", "LATENT") and wt.types_match("*", "MODEL")
    assert wt.types_match("IMAGE", "IMAGE,MASK") and not wt.types_match("LATENT", "IMAGE,MASK")
