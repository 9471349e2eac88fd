"""The tests' `kaggle`: the kit's simulated client (solution/standins/kaggle_cli.py), which `make rehearse` uses too."""

from solution.standins.kaggle_cli import SESSION_REFUSAL, calls, install

__all__ = ["SESSION_REFUSAL", "calls", "install"]
