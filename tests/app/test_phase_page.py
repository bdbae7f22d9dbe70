"""The Phase diagram page through AppTest: the default grid's numbers, refusals, the picker, the training tab."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_no_exception, figure, open_app, session, values

from rnnviz.config import ExperimentConfig
from rnnviz.sweep import init_stats
from rnnviz.sweep.phase import trained_stats
from rnnviz.trainer import limit_threads

limit_threads(1)
PAGE = "pages/phase_diagram.py"
SMALL = {"init": "scaled", "rho": "0.9", "hidden_size": "16", "batch_size": "8", "seq_len": "20"}
BASE = ExperimentConfig(init="scaled", rho=0.9, hidden_size=16, batch_size=8, seq_len=20)
HEATMAP = "Gradient ratio ||dL/dh_1|| / ||dL/dh_T|| at initialisation"


def errors(at) -> list[str]:
    """The distinct error messages (a grid error shows in both tabs)."""
    return list(dict.fromkeys(e.value for e in at.error))


def test_default_grid_is_rho_by_length_with_the_medians_of_three_seeds():
    at = open_app(SMALL, PAGE)
    assert errors(at) == []
    fig = figure(at, HEATMAP)
    assert "median of 3 seeds" in fig["layout"]["title"]["text"]
    rhos = [float(v) for v in np.linspace(0.5, 2.0, 16)]  # as parse_axis spaces them
    lengths = list(range(20, 201, 20))
    assert fig["layout"]["yaxis"]["ticktext"][:3] == ["0.5", "0.7", "0.9"]  # every 2nd of 16
    assert fig["layout"]["xaxis"]["ticktext"] == [str(v) for v in lengths]
    configs = [BASE.replace(rho=r, seq_len=L, seed=s) for r in rhos for L in lengths for s in range(3)]
    medians = np.median(np.array([st.grad_ratio for st in init_stats(configs)]).reshape(16, 10, 3), axis=2)
    z = values(fig["data"][0]["z"]).astype(float).reshape(16, 10)
    ok = medians > 0
    np.testing.assert_allclose(z[ok], np.log10(medians[ok]), rtol=1e-5)
    assert np.isnan(z[~ok]).all()
    names = [t.get("name", "") for t in fig["data"]]
    assert any(n.startswith("σ_max·γ = 1") for n in names) and any(n.startswith("ρ·γ = 1") for n in names)
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Below the solid line σ_max(W_hh)·γ < 1 (median over the seeds): that bounds every "
                            "backward step") for c in captions)
    assert any("python -m rnnviz sweep" in c and "--grid rho=0.5:2:16 --grid seq_len=20:200:10 --seeds 3" in c
               for c in captions)


def test_bad_grid_values_give_a_clear_message_and_the_page_keeps_running():
    at = open_app(SMALL, PAGE)
    at.number_input(key="phase.y.lo").set_value(3.0).run()
    assert_no_exception(at)
    assert errors(at) == ["Spectral radius ρ: 'from' must be below 'to', got from=3, to=2"]
    at.number_input(key="phase.y.lo").set_value(12.0).run()
    assert errors(at) == ["Spectral radius ρ: 'from' must be a number in 0.0..10.0, got 12.0"]
    at.number_input(key="phase.y.lo").set_value(1.0).run()
    assert errors(at) == []
    assert figure(at, HEATMAP)["layout"]["yaxis"]["ticktext"][0] == "1"


def test_rho_only_acts_with_the_scaled_init():
    at = open_app({"hidden_size": "16", "batch_size": "8"}, PAGE)
    assert at.selectbox(key="phase.y.field").value == "hidden_size"
    assert errors(at) == []
    at.selectbox(key="phase.y.field").set_value("rho").run()
    assert_no_exception(at)
    assert errors(at)[0].startswith("Spectral radius ρ only matters when Initialisation of W_hh is scaled to "
                                    "spectral radius ρ, got Initialisation of W_hh = PyTorch default")
    assert (at.number_input(key="phase.y.lo").value, at.number_input(key="phase.y.hi").value) == (0.5, 2.0)


def test_the_picker_opens_the_cell_in_the_playground():
    at = open_app(SMALL, PAGE)
    at.selectbox(key="phase.init.pick.y").set_value(7)
    at.selectbox(key="phase.init.pick.x").set_value(3)
    at.button(key="phase.init.open").click().run()
    assert_no_exception(at)
    config = session(at).live_config
    assert config == BASE.replace(rho=float(np.linspace(0.5, 2.0, 16)[7]), seq_len=80)
    assert at.query_params["seq_len"] == "80" and float(at.query_params["rho"]) == config.rho
    assert session(at).current_step == 0
    assert [m.label for m in at.metric][:1] == ["Step"]  # the Playground's status bar


def test_a_locked_field_is_not_changed_by_a_pick():
    at = open_app({**SMALL, "lock": "rho"}, PAGE)
    at.button(key="phase.init.open").click().run()
    assert errors(at) == ["this cell would change rho, which the instructor locked; kept the current settings"]
    assert session(at).live_config == BASE


def test_the_training_tab_trains_on_demand_and_shows_the_ratio_at_step_k():
    at = open_app(SMALL, PAGE)
    assert len([t for t in at.get("plotly_chart")]) == 1  # nothing trained before asked
    at.number_input(key="phase.train.ny").set_value(2)
    at.number_input(key="phase.train.nx").set_value(2)
    at.number_input(key="phase.train.steps").set_value(3).run()
    at.button(key="phase.train.go").click().run()
    assert_no_exception(at)
    fig = figure(at, "after 3 training steps")
    z = values(fig["data"][0]["z"]).astype(float).reshape(2, 2)
    for i, rho in enumerate((0.5, 2.0)):
        for j, L in enumerate((20, 200)):
            st, diverged = trained_stats(BASE.replace(rho=rho, seq_len=L), 3)
            assert not diverged
            if st.grad_ratio > 0:
                assert z[i, j] == pytest.approx(np.log10(st.grad_ratio), rel=1e-9)
            else:
                assert np.isnan(z[i, j])
    at.run()  # cached: shown again without asking
    figure(at, "after 3 training steps")


def test_a_large_grid_at_init_waits_for_its_button(monkeypatch):
    import ui.phase

    monkeypatch.setattr(ui.phase, "AUTO_SECONDS", 0.0)
    at = open_app({**SMALL, "seed": "4"}, PAGE)  # a grid no other test computed
    assert at.get("plotly_chart") == [] or not any(HEATMAP in str(c.proto.spec) for c in at.get("plotly_chart"))
    assert at.button(key="phase.init.go").label == "Compute the grid: 480 runs (a large one: it takes a while)"
    at.button(key="phase.init.go").click().run()
    assert_no_exception(at)
    fig = figure(at, HEATMAP)
    you = [t for t in fig["data"] if t.get("name") == "your run"]
    assert len(you) == 1 and you[0]["x"] == [0.0] and you[0]["y"] == [pytest.approx(4.0)]  # seq_len 20, rho 0.9


# ------------------------------------------------------------------------------- through the gate
def _grid(seed: int):
    from rnnviz.sweep.phase import AxisChoice, phase_grid

    return phase_grid(BASE.replace(seed=seed), AxisChoice("rho", 0.5, 1.0, 2), AxisChoice("seq_len", 5, 10, 2))


def test_every_slice_is_computed_inside_a_training_slot(monkeypatch):
    import ui.phase
    from rnnviz.capacity import TrainingGate

    gate = TrainingGate(1)
    monkeypatch.setattr(ui.phase, "training_gate", lambda: gate)
    monkeypatch.setattr(ui.phase, "COMPUTE_WAIT_SECONDS", 0.1)
    assert gate.acquire("someone else")  # the server's only slot is taken
    with pytest.raises(Exception) as e:
        ui.phase.compute(_grid(11), None, "me")
    assert str(e.value) == ("the phase grid must wait for one of the server's 1 training slot(s), got none free "
                            "within 0.1 s (the server is busy); what is done is kept: open the page again to go on")
    gate.release("someone else")
    table = ui.phase.compute(_grid(11), None, "me")
    assert table.ratio.shape == (2, 2) and gate.usage("me") > 0


def test_a_session_waits_for_a_grid_another_is_computing_without_holding_a_slot(monkeypatch):
    import threading

    import ui.phase
    from rnnviz.capacity import TrainingGate

    gate = TrainingGate(1)
    monkeypatch.setattr(ui.phase, "training_gate", lambda: gate)
    grid = _grid(12)
    job = ui.phase.shared_jobs().get((grid.key, None), lambda: ui.phase.PhaseJob(grid))
    job.lock.acquire()  # "another session" is inside run_next
    out = {}
    waiter = threading.Thread(target=lambda: out.setdefault("table", ui.phase.compute(grid, None, "waiter")),
                              daemon=True)
    try:
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive() and gate.active == 0 and gate.usage("waiter") == 0
    finally:
        job.lock.release()
    waiter.join()
    assert out["table"].ratio.shape == (2, 2) and job.done and gate.usage("waiter") > 0
