"""Feature-space attacks: exactness on linear models, norm bounds, loss increase,
batching, seeding."""

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skdsp.adversarial import attacks
from skdsp.adversarial.attacks import (
    deepfool,
    fgsm,
    fooling_rate,
    pgd,
    predict,
    project_ball,
    random_directions,
    universal_perturbation,
)
from skdsp.adversarial.classifier import FrameMLP


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _linear(d, k, seed=0):
    gen = torch.Generator().manual_seed(seed)
    lin = nn.Linear(d, k).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(k, d, generator=gen, dtype=torch.float64))
        lin.bias.copy_(torch.randn(k, generator=gen, dtype=torch.float64))
    return lin


def _linear_distance(lin, x, norm):
    """Distance from each row to the region of another class: min over classes k of
    |f_k - f_o| / ||w_k - w_o||_dual (the region of class o is a convex polyhedron)."""
    W, b = lin.weight.detach(), lin.bias.detach()
    f = x @ W.T + b
    o = f.argmax(1)
    rows = torch.arange(x.shape[0])
    dist = torch.full((x.shape[0],), math.inf, dtype=x.dtype)
    for k in range(W.shape[0]):
        w = W[k] - W[o]
        dual = w.norm(dim=1) if norm == 2 else w.abs().sum(dim=1)
        dk = (f[:, k] - f[rows, o]).abs() / dual
        dk[o == k] = math.inf
        dist = torch.minimum(dist, dk)
    return dist


@functools.cache
def _trained_mlp(n=600, d=10, k=3, seed=0):
    """A small MLP trained (seeded) on overlapping Gaussian classes (cached: tests must
    leave it in eval mode)."""
    gen = torch.Generator().manual_seed(seed)
    centers = 1.0 * torch.randn(k, d, generator=gen)
    y = torch.arange(n) % k
    x = centers[y] + torch.randn(n, d, generator=gen)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = FrameMLP(d, k, hidden_units=32, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    return model, x, y


# ----------------------------------------------------------------- helpers


@pytest.mark.parametrize("norm", [2, "inf"])
def test_project_ball_bounds_and_keeps_inside(norm):
    gen = torch.Generator().manual_seed(0)
    v = 3 * torch.randn(50, 7, generator=gen)
    p = project_ball(v, 0.5, norm)
    assert torch.all(attacks.lp_norm(p, norm) <= 0.5 + 1e-6)
    inside = 0.01 * v
    assert torch.allclose(project_ball(inside, 0.5, norm), inside)
    if norm == 2:  # radial projection keeps directions
        cos = F.cosine_similarity(p, v, dim=1)
        assert torch.allclose(cos, torch.ones(50), atol=1e-6)


@pytest.mark.parametrize("norm", [2, "inf", float("inf")])
def test_random_directions_norm_and_seed(norm):
    a = random_directions((100, 9), 0.3, norm, generator=torch.Generator().manual_seed(1))
    b = random_directions((100, 9), 0.3, norm, generator=torch.Generator().manual_seed(1))
    c = random_directions((100, 9), 0.3, norm, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(attacks.lp_norm(a, norm), torch.full((100,), 0.3), atol=1e-6)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # isotropic: no preferred direction
    assert a.mean(0).abs().max() < 0.1


def test_bad_norm_is_refused():
    with pytest.raises(ValueError, match="norm"):
        project_ball(torch.zeros(3), 1.0, 1)


def test_batched_jacobian_matches_one_backward_per_class():
    model, x, _ = _trained_mlp()
    logits, jac = attacks._logits_and_jacobian(model, x[:40])
    z = x[:40].clone().requires_grad_(True)
    out = model(z)
    for k in range(out.shape[1]):
        (g,) = torch.autograd.grad(out[:, k].sum(), z, retain_graph=True)
        assert torch.allclose(jac[k], g, atol=1e-6)
    assert torch.allclose(logits, out.detach())


# ----------------------------------------------------------------- DeepFool


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("norm", [2, "inf"])
def test_deepfool_is_exact_on_linear_classifiers(n_classes, norm):
    lin = _linear(6, n_classes)
    x = torch.randn(200, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    res = deepfool(lin, x, overshoot=0.0, norm=norm)
    dist = _linear_distance(lin, x, 2 if norm == 2 else math.inf)
    got = attacks.lp_norm(res.perturbation, norm)
    # DeepFool adds 1e-4 to |f'| so that the step lands just past the boundary.
    W = lin.weight.detach()
    diffs = (W[:, None] - W[None]).reshape(-1, 6)
    dual = diffs.norm(dim=1) if norm == 2 else diffs.abs().sum(dim=1)
    slack = 1e-4 / dual[dual > 0].min()
    assert torch.all(got >= dist - 1e-9)
    assert torch.all(got <= dist + slack + 1e-9)
    assert res.fooled.all()
    assert torch.all(res.n_iter == 1)
    # ...and the perturbed points do cross
    assert torch.all(predict(lin, x + res.perturbation) != predict(lin, x))


def test_deepfool_binary_distance_formula():
    """Two classes: the step is |w^T x + b| / ||w|| along w (w = w_1 - w_0)."""
    lin = _linear(4, 2, seed=5)
    x = torch.randn(30, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    W, b = lin.weight.detach(), lin.bias.detach()
    w, c = W[1] - W[0], b[1] - b[0]
    expected = (x @ w + c).abs() / w.norm()
    r = deepfool(lin, x, overshoot=0.0).perturbation
    assert torch.allclose(r.norm(dim=1), expected, atol=1e-4 / w.norm().item() + 1e-9)
    cos = (r @ w).abs() / (r.norm(dim=1) * w.norm())
    assert torch.allclose(cos, torch.ones(30, dtype=torch.float64))


def test_deepfool_overshoot_scales_and_keeps_labels():
    lin = _linear(6, 4)
    x = torch.randn(50, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    r0 = deepfool(lin, x, overshoot=0.0).perturbation
    r1 = deepfool(lin, x, overshoot=0.5).perturbation
    assert torch.allclose(r1, 1.5 * r0)


def test_deepfool_on_mlp_fools_and_only_active_rows_iterate():
    model, x, _ = _trained_mlp()
    model.train()  # the attack must switch dropout off and restore the flag
    res = deepfool(model, x, max_iter=50)
    assert model.training
    model.eval()
    assert res.fooled.float().mean() > 0.99
    assert res.n_iter.min() >= 1
    # Nonlinear boundaries need more steps for some rows, not for all.
    assert res.n_iter.max() > res.n_iter.min()
    # Rows are independent: attacking a subset gives the same perturbations.
    sub = deepfool(model, x[:37], max_iter=50)
    assert torch.allclose(sub.perturbation, res.perturbation[:37], atol=1e-5)
    assert torch.equal(sub.n_iter, res.n_iter[:37])


def test_deepfool_respects_given_labels_and_clip():
    model, x, y = _trained_mlp()
    wrong = predict(model, x) != y
    assert wrong.any()
    res = deepfool(model, x, labels=y, max_iter=50)
    # Rows already away from their given label are returned unchanged.
    assert torch.all(res.perturbation[wrong] == 0)
    assert torch.all(res.fooled[wrong])
    assert torch.all(res.perturbation[~wrong].norm(dim=1) > 0)
    clipped = deepfool(model, x, max_iter=50, clip=(-1.0, 1.0))
    adv = x + clipped.perturbation
    assert torch.all(adv <= 1.0 + 1e-6) and torch.all(adv >= -1.0 - 1e-6)


# ----------------------------------------------------------------- FGSM / PGD


def _losses(model, x, y):
    with torch.no_grad():
        return F.cross_entropy(model(x), y, reduction="none")


@pytest.mark.parametrize("norm", [2, "inf"])
def test_fgsm_and_pgd_increase_the_loss(norm):
    model, x, _ = _trained_mlp()
    y = predict(model, x)
    eps = 0.5 if norm == 2 else 0.15
    base = _losses(model, x, y)
    r_f = fgsm(model, x, y, eps=eps, norm=norm)
    r_p = pgd(model, x, y, eps=eps, norm=norm, n_steps=10, random_state=0)
    lf, lp = _losses(model, x + r_f, y), _losses(model, x + r_p, y)
    rand = random_directions(tuple(x.shape), eps, norm, generator=torch.Generator().manual_seed(0))
    ln = _losses(model, x + rand, y)
    assert (lf > base).float().mean() > 0.95
    assert lf.mean() > ln.mean()
    assert (lp > base).float().mean() > 0.95
    assert lp.mean() > ln.mean()
    assert lp.mean() > 0.9 * lf.mean()  # random start and 10 steps: about as strong
    assert torch.all(attacks.lp_norm(r_p, norm) <= eps + 1e-5)
    assert torch.allclose(attacks.lp_norm(r_f, norm), torch.full((x.shape[0],), eps), atol=1e-5)


def test_fgsm_l2_is_along_the_loss_gradient():
    lin = _linear(5, 3)
    x = torch.randn(20, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = predict(lin, x)
    r = fgsm(lin, x, y, eps=0.2)
    z = x.clone().requires_grad_(True)
    F.cross_entropy(lin(z), y, reduction="sum").backward()
    g = z.grad
    assert torch.allclose(r, 0.2 * g / g.norm(dim=1, keepdim=True))
    r_inf = fgsm(lin, x, y, eps=0.2, norm="inf")
    assert torch.allclose(r_inf, 0.2 * torch.sign(g))


def test_pgd_is_seeded():
    model, x, y = _trained_mlp()
    a = pgd(model, x, y, eps=0.3, random_state=0, n_steps=3)
    b = pgd(model, x, y, eps=0.3, random_state=0, n_steps=3)
    c = pgd(model, x, y, eps=0.3, random_state=1, n_steps=3)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


# ----------------------------------------------------------------- fooling rate


def test_fooling_rate_of_a_model_with_a_known_boundary():
    # Two classes split by the sign of the first feature; the others do not count.
    model = nn.Linear(3, 2, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0, 0], [-1.0, 0, 0]], dtype=torch.float64))
    first = torch.tensor([-2.0, -0.7, -0.2, 0.1, 0.3, 0.9, 1.5, 2.5], dtype=torch.float64)
    x = torch.stack([first, torch.ones(8), -torch.ones(8)], dim=1)
    # Moving the first feature by -1 sends exactly the rows with 0 < x0 < 1 across.
    v = torch.tensor([-1.0, 5.0, -5.0], dtype=torch.float64)
    assert fooling_rate(model, x, v) == 3 / 8
    assert fooling_rate(model, x, v, batch_size=3) == 3 / 8
    # One perturbation per row: row 0 crosses (-2 -> 1), row 7 stays (2.5 -> 1.5).
    per_row = torch.zeros_like(x)
    per_row[0, 0], per_row[7, 0] = 3.0, -1.0
    assert fooling_rate(model, x, per_row) == 1 / 8
    # Given labels replace the clean predictions: with every row "class 0", the rows
    # predicted class 1 after the shift (x0 - 1 < 0) count, 6 of 8.
    assert fooling_rate(model, x, v, labels=torch.zeros(8, dtype=torch.long)) == 6 / 8


# ----------------------------------------------------------------- UAP


@pytest.mark.parametrize("norm,eps", [(2, 2.0), ("inf", 0.6)])
@pytest.mark.parametrize("update", ["sum", "sequential"])
def test_uap_respects_its_norm_bound_and_beats_noise(norm, eps, update):
    model, x, _ = _trained_mlp()
    res = universal_perturbation(
        model, x, eps=eps, norm=norm, max_passes=3, update=update, random_state=0
    )
    v = res.perturbation
    assert v.shape == (x.shape[1],)
    assert attacks.lp_norm(v, norm) <= eps + 1e-5
    assert 1 <= res.n_passes <= 3
    with torch.no_grad():  # the reported rate, recounted from the model's own scores
        changed = model(x).argmax(1) != model(x + v).argmax(1)
    assert res.fooling_rate == pytest.approx(changed.double().mean().item())
    gen = torch.Generator().manual_seed(0)
    noise = random_directions(tuple(x.shape), eps, norm, generator=gen)
    shifts = random_directions((20, x.shape[1]), eps, norm, generator=gen)
    noise_rate = fooling_rate(model, x, noise)
    shift_rate = np.mean([fooling_rate(model, x, s) for s in shifts])
    assert res.fooling_rate > 2 * max(noise_rate, shift_rate, 0.01)


def test_uap_stops_at_the_target_fooling_rate():
    model, x, _ = _trained_mlp()
    res = universal_perturbation(model, x, eps=50.0, max_fooling=0.3, random_state=0)
    assert res.fooling_rate >= 0.3
    assert res.n_passes == 1


def test_uap_is_seeded_and_zero_radius_gives_zero():
    model, x, _ = _trained_mlp()
    a = universal_perturbation(model, x, eps=0.7, max_passes=2, random_state=0)
    b = universal_perturbation(model, x, eps=0.7, max_passes=2, random_state=0)
    assert torch.equal(a.perturbation, b.perturbation)
    z = universal_perturbation(model, x, eps=0.0, random_state=0)
    assert torch.all(z.perturbation == 0) and z.fooling_rate == 0.0


def test_uap_batch_of_one_is_the_sequential_algorithm():
    model, x, _ = _trained_mlp(n=120)
    a = universal_perturbation(
        model, x, eps=0.8, max_passes=1, batch_size=1, update="sum", random_state=0
    )
    b = universal_perturbation(
        model, x, eps=0.8, max_passes=1, batch_size=1, update="sequential", random_state=0
    )
    assert torch.any(a.perturbation != 0)
    assert torch.allclose(a.perturbation, b.perturbation)


def test_uap_against_the_adversarial_robustness_toolbox():
    """Same model, same frames, same radius: ART's (sequential) UAP and ours fool a
    comparable share of frames."""
    # Not "art" alone: an unrelated package of that name exists.
    evasion = pytest.importorskip("art.attacks.evasion")
    classification = pytest.importorskip("art.estimators.classification")
    UniversalPerturbation = evasion.UniversalPerturbation
    PyTorchClassifier = classification.PyTorchClassifier

    model, x, _ = _trained_mlp()
    x = x[:200]  # ART attacks one frame at a time
    clf = PyTorchClassifier(
        model=model,
        loss=nn.CrossEntropyLoss(),
        input_shape=(x.shape[1],),
        nb_classes=3,
        device_type="cpu",
    )
    eps = 2.0
    attack = UniversalPerturbation(
        clf,
        attacker="deepfool",
        attacker_params={"epsilon": 0.02, "max_iter": 10, "verbose": False},
        delta=0.2,
        max_iter=3,
        eps=eps,
        norm=2,
        verbose=False,
    )
    np.random.seed(0)  # ART shuffles with the global NumPy state
    attack.generate(x.numpy())
    v_art = torch.as_tensor(attack.noise, dtype=x.dtype).reshape(-1)
    rate_art = fooling_rate(model, x, v_art)
    ours = universal_perturbation(model, x, eps=eps, max_passes=3, random_state=0)
    assert ours.perturbation.norm() <= eps + 1e-5
    assert rate_art > 0.05  # ART's attack did something
    assert ours.fooling_rate >= rate_art - 0.1
