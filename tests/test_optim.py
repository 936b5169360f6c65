"""The MGD torch optimiser: same maths as the engine, torch.optim contracts, grad mode, errors."""

from __future__ import annotations

import dataclasses
import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from astroglia.errors import NonFiniteCostError
from astroglia.mgd import MGD, MGDConfig, MGDEngine, ModuleObjective
from astroglia.mgd.streams import TensorBatches


def _data(n: int = 96, d: int = 10, classes: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, classes, generator=g)
    return x, (x @ w).argmax(1)


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Linear(8, 3)).eval()


def _flat(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _batches(k: int, n: int = 16) -> TensorBatches:
    x, y = _data()
    return TensorBatches(x, y, batch_size=n, seed=5)


def _train(opt: MGD, model: nn.Module, steps: int, stream: TensorBatches) -> list[float]:
    losses = []
    for _ in range(steps):
        (x, y), _ = stream.next()
        loss = opt.step(lambda x=x, y=y: F.cross_entropy(model(x), y))
        losses.append(float(loss))
    return losses


@pytest.mark.parametrize(("code", "k"), [("random", 1), ("walsh", 4), ("gaussian", 3)])
def test_optimizer_is_bit_identical_to_the_engine(code: str, k: int):
    """MGD(lr, perturbations=K) = MGDEngine with tau_x = tau_theta = K on the same batches and seed."""
    cfg = MGDConfig(eta=0.7, delta_theta=0.2, code=code, tau_x=k, tau_theta=k, tau_p=1, clip=0.05, seed=11)
    ref_model = _model()
    engine = MGDEngine(ModuleObjective(ref_model, F.cross_entropy), cfg, _batches(k))
    engine.run(6 * k)

    model = _model()
    opt = MGD(model.parameters(), lr=0.7, delta_theta=0.2, code=code, perturbations=k, clip=0.05, seed=11)
    _train(opt, model, 6, _batches(k))
    assert torch.equal(_flat(model), engine.theta)
    for name in ("steps", "evaluations", "baseline_evaluations", "updates"):
        assert getattr(opt.counters, name) == getattr(engine.counters, name)
    assert opt.counters.samples == 6  # one input (closure) per step call


def test_training_lowers_the_loss():
    model = _model()
    opt = MGD(model.parameters(), lr=20.0, delta_theta=0.1, perturbations=8)
    stream = _batches(8, n=96)
    losses = _train(opt, model, 150, stream)
    assert losses[-1] < 0.7 * losses[0]


def test_scheduler_drives_lr_read_on_every_step():
    model = _model()
    opt = MGD(model.parameters(), lr=0.5, delta_theta=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0 if epoch < 1 else 0.0)
    stream = _batches(1)
    before = _flat(model)
    _train(opt, model, 1, stream)
    moved = _flat(model)
    assert not torch.equal(before, moved)
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.0
    _train(opt, model, 3, stream)
    assert torch.equal(_flat(model), moved)  # lr 0: evaluated, not moved


def test_update_scales_with_lr_and_groups_have_their_own_lr():
    stream_a, stream_b = _batches(1), _batches(1)
    m1, m2 = _model(), _model()
    theta0 = _flat(m1)
    o1 = MGD(m1.parameters(), lr=0.1, delta_theta=0.1, seed=2)
    first, second = list(m2[0].parameters()), list(m2[2].parameters())
    o2 = MGD([{"params": first, "lr": 0.2}, {"params": second, "lr": 0.0}], delta_theta=0.1, seed=2)
    _train(o1, m1, 1, stream_a)
    _train(o2, m2, 1, stream_b)
    n_first = sum(p.numel() for p in first)
    d1, d2 = _flat(m1) - theta0, _flat(m2) - theta0
    torch.testing.assert_close(d2[:n_first], 2 * d1[:n_first], rtol=1e-5, atol=1e-7)
    assert torch.equal(d2[n_first:], torch.zeros_like(d2[n_first:]))


def test_state_dict_round_trip_is_bit_exact():
    """Mid-integration (tau_theta spans calls): resume from a saved state continues bit-identically."""
    kwargs = {"lr": 0.3, "delta_theta": 0.1, "perturbations": 2, "tau_theta": 6, "code": "walsh", "seed": 4}
    model = _model()
    opt = MGD(model.parameters(), **kwargs)
    stream = _batches(2)
    _train(opt, model, 4, stream)  # 8 engine steps: G_int holds 2 steps' worth
    assert opt.engine.g_int.abs().sum() > 0
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "data": stream.state_dict()}, buf)
    _train(opt, model, 5, stream)

    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    model2 = _model(seed=99)
    model2.load_state_dict(saved["model"])
    opt2 = MGD(model2.parameters(), **kwargs)
    opt2.load_state_dict(saved["opt"])
    stream2 = _batches(2)
    stream2.load_state_dict(saved["data"])
    assert opt2.counters.steps == 8
    _train(opt2, model2, 5, stream2)
    assert torch.equal(_flat(model2), _flat(model))
    assert torch.equal(opt2.engine.g_int, opt.engine.g_int)
    assert opt2.counters == opt.counters


def test_load_rejects_other_fixed_options():
    opt = MGD(_model().parameters(), seed=1)
    other = MGD(_model().parameters(), seed=2)
    with pytest.raises(ValueError, match="seed"):
        other.load_state_dict(opt.state_dict())


def test_write_grad_feeds_any_torch_optimizer_exactly():
    """write_grad + SGD(lr) reproduces MGD(lr) bit for bit; Adam consumes the scaled estimate and learns."""
    m_ref, m_sgd = _model(), _model()
    ref = MGD(m_ref.parameters(), lr=0.4, delta_theta=0.1, perturbations=2, seed=3)
    est = MGD(m_sgd.parameters(), write_grad=True, delta_theta=0.1, perturbations=2, seed=3)
    sgd = torch.optim.SGD(m_sgd.parameters(), lr=0.4)
    s1, s2 = _batches(2), _batches(2)
    _train(ref, m_ref, 5, s1)
    for _ in range(5):
        (x, y), _ = s2.next()
        sgd.zero_grad()
        est.step(lambda x=x, y=y: F.cross_entropy(m_sgd(x), y))
        sgd.step()
    assert torch.equal(_flat(m_sgd), _flat(m_ref))

    model = _model()
    est = MGD(model.parameters(), write_grad=True, grad_scale="gradient", delta_theta=0.05, perturbations=8)
    adam = torch.optim.Adam(model.parameters(), lr=0.02)
    stream = _batches(8, n=96)
    losses = []
    for _ in range(60):
        (x, y), _ = stream.next()
        adam.zero_grad()
        losses.append(float(est.step(lambda x=x, y=y: F.cross_entropy(model(x), y))))
        adam.step()
    assert losses[-1] < 0.8 * losses[0]


def test_gradient_scale_estimates_the_gradient():
    """Linear loss g.theta: grad_scale="gradient" averages to g (random codes, E[G] = g/P per step)."""
    g = torch.linspace(-1, 1, 20)
    theta = nn.Parameter(torch.zeros(20))
    est = MGD([theta], write_grad=True, grad_scale="gradient", delta_theta=0.01, perturbations=4000)
    est.step(lambda: g @ theta)
    cos = F.cosine_similarity(theta.grad, g, dim=0)
    assert cos > 0.99
    torch.testing.assert_close(theta.grad.norm(), g.norm(), rtol=0.1, atol=0)


def test_non_finite_loss_abandons_the_step_and_leaves_everything_as_before():
    model = _model()
    opt = MGD(model.parameters(), lr=0.3, delta_theta=0.1, perturbations=3, tau_theta=6)
    stream = _batches(3)
    _train(opt, model, 1, stream)
    before = (_flat(model).clone(), opt.engine.g_int.clone(), dataclasses.replace(opt.counters))
    calls = {"n": 0}

    def bad():
        calls["n"] += 1
        return torch.tensor(float("nan")) if calls["n"] == 3 else torch.tensor(1.0)

    with pytest.raises(NonFiniteCostError):
        opt.step(bad)
    assert torch.equal(_flat(model), before[0]) and torch.equal(opt.engine.g_int, before[1])
    assert opt.counters == before[2]
    _train(opt, model, 1, stream)  # and it carries on
    assert opt.counters.steps == 6


def test_errors_name_the_problem():
    params = _model().parameters()
    with pytest.raises(ValueError, match="delta_theta"):
        MGD(params, delta_theta=0)
    with pytest.raises(ValueError, match="code"):
        MGD(_model().parameters(), code="nope")
    with pytest.raises(ValueError, match="perturbations"):
        MGD(_model().parameters(), perturbations=0)
    opt = MGD(_model().parameters())
    with pytest.raises(ValueError, match="closure"):
        opt.step(None)
    opt.param_groups[0]["tau_theta"] = 5
    with pytest.raises(ValueError, match="tau_theta"):
        opt.step(lambda: torch.tensor(0.0))
    m = _model()
    with pytest.raises(ValueError, match="delta_theta differs"):
        MGD([{"params": m[0].parameters()}, {"params": m[2].parameters(), "delta_theta": 0.2}])
    opt = MGD([{"params": m[0].parameters()}, {"params": m[2].parameters()}])
    opt.param_groups[1]["clip"] = 0.1
    with pytest.raises(ValueError, match="clip differs"):
        opt.step(lambda: torch.tensor(0.0))


def test_delta_theta_and_clip_are_read_from_the_groups_every_step():
    theta = nn.Parameter(torch.zeros(16))
    seen: list[torch.Tensor] = []

    def closure():
        seen.append(theta.detach().clone())
        return (theta**2).sum()

    opt = MGD([theta], lr=0.0, delta_theta=0.1)
    opt.step(closure)
    opt.param_groups[0]["delta_theta"] = 0.4
    opt.param_groups[0]["clip"] = 1e-3
    opt.step(closure)
    # evaluations: baseline, perturbed (step 1), baseline, perturbed (step 2); theta stays 0 (lr 0)
    assert seen[1].norm().item() == pytest.approx(0.1) and seen[3].norm().item() == pytest.approx(0.4)
    assert opt.engine.config.clip == 1e-3


def test_frozen_parameters_are_left_alone_and_not_counted():
    m = _model()
    m[0].requires_grad_(False)
    frozen = [p.detach().clone() for p in m[0].parameters()]
    opt = MGD(m.parameters(), lr=1.0, perturbations=4)
    assert opt.engine.n_params == sum(p.numel() for p in m[2].parameters())  # 27, not 115
    x, y = _data()
    before = [p.detach().clone() for p in m[2].parameters()]
    for _ in range(3):
        opt.step(lambda: F.cross_entropy(m(x), y))
    assert all(torch.equal(a, b) for a, b in zip(frozen, m[0].parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(before, m[2].parameters(), strict=True))
    # and it equals MGD over the trainable parameters alone
    ref_model = _model()
    ref = MGD(ref_model[2].parameters(), lr=1.0, perturbations=4)
    for _ in range(3):
        ref.step(lambda: F.cross_entropy(ref_model(x), y))
    torch.testing.assert_close(_flat(ref_model), _flat(m), rtol=0, atol=0)
    with pytest.raises(ValueError, match="no parameter to train"):
        MGD(m[0].parameters())


def test_add_param_group_after_construction_is_refused_and_changes_nothing():
    m = _model()
    opt = MGD(m[0].parameters())
    with pytest.raises(ValueError, match="cannot take a param group after construction"):
        opt.add_param_group({"params": m[2].parameters()})
    assert len(opt.param_groups) == 1
    x, y = _data()
    opt.step(lambda: F.cross_entropy(m(x), y))


@pytest.mark.parametrize(
    ("loss", "error", "match"),
    [(torch.zeros(3), ValueError, "scalar loss"), ("1.0", TypeError, "str"), (None, TypeError, "NoneType")],
)
def test_a_closure_that_does_not_return_a_scalar_is_refused(loss, error, match):
    m = _model()
    opt = MGD(m.parameters())
    before = _flat(m)
    with pytest.raises(error, match=match):
        opt.step(lambda: loss)
    assert torch.equal(before, _flat(m)) and opt.counters.steps == 0


def test_counters_stay_the_same_object_through_a_rolled_back_step():
    m = _model()
    opt = MGD(m.parameters())
    counters = opt.counters
    x, y = _data()
    opt.step(lambda: F.cross_entropy(m(x), y))
    with pytest.raises(NonFiniteCostError):
        opt.step(lambda: torch.tensor(float("nan")))
    assert opt.counters is counters and counters.steps == 1


def test_write_grad_with_sgd_momentum_equals_a_hand_computation():
    """The estimate written into .grad is sum_k (C_k - C_0) theta_tilde_k / Delta_theta^2, computed here from
    the points and losses the closure saw; SGD(momentum=0.9) then does v = 0.9 v + g, theta -= lr v."""
    model = _model().double()
    lr, mu, delta, k = 0.3, 0.9, 0.1, 4
    est = MGD(model.parameters(), write_grad=True, delta_theta=delta, perturbations=k, seed=7)
    sgd = torch.optim.SGD(model.parameters(), lr=lr, momentum=mu)
    stream = _batches(k)
    theta = _flat(model).clone()
    velocity = torch.zeros_like(theta)
    for _ in range(6):
        (x, y), _ = stream.next()
        seen: list[tuple[torch.Tensor, float]] = []

        def closure(x=x, y=y, seen=seen):
            loss = F.cross_entropy(model(x.double()), y)
            seen.append((_flat(model).clone(), float(loss)))
            return loss

        sgd.zero_grad()
        est.step(closure)
        (base_point, c0), perturbed = seen[0], seen[1:]
        assert len(perturbed) == k and torch.equal(base_point, theta)
        g = sum((c - c0) * (point - theta) for point, c in perturbed) / delta**2
        for point, _ in perturbed:
            assert (point - theta).norm().item() == pytest.approx(delta, rel=1e-12)
        torch.testing.assert_close(torch.cat([p.grad.reshape(-1) for p in model.parameters()]), g)
        sgd.step()
        velocity = mu * velocity + g
        torch.testing.assert_close(_flat(model), theta - lr * velocity, rtol=1e-12, atol=1e-12)
        theta = _flat(model).clone()  # go on from the optimiser's own float64 rounding
