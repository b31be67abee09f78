"""The pack's node schemas as a live ComfyUI 0.8.0 serves them: ``tests/data/pack_object_info.json``.

Starts ``main.py --cpu`` of ``COMFYUI_ROOT`` with the pack (``tests/comfy_server.py``), so it runs under that
ComfyUI's Python::

    COMFYUI_ROOT=/path/to/ComfyUI-0.8.0 /path/to/its/python -m tools.schema_snapshot [--write]
"""
from __future__ import annotations

import json
import os
import sys

from tools.generated_files import REPO_ROOT, check_or_write, tool_parser
from tools.workflow_schema import PACK_SNAPSHOT

sys.path.insert(0, str(REPO_ROOT / "tests"))  # comfy_server and comfy_harness are the tests' modules
import comfy_server  # noqa: E402

RELEASE = "0.8.0"


def pack_schemas(server: comfy_server.ComfyServer) -> dict:
    """The /object_info entries of the pack's nodes."""
    module = f"custom_nodes.{comfy_server.PACK_FOLDER}"
    return {name: entry for name, entry in server.object_info().items() if entry.get("python_module") == module}


def snapshot_text(comfy_root: str) -> str:
    server = comfy_server.start_server(comfy_root)
    try:
        version = server.request("/system_stats")["system"].get("comfyui_version")
        if version != RELEASE:
            raise SystemExit(f"the snapshot is ComfyUI {RELEASE}'s; COMFYUI_ROOT runs {version}")
        return json.dumps(pack_schemas(server), indent=1, sort_keys=True) + "\n"
    finally:
        server.shutdown()


def main(argv: list[str] | None = None) -> int:
    args = tool_parser(__doc__).parse_args(argv)
    if not os.environ.get("COMFYUI_ROOT"):
        raise SystemExit(f"set COMFYUI_ROOT to a ComfyUI {RELEASE} checkout")
    return check_or_write({PACK_SNAPSHOT: snapshot_text(os.environ["COMFYUI_ROOT"])}, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
