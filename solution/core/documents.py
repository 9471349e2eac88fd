"""Reading the kit's text files (CSV tables, YAML configs, JSON) so that a broken one is one line naming it and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from solution.core.errors import UserError


def read_table(path: Path, fix: str, **read_csv_options: Any) -> pd.DataFrame:
    """A CSV file; an empty, truncated, non-UTF-8 or unparsable one raises UserError ending with `fix`."""
    try:
        return pd.read_csv(path, **read_csv_options)
    except FileNotFoundError:
        raise UserError(f"{path}: missing; {fix}") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: empty; {fix}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not a readable UTF-8 CSV ({type(error).__name__}); {fix}") from None


def read_yaml(path: Path, fix: str, text: str | None = None) -> Any:
    """A YAML document (from `text` when given, e.g. a packaged resource); broken YAML raises UserError ending with `fix`."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8") if text is None else text)
    except FileNotFoundError:
        raise UserError(f"{path}: missing; {fix}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; {fix}") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise UserError(f"{path}: not valid YAML{line} ({getattr(error, 'problem', None) or type(error).__name__}); {fix}") from None


def read_json(path: Path, fix: str) -> Any:
    """A JSON document; a missing, truncated or non-UTF-8 one raises UserError ending with `fix`."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: missing; {fix}") from None
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise UserError(f"{path}: not readable JSON ({type(error).__name__}); {fix}") from None
