"""RSKP model: shapes, padding invariance, prediction module, bad input."""

from __future__ import annotations

import pytest
import torch

from video.em_bases import em_bases
from video.model import BranchOutput, PredictionModule, RSKPModel
from video.random_walk import random_walk


def _model(variant: str = "full", **kw: object) -> RSKPModel:
    return RSKPModel(6, 3, dim=8, num_bases=3, variant=variant, **kw).eval()  # type: ignore[arg-type]


def test_shapes_and_branches(device: str) -> None:
    model = _model().to(device)
    out = model(torch.randn(2, 11, 6, device=device))
    assert out.main.ca_logits.shape == (2, 4) and out.main.cw_logits.shape == (2, 4)
    assert out.main.attention.shape == (2, 11) and out.main.cas.shape == (2, 11, 4)
    assert out.intra is not None and out.intra.cas.shape == (2, 11, 4)
    assert out.mu.shape == (2, 3, 8) and out.mu_probs.shape == (2, 3, 4)
    torch.testing.assert_close(out.mu_probs.sum(-1), torch.ones(2, 3, device=device))
    assert _model("main")(torch.randn(1, 5, 6)).intra is None


def test_padding_invariance() -> None:
    model = _model().double()
    a, b = (
        torch.randn(7, 6, dtype=torch.float64),
        torch.randn(4, 6, dtype=torch.float64),
    )
    x = torch.zeros(2, 7, 6, dtype=torch.float64)
    x[0], x[1, :4] = a, b
    x[1, 4:] = 3.0  # garbage in the padding
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    out = model(x, mask)
    alone = model(b)
    assert out.intra is not None and alone.intra is not None
    torch.testing.assert_close(out.main.ca_logits[1], alone.main.ca_logits[0])
    torch.testing.assert_close(out.intra.cw_logits[1], alone.intra.cw_logits[0])
    torch.testing.assert_close(out.main.cas[1, :4], alone.main.cas[0])
    torch.testing.assert_close(out.mu[1], alone.mu[0])
    assert bool((out.main.attention[1, 4:] == 0).all())


def test_prediction_module_hand_case() -> None:
    pm = PredictionModule(2, 1, scale=1.0)
    with torch.no_grad():
        pm.class_centres.copy_(
            torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        )  # class, background
        pm.fg_centre.copy_(torch.tensor([[0.0, -1.0]]))
    x = torch.tensor([[[2.0, 0.0], [0.0, 3.0]]])
    out = pm(x, torch.ones(1, 2, dtype=torch.bool))
    torch.testing.assert_close(out.cas, torch.tensor([[[1.0, 0.0], [0.0, 1.0]]]))
    sig = torch.sigmoid(torch.tensor([0.0, -1.0]))
    torch.testing.assert_close(out.attention, sig[None])
    # class-agnostic pooled feature (weights sig / sum) -> cosine with each centre
    feat = (sig[0] * x[0, 0] + sig[1] * x[0, 1]) / (sig.sum() + 1e-5)
    want = feat / feat.norm()
    torch.testing.assert_close(out.ca_logits[0], want, atol=1e-5, rtol=0)
    # foreground centre starts as minus the background centre
    fresh = PredictionModule(4, 2)
    torch.testing.assert_close(fresh.fg_centre[0], -fresh.class_centres[-1])


def test_state_dict_round_trip_with_memory() -> None:
    model = _model()
    out = model(torch.randn(2, 9, 6))
    model.memory.update(out.mu, out.mu_probs, torch.tensor([[1.0, 0, 0], [0, 0, 1]]))
    other = _model()
    other.load_state_dict(model.state_dict())
    torch.testing.assert_close(other.memory.scores, model.memory.scores)
    x = torch.randn(1, 9, 6)
    torch.testing.assert_close(other(x).main.cas, model(x).main.cas)
    assert "variant='full'" in repr(model)


def test_bad_input() -> None:
    model = _model()
    with pytest.raises(ValueError, match="at least 2 snippets"):
        model(torch.randn(1, 6))
    with pytest.raises(ValueError, match="at least 2 snippets"):
        model(torch.randn(2, 5, 6), torch.tensor([[True] * 5, [True] + [False] * 4]))
    with pytest.raises(ValueError, match="non-empty"):
        model(torch.randn(0, 6))
    with pytest.raises(ValueError, match="snippet features of size 6"):
        model(torch.randn(5, 7))
    bad = torch.randn(5, 6)
    bad[2, 1] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        model(bad)
    with pytest.raises(TypeError, match="floating-point"):
        model(torch.ones(5, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="'mask' parameter"):
        model(torch.randn(1, 5, 6), torch.ones(1, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="'variant' parameter of RSKPModel"):
        RSKPModel(6, 3, variant="peripheral")
    with pytest.raises(ValueError, match="'labels' parameter"):
        model.inter_branch(model(torch.randn(5, 6)), torch.ones(1, 4))


def _assert_branch(a: BranchOutput | None, b: BranchOutput) -> None:
    assert a is not None
    for name in ("ca_logits", "cw_logits", "attention", "cas"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), msg=name)


@pytest.mark.parametrize("em_iter", [1, 3])
def test_fused_forward_equals_composition(em_iter: int) -> None:
    # the fused pass (shared products, factored walked features) against the plain
    # composition of em_bases, random_walk and PredictionModule, memory branch included
    torch.manual_seed(0)
    model = RSKPModel(6, 3, dim=8, num_bases=3, em_iter=em_iter, memory_slots=2)
    model = model.double().eval()
    x = torch.randn(3, 9, 6, dtype=torch.float64)
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[1, 6:] = False
    labels = torch.tensor([[1.0, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=torch.float64)
    first = model(x, mask)
    # class 1 stays empty: video 1 has no memory
    model.memory.update(first.mu[[0]], first.mu_probs[[0]], labels[[0]])
    out = model.forward_checked(x, mask, labels)
    emb = out.x
    mu = em_bases(emb, model.mu0, num_iter=em_iter, mask=mask)
    torch.testing.assert_close(out.mu, mu)
    pm = model.predictor
    _assert_branch(out.main, pm(emb, mask))
    _assert_branch(out.intra, pm(random_walk(emb, mu, model.w, mask=mask), mask))
    slots, ok = model.memory.read(labels)
    x_r = random_walk(emb, slots, model.w, mask=mask, basis_mask=ok)
    _assert_branch(out.inter, pm(x_r, mask))
    assert out.has_memory is not None and out.has_memory.tolist() == [True, False, True]
    inter, has = model.inter_branch(out, labels)
    _assert_branch(out.inter, inter)
    assert torch.equal(has, out.has_memory)


def test_float64_input_and_non_finite_padding() -> None:
    model = _model().eval()
    x = torch.randn(2, 8, 6)
    mask = torch.tensor([[True] * 8, [True] * 5 + [False] * 3])
    ref = model(x.masked_fill(~mask[..., None], 0.0), mask)
    # float64 features follow the model's float32 weights instead of failing in torch
    out64 = model(x.double(), mask)
    assert out64.main.ca_logits.dtype == torch.float32
    torch.testing.assert_close(out64.main.ca_logits, ref.main.ca_logits)
    # whatever padding holds (NaN, inf) must not reach the outputs: NaN * 0 is NaN
    x[1, 5:] = float("nan")
    x[1, 6] = float("inf")
    out = model(x, mask)
    for a, b in ((out.main, ref.main), (out.intra, ref.intra)):
        assert a is not None and b is not None
        torch.testing.assert_close(a.ca_logits, b.ca_logits)
        torch.testing.assert_close(a.cas[mask], b.cas[mask])


def test_mask_and_slots_errors_name_the_parameter() -> None:
    model = _model()
    with pytest.raises(TypeError, match=r"'mask' parameter of RSKPModel.*list"):
        model(torch.randn(5, 6), [True] * 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'memory_slots' parameter of RSKPModel"):
        RSKPModel(6, 3, memory_slots=0)
