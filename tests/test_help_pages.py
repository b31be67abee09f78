"""The nodes' help pages (``web/docs/<node id>.md``), which ComfyUI's frontend shows in its documentation panel.

The frontend (1.27.10, 1.35.9 and 1.49.6 alike, ``NodeHelpService.fetchCustomNodeHelp``) asks for
``/extensions/<pack folder>/docs/<node id>/<locale>.md`` and then ``/extensions/<pack folder>/docs/<node id>.md``;
ComfyUI serves ``/extensions/<pack folder>/`` from the pack's ``WEB_DIRECTORY``. Checked here, on the files alone:
one page per node of the schema snapshot (``tests/data/pack_object_info.json``), each page's inputs and outputs
tables read back and compared with the snapshot (names in the frontend's order, types, defaults, combo options),
the sections every page must have, the node ids and example workflows the prose names, and the tables against
their generator (``python -m tools.help_pages``). ``tests/test_browser_help_page.py`` opens a page in a real
frontend.
"""
from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import pytest

from tools import help_pages

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = json.loads((ROOT / "tests" / "data" / "pack_object_info.json").read_text())
HELP_DIR = ROOT / "web" / "docs"
SECTIONS = ("## Inputs", "## Outputs", "## Minimal graph", "## Settings per model family", "## No effect or drifts")
WORKFLOW_NAME = re.compile(r"`((?:cycle_sde|sync_sde|sde_drag|sde_inpaint|rf_inversion)_\w+)`")


def page_text(node_id: str) -> str:
    return (HELP_DIR / f"{node_id}.md").read_text()


def table_rows(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first table after ``heading`` (cells stripped; escaped pipes stay in their cell)."""
    lines = text.split(heading + "\n", 1)[1].splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:  # header and delimiter row skipped
        if not line.startswith("|"):
            break
        rows.append([cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def code_span(cell: str) -> str | None:
    match = re.fullmatch(r"`([^`]*)`", cell)
    return match.group(1) if match else None


def read_default(cell: str, kind: str):
    """A widget's default as the page shows it, read back into the schema's value."""
    text = code_span(cell)
    if text is None:
        return cell  # not a code span: compared as it stands (and fails against any widget default)
    if kind == "INT":
        return int(text)
    if kind == "FLOAT":
        return float(text)
    if kind == "BOOLEAN":
        return {"true": True, "false": False}.get(text, text)
    return "" if text == '""' else text


def schema_inputs(node: dict) -> list[tuple[str, str, dict, bool]]:
    """(name, type, options, required) in the frontend's order: required, then optional, each in input_order."""
    out = []
    for section in ("required", "optional"):
        specs = node["input"].get(section) or {}
        for name in node.get("input_order", {}).get(section, list(specs)):
            spec = specs[name]
            kind = "COMBO" if isinstance(spec[0], list) else spec[0]
            options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if isinstance(spec[0], list):
                options = {**options, "options": spec[0]}
            out.append((name, kind, options, section == "required"))
    return out


def page_problems(text: str, node: dict) -> list[str]:
    """Where a page's inputs and outputs tables disagree with the node's schema (an empty list: they agree)."""
    problems = []
    rows = table_rows(text, "## Inputs")
    expected = schema_inputs(node)
    names = [code_span(row[0]) for row in rows]
    if names != [name for name, *_ in expected]:
        problems.append(f"inputs {names} != schema {[name for name, *_ in expected]}")
    rows_by_name = dict(zip(names, rows))
    for name, kind, options, required in expected:
        row = rows_by_name.get(name)
        if row is None:
            continue
        _, page_kind, default, choices, _ = row
        if page_kind != kind:
            problems.append(f"{name}: type {page_kind} != schema {kind}")
        if "default" in options:
            if read_default(default, kind) != options["default"]:
                problems.append(f"{name}: default {default} != schema {options['default']!r}")
        elif default != ("required" if required else "optional"):
            problems.append(f"{name}: default column {default!r} for a {'required' if required else 'optional'} socket")
        if kind == "COMBO" and name != "scheduler":
            shown = re.findall(r"`([^`]*)`", choices)
            if shown != list(options["options"]):
                problems.append(f"{name}: options {shown} != schema {options['options']}")
    outputs = [(code_span(row[0]), row[1]) for row in table_rows(text, "## Outputs")]
    if outputs != list(zip(node["output_name"], node["output"])):
        problems.append(f"outputs {outputs} != schema {list(zip(node['output_name'], node['output']))}")
    return problems


def test_one_page_per_node():
    pages = {path.stem for path in HELP_DIR.glob("*.md")}
    assert pages == set(SNAPSHOT), (sorted(set(SNAPSHOT) - pages), sorted(pages - set(SNAPSHOT)))
    assert len(pages) == 13


@pytest.mark.parametrize("node_id", sorted(SNAPSHOT))
def test_page_tables_agree_with_the_schema(node_id):
    assert page_problems(page_text(node_id), SNAPSHOT[node_id]) == []


def test_the_comparison_catches_a_renamed_input_a_changed_default_and_options():
    node_id = "SDEEdit_CycleSDEEdit"
    text = page_text(node_id)
    renamed = copy.deepcopy(SNAPSHOT[node_id])
    renamed["input"]["required"]["strength"] = renamed["input"]["required"].pop("t0")
    order = renamed["input_order"]["required"]
    order[order.index("t0")] = "strength"
    assert any("inputs" in problem and "strength" in problem for problem in page_problems(text, renamed))

    changed = copy.deepcopy(SNAPSHOT[node_id])
    changed["input"]["required"]["cfg"][1]["default"] = 5.0
    assert page_problems(text, changed) == ["cfg: default `7.5` != schema 5.0"]

    dtypes = copy.deepcopy(SNAPSHOT["SDEEdit_CycleSDEInvert"])
    dtypes["input"]["required"]["storage_dtype"][1]["options"].append("float64")
    problems = page_problems(page_text("SDEEdit_CycleSDEInvert"), dtypes)
    assert len(problems) == 1 and problems[0].startswith("storage_dtype: options"), problems

    output = copy.deepcopy(SNAPSHOT[node_id])
    output["output_name"][1] = "recording"
    assert len(page_problems(text, output)) == 1


@pytest.mark.parametrize("node_id", sorted(SNAPSHOT))
def test_page_sections_and_names(node_id):
    text = page_text(node_id)
    assert text.startswith(f"# {SNAPSHOT[node_id]['display_name']}\n")
    positions = [text.find("\n" + heading + "\n") for heading in SECTIONS]
    assert all(position > 0 for position in positions), dict(zip(SECTIONS, positions))
    assert positions == sorted(positions), "sections out of order"
    for section, start in zip(SECTIONS[2:], positions[2:]):
        body = text[start + len(section) + 2:].split("\n## ", 1)[0]
        assert len(body.split()) >= 30, f"{section} has {len(body.split())} words"
    unknown_nodes = set(re.findall(r"SDEEdit_\w+", text)) - set(SNAPSHOT)
    assert not unknown_nodes
    missing_workflows = [name for name in WORKFLOW_NAME.findall(text)
                         if not (ROOT / "example_workflows" / f"{name}.json").is_file()]
    assert not missing_workflows


def test_tables_are_the_generators():
    files = help_pages.generated_files()
    stale = [path.name for path, text in files.items() if path.read_text() != text]
    assert not stale, "run python -m tools.help_pages --write"
    assert len(files) == len(SNAPSHOT)


def test_pages_sit_where_the_frontend_asks_for_them():
    """web/docs/ is docs/ under the WEB_DIRECTORY the root __init__ declares, which ComfyUI serves under
    /extensions/<pack folder>/, and every node is a custom node of this pack (python_module custom_nodes.<folder>),
    the case in which the frontend asks /extensions/<folder>/docs/<node id>.md."""
    tree = ast.parse((ROOT / "__init__.py").read_text())
    web_directory = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                         and [target.id for target in node.targets] == ["WEB_DIRECTORY"])
    assert (ROOT / web_directory).resolve() / "docs" == HELP_DIR
    assert help_pages.HELP_DIR == HELP_DIR
    assert {node["python_module"].split(".")[0] for node in SNAPSHOT.values()} == {"custom_nodes"}
