"""ComfyUI nodes (V3 schema): thin adapters from GUIDER/MODEL/LATENT/SIGMAS to the plain-torch core.

``comfy_adapter`` holds everything that touches ComfyUI's internals (and ``PackSampler``, the base of the
pack's SAMPLERs); one node file per method, named as its core module in ``samplers``.
"""
from comfy_api.latest import ComfyExtension, io

from . import cycle_sde, rf_inversion, sde_drag, sde_inpaint, sync_sde

NODES: list[type[io.ComfyNode]] = [*cycle_sde.NODES, *sde_drag.NODES, *sync_sde.NODES, *sde_inpaint.NODES,
                                   *rf_inversion.NODES]


class SDEEditExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return NODES
