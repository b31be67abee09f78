"""Core tier: the README's support table is the one generated from the family matrix's committed results."""
import json

from tools import support_table


def test_readme_table_is_generated_from_the_results():
    assert support_table.generated_files()[support_table.README] == support_table.README.read_text(), \
        "run python -m tools.support_table --write after taking results into docs/support/"


def test_results_cover_the_three_tested_releases_and_every_cell():
    files = sorted(support_table.SUPPORT_DIR.glob("comfyui-*.json"), key=support_table.version_key)
    assert [path.stem for path in files] == ["comfyui-0.3.64", "comfyui-0.8.0", "comfyui-0.33.0"]
    families = None
    for path in files:
        data = json.loads(path.read_text())
        families = families or sorted(data["families"])
        assert sorted(data["families"]) == families, path.name
        assert support_table.result_problems(data) == [], path.name
        assert support_table.results_text(path) == path.read_text(), path.name
