"""The README's support table, generated from the family matrix's results (never typed by hand).

``tests/test_comfyui_families.py`` records a ComfyUI release's results as ``comfyui-<version>.json`` in
``$SDE_EDIT_SUPPORT_RESULTS`` (default: a pytest temp dir, printed by the test). This tool takes such files into
``docs/support/`` and writes, from every release there, one table per release (family by method: ``exact``,
``refused`` with the reason, or ``absent`` from that release) between the README's ``support-table`` markers::

    python -m tools.support_table                          # check the README's table against docs/support/
    python -m tools.support_table --results DIR --write    # take DIR/comfyui-*.json in, rewrite the table
"""
from __future__ import annotations

import json
from pathlib import Path

from tools.generated_files import REPO_ROOT, check_or_write, tool_parser

SUPPORT_DIR = REPO_ROOT / "docs" / "support"
README = REPO_ROOT / "README.md"
BEGIN, END = "<!-- support-table:begin", "<!-- support-table:end -->"  # the begin marker's comment is kept
CELLS = ("exact", "refused", "absent")
METHOD_NAMES = {"cycle_sde": "Cycle-SDE", "sync_sde": "sync-SDE", "sde_inpaint": "SDE inpaint",
                "rf_inversion": "RF-Inversion", "sde_drag": "SDE-Drag"}


def version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.stem.removeprefix("comfyui-").split("."))


def cell(result: dict, method: str, reasons: list[str]) -> str:
    """A table cell; a refusal's message goes to the notes under the table (``reasons``), numbered."""
    kind = result["cell"]
    if kind == "exact" and method == "rf_inversion":
        return f"exact (ODE {result['ode_error']:.1e})"
    if kind == "refused":
        if result["reason"] not in reasons:
            reasons.append(result["reason"])
        return f"refused [{reasons.index(result['reason']) + 1}]"
    return kind


def release_table(data: dict) -> str:
    methods, reasons = data["methods"], []
    lines = [f"**ComfyUI {data['comfyui']}**", "",
             "| family | " + " | ".join(METHOD_NAMES[m] for m in methods) + " |",
             "|---" * (len(methods) + 1) + "|"]
    for name, results in data["families"].items():
        cells = [cell(results[m], m, reasons) for m in methods]
        if all(results[m]["cell"] == "absent" for m in methods):
            cells = ["not in this release"] + [""] * (len(methods) - 1)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if reasons:
        lines += [""] + [f"[{number}] {reason}" + ("  " if number < len(reasons) else "")
                         for number, reason in enumerate(reasons, start=1)]
    return "\n".join(lines)


def result_problems(data: dict) -> list[str]:
    """What keeps a release's results out of docs/support/: a cell missing, failed, or refused for a reason
    other than the model or the latent."""
    problems = []
    for name, results in data["families"].items():
        for method in data["methods"]:
            result = results.get(method, {"cell": "missing"})
            if result["cell"] not in CELLS:
                problems.append(f"{name} / {method}: {result['cell']}")
            elif result["cell"] == "refused" and result["reason"].split(":")[0] not in ("model", "latent"):
                problems.append(f"{name} / {method}: refused by {result['reason']!r}")
    return problems


def results_text(path: Path) -> str:
    """A family run's results file as docs/support/ holds it; stops on ``result_problems``."""
    data = json.loads(path.read_text())
    problems = result_problems(data)
    if problems:
        raise SystemExit(f"{path}: not a complete, passing run:\n" + "\n".join(problems))
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def tables(releases: list[dict]) -> str:
    intro = ("`exact`: the method ran through its nodes on a tiny random-weight instance of the family built with "
             "ComfyUI's own classes, and its exactness checks held (reconstruction or the unedited region within "
             "1e-5 of the source); RF-Inversion also shows its gamma = eta = 0 (plain ODE) reconstruction error. "
             "`refused`: the node stops with the error shown, before any model call.")
    return "\n\n".join([intro, *map(release_table, releases)])


def with_table(readme: str, table: str) -> str:
    head, begin, rest = readme.partition(BEGIN)
    comment, close, rest = rest.partition("-->")
    _, end, tail = rest.partition(END)
    if not (begin and close and end):
        raise SystemExit(f"README.md has no {BEGIN} ... --> ... {END} section")
    return f"{head}{BEGIN}{comment}{close}\n{table}\n{END}{tail}"


def generated_files(results_dir: Path | None = None) -> dict[Path, str]:
    """{file: content}: the results in ``results_dir`` as docs/support/ files, and the README whose table shows
    every release of docs/support/ (``results_dir``'s replacing the committed ones)."""
    files = {SUPPORT_DIR / path.name: results_text(path) for path in sorted(results_dir.glob("comfyui-*.json"))} \
        if results_dir else {}
    if results_dir and not files:
        raise SystemExit(f"no comfyui-*.json results in {results_dir}")
    releases = {path: path.read_text() for path in SUPPORT_DIR.glob("comfyui-*.json")} | files
    table = tables([json.loads(releases[path]) for path in sorted(releases, key=version_key)])
    return {**files, README: with_table(README.read_text(), table)}


def main(argv: list[str] | None = None) -> int:
    parser = tool_parser(__doc__)
    parser.add_argument("--results", type=Path, help="folder of a family run's comfyui-<version>.json results")
    args = parser.parse_args(argv)
    return check_or_write(generated_files(args.results), args.write)


if __name__ == "__main__":
    raise SystemExit(main())
