"""Theorems 3.1 / 3.2 of Nie et al. (arXiv 2311.01410), measured on a 1-D toy.

"SDE beats ODE": start the reverse process from a *mismatched* prior p~ instead of the model marginal
p, and follow KL(p~_t || p_t) as t runs down to 0.  Theorem 3.1 says the reverse SDE contracts it
(d/dtau KL = -1/2 g^2 E_p~ |grad log p~ - grad log p|^2 <= 0), Theorem 3.2 says the probability-flow
ODE keeps it constant (KL is invariant under the shared bijective flow map).

Set-up (all analytic, nothing learned):

* VP-SDE, beta(t) = 0.1 + (20 - 0.1) t on t in [0, 1];  alpha_t = exp(-1/2 int_0^t beta),
  sigma_t^2 = 1 - alpha_t^2.
* Data q0 = 0.5 N(-2, 0.3^2) + 0.5 N(+2, 0.3^2)  (MU = 2, S = 0.3: two narrow, well separated modes).
* Marginal p_t = sum_i w_i N(alpha_t mu_i, alpha_t^2 s^2 + sigma_t^2); its score is exact (responsibility
  weighted component scores), so the only errors are time discretisation and the KL estimator.
* Two scenarios: generation from T = 1 with priors N(0.5, 0.3^2), N(0, 0.5^2), N(1, 1); and editing from
  t0 = 0.6 with p_t0 shifted by +0.5, scaled by 0.6 about 0, and the +mode component alone.  Each also
  runs from the matched prior p_start (the noise floor of estimator + discretisation).
* Reverse SDE: Euler-Maruyama.  Probability-flow ODE: Heun (default) or Euler.  Same uniform t grid.
* KL estimator (histogram plug-in against analytic bin masses): at time t the bin width is
  w = min_i std_i(p_t) / bins_per_sd (default 10 bins per std of the narrowest component), bins cover
  the particles; q_k = n_k / N, P_k = analytic p_t mass of bin k (Gaussian CDF differences in log space,
  float64), KL = sum_{n_k > 0} q_k log(q_k / P_k).  Empty bins contribute 0 (0 log 0 = 0); P_k is never 0
  because it is computed in log space.  Bias: + (K_occ - 1) / (2N) from the plug-in entropy (reported and
  subtracted in the "mm" Miller-Madow column), and - O(w^2) from binning (binned KL <= true KL by the
  data-processing inequality).  The estimator alone is measured on exact samples of p_t ("estimator floor"),
  and the start value is checked against the analytic KL(p~_start || p_start) by quadrature.

Run:  python -m bench.theorem [--particles 100000] [--steps 1000] [--out bench/out]
Writes DIR/theorem_kl.png, DIR/theorem_kl.json and DIR/theorem_kl.md, and prints the table.
Plain torch + numpy + Pillow; does not import the pack.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

B0, B1 = 0.1, 20.0          # VP beta(t) linear from B0 at t = 0 to B1 at t = 1
MU, S = 2.0, 0.3            # q0 = 0.5 N(-MU, S^2) + 0.5 N(+MU, S^2)
T0_EDIT = 0.6               # editing start time of the second scenario
DTYPE = torch.float64


# --------------------------------------------------------------------------------------------- schedule
def int_beta(t: float) -> float:
    return B0 * t + 0.5 * (B1 - B0) * t * t


def beta(t: float) -> float:
    return B0 + (B1 - B0) * t


def alpha(t: float) -> float:
    return math.exp(-0.5 * int_beta(t))


def sigma2(t: float) -> float:
    return -math.expm1(-int_beta(t))


# --------------------------------------------------------------------------------------------- mixtures
class Mixture:
    """1-D Gaussian mixture: weights, means, stds (floats).  log_prob / score / sample / bin masses."""

    def __init__(self, weights, means, stds):
        w = np.asarray(weights, dtype=np.float64)
        self.weights = (w / w.sum()).tolist()
        self.means = [float(m) for m in means]
        self.stds = [float(s) for s in stds]
        self._lw = torch.tensor(np.log(self.weights), dtype=DTYPE).view(-1, 1)
        self._m = torch.tensor(self.means, dtype=DTYPE).view(-1, 1)
        self._s = torch.tensor(self.stds, dtype=DTYPE).view(-1, 1)

    def affine(self, scale: float = 1.0, shift: float = 0.0) -> "Mixture":
        """Law of scale * X + shift."""
        return Mixture(self.weights, [scale * m + shift for m in self.means], [abs(scale) * s for s in self.stds])

    def component(self, i: int) -> "Mixture":
        return Mixture([1.0], [self.means[i]], [self.stds[i]])

    def _comp_logp(self, x: torch.Tensor) -> torch.Tensor:
        z = (x.reshape(1, -1) - self._m) / self._s
        return self._lw - 0.5 * z * z - torch.log(self._s) - 0.5 * math.log(2 * math.pi)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(self._comp_logp(x), dim=0).reshape(x.shape)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """d/dx log p(x), exact: sum_i r_i(x) (m_i - x) / s_i^2 with responsibilities r_i."""
        if len(self.means) == 2 and self.stds[0] == self.stds[1]:
            # equal-variance pair: the responsibility of component 1 is a sigmoid of a linear function of x
            (m0, m1), v = self.means, self.stds[0] ** 2
            w0, w1 = self.weights
            c1 = (m1 - m0) / v
            c0 = math.log(w1 / w0) - (m1 - m0) * (m0 + m1) / (2 * v)
            r = torch.sigmoid(x * c1 + c0)
            return (r.mul_(m1 - m0).add_(m0).sub_(x)).div_(v)
        flat = x.reshape(1, -1)
        r = torch.softmax(self._comp_logp(x), dim=0)
        return (r * (self._m - flat) / (self._s * self._s)).sum(0).reshape(x.shape)

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.multinomial(torch.tensor(self.weights, dtype=DTYPE), n, replacement=True, generator=gen)
        z = torch.randn(n, generator=gen).to(DTYPE)   # float32 draws: ~4x faster than float64 on CPU
        return self._m.view(-1)[idx] + self._s.view(-1)[idx] * z

    def log_bin_mass(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """log P(a < X <= b) per bin, stable in the tails (Gaussian CDF differences in log space)."""
        za = (a.reshape(1, -1) - self._m) / self._s
        zb = (b.reshape(1, -1) - self._m) / self._s
        right = za > 0            # upper tail: P = Phi(-za) - Phi(-zb) avoids 1 - 1 cancellation
        hi = torch.where(right, torch.special.log_ndtr(-za), torch.special.log_ndtr(zb))
        lo = torch.where(right, torch.special.log_ndtr(-zb), torch.special.log_ndtr(za))
        comp = hi + torch.log(-torch.expm1(lo - hi))
        return torch.logsumexp(self._lw + comp, dim=0)

    @property
    def min_std(self) -> float:
        return min(self.stds)

    def span(self, k: float = 12.0):
        return (min(m - k * s for m, s in zip(self.means, self.stds)),
                max(m + k * s for m, s in zip(self.means, self.stds)))


DATA = Mixture([0.5, 0.5], [-MU, MU], [S, S])


def marginal(t: float) -> Mixture:
    """p_t of the VP forward process started at DATA: N(alpha mu_i, alpha^2 s_i^2 + sigma^2) per component."""
    a, v = alpha(t), sigma2(t)
    return Mixture(DATA.weights, [a * m for m in DATA.means], [math.sqrt(a * a * s * s + v) for s in DATA.stds])


def analytic_kl(p: Mixture, q: Mixture, n: int = 400_001) -> float:
    """KL(p || q) by trapezoid quadrature over p's +-12 std span (float64)."""
    lo, hi = p.span(12.0)
    x = torch.linspace(lo, hi, n, dtype=DTYPE)
    lp, lq = p.log_prob(x), q.log_prob(x)
    return float(torch.trapezoid(torch.exp(lp) * (lp - lq), x))


# --------------------------------------------------------------------------------------------- estimator
def hist_kl(x: torch.Tensor, p: Mixture, bins_per_sd: float = 10.0):
    """Histogram plug-in KL(particles || p) against analytic bin masses.

    Returns (kl_raw, kl_mm, occupied_bins, bin_width).  kl_mm subtracts the plug-in bias (K_occ - 1) / (2N).
    """
    x = x.reshape(-1)
    n = x.numel()
    w = p.min_std / bins_per_sd
    lo = math.floor(float(x.min()) / w) * w
    k = int(math.ceil((float(x.max()) - lo) / w)) + 1
    idx = torch.clamp(((x - lo) / w).floor().long(), 0, k - 1)
    counts = torch.bincount(idx, minlength=k)
    occ = torch.nonzero(counts).reshape(-1)
    q = counts[occ].to(DTYPE) / n
    a = lo + occ.to(DTYPE) * w
    logp = p.log_bin_mass(a, a + w)
    kl = float((q * (torch.log(q) - logp)).sum())
    k_occ = int(occ.numel())
    return kl, kl - (k_occ - 1) / (2 * n), k_occ, w


def bernoulli_kl(a: float, b: float) -> float:
    """KL(Bern(a) || Bern(b)).  With a = P~(x0 > 0), b = P(x0 > 0) it lower-bounds KL(p~_0 || p_0)
    (data processing through x -> sign x): the part of the gap that is the mode-weight imbalance."""
    out = 0.0
    for u, v in ((a, b), (1 - a, 1 - b)):
        if u > 0:
            out += u * math.log(u / v)
    return out


# --------------------------------------------------------------------------------------------- samplers
def _pf(x: torch.Tensor, t: float) -> torch.Tensor:
    """-dx/dt of the probability-flow ODE: 1/2 beta(t) (x + score_t(x))."""
    return 0.5 * beta(t) * (x + marginal(t).score(x))


def simulate(x0: torch.Tensor, t_start: float, steps: int, method: str, gen: torch.Generator,
             record_at, ode_solver: str = "heun"):
    """Integrate from t_start down to 0 on a uniform grid; return {step index: particles} at record_at.

    method 'sde': Euler-Maruyama on dx = [-1/2 beta x - beta score] dt + sqrt(beta) dW (reverse time).
    method 'ode': probability-flow ODE dx = -1/2 beta (x + score) dt, Euler or Heun.
    """
    h = t_start / steps
    x = x0.clone()
    out = {}
    rec = set(record_at)
    if 0 in rec:
        out[0] = x.clone()
    for k in range(steps):
        t = t_start - k * h
        if method == "sde":
            b = beta(t)
            drift = marginal(t).score(x).add_(x, alpha=0.5).mul_(h * b)
            noise = torch.randn(x.shape, generator=gen).to(DTYPE).mul_(math.sqrt(b * h))
            x = x + drift + noise
        elif ode_solver == "euler":
            x = x + h * _pf(x, t)
        else:
            d1 = _pf(x, t)
            d2 = _pf(x + h * d1, t - h)
            x = x + 0.5 * h * (d1 + d2)
        if k + 1 in rec:
            out[k + 1] = x.clone()
    return out


# --------------------------------------------------------------------------------------------- scenarios
def scenarios(t0: float = T0_EDIT):
    """[(name, t_start, [(label, prior Mixture)...])]; the last prior of each is the matched one."""
    p1 = marginal(1.0)
    pt0 = marginal(t0)
    gen_priors = [("N(0.5, 0.3^2)", Mixture([1], [0.5], [0.3])),
                  ("N(0, 0.5^2)", Mixture([1], [0.0], [0.5])),
                  ("N(1, 1)", Mixture([1], [1.0], [1.0])),
                  ("matched p_T", p1)]
    edit_priors = [("p_t0 shifted +0.5", pt0.affine(1.0, 0.5)),
                   ("p_t0 scaled x0.6", pt0.affine(0.6, 0.0)),
                   ("p_t0 +mode only", pt0.component(1)),
                   ("matched p_t0", pt0)]
    return [("T=1", 1.0, gen_priors), (f"t0={t0:g}", t0, edit_priors)]


def run(particles: int = 100_000, steps: int = 1000, n_records: int = 20, seed: int = 0,
        bins_per_sd: float = 10.0, ode_solver: str = "heun", t0: float = T0_EDIT, verbose: bool = True,
        threads: int = 1):
    """Simulate both scenarios; torch runs on `threads` intra-op threads meanwhile (restored afterwards).

    One thread is the default: the element-wise ops on ~4e5 floats gain little from a second thread, and on a
    shared, loaded CPU the thread barriers made every op ~10x slower in our measurements.
    """
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        return _run(particles, steps, n_records, seed, bins_per_sd, ode_solver, t0, verbose)
    finally:
        torch.set_num_threads(before)


def _run(particles, steps, n_records, seed, bins_per_sd, ode_solver, t0, verbose):
    gen = torch.Generator().manual_seed(seed)
    record_at = sorted(set(int(round(v)) for v in np.linspace(0, steps, n_records + 1)))
    results = {"config": {"particles": particles, "steps": steps, "records": len(record_at), "seed": seed,
                          "bins_per_sd": bins_per_sd, "ode_solver": ode_solver, "beta": [B0, B1],
                          "data": {"weights": DATA.weights, "means": DATA.means, "stds": DATA.stds},
                          "estimator": "histogram plug-in vs analytic bin masses, bin width = "
                                       "min component std of p_t / bins_per_sd; kl_mm = kl - (K_occ-1)/(2N)"},
               "scenarios": []}
    for name, t_start, priors in scenarios(t0):
        h = t_start / steps
        times = [t_start - k * h for k in record_at]
        x0 = torch.stack([pr.sample(particles, gen) for _, pr in priors])       # (P, N), one row per prior
        tic = time.perf_counter()
        traj = {m: simulate(x0, t_start, steps, m, gen, record_at, ode_solver) for m in ("sde", "ode")}
        sim_s = time.perf_counter() - tic
        floor = []
        for t in times:   # estimator alone: exact samples of p_t
            floor.append(hist_kl(marginal(t).sample(particles, gen), marginal(t), bins_per_sd)[:2])
        sc = {"name": name, "t_start": t_start, "times": times, "sim_seconds": sim_s,
              "estimator_floor": [f[0] for f in floor], "estimator_floor_mm": [f[1] for f in floor],
              "priors": []}
        p0_pos = float(torch.exp(DATA.log_bin_mass(torch.zeros(1, dtype=DTYPE),
                                                   torch.full((1,), math.inf, dtype=DTYPE))))
        for i, (label, pr) in enumerate(priors):
            entry = {"label": label, "matched": i == len(priors) - 1,
                     "prior": {"weights": pr.weights, "means": pr.means, "stds": pr.stds},
                     "kl_analytic_start": analytic_kl(pr, marginal(t_start))}
            for m in ("sde", "ode"):
                est = [hist_kl(traj[m][k][i], marginal(t), bins_per_sd) for k, t in zip(record_at, times)]
                entry[f"kl_{m}"] = [e[0] for e in est]
                entry[f"kl_{m}_mm"] = [e[1] for e in est]
                frac = float((traj[m][record_at[-1]][i] > 0).to(DTYPE).mean())
                entry[f"frac_pos_{m}"] = frac
                entry[f"kl_sign_{m}"] = bernoulli_kl(frac, p0_pos)
            sc["priors"].append(entry)
        results["scenarios"].append(sc)
        if verbose:
            print(f"[{name}] simulated {len(priors)} priors x {particles} particles x {steps} steps "
                  f"(SDE + ODE/{ode_solver}) in {sim_s:.1f}s")
    return results


# --------------------------------------------------------------------------------------------- report
def table(results) -> str:
    rows = ["| scenario | prior | KL start (analytic) | KL start (est.) | SDE KL t=0 | ODE KL t=0 | SDE t=0/start "
            "| ODE t=0/start | ODE max drift | P(x0>0) SDE / ODE | mode-weight KL SDE / ODE |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for sc in results["scenarios"]:
        for e in sc["priors"]:
            s0, sd, od = e["kl_sde"][0], e["kl_sde"][-1], e["kl_ode"][-1]
            drift = max(abs(v - e["kl_ode"][0]) for v in e["kl_ode"])
            rows.append(f"| {sc['name']} | {e['label']} | {e['kl_analytic_start']:.4f} | {s0:.4f} | {sd:.4f} | "
                        f"{od:.4f} | {sd / s0:.3f} | {od / e['kl_ode'][0]:.3f} | {drift:.4f} | "
                        f"{e['frac_pos_sde']:.3f} / {e['frac_pos_ode']:.3f} | "
                        f"{e['kl_sign_sde']:.4f} / {e['kl_sign_ode']:.4f} |")
        fl = sc["estimator_floor"]
        rows.append(f"| {sc['name']} | estimator floor (exact p_t samples) | 0 | {fl[0]:.4f} | {fl[-1]:.4f} | - | - | - "
                    f"| - | - | - |")
    return "\n".join(rows)


def markdown(results) -> str:
    c = results["config"]
    lines = ["# KL(p~_t || p_t) along the reverse process: SDE vs ODE (Nie et al. 2311.01410, Thms 3.1/3.2)", "",
             f"VP beta {B0}->{B1}; q0 = 0.5 N(-{MU}, {S}^2) + 0.5 N({MU}, {S}^2); {c['particles']} particles, "
             f"{c['steps']} steps, SDE Euler-Maruyama, ODE {c['ode_solver']}; seed {c['seed']}.",
             f"Estimator: {c['estimator']} (bins_per_sd = {c['bins_per_sd']}).  KL values in nats, raw plug-in.",
             "Mode-weight KL = KL(Bern(P~(x0>0)) || Bern(P(x0>0))): a lower bound on KL(p~_0 || p_0) "
             "(data processing through sign x), the part of the gap that is the mode-weight imbalance.", "",
             table(results), ""]
    for sc in results["scenarios"]:
        lines += [f"## {sc['name']}: KL along t (raw plug-in; SDE / ODE)", "",
                  "| t | " + " | ".join(e["label"] for e in sc["priors"]) + " | estimator floor |",
                  "|---|" + "---|" * (len(sc["priors"]) + 1)]
        for j, t in enumerate(sc["times"]):
            cells = [f"{e['kl_sde'][j]:.4f} / {e['kl_ode'][j]:.4f}" for e in sc["priors"]]
            lines.append(f"| {t:.3f} | " + " | ".join(cells) + f" | {sc['estimator_floor'][j]:.4f} |")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- plot
COLOURS = [(214, 39, 40), (31, 119, 180), (44, 160, 44), (110, 110, 110)]


def _font(size):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:          # Pillow < 10.1: bitmap font only
        return ImageFont.load_default()


def _polyline(draw, pts, colour, width, dashed=False, dash=(10, 7)):
    if not dashed:
        draw.line(pts, fill=colour, width=width, joint="curve")
        return
    on, off = dash
    pos, drawing = 0.0, True      # pos: distance consumed inside the current on/off segment
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
        seg = math.hypot(x1 - x0, y1 - y0)
        s = 0.0
        while s < seg:
            left = (on if drawing else off) - pos
            e = min(seg, s + left)
            if drawing:
                f0, f1 = s / seg, e / seg
                draw.line([(x0 + f0 * (x1 - x0), y0 + f0 * (y1 - y0)), (x0 + f1 * (x1 - x0), y0 + f1 * (y1 - y0))],
                          fill=colour, width=width)
            pos += e - s
            s = e
            if pos >= (on if drawing else off) - 1e-9:
                drawing, pos = not drawing, 0.0


def plot(results, path, width=1500, height=640):
    from PIL import Image, ImageDraw
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    f_title, f_lab, f_tick, f_leg = _font(20), _font(17), _font(14), _font(14)
    vals = [v for sc in results["scenarios"] for e in sc["priors"] for m in ("sde", "ode") for v in e[f"kl_{m}"]]
    vals += [v for sc in results["scenarios"] for v in sc["estimator_floor"]]
    ymin = 10 ** math.floor(math.log10(max(min(v for v in vals if v > 0), 1e-6)))
    ymax = 10 ** math.ceil(math.log10(max(vals)))
    d.text((width // 2, 14), "KL(p~_t || p_t) along the reverse process: SDE (solid) contracts, ODE (dashed) stays",
           fill="black", font=f_title, anchor="mt")
    n = len(results["scenarios"])
    pw = (width - 80) // n
    for si, sc in enumerate(results["scenarios"]):
        L, R, T, B = 40 + si * pw + 80, 40 + (si + 1) * pw - 30, 70, height - 150
        ts = sc["t_start"]

        def X(t):
            return L + (ts - t) / ts * (R - L)

        def Y(v):
            v = max(v, ymin)
            return B - (math.log10(v) - math.log10(ymin)) / (math.log10(ymax) - math.log10(ymin)) * (B - T)

        for e10 in range(int(round(math.log10(ymin))), int(round(math.log10(ymax))) + 1):
            y = Y(10 ** e10)
            d.line([(L, y), (R, y)], fill=(225, 225, 225))
            d.line([(L - 6, y), (L, y)], fill="black")
            d.text((L - 9, y), f"1e{e10}", fill="black", font=f_tick, anchor="rm")
            for m in range(2, 10):
                if 10 ** e10 * m < ymax:
                    ym = Y(10 ** e10 * m)
                    d.line([(L - 3, ym), (L, ym)], fill="black")
        for j in range(6):
            t = ts * (1 - j / 5)
            x = X(t)
            d.line([(x, T), (x, B)], fill=(235, 235, 235))
            d.line([(x, B), (x, B + 6)], fill="black")
            d.text((x, B + 9), f"{t:.2f}", fill="black", font=f_tick, anchor="mt")
        d.rectangle([L, T, R, B], outline="black")
        d.text(((L + R) // 2, T - 8), f"start at {sc['name']}  ({results['config']['particles']} particles, "
                                      f"{results['config']['steps']} steps)", fill="black", font=f_lab, anchor="mb")
        d.text(((L + R) // 2, B + 30), "t  (reverse time runs left to right, down to t = 0)", fill="black",
               font=f_lab, anchor="mt")
        lab = Image.new("RGB", (160, 24), "white")
        ImageDraw.Draw(lab).text((80, 12), "KL (nats), log scale", fill="black", font=f_lab, anchor="mm")
        lab = lab.rotate(90, expand=True)
        img.paste(lab, (L - 78, (T + B) // 2 - 80))
        floor_pts = [(X(t), Y(v)) for t, v in zip(sc["times"], sc["estimator_floor"])]
        _polyline(d, floor_pts, (0, 0, 0), 1, dashed=True, dash=(2, 4))
        for pi, e in enumerate(sc["priors"]):
            col = COLOURS[pi % len(COLOURS)]
            for m, dashed in (("sde", False), ("ode", True)):
                pts = [(X(t), Y(v)) for t, v in zip(sc["times"], e[f"kl_{m}"])]
                _polyline(d, pts, col, 3, dashed=dashed)
                for p in pts:
                    d.ellipse([p[0] - 2.5, p[1] - 2.5, p[0] + 2.5, p[1] + 2.5], fill=col)
        # legend under the panel
        ly = B + 58
        for pi, e in enumerate(sc["priors"]):
            col = COLOURS[pi % len(COLOURS)]
            lx = L + (pi % 2) * (R - L) // 2
            yy = ly + (pi // 2) * 22
            _polyline(d, [(lx, yy), (lx + 26, yy)], col, 3)
            _polyline(d, [(lx + 38, yy), (lx + 66, yy)], col, 3, dashed=True, dash=(7, 5))
            d.text((lx + 74, yy), f"{e['label']}  (start KL {e['kl_analytic_start']:.3g})", fill="black",
                   font=f_leg, anchor="lm")
        yy = ly + 2 * 22
        _polyline(d, [(L, yy), (L + 66, yy)], (0, 0, 0), 1, dashed=True, dash=(2, 4))
        d.text((L + 74, yy), "estimator floor (exact samples of p_t)    solid: SDE (Euler-Maruyama)   dashed: "
                             f"ODE ({results['config']['ode_solver']})", fill="black", font=f_leg, anchor="lm")
    img = img.quantize(colors=64)
    img.save(path, optimize=True)
    return path


def write_outputs(results, out_dir) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"png": out / "theorem_kl.png", "json": out / "theorem_kl.json", "md": out / "theorem_kl.md"}
    paths["json"].write_text(json.dumps(results, indent=1))
    paths["md"].write_text(markdown(results))
    plot(results, paths["png"])
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--particles", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--records", type=int, default=20, help="number of intervals at which KL is recorded")
    ap.add_argument("--bins-per-sd", type=float, default=10.0)
    ap.add_argument("--ode-solver", choices=["heun", "euler"], default="heun")
    ap.add_argument("--t0", type=float, default=T0_EDIT, help="editing start time of the second scenario")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: leave torch's default)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"))
    a = ap.parse_args(argv)
    tic = time.perf_counter()
    res = run(a.particles, a.steps, a.records, a.seed, a.bins_per_sd, a.ode_solver, a.t0, threads=a.threads)
    res["config"]["total_seconds"] = time.perf_counter() - tic
    paths = write_outputs(res, a.out)
    print(table(res))
    print()
    for sc in res["scenarios"]:
        for e in sc["priors"]:
            print(f"[{sc['name']}] {e['label']:>22}: KL at t=0  SDE {e['kl_sde'][-1]:.4f}   ODE {e['kl_ode'][-1]:.4f}"
                  f"   (start {e['kl_sde'][0]:.4f}, analytic {e['kl_analytic_start']:.4f})")
        print(f"[{sc['name']}] matched-prior floor at t=0: SDE {sc['priors'][-1]['kl_sde'][-1]:.4f}  "
              f"ODE {sc['priors'][-1]['kl_ode'][-1]:.4f};  estimator floor {sc['estimator_floor'][-1]:.4f}")
    print(f"\nwrote {', '.join(str(p) for p in paths.values())}  ({res['config']['total_seconds']:.1f}s)")
    return res


if __name__ == "__main__":
    main()
