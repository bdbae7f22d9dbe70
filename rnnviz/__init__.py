"""rnnviz: exact, fast recording and visualisation of RNN, LSTM and GRU internals.

Public API (heavy modules such as torch are imported lazily, on first use)::

    from rnnviz import trace, RnnvizError
    tr = trace(module, x, loss_fn)      # hidden states, gates, dL/dh_t, ...
"""

from rnnviz.errors import RnnvizError

__all__ = ["RnnvizError", "trace", "Trace", "ExperimentConfig", "Trainer"]

_LAZY = {
    "trace": ("rnnviz.trace", "trace"),
    "Trace": ("rnnviz.trace", "Trace"),
    "ExperimentConfig": ("rnnviz.config", "ExperimentConfig"),
    "Trainer": ("rnnviz.trainer", "Trainer"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")
