"""Core tier: the README's support table is the one generated from the family matrix's committed results."""
import json

import support_table


def test_readme_table_is_generated_from_the_results():
    readme = support_table.README.read_text()
    assert support_table.with_table(readme, support_table.generated()) == readme, \
        "run python tests/support_table.py after writing docs/support/*.json"


def test_results_cover_the_three_tested_releases_and_every_cell():
    files = sorted(support_table.SUPPORT_DIR.glob("comfyui-*.json"), key=support_table.version_key)
    assert [path.stem for path in files] == ["comfyui-0.3.64", "comfyui-0.8.0", "comfyui-0.33.0"]
    families = None
    for path in files:
        data = json.loads(path.read_text())
        families = families or sorted(data["families"])
        assert sorted(data["families"]) == families, path.name
        for name, results in data["families"].items():
            for method in data["methods"]:
                assert results[method]["cell"] in ("exact", "refused", "absent"), (path.name, name, method)
                if results[method]["cell"] == "refused":
                    assert results[method]["reason"].split(":")[0] in ("model", "latent"), results[method]
