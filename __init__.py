"""SDE Edit: exact SDE-based image editing for ComfyUI (Cycle-SDE, SDE-Drag, sync-SDE, RF-Inversion).

ComfyUI's entry point only: the pack itself is the inner package ``sde_edit`` (plain-torch core in
``sde_edit.samplers``, nodes in ``sde_edit.nodes``). ComfyUI loads the nodes through ``comfy_entrypoint``
(V3 schema, ComfyUI >= 0.3.48); nothing from ComfyUI is imported at load time.
"""
WEB_DIRECTORY = "./web"


async def comfy_entrypoint():
    from .sde_edit.nodes import SDEEditExtension

    return SDEEditExtension()
