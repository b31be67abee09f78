"""The example workflows (``example_workflows/*.json``) are loadable UI workflows for ComfyUI 0.8.0 and 0.33.0,
exactly as ``python -m tools.example_workflows`` generates them.

No ComfyUI needed: node schemas are the releases' /object_info dumps trimmed to the node types the workflows use
(``tests/data/object_info_<release>.trimmed.json``, ``python -m tools.trim_schemas``) plus the pack's snapshot
``tests/data/pack_object_info.json``. Checked: node types exist, links join matching types, required sockets are
connected, ``widgets_values`` follow each node's widget order (with the frontend's control_after_generate /
upload entries) and hold valid values, and the UI -> API conversion gives a complete prompt. Running them in a
real server: ``test_comfyui_workflows.py``.
"""
from __future__ import annotations

import copy
import json

import pytest

import workflow_check
from tools import example_workflows, trim_schemas
from tools.workflow_schema import (CHECKED_RELEASES, FRONTEND_ONLY, PACK_SNAPSHOT, WORKFLOW_DIR, load_object_info,
                                   node_inputs, trimmed_schemas_path, workflow_node_types)

WORKFLOW_FILES = sorted(WORKFLOW_DIR.glob("*.json"))
EXPECTED = {"cycle_sde_sd15_edit.json", "cycle_sde_flux_edit.json"}
CYCLE_SDE_FILES = [WORKFLOW_DIR / name for name in sorted(EXPECTED)]


@pytest.fixture(scope="module", params=CHECKED_RELEASES)
def object_info(request):
    return load_object_info(request.param)


def load(path):
    return json.loads(path.read_text())


def test_example_workflows_present():
    assert {p.name for p in WORKFLOW_FILES} >= EXPECTED


def test_pack_snapshot_has_the_pack_nodes():
    snapshot = json.loads(PACK_SNAPSHOT.read_text())
    assert set(snapshot) >= {"SDEEdit_CycleSDEInvert", "SDEEdit_CycleSDESampler", "SDEEdit_CycleSDEEdit"}
    for name, entry in snapshot.items():
        assert entry["name"] == name and entry["input_order"] and "output" in entry


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_is_valid(path, object_info):
    """Every shipped workflow, whatever its method."""
    workflow = load(path)
    assert workflow["version"] == 0.4
    assert workflow_check.validate_workflow(workflow, object_info) == []


@pytest.mark.parametrize("path", CYCLE_SDE_FILES, ids=lambda p: p.name)
def test_cycle_sde_workflow_nodes(path):
    types = [node["type"] for node in load(path)["nodes"]]
    for needed in ("SDEEdit_CycleSDEInvert", "SDEEdit_CycleSDESampler", "Note", "DisableNoise", "VAEDecode"):
        assert needed in types, needed
    assert types.count("SamplerCustomAdvanced") == 2  # reconstruct + edit


@pytest.mark.parametrize("path", CYCLE_SDE_FILES, ids=lambda p: p.name)
def test_workflow_wiring(path, object_info):
    """Both replays use the inversion's SIGMAS and source latent; reconstruct uses the source guider."""
    workflow = load(path)
    prompt = workflow_check.ui_to_api(workflow, object_info)
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
    prompt = workflow_check.ui_to_api(workflow, object_info)
    notes = [n for n in workflow["nodes"] if n["type"] in FRONTEND_ONLY]
    assert len(prompt) == len(workflow["nodes"]) - len(notes)
    for node_id, node in prompt.items():
        info = object_info[node["class_type"]]
        for name, spec, required in node_inputs(info):
            if required:
                assert name in node["inputs"], (node_id, node["class_type"], name)
        for name, value in node["inputs"].items():
            if isinstance(value, list):  # a link: [source id, output index]
                source = prompt[value[0]]
                assert value[1] < len(object_info[source["class_type"]]["output"])


@pytest.fixture(scope="module")
def generated():
    return {path.name: text for path, text in example_workflows.generated_files().items()}


@pytest.mark.parametrize("name", sorted(example_workflows.WORKFLOWS))
def test_committed_workflows_match_the_generator(name, generated):
    """Byte for byte: ``python -m tools.example_workflows --write`` rewrites them."""
    assert (WORKFLOW_DIR / name).read_text() == generated[name]


def test_every_committed_workflow_is_generated():
    assert {path.name for path in WORKFLOW_FILES} == set(example_workflows.WORKFLOWS)


@pytest.mark.parametrize("release", CHECKED_RELEASES)
def test_trimmed_schemas_cover_the_example_workflows(release):
    """Every core node type of every example workflow has its schema in the release's trimmed dump."""
    trimmed = json.loads(trimmed_schemas_path(release).read_text())
    used = set().union(*(workflow_node_types(load(path)) for path in WORKFLOW_FILES))
    assert used - set(json.loads(PACK_SNAPSHOT.read_text())) - set(trimmed) == set()


def test_trimmed_schemas_are_the_trim_tools_output():
    """``python -m tools.trim_schemas --write`` rewrites them from the full dumps (not in the repository)."""
    missing = [str(trim_schemas.full_dump_path(release)) for release in CHECKED_RELEASES
               if not trim_schemas.full_dump_path(release).is_file()]
    if missing:
        pytest.skip(f"ComfyUI's full /object_info dumps not found: {missing}")
    for path, text in trim_schemas.trimmed_files().items():
        assert path.read_text() == text, f"{path.name}: run python -m tools.trim_schemas --write"


def test_validator_finds_errors(object_info):
    """The checks above would catch the usual mistakes."""
    good = load(WORKFLOW_DIR / "cycle_sde_sd15_edit.json")
    assert workflow_check.validate_workflow(good, object_info) == []

    def broken(change):
        workflow = copy.deepcopy(good)
        nodes = {n["type"]: n for n in workflow["nodes"]}
        change(workflow, nodes)
        return workflow_check.validate_workflow(workflow, object_info)

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
    assert workflow_check.types_match("LATENT", "LATENT") and workflow_check.types_match("*", "MODEL")
    assert workflow_check.types_match("IMAGE", "IMAGE,MASK") and not workflow_check.types_match("LATENT", "IMAGE,MASK")
