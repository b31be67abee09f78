"""The SDE Edit pack.

* ``samplers``: the plain-torch core (no ComfyUI imports): one engine shared by all methods, one module per method.
* ``nodes``: the ComfyUI nodes (V3 schema); ``nodes.comfy_adapter`` holds everything that touches ComfyUI's
  internals.
* ``drag_wire``: the SDE-Drag point editor's wire formats, shared by the node and ``web/js``.
* ``testing``: analytic denoisers, reference schedules and the shape world, for the tests and ``bench``; never
  imported by the nodes.

Outside ComfyUI (tests, ``bench``, ``tools``) import it by name from the repository root: ``import sde_edit``.
"""
