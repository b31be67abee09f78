"""Core tier: the point editor's wire formats (sde_edit/drag_wire.py), on the cases the editor's JS reads alike
(tests/data/drag_wire_cases.json, also run by web/tests/drag_wire_cases.test.mjs), and the names both sides share."""
import json
import subprocess
from pathlib import Path

import pytest

from sde_edit import drag_wire
from sde_edit.drag_wire import check_in_image, latent_pairs, parse_drag_points, parse_editor_mask, pixels_to_cells
from sde_edit.samplers import InputError

ROOT = Path(__file__).resolve().parents[1]
CASES = json.loads((ROOT / "tests" / "data" / "drag_wire_cases.json").read_text())


def read(parse, text):
    """What a case file records for ``text``: the value, or the error message."""
    try:
        return {"value": parse(text)}
    except InputError as error:
        return {"error": str(error)}


@pytest.mark.parametrize("case", CASES["drag_points"], ids=lambda case: case["text"][:40])
def test_drag_points_read_as_the_cases_say(case):
    got = read(parse_drag_points, case["text"])
    if "pairs" in case:
        assert got == {"value": [(tuple(s), tuple(t)) for s, t in case["pairs"]]}
    elif "error" in case:
        assert got == {"error": case["error"]}
    else:
        assert got["error"].startswith(case["error_prefix"]) and "expected {\"pairs\"" in got["error"]


@pytest.mark.parametrize("case", CASES["editor_mask"], ids=lambda case: case["text"][:40])
def test_editor_masks_read_as_the_cases_say(case):
    got = read(parse_editor_mask, case["text"])
    if "mask" in case:
        mask = got["value"]
        if case["mask"] is None:
            assert mask is None
        else:
            width, height = case["mask"]["size"]
            assert mask.shape == (1, height, width)
            assert "".join(str(int(v)) for v in mask.flatten()) == case["mask"]["bits"]
    elif "error" in case:
        assert got == {"error": case["error"]}
    else:
        assert got["error"].startswith(case["error_prefix"])


def test_every_kind_of_case_is_there():
    for name in ("drag_points", "editor_mask"):
        kinds = {next(k for k in ("pairs", "mask", "error", "error_prefix") if k in case) for case in CASES[name]}
        assert kinds == ({"pairs", "error", "error_prefix"} if name == "drag_points" else
                         {"mask", "error", "error_prefix"})


def test_points_become_latent_cells_through_the_vae_crop():
    pairs = parse_drag_points('{"pairs": [{"source": [120, 200], "target": [180.5, 7]}]}')
    assert pixels_to_cells(pairs, 8) == [((15, 25), (22, 0))]
    # an image VAE Encode centre-cropped by (left, top) = (1, 3) pixels
    assert pixels_to_cells([((17, 27), (16, 26))], 8, crop=(1, 3)) == [((2, 3), (1, 2))]
    # a 515 x 262 image encodes to 64 x 32 cells at 8x: crop (1, 3)
    assert latent_pairs([((17, 27), (16, 26))], (1, 4, 32, 64), 8, (515, 262)) == [((2, 3), (1, 2))]


@pytest.mark.parametrize("point, message", [
    ((600, 2), r"pair 2 source \(600, 2\) lies outside the 512x256 image \(x in \[0, 512\), y in \[0, 256\)\)"),
    ((3, 256), r"pair 2 source \(3, 256\) lies outside the 512x256 image"),
])
def test_points_beyond_the_image_are_refused(point, message):
    with pytest.raises(InputError, match=f"^drag_points: {message}"):
        check_in_image([((1, 2), (3, 4)), (point, (3, 4))], 512, 256)
    check_in_image([((0, 0), (511, 255))], 512, 256)


def test_the_editor_reads_the_names_the_node_writes():
    """The UI key and websocket message of the editor's source image, as web/js/drag_wire.js exports them (run
    with node: an import, not a scrape of the source)."""
    script = ("import('./web/js/drag_wire.js').then(w => console.log(JSON.stringify("
              "{key: w.EDITOR_IMAGE_KEY, event: w.EDITOR_IMAGE_EVENT, noPoints: w.NO_POINTS, maxSide: w.MAX_MASK_SIDE})))")
    out = subprocess.run(["node", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == {"key": drag_wire.EDITOR_IMAGE_KEY, "event": drag_wire.EDITOR_IMAGE_EVENT,
                                      "noPoints": drag_wire.NO_POINTS, "maxSide": drag_wire.MAX_MASK_SIDE}
