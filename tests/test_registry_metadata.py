"""The Comfy Registry metadata in pyproject.toml ([project] and [tool.comfy], as docs.comfy.org/registry/specifications
describes them): the fields are there and well-formed, the icon is a file of this repository that the Icon URL
names, the version is the one the example workflows carry for the pack's nodes, and requires-comfyui is the oldest
ComfyUI release the README says the pack is tested on."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import struct
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml needs tomllib (Python 3.11) or tomli")

from tools.example_workflows import WorkflowBuilder

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT, COMFY = PYPROJECT["project"], PYPROJECT["tool"]["comfy"]
README = (ROOT / "README.md").read_text()
ICON_TYPES = {".svg", ".png", ".jpg", ".jpeg", ".gif"}
MAX_ICON_SIZE = (800, 400)  # the registry's limit, width x height


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def oldest_tested_release(readme: str) -> str:
    """The oldest release of the README's "tested on A, B and C" (compared as versions, not as text)."""
    release = r"\d+(?:\.\d+)+"
    match = re.search(rf"tested\s+on\s+({release}(?:,\s+{release})*(?:\s+and\s+{release})?)", readme)
    assert match, "the README names no releases the pack is tested on"
    return min(re.findall(r"\d+(?:\.\d+)+", match.group(1)), key=version_key)


def image_size(path: Path) -> tuple[float, float]:
    """Width and height of an SVG (its width/height, else its viewBox) or a PNG (its IHDR chunk)."""
    if path.suffix == ".svg":
        root = ElementTree.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
        if root.get("width") and root.get("height"):
            return float(root.get("width")), float(root.get("height"))
        _, _, width, height = map(float, root.get("viewBox").split())
        return width, height
    data = path.read_bytes()
    assert path.suffix == ".png" and data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name}: size check supports SVG and PNG"
    return struct.unpack(">II", data[16:24])


def test_project_fields():
    name = PROJECT["name"]
    # the registry's node id rules: < 100 characters of letters, digits, - _ ., starting with a letter, no two
    # special characters in a row; and its advice to leave "ComfyUI" out of the name
    assert re.fullmatch(r"[A-Za-z](?:[A-Za-z0-9]|[-_.](?=[A-Za-z0-9]))*", name) and len(name) < 100, name
    assert "comfyui" not in name.lower()
    assert re.fullmatch(r"\d+\.\d+\.\d+", PROJECT["version"]), PROJECT["version"]
    assert PROJECT["description"] and PROJECT["license"] == {"file": "LICENSE"} and (ROOT / "LICENSE").is_file()
    assert PROJECT["dependencies"] == []  # the pack needs nothing beyond ComfyUI (as requirements.txt)
    assert PROJECT["urls"]["Repository"].startswith("https://github.com/")


def test_tool_comfy_fields():
    assert set(COMFY) == {"PublisherId", "DisplayName", "Icon", "requires-comfyui"}
    assert re.fullmatch(r"[a-z][a-z0-9-]*", COMFY["PublisherId"]), COMFY["PublisherId"]
    assert COMFY["DisplayName"].strip() == COMFY["DisplayName"] and len(COMFY["DisplayName"]) > 3


def test_icon_is_a_file_of_this_repository():
    repository = PROJECT["urls"]["Repository"].removeprefix("https://github.com/")
    prefix = f"https://raw.githubusercontent.com/{repository}/main/"
    assert COMFY["Icon"].startswith(prefix), (COMFY["Icon"], prefix)
    icon = ROOT / COMFY["Icon"].removeprefix(prefix)
    assert icon.is_file(), icon
    assert icon.suffix in ICON_TYPES
    width, height = image_size(icon)
    assert 0 < width <= MAX_ICON_SIZE[0] and 0 < height <= MAX_ICON_SIZE[1], (width, height)
    if shutil.which("git") and (ROOT / ".git").exists():  # the URL serves committed files only
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", str(icon.relative_to(ROOT))], cwd=ROOT,
                                 capture_output=True, text=True)
        assert tracked.returncode == 0, f"{icon.relative_to(ROOT)} is not committed"


def test_version_is_the_one_the_example_workflows_carry():
    """The workflows name the pack's nodes by registry id and version (cnr_id, ver), as the frontend saves them."""
    builder = WorkflowBuilder({})
    assert (builder.pack_id, builder.pack_version) == (PROJECT["name"], PROJECT["version"])
    seen = set()
    for path in sorted((ROOT / "example_workflows").glob("*.json")):
        for node in json.loads(path.read_text())["nodes"]:
            if node["type"].startswith("SDEEdit_"):
                seen.add((node["properties"]["cnr_id"], node["properties"]["ver"]))
    assert seen == {(PROJECT["name"], PROJECT["version"])}


def test_requires_comfyui_is_the_oldest_tested_release():
    oldest = oldest_tested_release(README)
    assert COMFY["requires-comfyui"] == f">={oldest}"
    needs = re.search(r"Needs\s+ComfyUI\s+>=\s+(\d+(?:\.\d+)+)", README)
    assert needs and needs.group(1) == oldest, "the README's Install section names another minimum release"


def test_oldest_tested_release_compares_versions():
    assert oldest_tested_release("tested on 0.8.0, 0.33.0 and 0.3.64.") == "0.3.64"
    assert oldest_tested_release("tested\non 0.33.0 and\n0.4.0") == "0.4.0"
    with pytest.raises(AssertionError):
        oldest_tested_release("tested everywhere")
