"""rnnviz.language: the sampler against softmax(logits/T), determinism, training untouched; character
classes, unit ranking and shading on built data; rnnviz.plots.text escapes every character."""

from __future__ import annotations

import html
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rnnviz import language, plots
from rnnviz.config import ExperimentConfig
from rnnviz.errors import RnnvizError
from rnnviz.tasks import make_task
from rnnviz.trainer import Trainer, limit_threads

limit_threads(1)
CHARLM = ExperimentConfig(task="charlm", cell="lstm", hidden_size=16, seq_len=20, batch_size=8,
                          optimizer="adam", lr=0.01)


def softmax_ref(z, t):
    return torch.softmax(torch.tensor(z, dtype=torch.float64) / t, dim=-1).numpy()


# ------------------------------------------------------------------------------ the distribution
@pytest.mark.parametrize("t", [0.25, 0.5, 1.0, 2.0, 10.0])
def test_next_char_probs_is_softmax_of_logits_over_temperature(t):
    z = np.array([2.0, -1.0, 0.5, 0.5, 30.0, -40.0])
    np.testing.assert_allclose(language.next_char_probs(z, t), softmax_ref(z, t), rtol=1e-12, atol=1e-300)


def test_temperature_zero_is_argmax_and_small_temperatures_approach_it():
    z = np.array([0.1, 0.3, 0.29, -2.0])
    np.testing.assert_array_equal(language.next_char_probs(z, 0.0), [0, 1, 0, 0])
    assert language.next_char_probs(z, 1e-4)[1] > 0.99999
    assert language.next_char_probs(z, 0.01)[1] < language.next_char_probs(z, 1e-3)[1] < 1
    # large logits at a tiny temperature do not overflow
    np.testing.assert_allclose(language.next_char_probs(np.array([1e4, 0.0]), 1e-4), [1.0, 0.0])


@pytest.mark.parametrize("bad", [-0.1, 10.5, float("nan")])
def test_bad_temperature_is_refused_with_the_rule(bad):
    with pytest.raises(RnnvizError, match=re.escape("temperature must be a number in 0..10 (0 = greedy), got")):
        language.next_char_probs([0.0, 1.0], bad)


def test_non_finite_logits_are_refused():
    with pytest.raises(RnnvizError, match="logits must be finite to sample from, got inf or nan"):
        language.next_char_probs([0.0, np.inf], 1.0)


def test_draw_is_the_inverse_cdf_so_a_uniform_grid_of_u_hits_every_class_in_proportion():
    p = np.array([0.1, 0.0, 0.25, 0.65])
    K = 10_000
    counts = np.bincount([language.draw(p, (k + 0.5) / K) for k in range(K)], minlength=4)
    np.testing.assert_allclose(counts / K, p, atol=1 / K)
    assert counts[1] == 0  # a zero-probability class is never drawn


class FixedLogits:
    """A stand-in model whose next-character logits are always ``z`` (rnn and head as SequenceModel has)."""

    def __init__(self, z):
        self.z = torch.tensor(z, dtype=torch.float32)
        self.rnn = lambda x, state: (torch.zeros(1, x.shape[1], 1), state)
        self.head = lambda o: self.z


@pytest.mark.parametrize("t", [0.5, 1.0, 2.0])
def test_sampled_text_follows_softmax_of_logits_over_temperature(t):
    task = make_task(ExperimentConfig(task="charlm", corpus="reber", seq_len=20))
    V = task.input_size
    z = np.linspace(-2.0, 2.0, V)
    text = language.sample_text(FixedLogits(z), task, prompt="B", length=6_000, temperature=t, seed=3)
    freq = np.bincount(task.encode(text).numpy(), minlength=V) / len(text)
    p = softmax_ref(z, t)
    # 6,000 draws: each frequency within 4.5 binomial standard deviations (the draw is seeded: no flakes)
    np.testing.assert_array_less(np.abs(freq - p), 4.5 * np.sqrt(p * (1 - p) / len(text)) + 1e-12)


def test_fixed_seed_fixed_text_other_seed_other_text_and_greedy_is_the_argmax_walk():
    tr = Trainer(CHARLM)
    tr.step(30)
    prompt = language.probe_texts(tr.task, tr.probe.x[:1].numpy())[0]
    a = language.sample_text(tr.model, tr.task, prompt=prompt, temperature=1.0, seed=5, length=80)
    assert a == language.sample_text(tr.model, tr.task, prompt=prompt, temperature=1.0, seed=5, length=80)
    assert a != language.sample_text(tr.model, tr.task, prompt=prompt, temperature=1.0, seed=6, length=80)
    assert len(a) == 80 and set(a) <= set(tr.task.vocab)
    # T = 0: each character is the argmax of the model on everything read so far (no state carried by hand)
    greedy = language.sample_text(tr.model, tr.task, prompt=prompt, temperature=0.0, seed=0, length=15)
    read = prompt
    with torch.no_grad():
        for ch in greedy:
            x = torch.nn.functional.one_hot(tr.task.encode(read), tr.task.input_size).float()[None]
            assert tr.task.vocab[int(tr.model(x)[0, -1].argmax())] == ch
            read += ch
    assert greedy == language.sample_text(tr.model, tr.task, prompt=prompt, temperature=0.0, seed=99, length=15)


def test_sampling_never_changes_training_weights_batches_grads_or_the_global_rng():
    plain, sampled = Trainer(CHARLM), Trainer(CHARLM)
    plain.step(8)
    sampled.step(4)
    rng = torch.get_rng_state()
    grads = [None if p.grad is None else p.grad.clone() for p in sampled.model.parameters()]
    prompt = language.probe_texts(sampled.task, sampled.probe.x[:1].numpy())[0]
    for t in language.TEMPERATURES:
        language.sample_text(sampled.model, sampled.task, prompt=prompt, temperature=t, seed=1, length=50)
    assert torch.equal(torch.get_rng_state(), rng)
    for g, p in zip(grads, sampled.model.parameters(), strict=True):
        assert (g is None and p.grad is None) or torch.equal(g, p.grad)
    sampled.step(4)
    np.testing.assert_array_equal(plain.history.scalars["loss"], sampled.history.scalars["loss"])
    for (name, a), b in zip(plain.model.state_dict().items(), sampled.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_sampler_refuses_characters_outside_the_vocabulary_and_other_tasks():
    tr = Trainer(CHARLM)
    with pytest.raises(RnnvizError, match=re.escape("prompt must use only characters of the text the model "
                                                    "learned, got ['§']")):
        language.sample_text(tr.model, tr.task, prompt="a§", temperature=1.0)
    adding = make_task(ExperimentConfig(task="adding"))
    with pytest.raises(RnnvizError, match="text can be sampled only for the charlm task, got 'adding'"):
        language.sample_text(tr.model, adding, prompt="a")


# ------------------------------------------------------------------------------ character classes
def test_character_classes_on_built_text():
    text = 'Ab "cd" (e)\nfg.'
    v = {n: language.class_values(n, [text])[0] for n in language.CHAR_CLASSES}
    np.testing.assert_array_equal(v["vowel"], [c in "aeiouAEIOU" for c in text])
    np.testing.assert_array_equal(v["uppercase"], [1] + [0] * (len(text) - 1))
    np.testing.assert_array_equal(v["quotes"], [0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(v["brackets"], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(v["line_position"], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3])
    np.testing.assert_array_equal(v["word_position"], [1, 2, 0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 1, 2, 3])
    np.testing.assert_array_equal(v["space"], [c in " \n" for c in text])
    np.testing.assert_array_equal(v["punctuation"], [0] * 14 + [1])
    np.testing.assert_array_equal(v["sentence_position"], list(range(1, 15)) + [0])
    with pytest.raises(RnnvizError, match=re.escape("character class must be one of ['vowel', 'space'")):
        language.class_values("consonant", [text])


def test_units_that_follow_a_class_rank_first_with_their_correlation():
    rng = np.random.default_rng(0)
    texts = ["the cat sat on a mat and ate it all", "a quiet owl eats eel under oak tree"]
    vowel = language.class_values("vowel", texts)  # (P=2, L=35)
    P, L = vowel.shape
    hidden = rng.uniform(-0.3, 0.3, size=(P, L, 8))
    hidden[:, :, 5] = 0.9 * vowel - 0.45  # unit 6 follows vowels exactly
    hidden[:, :, 2] = -vowel + 0.1 * rng.standard_normal((P, L))  # unit 3 is against them, with noise
    hidden[:, :, 7] = 0.25  # unit 8 never moves
    r = language.unit_correlations(hidden, vowel)
    assert r[5] == pytest.approx(1.0) and r[2] < -0.9 and r[7] == 0.0
    ranking = language.rank_units(hidden, vowel, top=3)
    assert ranking.units[:2] == (6, 3) and ranking.r[0] == pytest.approx(1.0)
    assert 0 < ranking.chance < 0.6  # a shifted class: no unit follows it closely
    assert language.rank_units(hidden, np.zeros((P, L))).units == ()  # nothing to follow


def test_unit_ranking_refuses_mismatched_or_diverged_states():
    with pytest.raises(RnnvizError, match=re.escape("hidden must be (P, L, H) and values (P, L), got (2, 3, 4) "
                                                    "and (2, 4)")):
        language.unit_correlations(np.zeros((2, 3, 4)), np.zeros((2, 4)))
    with pytest.raises(RnnvizError, match="hidden states must be finite to rank units"):
        language.unit_correlations(np.full((1, 3, 2), np.nan), np.array([[0.0, 1.0, 0.0]]))


def record(hidden, cell=None, gates=None):
    return SimpleNamespace(hidden=hidden, cell=cell, gates=gates or {})


def test_shading_scales_per_source():
    L, H = 4, 3
    h = np.linspace(-0.5, 0.5, L * H).reshape(1, 1, 1, L, H)
    c = 3 * h
    gates = {g: np.full((1, 1, 1, L, H), 0.5) for g in "ifgo"}
    rec = record(h, c, gates)
    assert language.colour_sources(rec) == ("h", "c", "i", "f", "g", "o")
    s = language.shading(rec, "h", layer=0, direction=0, sample=0, unit=2)
    np.testing.assert_array_equal(s.values, h[0, 0, 0, :, 1])
    assert (s.lo, s.hi, s.diverging) == (-1.0, 1.0, True)
    s = language.shading(rec, "c", layer=0, direction=0, sample=0, unit=3)
    assert s.hi == pytest.approx(np.abs(c[0, 0, 0, :, 2]).max()) and s.lo == -s.hi
    assert language.shading(rec, "f", layer=0, direction=0, sample=0, unit=1).diverging is False
    assert (language.shading(rec, "g", layer=0, direction=0, sample=0, unit=1).lo) == -1.0
    stretched = language.shading(rec, "h", layer=0, direction=0, sample=0, unit=2, stretch=True)
    assert stretched.hi == pytest.approx(np.abs(h[0, 0, 0, :, 1]).max()) and stretched.lo == -stretched.hi
    gates["i"][0, 0, 0, :, 0] = [0.2, 0.3, 0.25, 0.4]
    gate = language.shading(rec, "i", layer=0, direction=0, sample=0, unit=1, stretch=True)
    assert (gate.lo, gate.hi, gate.diverging) == (0.2, 0.4, False)
    flat = language.shading(rec, "f", layer=0, direction=0, sample=0, unit=1, stretch=True)
    assert (flat.lo, flat.hi) == (0.0, 1.0)  # a constant gate keeps the fixed scale
    relu = language.shading(record(4 * h), "h", layer=0, direction=0, sample=0, unit=1, bounded=False)
    assert relu.hi == pytest.approx(2.0)
    with pytest.raises(RnnvizError, match=re.escape("unit must be an integer in 1..3, got 4")):
        language.shading(rec, "h", layer=0, direction=0, sample=0, unit=4)
    with pytest.raises(RnnvizError, match=re.escape("colour source must be one of ['h'], got 'c'")):
        language.shading(record(h), "c", layer=0, direction=0, sample=0, unit=1)


# ------------------------------------------------------------------------------ coloured text, escaped
HOSTILE = '<script>alert("x")</script> & <b onmouseover=\'y\'>:smile: www.a.io\n\t'


def test_coloured_text_escapes_every_character_and_keeps_one_span_per_character():
    values = np.linspace(-1, 1, len(HOSTILE))
    out = plots.coloured_text_html(HOSTILE, values, label='<i>"unit"</i>')
    assert "<script" not in out and "<b " not in out and "<i>" not in out and "onmouseover='" not in out
    spans = re.findall(r'<span title="([^"]*)" style="background:(rgb\(\d+,\d+,\d+\));color:#[0f]{3}">(.*?)</span>',
                       out)
    assert len(spans) == len(HOSTILE)
    shown = {"\n": "↵", "\t": "→"}
    for (tip, _, glyph), ch in zip(spans, HOSTILE, strict=True):
        assert html.unescape(glyph) == shown.get(ch, ch)
        assert "<" not in tip and '"' not in tip
    assert spans[0][1] == "rgb(33,102,172)" and spans[-1][1] == "rgb(178,24,43)"  # blue at -1, red at +1
    assert out.count("<br>") == 1  # the line break breaks the line once


def test_colour_scales_and_refusals():
    assert plots.text.value_colour(0.0, lo=-1, hi=1, diverging=True) == "rgb(255,255,255)"
    assert plots.text.value_colour(0.0, lo=0, hi=1, diverging=False) == "rgb(255,255,255)"
    assert plots.text.value_colour(1.0, lo=0, hi=1, diverging=False) == "rgb(0,109,44)"
    assert plots.text.value_colour(5.0, lo=-1, hi=1, diverging=True) == "rgb(178,24,43)"  # clipped
    assert plots.text.value_colour(np.nan, lo=-1, hi=1, diverging=True) == "rgb(170,170,170)"
    with pytest.raises(RnnvizError, match=re.escape("values must have one number per character (3), got 2")):
        plots.coloured_text_html("abc", [0.0, 1.0])
    key = plots.colour_key_html(lo=-1, hi=1, diverging=True, label="<h> unit 1")
    assert "&lt;h&gt; unit 1" in key and key.count("<span") == 3


def test_generated_text_is_escaped_too():
    out = plots.generated_text_html("prompt<", HOSTILE)
    assert "<script" not in out and "&lt;script&gt;" in out and "prompt&lt;" in out
    assert out.count("↵<br>") == 1
