"""What every tool does with the files it generates: compare them with the committed ones (the default; a
unified diff and exit status 1 when one differs), or write them (``--write``)."""
from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def tool_parser(doc: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="write the files (default: only compare them)")
    return parser


def check_or_write(files: dict[Path, str], write: bool) -> int:
    """Write the files of ``{path: content}`` that differ (``write``), or print their diffs; 1 = out of date."""
    stale = [path for path, text in files.items() if not path.is_file() or path.read_text() != text]
    for path in stale:
        name = path.relative_to(REPO_ROOT)
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
            print(f"wrote {name}")
        else:
            old = path.read_text().splitlines(keepends=True) if path.is_file() else []
            sys.stdout.writelines(difflib.unified_diff(old, files[path].splitlines(keepends=True),
                                                       f"{name} (committed)", f"{name} (generated)"))
    if not stale:
        print(f"up to date: {len(files)} files")
    elif not write:
        print(f"{len(stale)} of {len(files)} files differ; rerun with --write to update them")
    return int(bool(stale) and not write)
