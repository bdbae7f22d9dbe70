"""rnnviz.analysis against hand-computed values and NumPy references."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz import analysis, cells
from rnnviz.errors import RnnvizError

# ---------------------------------------------------------------- saturation


def test_saturation_counts_fractions_by_hand():
    values = np.array([0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0, 0.3])  # below: 0, .05; above: .95, 1
    assert analysis.saturation(values) == (2 / 8, 2 / 8)


def test_saturation_custom_thresholds_and_any_shape():
    values = np.array([[0.2, 0.4], [0.6, 0.8]])
    assert analysis.saturation(values, low=0.5, high=0.7) == (0.5, 0.25)


def test_saturation_ignores_non_finite_and_empty_is_nan():
    assert analysis.saturation(np.array([0.0, np.nan, 1.0, np.inf])) == (0.5, 0.5)
    below, above = analysis.saturation(np.array([np.nan]))
    assert math.isnan(below) and math.isnan(above)


def test_saturation_rejects_inverted_thresholds():
    with pytest.raises(RnnvizError, match="low < high"):
        analysis.saturation(np.zeros(3), low=0.9, high=0.1)


# ---------------------------------------------------------------- spectrum


def test_spectra_of_a_rotation_times_scale():
    theta = 0.3
    W = 0.9 * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    sv, ev = analysis.spectra(W)
    np.testing.assert_allclose(sv, [0.9, 0.9])
    np.testing.assert_allclose(ev, 0.9 * np.exp([-0.3j, 0.3j]))  # equal moduli: sorted by angle


def test_spectra_of_non_normal_matrix_separates_radius_and_norm():
    W = np.array([[0.5, 2.0], [0.0, 0.5]])  # eigenvalues 0.5, 0.5; ||W||_2 larger
    sv, ev = analysis.spectra(W)
    assert np.abs(ev[0]) == pytest.approx(0.5)
    assert sv[0] == pytest.approx(np.linalg.norm(W, 2))
    assert sv[0] > 2.0


def test_spectra_match_numpy_on_a_random_stack_sorted():
    W = np.random.default_rng(0).normal(size=(2, 3, 6, 6))
    sv, ev = analysis.spectra(W)
    assert sv.shape == ev.shape == (2, 3, 6)
    np.testing.assert_allclose(sv, np.linalg.svd(W, compute_uv=False))
    assert np.all(np.diff(np.abs(ev), axis=-1) <= 1e-12)
    np.testing.assert_allclose(np.sort_complex(ev), np.sort_complex(np.linalg.eigvals(W)))


def test_spectra_rejects_non_square_and_gives_nan_for_non_finite_blocks():
    with pytest.raises(RnnvizError, match=r"^spectra needs square matrices \(\.\.\., H, H\), got shape \(8, 2\)$"):
        analysis.spectra(np.zeros((8, 2)))
    W = np.stack([np.eye(2), np.array([[np.inf, 0], [0, 1]])])
    sv, ev = analysis.spectra(W)
    np.testing.assert_allclose(sv[0], [1, 1])
    assert np.isnan(sv[1]).all() and np.isnan(ev[1]).all()


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_whh_spectra_follow_the_gate_blocks_of_every_layer_and_direction(cell):
    import torch

    from rnnviz import cells

    c = cells.get(cell)
    rnn = getattr(torch.nn, c.torch_class)(3, 4, num_layers=2, bidirectional=True, **c.torch_kwargs)
    with torch.no_grad():
        rnn.weight_hh_l1_reverse.copy_(torch.cat([torch.eye(4) * (k + 1) for k in range(len(c.blocks))]))
    sv, ev = analysis.whh_spectra(rnn)
    assert sv.shape == ev.shape == (2, 2, len(c.blocks), 4)
    assert sv.dtype == np.float32 and ev.dtype == np.complex64
    np.testing.assert_allclose(sv[1, 1, :, 0], np.arange(1, len(c.blocks) + 1))  # block k = (k+1) I
    W = rnn.weight_hh_l0.detach().double().numpy()[:4]  # first gate block, layer 0 forward
    np.testing.assert_allclose(sv[0, 0, 0], np.linalg.svd(W, compute_uv=False), rtol=1e-5)


def test_the_sigmoid_bound_of_the_nonlinearity_table():
    assert analysis.NONLINEARITY_GAMMA == {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}


# ---------------------------------------------------------------- theory bound


def test_theory_bound_values_by_hand():
    np.testing.assert_allclose(analysis.theory_bound(0.5, 1.0, 4), [0.125, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(analysis.theory_bound(2.0, 0.25, 3), [0.25, 0.5, 1.0])  # sigmoid
    np.testing.assert_allclose(analysis.theory_bound(0.0, 1.0, 3), [0.0, 0.0, 1.0])


def test_theory_bound_saturates_without_warnings():
    with np.errstate(all="raise"):
        big = analysis.theory_bound(3.0, 1.0, 1000)
        small = analysis.theory_bound(0.1, 1.0, 1000)
    assert np.isinf(big[0]) and big[-1] == 1.0
    assert small[0] == 0.0 and small[-2] == pytest.approx(0.1)


def test_theory_bound_rejects_bad_arguments():
    with pytest.raises(RnnvizError, match="L >= 1"):
        analysis.theory_bound(1.0, 1.0, 0)
    with pytest.raises(RnnvizError):
        analysis.theory_bound(-1.0, 1.0, 5)


def test_example_jacobian_powers_is_the_spectral_norm_of_a_real_matrix_power():
    sigma, rho = 1.7, 0.9  # rho < 1 < sigma_max: the product grows for a while, then shrinks at rate rho
    c = sigma - rho**2 / sigma
    W = np.array([[rho, c], [0.0, rho]])
    got = analysis.example_jacobian_powers(sigma, rho, 200, gamma=0.5)
    want = [0.5**n * np.linalg.norm(np.linalg.matrix_power(W, n), 2) for n in range(201)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    plain = analysis.example_jacobian_powers(sigma, rho, 200)
    assert plain[1] == pytest.approx(sigma) and plain.max() > 1 > plain[-1]
    assert plain[200] ** (1 / 200) == pytest.approx(rho, rel=0.05)  # Gelfand: the long-run rate is rho
    with pytest.raises(RnnvizError, match="sigma_max >= rho >= 0"):
        analysis.example_jacobian_powers(0.5, 0.9, 10)


def test_jacobian_product_reads_the_bound_forwards():
    np.testing.assert_allclose(analysis.jacobian_product(0.5, 3), [1.0, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(analysis.jacobian_product(2.0, 2, gamma=0.25), [1.0, 0.5, 0.25])


# ---------------------------------------------------------------- gradient ratio / verdict


def test_gradient_ratio_first_over_last():
    assert analysis.gradient_ratio(np.array([1e-7, 0.5, 1.0])) == pytest.approx(1e-7)
    assert analysis.gradient_ratio(np.array([30.0, 3.0], dtype=np.float32)) == pytest.approx(10.0)


@pytest.mark.parametrize(
    "norms, expected",
    [
        ([np.nan, 1.0], math.nan),
        ([1.0, np.inf], math.nan),
        ([0.0, 0.0], math.nan),
        ([1.0, 0.0], math.inf),
        ([0.0, 1.0], 0.0),
    ],
)
def test_gradient_ratio_edge_cases(norms, expected):
    ratio = analysis.gradient_ratio(np.array(norms))
    assert (math.isnan(ratio) and math.isnan(expected)) or ratio == expected


def test_gradient_ratio_rejects_wrong_shape():
    with pytest.raises(RnnvizError, match="1-D"):
        analysis.gradient_ratio(np.ones((2, 3)))


@pytest.mark.parametrize(
    "ratio, text", [(1e-7, "1e-7"), (3e13, "3e13"), (0.3, "0.3"), (12.0, "12"), (0.0, "0")]
)
def test_format_ratio(ratio, text):
    assert analysis.format_ratio(ratio) == text


def test_vanishing_verdict_lines():
    assert analysis.vanishing_verdict("RNN", np.array([1e-7, 1.0])) == (
        "RNN: gradient at t=1 is 1e-7 of t=T (vanishing)"
    )
    assert analysis.vanishing_verdict("LSTM", np.array([0.3, 1.0])).endswith("0.3 of t=T (preserved)")
    assert "exploding" in analysis.vanishing_verdict("RNN", np.array([1e13, 1.0]))
    assert "diverged" in analysis.vanishing_verdict("GRU", np.array([np.nan, 1.0]))
    assert "no gradient" in analysis.vanishing_verdict("GRU", np.array([0.0, 0.0]))


# ---------------------------------------------------------------- PCA


def _reference_pca(X, k):
    Xc = X - X.mean(axis=0)
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    return Xc @ Vt[:k].T, S[:k] ** 2 / np.sum(S**2)


def test_pca_matches_numpy_svd_up_to_sign():
    X = np.random.default_rng(1).normal(size=(20, 5)) * [5, 3, 1, 0.5, 0.1]
    proj, ratio = analysis.pca_trajectory(X, k=3)
    ref_proj, ref_ratio = _reference_pca(X, 3)
    np.testing.assert_allclose(ratio, ref_ratio)
    np.testing.assert_allclose(np.abs(proj), np.abs(ref_proj), atol=1e-10)


def test_pca_sign_convention_is_deterministic():
    X = np.random.default_rng(2).normal(size=(15, 4))
    a, _ = analysis.pca_trajectory(X)
    b, _ = analysis.pca_trajectory(-X)  # flipped data -> same basis, flipped coordinates
    np.testing.assert_allclose(a, -b, atol=1e-10)


def test_pca_batched_shape_and_shared_basis():
    rng = np.random.default_rng(3)
    hidden = rng.normal(size=(4, 10, 6))
    proj, ratio = analysis.pca_trajectory(hidden, k=2)
    assert proj.shape == (4, 10, 2) and ratio.shape == (2,)
    flat, _ = analysis.pca_trajectory(hidden.reshape(40, 6), k=2)
    np.testing.assert_allclose(proj.reshape(40, 2), flat)


def test_pca_line_has_one_component():
    t = np.linspace(0, 1, 10)
    X = np.stack([t, 2 * t], axis=1)
    proj, ratio = analysis.pca_trajectory(X, k=2)
    np.testing.assert_allclose(ratio, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(proj[:, 0], (t - t.mean()) * np.sqrt(5))


def test_pca_small_hidden_and_non_finite_rows():
    X = np.array([[0.0], [1.0], [np.nan], [2.0]])
    proj, ratio = analysis.pca_trajectory(X, k=3)
    assert proj.shape == (4, 3)
    assert np.all(np.isnan(proj[2]))
    np.testing.assert_allclose(proj[[0, 1, 3], 0], [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(proj[[0, 1, 3], 1:], 0.0)
    np.testing.assert_allclose(ratio, [1.0, 0.0, 0.0])


def test_pca_constant_and_bad_arguments():
    proj, ratio = analysis.pca_trajectory(np.ones((5, 3)))
    np.testing.assert_array_equal(proj, 0.0)
    np.testing.assert_array_equal(ratio, 0.0)
    with pytest.raises(RnnvizError, match="k must be 2 or 3"):
        analysis.pca_trajectory(np.ones((5, 3)), k=4)
    with pytest.raises(RnnvizError, match="shape"):
        analysis.pca_trajectory(np.ones(5))


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 12), st.integers(2, 6), st.integers(0, 10_000))
def test_pca_ratio_is_a_partial_sum_of_one(L, H, seed):
    X = np.random.default_rng(seed).normal(size=(L, H))
    _, ratio = analysis.pca_trajectory(X, k=2)
    assert np.all(ratio >= 0) and ratio.sum() <= 1 + 1e-12
    assert ratio[0] >= ratio[1]


# ---------------------------------------------------------------- widget maths


def test_clip_by_norm_rescales_only_above_threshold():
    out = analysis.clip_by_norm(np.array([3.0, 4.0]), 1.0)
    np.testing.assert_allclose(out.clipped, [0.6, 0.8])
    assert out.norm == 5.0 and out.scale == pytest.approx(0.2)
    same = analysis.clip_by_norm(np.array([0.3, 0.4]), 1.0)
    np.testing.assert_array_equal(same.clipped, [0.3, 0.4])
    assert same.scale == 1.0
    assert math.isnan(analysis.clip_by_norm(np.array([np.inf, 0.0]), 1.0).scale)
    with pytest.raises(RnnvizError, match="> 0"):
        analysis.clip_by_norm(np.ones(2), 0.0)


def test_nonlinearity_slopes_respect_gamma():
    x = np.linspace(-50, 50, 2001)
    curves = analysis.nonlinearity_curves(x)
    for name, c in curves.items():
        assert np.all(np.isfinite(c["value"]))
        assert c["slope"].max() == pytest.approx(analysis.NONLINEARITY_GAMMA[name])
    np.testing.assert_allclose(curves["sigmoid"]["value"][1000], 0.5)


def test_jacobian_norms_is_lazy():
    # analysis imports without torch or rnnviz.jacobian; the name exists either way.
    assert callable(analysis.jacobian_norms)


def test_measured_jacobian_norms_respect_the_pascanu_bound():
    """The theory line is a true upper bound on what rnnviz.jacobian measures (tanh RNN)."""
    import torch  # a dependency of rnnviz: a missing torch is a failure here, not a skip

    torch.manual_seed(0)
    rnn = torch.nn.RNN(3, 8, batch_first=True).double()
    x = torch.randn(1, 12, 3, dtype=torch.float64)
    measured = analysis.jacobian_norms(rnn, x).hidden  # (L,) ||dh_T/dh_t||_2
    sv, _ = analysis.spectra(rnn.weight_hh_l0.detach().numpy())
    bound = analysis.theory_bound(sv[0], cells.get("rnn_tanh").gamma, 12)
    assert measured.shape == bound.shape == (12,)
    assert measured[-1] == pytest.approx(1.0)
    assert np.all(measured <= bound * (1 + 1e-9))
