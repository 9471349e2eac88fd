"""Keras model files from elsewhere, loaded safely: a layer that would run code (Lambda, an unknown class) is refused
before any of it runs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from solution.core.errors import UserError

KERAS_CONFIG = "config.json"  # inside a .keras archive: the layers to build


def foreign_layers(path: Path) -> list[str]:
    """The layers of a .keras file that would run code of its own when loaded: Lambda layers (their Python bytecode
    is in the file) and classes neither Keras nor this kit registers. Read from its config.json, nothing built."""

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read(KERAS_CONFIG))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise UserError(f"{path}: not a readable .keras model ({type(error).__name__}); re-train or re-export it") from None
    found = []

    def visit(node) -> None:
        if isinstance(node, dict):
            name, registered, module = node.get("class_name"), node.get("registered_name"), str(node.get("module") or "")
            if name == "Lambda" or (registered and not str(registered).startswith("solution>") and not module.startswith("keras")):
                found.append(str(registered or name))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(config)
    return sorted(set(found))


def load_keras_model(path: Path):
    """A model.keras of this kit, or one from elsewhere (a kernel's output, someone's file): loaded with Keras's
    safe_mode, and refused in one line when it holds a Lambda or an unknown layer, whose code would run on loading.
    The kit's own layers (solution.models.layers, the TF Hub layer of vit_b8 included) register on import."""
    import keras

    import solution.models.layers  # noqa: F401

    foreign = foreign_layers(Path(path))
    if foreign:
        raise UserError(
            f"{path}: refused: it holds {', '.join(foreign)}, layer code that would run on loading; "
            "load only models of this kit (make train / make pull) or rebuild it without Lambda or custom layers"
        )
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, TypeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise UserError(f"{path}: not a model this kit can load safely ({reason}); re-train or re-export it") from None
