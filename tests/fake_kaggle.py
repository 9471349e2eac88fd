"""The tests' `kaggle`: the kit's simulated client (solution/kaggle/simulated_kaggle.py), which `make rehearse` uses too."""

from solution.kaggle.simulated_kaggle import SESSION_REFUSAL, calls, install

__all__ = ["SESSION_REFUSAL", "calls", "install"]
