"""Every example workflow has the template browser's thumbnail: ``example_workflows/<name>.jpg``, an RGB JPEG
``tools.thumbnails.WIDTH`` pixels wide, small, naming in its comment the ComfyUI release whose run rendered it
(``python -m tools.thumbnails``); and the check catches each way one can be wrong."""
import shutil

import pytest
from PIL import Image

from tools import thumbnails
from tools.workflow_schema import WORKFLOW_DIR


def test_every_example_workflow_has_its_thumbnail():
    workflows = sorted(WORKFLOW_DIR.glob("*.json"))
    assert len(workflows) >= 18  # every one of them, and any added later, needs its thumbnail
    assert thumbnails.thumbnail_problems() == []
    for workflow in workflows:
        path = workflow.parent / (workflow.stem + ".jpg")  # /api/workflow_templates/<pack>/<name>.jpg
        assert thumbnails.thumbnail_path(workflow) == path
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.width == 256 and image.height <= 256
        assert path.stat().st_size <= 16 * 1024
        assert thumbnails.rendered_release(path) is not None


@pytest.fixture
def workflow_copy(tmp_path):
    """One example workflow and its thumbnail, copied to a folder of their own."""
    source = WORKFLOW_DIR / "cycle_sde_sd15_edit.json"
    shutil.copy(source, tmp_path)
    shutil.copy(thumbnails.thumbnail_path(source), tmp_path)
    return tmp_path / source.name, tmp_path / (source.stem + ".jpg")


def test_the_copied_pair_passes(workflow_copy):
    assert thumbnails.thumbnail_problems(workflow_copy[0].parent) == []


def test_a_missing_thumbnail_is_named(workflow_copy):
    workflow, thumbnail = workflow_copy
    thumbnail.unlink()
    assert thumbnails.thumbnail_problems(workflow.parent) == [
        "cycle_sde_sd15_edit.json: no thumbnail cycle_sde_sd15_edit.jpg"]


def test_a_thumbnail_without_workflow_is_named(workflow_copy):
    workflow, thumbnail = workflow_copy
    shutil.copy(thumbnail, workflow.parent / "renamed.jpg")
    assert thumbnails.thumbnail_problems(workflow.parent) == ["renamed.jpg: no workflow renamed.json beside it"]


def test_a_png_under_the_jpg_name_is_refused(workflow_copy):
    workflow, thumbnail = workflow_copy
    Image.new("RGB", (256, 128)).save(thumbnail, "PNG")
    problems = thumbnails.thumbnail_problems(workflow.parent)
    assert "cycle_sde_sd15_edit.jpg: PNG RGB, expected an RGB JPEG" in problems


def test_wrong_size_large_file_and_missing_release_are_refused(workflow_copy):
    import numpy as np
    workflow, thumbnail = workflow_copy
    noise = np.random.default_rng(0).integers(0, 256, (300, 512, 3), dtype=np.uint8)
    Image.fromarray(noise).save(thumbnail, "JPEG", quality=95)
    problems = thumbnails.thumbnail_problems(workflow.parent)
    assert len(problems) == 3
    assert problems[0].startswith("cycle_sde_sd15_edit.jpg: ") and problems[0].endswith(" bytes, more than 16384")
    assert problems[1] == "cycle_sde_sd15_edit.jpg: 512x300, expected 256 wide and at most 256 high"
    assert problems[2] == ("cycle_sde_sd15_edit.jpg: its JPEG comment does not name the ComfyUI release "
                           "that rendered it")


def test_compose_puts_the_outputs_side_by_side_at_the_thumbnail_width():
    red, blue = Image.new("RGB", (64, 64), (255, 0, 0)), Image.new("RGB", (64, 64), (0, 0, 255))
    strip = thumbnails.compose([red, blue])
    assert strip.size == (256, 128)
    assert strip.getpixel((10, 64)) == (255, 0, 0) and strip.getpixel((245, 64)) == (0, 0, 255)
    data = thumbnails.jpeg_bytes(strip, "0.33.0")
    assert data[:2] == b"\xff\xd8" and len(data) < thumbnails.MAX_BYTES
    assert thumbnails.COMMENT.search(thumbnails.comment_text("0.33.0")).group(1) == "0.33.0"
