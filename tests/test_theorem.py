"""bench/theorem.py: Theorems 3.1 / 3.2 of Nie et al. (2311.01410) on the 1-D two-mode toy, small and fast.

SDE: KL(p~_t || p_t) falls from its start value to near the estimator floor; ODE: it stays put.  Thresholds
have margins over what was measured with 20k particles / 200 steps (seeds 0-3):
  SDE t=0/start   T=1: 0.005-0.013     t0=0.6: 0.02-0.18
  ODE t=0/start   1.003-1.022, max |drift| along t <= 0.0055 nats
  matched prior   <= 0.0045 nats (estimator floor with 20k particles 0.002-0.005)
  start estimate vs analytic KL  |diff| <= 0.013
"""
import json
import math
import sys

import pytest
import torch

from bench import theorem as th


@pytest.fixture(scope="module")
def res():
    return th.run(particles=20_000, steps=200, n_records=10, seed=0, verbose=False)


def _mismatched(res):
    for sc in res["scenarios"]:
        for e in sc["priors"]:
            if not e["matched"]:
                yield sc, e


def test_three_mismatched_priors_per_scenario(res):
    names = [sc["name"] for sc in res["scenarios"]]
    assert names == ["T=1", "t0=0.6"]
    for sc in res["scenarios"]:
        assert sum(not e["matched"] for e in sc["priors"]) >= 3
        assert sc["times"][0] == pytest.approx(sc["t_start"]) and sc["times"][-1] == pytest.approx(0.0, abs=1e-12)
        assert len(sc["times"]) == 11


def test_start_estimate_matches_analytic_kl(res):
    for sc, e in _mismatched(res):
        assert e["kl_analytic_start"] > 0.04
        assert abs(e["kl_sde"][0] - e["kl_analytic_start"]) < 0.03, (sc["name"], e["label"])
        assert e["kl_sde"][0] == e["kl_ode"][0]        # same start particles


def test_sde_contracts(res):
    for sc, e in _mismatched(res):
        ratio = e["kl_sde"][-1] / e["kl_sde"][0]
        bound = 0.05 if sc["name"] == "T=1" else 0.35
        assert ratio < bound, (sc["name"], e["label"], ratio)
        # monotone up to estimator noise (Theorem 3.1: non-increasing)
        for a, b in zip(e["kl_sde"][:-1], e["kl_sde"][1:]):
            assert b <= a + 0.005, (sc["name"], e["label"], a, b)


def test_ode_keeps_kl(res):
    for sc, e in _mismatched(res):
        start = e["kl_ode"][0]
        assert 0.95 < e["kl_ode"][-1] / start < 1.06, (sc["name"], e["label"])
        assert max(abs(v - start) for v in e["kl_ode"]) < 0.015, (sc["name"], e["label"])
        # the ODE's relative change is much smaller than the SDE's
        sde_change = 1 - e["kl_sde"][-1] / e["kl_sde"][0]
        ode_change = abs(1 - e["kl_ode"][-1] / start)
        assert ode_change < 0.15 * sde_change, (sc["name"], e["label"])


def test_matched_prior_stays_at_noise_floor(res):
    for sc in res["scenarios"]:
        e = sc["priors"][-1]
        assert e["matched"] and e["kl_analytic_start"] < 1e-9
        floor = max(sc["estimator_floor"])
        assert floor < 0.01
        for m in ("sde", "ode"):
            assert max(e[f"kl_{m}"]) < max(3 * floor, 0.01), (sc["name"], m)


def test_mode_weights(res):
    # T=1 from N(0.5, 0.3^2): the ODE puts ~95% of the mass in the + mode, the SDE ~50% (paper's toy figure)
    e = res["scenarios"][0]["priors"][0]
    assert e["label"] == "N(0.5, 0.3^2)"
    assert e["frac_pos_ode"] > 0.9 and abs(e["frac_pos_sde"] - 0.5) < 0.03
    assert e["kl_sign_ode"] > 0.3 and e["kl_sign_sde"] < 0.01


@pytest.mark.parametrize("t", [0.0, 0.05, 0.3, 0.6, 1.0])
def test_score_is_gradient_of_log_density(t):
    p = th.marginal(t)
    x = torch.linspace(-4, 4, 801, dtype=torch.float64)
    h = 1e-5
    fd = (p.log_prob(x + h) - p.log_prob(x - h)) / (2 * h)
    assert torch.allclose(p.score(x), fd, atol=1e-5, rtol=1e-6)


def test_generic_score_path():
    # three components with unequal stds (softmax path) and the fast two-component path against it
    p = th.Mixture([0.2, 0.5, 0.3], [-1.0, 0.5, 2.0], [0.4, 0.7, 0.3])
    x = torch.linspace(-3, 4, 701, dtype=torch.float64)
    h = 1e-5
    fd = (p.log_prob(x + h) - p.log_prob(x - h)) / (2 * h)
    assert torch.allclose(p.score(x), fd, atol=1e-5, rtol=1e-6)
    q = th.Mixture([0.3, 0.7], [-1.0, 1.5], [0.6, 0.6])
    generic = th.Mixture.__new__(th.Mixture)
    generic.__dict__.update(q.__dict__)
    generic.means = list(q.means) + [0.0]        # defeat the fast path, weight 0 third component
    generic.stds = list(q.stds) + [1.0]
    generic._lw = torch.cat([q._lw, torch.full((1, 1), -math.inf, dtype=torch.float64)])
    generic._m = torch.cat([q._m, torch.zeros(1, 1, dtype=torch.float64)])
    generic._s = torch.cat([q._s, torch.ones(1, 1, dtype=torch.float64)])
    assert torch.allclose(q.score(x), generic.score(x), atol=1e-12)


def test_schedule_and_marginal():
    assert th.alpha(0.0) == 1.0 and th.sigma2(0.0) == 0.0
    assert th.alpha(1.0) == pytest.approx(math.exp(-0.5 * (0.1 + 0.5 * 19.9)))
    p1 = th.marginal(1.0)
    assert all(abs(s - 1.0) < 1e-3 for s in p1.stds) and all(abs(m) < 0.02 for m in p1.means)
    assert th.marginal(0.0).means == [-2.0, 2.0] and th.marginal(0.0).stds == [0.3, 0.3]


def test_histogram_estimator_on_exact_samples():
    gen = torch.Generator().manual_seed(1)
    p = th.Mixture([1.0], [0.0], [1.0])
    q = th.Mixture([1.0], [0.5], [1.0])            # KL(q || p) = 0.125
    kl, kl_mm, k_occ, w = th.hist_kl(q.sample(50_000, gen), p)
    assert w == pytest.approx(0.1)
    assert th.analytic_kl(q, p) == pytest.approx(0.125, abs=1e-6)
    assert abs(kl - 0.125) < 0.01 and abs(kl_mm - 0.125) < 0.01
    floor = th.hist_kl(p.sample(50_000, gen), p)[0]
    assert 0 <= floor < 0.003
    assert th.bernoulli_kl(0.5, 0.5) == 0.0 and th.bernoulli_kl(1.0, 0.5) == pytest.approx(math.log(2))


def test_outputs_written(res, tmp_path):
    paths = th.write_outputs(res, tmp_path)
    from PIL import Image
    with Image.open(paths["png"]) as im:
        assert im.size == (1500, 640)
    assert paths["png"].stat().st_size < 200_000
    data = json.loads(paths["json"].read_text())
    assert len(data["scenarios"]) == 2 and "kl_sde" in data["scenarios"][0]["priors"][0]
    md = paths["md"].read_text()
    assert "N(0.5, 0.3^2)" in md and "estimator floor" in md


def test_cli(tmp_path, capsys):
    th.main(["--particles", "3000", "--steps", "60", "--records", "4", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "KL at t=0" in out and "matched-prior floor" in out
    for f in ("theorem_kl.png", "theorem_kl.json", "theorem_kl.md"):
        assert (tmp_path / f).is_file()
