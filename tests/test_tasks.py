"""Tasks: shapes, determinism, and every stated baseline MEASURED on >= 10,000 sequences."""

import math

import numpy as np
import pytest
import torch

from rnnviz.config import TASKS, ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.tasks import TASK_CLASSES, Batch, CharLMTask, embedded_reber, load_sample_series, make_task

M = 10_000  # sequences for every measured baseline


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def cfg(task, **kw):
    return ExperimentConfig(task=task, **kw)


def test_registry_matches_config_choices():
    assert set(TASK_CLASSES) == set(TASKS)


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("seq_len", [2, 3, 37])
def test_shapes_dtypes_and_contract(name, seq_len):
    c = cfg(name, seq_len=seq_len, parity_bits=min(2, seq_len))
    task = make_task(c)
    assert task.name == name and task.title and task.describe().strip()
    assert task.kind in ("regression", "classification") and task.metric_name
    assert task.length == c.length
    assert math.isfinite(task.baseline_loss) and math.isfinite(task.baseline_metric)
    b = task.sample(5, gen())
    assert isinstance(b, Batch)
    N, L, I, O = 5, c.length, task.input_size, task.output_size
    assert b.x.shape == (N, L, I) and b.x.dtype == torch.float32
    assert b.mask.shape == (N, L) and b.mask.dtype == torch.bool and b.mask.any()
    if task.kind == "regression":
        assert b.y.shape == (N, L, O) and b.y.dtype == torch.float32
    else:
        assert b.y.shape == (N, L) and b.y.dtype == torch.int64
        assert int(b.y.min()) >= 0 and int(b.y.max()) < O
    pred = torch.zeros(N, L, O, requires_grad=True)
    loss = task.loss(pred, b)
    assert loss.shape == () and torch.isfinite(loss)
    loss.backward()
    assert isinstance(task.metric(pred.detach(), b), float)
    with pytest.raises(RnnvizError, match="pred must have shape"):
        task.loss(torch.zeros(N, L, O + 1), b)


@pytest.mark.parametrize("name", TASKS)
def test_deterministic_under_same_generator_seed(name):
    task = make_task(cfg(name))
    a, b, c = task.sample(8, gen(3)), task.sample(8, gen(3)), task.sample(8, gen(4))
    for f in ("x", "y", "mask"):
        assert torch.equal(getattr(a, f), getattr(b, f))
    assert not torch.equal(a.x, c.x)
    # the global RNG is neither used nor advanced
    state = torch.random.get_rng_state()
    task.sample(4, gen(0))
    assert torch.equal(state, torch.random.get_rng_state())


def test_sample_validates_arguments():
    task = make_task(cfg("adding"))
    with pytest.raises(RnnvizError, match="n must be a positive integer"):
        task.sample(0, gen())
    with pytest.raises(RnnvizError, match="generator must be a torch.Generator"):
        task.sample(3, 0)


# ------------------------------------------------------------------------------------------------
# Measured baselines
# ------------------------------------------------------------------------------------------------


def test_adding_baseline_predicting_one():
    task = make_task(cfg("adding", seq_len=100))
    b = task.sample(M, gen())
    assert b.mask.sum() == M and b.mask[:, -1].all()
    assert torch.equal(b.x[:, :, 1].sum(1), torch.full((M,), 2.0))  # two markers
    L = 100
    assert (b.x[:, : L // 2, 1].sum(1) == 1).all() and (b.x[:, L // 2 :, 1].sum(1) == 1).all()
    pred = torch.ones(M, L, 1)
    mse = task.loss(pred, b).item()
    assert task.baseline_loss == pytest.approx(1 / 6)
    assert mse == pytest.approx(1 / 6, abs=0.01)  # sd of the estimate ~0.002
    assert task.metric(pred, b) == pytest.approx(task.baseline_metric, abs=0.01)  # 0.0784
    # a perfect predictor scores 0 and accuracy 1
    assert task.loss(b.y, b).item() == 0.0 and task.metric(b.y, b) == 1.0


@pytest.mark.parametrize("T", [10, 100])
def test_copy_layout_and_no_memory_baseline(T):
    task = make_task(cfg("copy", seq_len=T))
    b = task.sample(M, gen())
    L = T + 20
    inp = b.x.argmax(-1)  # (N, L)
    assert b.x.shape == (M, L, 10)
    assert ((inp[:, :10] >= 1) & (inp[:, :10] <= 8)).all()
    assert (inp[:, 10 : T + 9] == 0).all() and (inp[:, T + 9] == 9).all() and (inp[:, T + 10 :] == 0).all()
    assert (b.y[:, : T + 10] == 0).all() and torch.equal(b.y[:, -10:], inp[:, :10])
    # the no-memory predictor: certain blank for T+10 steps, uniform over the 8 symbols after
    pred = torch.full((M, L, 9), -1e4)
    pred[:, : T + 10, 0] = 0.0
    pred[:, T + 10 :, 1:] = 0.0
    ce = task.loss(pred, b).item()
    assert task.baseline_loss == pytest.approx(10 * math.log(8) / (T + 20))
    assert ce == pytest.approx(task.baseline_loss, rel=1e-4)
    rand = torch.randn(M, L, 9, generator=gen(1))
    rand[..., 0] = -1e4  # a random guess among the 8 symbols
    assert task.metric(rand, b) == pytest.approx(task.baseline_metric, abs=0.01)  # 1/8


def test_temporal_order_constant_prediction_has_75_percent_error():
    task = make_task(cfg("temporal_order", seq_len=100))
    b = task.sample(M, gen())
    sym = b.x.argmax(-1)
    assert ((sym >= 4).sum(1) == 2).all()  # exactly two markers X/Y
    (a1, b1), (a2, b2) = task.positions()
    assert (a1, b1, a2, b2) == (10, 20, 50, 60)
    for k in range(4):
        pred = torch.zeros(M, 100, 4)
        pred[:, -1, k] = 1.0
        error = 1.0 - task.metric(pred, b)
        assert error == pytest.approx(0.75, abs=0.015)
    assert task.loss(torch.zeros(M, 100, 4), b).item() == pytest.approx(math.log(4), rel=1e-6)
    # the class is readable from the two markers: decode it as an oracle
    marks = (sym >= 4).nonzero()[:, 1].view(M, 2)
    first, second = sym.gather(1, marks).unbind(1)
    assert torch.equal(b.y[:, -1], 2 * (first - 4) + (second - 4))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_parity_labels_and_chance(k):
    task = make_task(cfg("parity", seq_len=20, parity_bits=k))
    b = task.sample(M, gen())
    bits = (b.x[:, :, 0] > 0).long()
    assert torch.equal(b.y[:, -1], bits[:, :k].sum(1) % 2)
    assert (b.x[:, :k, 1] == 1).all() and (b.x[:, k:, 1] == 0).all()
    pred = torch.zeros(M, 20, 2)
    pred[:, -1, 1] = 1.0
    assert task.metric(pred, b) == pytest.approx(0.5, abs=0.015)
    assert task.loss(torch.zeros(M, 20, 2), b).item() == pytest.approx(math.log(2), rel=1e-6)


@pytest.mark.parametrize("noise, waves", [(0.1, 2), (0.5, 1), (0.0, 5)])
def test_sine_predicting_zero_costs_one_plus_noise_squared(noise, waves):
    task = make_task(cfg("sine", seq_len=50, noise=noise, n_waves=waves))
    b = task.sample(M, gen())
    assert torch.equal(b.x[:, 1:], b.y[:, :-1])  # the target is the next input
    zero = torch.zeros(M, 50, 1)
    assert task.loss(zero, b).item() == pytest.approx(1 + noise**2, rel=0.03)
    assert task.metric(zero, b) == pytest.approx(0.0, abs=0.03)


def test_charlm_uniform_baseline_and_shipped_corpora():
    for corpus in ("notes", "reber"):
        task = make_task(cfg("charlm", seq_len=30, corpus=corpus))
        V = task.input_size
        assert task.baseline_loss == pytest.approx(math.log(V)) and task.output_size == V
        b = task.sample(M, gen())
        assert torch.equal(b.x[:, 1:].argmax(-1), b.y[:, :-1])  # next character
        assert task.loss(torch.zeros(M, 30, V), b).item() == pytest.approx(math.log(V), rel=1e-5)
        rand = torch.randn(M, 30, V, generator=gen(1))
        assert task.metric(rand, b) == pytest.approx(1 / V, abs=0.01)
        # windows decode back to real substrings of the corpus
        s = task.decode(b.x[0].argmax(-1)) + task.decode(b.y[0, -1:])
        assert s in task.text
    reber = make_task(cfg("charlm", corpus="reber"))
    assert set(reber.vocab) == set("BTPSXVE\n")


def test_shipped_reber_file_is_the_grammar():
    task = make_task(cfg("charlm", corpus="reber"))
    lines = task.text.strip("\n").split("\n")
    assert lines == embedded_reber(len(lines), seed=0)
    for s in lines:  # embedded: the second symbol comes back second-to-last
        assert s[0] == "B" and s[-1] == "E" and s[1] == s[-2] and s[1] in "TP"


def test_charlm_user_text_and_validation():
    task = make_task(cfg("charlm", seq_len=5), data="hello world, hello rnn")
    assert task.vocab == sorted(set("hello world, hello rnn")) and task.source == "your text"
    assert task.decode(task.encode("hello")) == "hello"
    with pytest.raises(RnnvizError, match="data must contain some text"):
        make_task(cfg("charlm"), data="   ")
    with pytest.raises(RnnvizError, match=r"data must have at least seq_len \+ 1 = 51 characters.*got 5"):
        make_task(cfg("charlm", seq_len=50), data="hello")
    with pytest.raises(RnnvizError, match="at most 256 distinct characters"):
        make_task(cfg("charlm", seq_len=5), data="".join(chr(0x100 + i) for i in range(300)))
    with pytest.raises(RnnvizError, match="data must be a str"):
        make_task(cfg("charlm"), data=b"bytes")
    with pytest.raises(RnnvizError, match="at least 2 distinct"):
        make_task(cfg("charlm", seq_len=5), data="aaaaaaaaaa")
    assert CharLMTask.max_chars >= 1_000_000


def test_csv_normalised_windows_and_exact_baseline():
    series = load_sample_series()
    assert series.ndim == 2 and series.shape[1] == 2 and len(series) >= 500
    task = make_task(cfg("csv", seq_len=24))  # data=None: the shipped sample
    assert "sample" in task.source and task.input_size == task.output_size == 2
    z = task.series.numpy()
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-5)
    b = task.sample(M, gen())
    assert torch.equal(b.x[:, 1:], b.y[:, :-1])
    measured = task.loss(torch.zeros(M, 24, 2), b).item()
    assert measured == pytest.approx(task.baseline_loss, rel=0.02)
    assert 0.8 < task.baseline_loss < 1.2


def test_csv_user_data_and_validation():
    rng = np.random.default_rng(0)
    data = np.cumsum(rng.normal(size=(200, 3)), 0)
    task = make_task(cfg("csv", seq_len=10), data=data)
    assert task.input_size == 3 and task.series.shape == (200, 3) and task.source == "your series"
    one = make_task(cfg("csv", seq_len=10), data=data[:, 0])  # 1-D: one column
    assert one.input_size == 1
    bad = [
        (np.zeros((0, 2)), "data must not be empty"),
        (np.ones((100, 2)), "no constant column.*column 0 constant at 1"),
        (np.where(np.arange(200)[:, None] == 7, np.nan, data), "finite.*row 7, column 0"),
        (data[:5], r"at least seq_len \+ 1 = 11 rows.*5 rows"),
        (rng.normal(size=(50, 40)), "at most 32 columns.*40"),
        (rng.normal(size=(4, 5, 6)), "2-D array"),
        ([["a", "b"]], "2-D array of numbers"),
    ]
    for arr, msg in bad:
        with pytest.raises(RnnvizError, match=msg):
            make_task(cfg("csv", seq_len=10), data=arr)


def test_tasks_without_data_reject_data():
    with pytest.raises(RnnvizError, match="data must be None for task 'adding'"):
        make_task(cfg("adding"), data="text")


def test_every_task_names_its_inputs_for_the_input_strip():
    for name in TASKS:
        task = make_task(ExperimentConfig(task=name, seq_len=20))
        names, symbols = task.input_names, task.symbols
        assert len(names) == task.input_size or len(symbols) == task.input_size or name == "csv", name
    assert make_task(ExperimentConfig(task="adding")).input_names == ("value", "marker")
    assert make_task(ExperimentConfig(task="copy")).symbols[1:9] == tuple("12345678")
    charlm = make_task(ExperimentConfig(task="charlm", seq_len=4), data="ab a\n")
    assert charlm.symbols == ("↵", "·", "a", "b")  # sorted vocabulary: "\n", " ", "a", "b"
