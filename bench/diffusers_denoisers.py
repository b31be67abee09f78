"""Random-weight diffusers architectures as denoisers in ComfyUI sigma units (tests and GPU timing).

``UNetDenoiser`` wraps an SD-style ``UNet2DConditionModel`` (EPS or V on the SD discrete schedule) and
``FluxDenoiser`` a ``FluxTransformer2DModel`` (flow, 2x2 latent packing, img_ids/txt_ids); classifier-free
guidance runs as one batched forward pass of 2B. Both follow the pack's protocol ``denoiser(x, sigma) -> x0``.
"""
import torch

from sde_edit.testing.schedules import sd_discrete_sigmas

SD_LOG_SIGMAS = sd_discrete_sigmas().log()  # SD1.x discrete table in ComfyUI sigma units, ascending


def sigma_to_timestep(sigma: torch.Tensor) -> torch.Tensor:
    """Nearest log-sigma index of the SD discrete table."""
    dists = (sigma.double().log()[:, None] - SD_LOG_SIGMAS[None, :]).abs()
    return dists.argmin(dim=1)


def _cfg_batch(cond, uncond, cfg, batch: int):
    """Conditionings (broadcast to ``batch``) for one forward pass: [cond] without CFG, [uncond; cond] with it."""
    cond, uncond = (c.expand(batch, *c.shape[1:]) for c in (cond, uncond))
    if cfg == 1.0:
        return cond, 1
    return torch.cat([uncond, cond]), 2


def _combine(x0, copies, cfg):
    if copies == 1:
        return x0
    x0_u, x0_c = x0.chunk(2)
    return x0_u + cfg * (x0_c - x0_u)


class UNetDenoiser:
    """SD-style UNet in ComfyUI sigma units: EPS (x0 = x - sigma eps) or V (x0 = x/(1+s^2) - v s/sqrt(1+s^2))."""

    def __init__(self, unet, prediction: str, cond, uncond=None, cfg: float = 1.0):
        self.unet, self.prediction, self.cfg = unet, prediction, cfg
        self.cond = cond
        self.uncond = torch.zeros_like(cond) if uncond is None else uncond

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        emb, copies = _cfg_batch(self.cond, self.uncond, self.cfg, x.shape[0])
        x_in, s = x.repeat(copies, 1, 1, 1), sigma.repeat(copies)
        s4 = s.to(x.dtype)[:, None, None, None]
        out = self.unet(x_in / (1.0 + s4**2).sqrt(), sigma_to_timestep(s), encoder_hidden_states=emb).sample
        if self.prediction == "eps":
            x0 = x_in - s4 * out
        else:
            x0 = x_in / (1.0 + s4**2) - out * s4 / (1.0 + s4**2).sqrt()
        return _combine(x0, copies, self.cfg)


def pack(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, (H/2)(W/2), 4C] (Flux 2x2 packing)."""
    b, c, h, w = x.shape
    return x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, (h // 2) * (w // 2), c * 4)


def unpack(x: torch.Tensor, shape) -> torch.Tensor:
    b, c, h, w = shape
    return x.view(b, h // 2, w // 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


def img_ids(h: int, w: int) -> torch.Tensor:
    ids = torch.zeros(h // 2, w // 2, 3)
    ids[..., 1] = torch.arange(h // 2)[:, None]
    ids[..., 2] = torch.arange(w // 2)[None, :]
    return ids.reshape(-1, 3)


class FluxDenoiser:
    """Flux transformer as a flow denoiser: v = model(pack(x), timestep=sigma), x0 = x - sigma v."""

    def __init__(self, model, cond, pooled, uncond, uncond_pooled, cfg: float = 1.0, guidance: float | None = None):
        self.model, self.cfg, self.guidance = model, cfg, guidance  # guidance: Flux-dev's distilled embedding
        self.cond, self.pooled, self.uncond, self.uncond_pooled = cond, pooled, uncond, uncond_pooled

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        emb, copies = _cfg_batch(self.cond, self.uncond, self.cfg, x.shape[0])
        pooled, _ = _cfg_batch(self.pooled, self.uncond_pooled, self.cfg, x.shape[0])
        x_in, s = x.repeat(copies, 1, 1, 1), sigma.repeat(copies).to(x.dtype)
        guidance = None if self.guidance is None else torch.full_like(s, self.guidance)
        v = self.model(hidden_states=pack(x_in), encoder_hidden_states=emb, pooled_projections=pooled,
                       timestep=s, img_ids=img_ids(*x.shape[2:]).to(x), txt_ids=torch.zeros(emb.shape[1], 3).to(x),
                       guidance=guidance).sample
        x0 = x_in - s[:, None, None, None] * unpack(v, x_in.shape)
        return _combine(x0, copies, self.cfg)
