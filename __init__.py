"""SDE Edit: exact SDE-based image editing for ComfyUI (Cycle-SDE, SDE-Drag, sync-SDE, RF-Inversion).

ComfyUI loads the nodes through ``comfy_entrypoint`` (V3 schema, ComfyUI >= 0.3.48). The plain-torch
core in ``samplers`` imports without ComfyUI, so this module imports nothing from ComfyUI at load time.
"""
WEB_DIRECTORY = "./web"


async def comfy_entrypoint():
    from .nodes import SDEEditExtension

    return SDEEditExtension()
