"""Demo and benchmarks of the pack: ``python -m bench.demo``, ``python -m bench.run`` (from the repository root,
which puts ``sde_edit`` on the path; the modules import it by name).
"""
