"""ComfyUI's core node schemas cut to what the example workflows use: ``tests/data/object_info_<release>.trimmed.json``.

The full /object_info dumps of the checked releases (``object_info_<release>.json``, a few MB, not committed) are
read from DUMPS_DIR; the trimmed copies keep the entries of the node types that the generator's workflows use,
whole and in the dump's order, so the workflow tests need no dump::

    python -m tools.trim_schemas [DUMPS_DIR]           # check; DUMPS_DIR defaults to ../shared/comfyui
    python -m tools.trim_schemas [DUMPS_DIR] --write
"""
from __future__ import annotations

import json
from pathlib import Path

from tools.example_workflows import WORKFLOWS
from tools.generated_files import REPO_ROOT, check_or_write, tool_parser
from tools.workflow_schema import (CHECKED_RELEASES, GENERATOR_RELEASE, PACK_SNAPSHOT, trimmed_schemas_path,
                                   with_pack_schemas, workflow_node_types)

FULL_DUMPS = REPO_ROOT.parent / "shared" / "comfyui"


def full_dump_path(release: str, directory: Path = FULL_DUMPS) -> Path:
    return Path(directory) / f"object_info_{release}.json"


def used_core_node_types(generator_release_dump: dict) -> set[str]:
    """The core node types of every example workflow, generated from the full schemas."""
    object_info = with_pack_schemas(generator_release_dump)
    used = set().union(*(workflow_node_types(build(object_info)) for build in WORKFLOWS.values()))
    return used - set(json.loads(PACK_SNAPSHOT.read_text()))


def trimmed_files(directory: Path = FULL_DUMPS) -> dict[Path, str]:
    """{trimmed schema file: content} of every checked release, from the full dumps in ``directory``."""
    dumps = {release: json.loads(full_dump_path(release, directory).read_text()) for release in CHECKED_RELEASES}
    node_types = sorted(used_core_node_types(dumps[GENERATOR_RELEASE]))
    return {trimmed_schemas_path(release): json.dumps({name: dump[name] for name in node_types if name in dump},
                                                      indent=1) + "\n"
            for release, dump in dumps.items()}


def main(argv: list[str] | None = None) -> int:
    parser = tool_parser(__doc__)
    parser.add_argument("dumps_dir", nargs="?", type=Path, default=FULL_DUMPS,
                        help="folder of the full object_info_<release>.json dumps (default: %(default)s)")
    args = parser.parse_args(argv)
    return check_or_write(trimmed_files(args.dumps_dir), args.write)


if __name__ == "__main__":
    raise SystemExit(main())
