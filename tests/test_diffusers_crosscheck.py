"""The generic DDIM-eta step (``Parameterization.ddim_mean``) cross-checked against diffusers' schedulers.

Our step works in ComfyUI sigma units (EPS/V: ``x = x0 + sigma eps``; FLOW: ``x = (1 - sigma) x0 + sigma eps``);
diffusers works in VP units (``x_vp = sqrt(abar) x0 + sqrt(1 - abar) eps``) or flow units. The two are different
code paths: we convert the scheduler's inputs to sigma units, take our step, convert back, and compare with the
scheduler's ``prev_sample``.

Precision: diffusers keeps its ``alphas_cumprod`` / ``sigmas`` tables in float32 and computes the step
coefficients from them in float32 0-d tensors, so with the stock tables the agreement is ~1e-7 relative
(tolerance 1e-6). Where the scheduler allows it (DDIM, DDPM: the tables are plain tensor attributes) we also
promote the table to float64, which makes diffusers' whole step float64, and demand 1e-12.
FlowMatchEulerDiscreteScheduler casts the sample to float32 inside ``step``, so it is float32 only.

Every comparison is paired with a "near miss" (an off-by-one noise level, or the wrong noise term) that must
*fail* the same tolerance, so the tests can tell a right step from a slightly wrong one.
"""
import math

import pytest
import torch
diffusers = pytest.importorskip("diffusers", reason="core tier needs diffusers (requirements-test.txt); ComfyUI venvs may lack it")
DDIMScheduler = diffusers.DDIMScheduler
DDPMScheduler = diffusers.DDPMScheduler
FlowMatchEulerDiscreteScheduler = diffusers.FlowMatchEulerDiscreteScheduler

from conftest import max_rel_err
from sde_edit.samplers import EPS, FLOW

SHAPE = (2, 4, 8, 8)
SD_BETAS = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
TOL = {"float32": 1e-6, "float64": 1e-12}
# DDPMScheduler with its stock float32 table: its coefficient 1 - abar_t / abar_prev cancels badly on the
# last, short steps (t=10 -> 0: abar 0.9904 -> 0.9991, condition ~115), which costs diffusers itself ~3e-6
# relative; the float64-table run of the same test shows the algebra agrees to 1e-12.
DDPM_TOL = {"float32": 1e-5, "float64": 1e-12}


def sigma_of(alpha_cumprod) -> float:
    """ComfyUI sigma of a VP noise level: sigma = sqrt((1 - abar) / abar), in float64."""
    a = float(alpha_cumprod)
    return math.sqrt((1.0 - a) / a)


def to_vp(x: torch.Tensor, sigma: float) -> torch.Tensor:
    return x / math.sqrt(1.0 + sigma**2)


def from_vp(x_vp: torch.Tensor, sigma: float) -> torch.Tensor:
    return x_vp * math.sqrt(1.0 + sigma**2)


def x0_from_v(x: torch.Tensor, v: torch.Tensor, sigma: float) -> torch.Tensor:
    """ComfyUI's V-prediction in sigma units: x0 = x / (1 + sigma^2) - v sigma / sqrt(1 + sigma^2)."""
    return x / (1.0 + sigma**2) - v * sigma / math.sqrt(1.0 + sigma**2)


def ours_vp_step(x_vp, model_output, sigma_t, sigma_s, eta, w, prediction_type):
    """Our generic step on a VP-unit sample, returned in VP units."""
    x = from_vp(x_vp, sigma_t)
    if prediction_type == "epsilon":
        x0_hat = x - sigma_t * model_output
    else:
        x0_hat = x0_from_v(x, model_output, sigma_t)
    mean, std = EPS.ddim_mean(x, x0_hat, sigma_t, sigma_s, eta)
    return to_vp(mean + std * w, sigma_s)


def _promote(scheduler, table: str, *names):
    if table == "float64":
        for name in names:
            setattr(scheduler, name, getattr(scheduler, name).to(torch.float64))
    return scheduler


# --------------------------------------------------------------------------------------------- DDIM
@pytest.mark.parametrize("table", ["float32", "float64"])
@pytest.mark.parametrize("set_alpha_to_one", [False, True])
@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("eta", [0.0, 0.3, 1.0])
def test_ddim_step_matches_diffusers(eta, prediction_type, set_alpha_to_one, table):
    steps = 10
    sched = DDIMScheduler(**SD_BETAS, clip_sample=False, set_alpha_to_one=set_alpha_to_one,
                          prediction_type=prediction_type)
    _promote(sched, table, "alphas_cumprod", "final_alpha_cumprod")
    sched.set_timesteps(steps)
    ratio = sched.config.num_train_timesteps // steps
    tol = TOL[table]
    gen = torch.Generator().manual_seed(1234)
    final_alpha = float(sched.final_alpha_cumprod)
    assert final_alpha == (1.0 if set_alpha_to_one else float(sched.alphas_cumprod[0]))
    checked = 0
    for t in sched.timesteps.tolist():  # every step of the schedule, including the last into final_alpha
        prev = t - ratio  # diffusers' own rule inside DDIMScheduler.step
        sigma_t = sigma_of(sched.alphas_cumprod[t])
        sigma_s = sigma_of(sched.alphas_cumprod[prev]) if prev >= 0 else sigma_of(final_alpha)
        x_vp = torch.randn(SHAPE, generator=gen, dtype=torch.float64)
        out = torch.randn(SHAPE, generator=gen, dtype=torch.float64)
        w = torch.randn(SHAPE, generator=gen, dtype=torch.float64)

        ref = sched.step(out, t, x_vp, eta=eta, variance_noise=w).prev_sample
        assert ref.dtype == torch.float64
        ours = ours_vp_step(x_vp, out, sigma_t, sigma_s, eta, w, prediction_type)
        err = max_rel_err(ours, ref)
        assert err <= tol, f"t={t} -> {prev}: relative error {err:.3e} > {tol:g}"

        # Near miss 1: the neighbouring noise level (off-by-one timestep, or the other final-alpha
        # convention on the last step) must be detected.
        if prev >= 0:
            wrong_s = sigma_of(sched.alphas_cumprod[prev + 1])
        else:
            wrong_s = sigma_of(sched.alphas_cumprod[0]) if set_alpha_to_one else 0.0
        miss = max_rel_err(ours_vp_step(x_vp, out, sigma_t, wrong_s, eta, w, prediction_type), ref)
        assert miss > 10 * tol, f"t={t}: an off-by-one noise level is not detected ({miss:.3e})"
        # Near miss 2: the noise term must matter when eta > 0 and the step really lowers the noise.
        # (With set_alpha_to_one=False the last step goes from abar[0] to final_alpha = abar[0]: a step
        # of zero length, zero variance, whose output is the input; ours reproduces that too.)
        if eta > 0 and 0 < sigma_s < sigma_t:
            miss = max_rel_err(ours_vp_step(x_vp, out, sigma_t, sigma_s, eta, torch.zeros_like(w), prediction_type), ref)
            assert miss > 1e-3, f"t={t}: the noise term is not exercised ({miss:.3e})"
        checked += 1
    assert checked == steps


def test_ddim_eta_changes_the_step():
    """Guard against a comparison that ignores eta: diffusers' eta=0.3 and eta=1 steps really differ."""
    sched = DDIMScheduler(**SD_BETAS, clip_sample=False, set_alpha_to_one=False)
    sched.set_timesteps(10)
    gen = torch.Generator().manual_seed(0)
    x_vp, out, w = (torch.randn(SHAPE, generator=gen, dtype=torch.float64) for _ in range(3))
    a = sched.step(out, 500, x_vp, eta=0.3, variance_noise=w).prev_sample
    b = sched.step(out, 500, x_vp, eta=1.0, variance_noise=w).prev_sample
    assert max_rel_err(a, b) > 1e-2


# --------------------------------------------------------------------------------------------- DDPM
DDPM_TIMESTEPS = [999, 871, 700, 555, 402, 260, 131, 47, 10, 0]


@pytest.mark.parametrize("table", ["float32", "float64"])
@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_ddpm_step_is_ddim_eta_one(prediction_type, table):
    """DDPM (fixed_small variance = the posterior) equals our DDIM step with eta = 1.

    DDPMScheduler draws its noise itself with ``randn_tensor(shape, generator=...)``; we reproduce that draw
    from an identically seeded generator, and also recover mean and std separately from two draws.
    """
    sched = DDPMScheduler(**SD_BETAS, variance_type="fixed_small", clip_sample=False,
                          prediction_type=prediction_type)
    _promote(sched, table, "alphas_cumprod", "one")
    sched.set_timesteps(timesteps=DDPM_TIMESTEPS)  # custom: prev_t is the next entry, -1 (abar = 1) at the end
    tol = DDPM_TOL[table]
    gen = torch.Generator().manual_seed(99)
    for i, t in enumerate(DDPM_TIMESTEPS):
        prev = DDPM_TIMESTEPS[i + 1] if i + 1 < len(DDPM_TIMESTEPS) else -1
        assert int(sched.previous_timestep(t)) == prev
        sigma_t = sigma_of(sched.alphas_cumprod[t])
        sigma_s = sigma_of(sched.alphas_cumprod[prev]) if prev >= 0 else 0.0
        x_vp = torch.randn(SHAPE, generator=gen, dtype=torch.float64)
        out = torch.randn(SHAPE, generator=gen, dtype=torch.float64)

        seed_1, seed_2 = 1000 + i, 2000 + i
        ref_1 = sched.step(out, t, x_vp, generator=torch.Generator().manual_seed(seed_1)).prev_sample
        ref_2 = sched.step(out, t, x_vp, generator=torch.Generator().manual_seed(seed_2)).prev_sample
        w_1 = torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed_1), dtype=torch.float64)
        w_2 = torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed_2), dtype=torch.float64)
        if t == 0:  # diffusers adds no noise on the t = 0 step
            w_1 = w_2 = torch.zeros_like(w_1)

        ours = ours_vp_step(x_vp, out, sigma_t, sigma_s, 1.0, w_1, prediction_type)
        err = max_rel_err(ours, ref_1)
        assert err <= tol, f"t={t} -> {prev}: relative error {err:.3e} > {tol:g}"

        # Mean and std separately (VP units): ref = mean_vp + std_vp * w.
        x = from_vp(x_vp, sigma_t)
        x0_hat = x - sigma_t * out if prediction_type == "epsilon" else x0_from_v(x, out, sigma_t)
        mean, std = EPS.ddim_mean(x, x0_hat, sigma_t, sigma_s, 1.0)
        std_vp = std / math.sqrt(1.0 + sigma_s**2)
        if t > 0 and prev >= 0:
            diffusers_std = ((ref_1 - ref_2) / (w_1 - w_2)).median().item()
            assert abs(diffusers_std - std_vp) <= 1e-5 * std_vp, (t, diffusers_std, std_vp)
            assert std_vp > 1e-3
        assert max_rel_err(to_vp(mean, sigma_s), ref_1 - std_vp * w_1) <= tol

        # Our posterior() (another code path: c_xt x_t + c_x0 x0) agrees as well.
        if sigma_s > 0:
            c_xt, c_x0, post_std = EPS.posterior(sigma_t, sigma_s)
            assert post_std == pytest.approx(std, rel=1e-12)
            assert max_rel_err(to_vp(c_xt * x + c_x0 * x0_hat, sigma_s), ref_1 - std_vp * w_1) <= tol

        # Near miss: eta = 0.9 instead of 1 must be detected where there is noise.
        if t > 0 and prev >= 0:
            miss = max_rel_err(ours_vp_step(x_vp, out, sigma_t, sigma_s, 0.9, w_1, prediction_type), ref_1)
            assert miss > 10 * tol


# --------------------------------------------------------------------------------------------- Flow
@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_flow_match_euler_is_flow_ddim_eta_zero(shift):
    """FlowMatchEulerDiscreteScheduler (x + (sigma_next - sigma) v) is our FLOW step with eta = 0.

    float32: the scheduler casts the sample to float32 inside ``step`` and keeps its sigmas in float32.
    """
    steps = 10
    sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
    sched.set_timesteps(steps)
    sigmas = sched.sigmas.double().tolist()
    assert len(sigmas) == steps + 1 and sigmas[-1] == 0.0
    tol = TOL["float32"]
    gen = torch.Generator().manual_seed(7)
    for i, t in enumerate(sched.timesteps):
        sigma_t, sigma_s = sigmas[i], sigmas[i + 1]
        x = torch.randn(SHAPE, generator=gen)
        v = torch.randn(SHAPE, generator=gen)
        ref = sched.step(v, t, x).prev_sample

        xd, vd = x.double(), v.double()
        x0_hat = xd - sigma_t * vd
        mean, std = FLOW.ddim_mean(xd, x0_hat, sigma_t, sigma_s, 0.0)
        assert std == 0.0
        err = max_rel_err(mean, ref)
        assert err <= tol, f"step {i} ({sigma_t:.4f} -> {sigma_s:.4f}): relative error {err:.3e} > {tol:g}"

        # Near misses: a slightly wrong target level, and the stochastic (eta = 0.3) mean, must fail.
        wrong, _ = FLOW.ddim_mean(xd, x0_hat, sigma_t, sigma_s + 1e-3, 0.0)
        assert max_rel_err(wrong, ref) > 10 * tol
        if sigma_s > 0:
            wrong, _ = FLOW.ddim_mean(xd, x0_hat, sigma_t, sigma_s, 0.3)
            assert max_rel_err(wrong, ref) > 10 * tol
    assert sched.step_index == steps
