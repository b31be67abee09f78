"""Generators of the pack's committed files, run from the repository root as ``python -m tools.NAME``.

Each compares what it generates with the committed files (a diff; exit status 1 when they differ) and writes
them only with ``--write``:

* ``example_workflows``: ``example_workflows/*.json`` from the node schemas;
* ``trim_schemas``: ``tests/data/object_info_<release>.trimmed.json``, ComfyUI's full /object_info dumps
  (default ``../shared/comfyui/``) cut to the node types the example workflows use;
* ``schema_snapshot``: ``tests/data/pack_object_info.json``, the pack's schemas as a live ComfyUI 0.8.0 serves
  them (``COMFYUI_ROOT``, run with that ComfyUI's Python);
* ``support_table``: ``docs/support/comfyui-<version>.json`` from a ComfyUI-tier family run's results
  (``--results DIR``), and the README's support table from ``docs/support/``.

``workflow_schema`` reads node schemas for the generator and the tests' workflow checks.
"""
