"""Kaggle's rules for a kernel folder: what kernel-metadata.json must hold for `kaggle kernels push` to accept it
as written (ids, titles that resolve to their slugs, booleans, accelerators, sources). Checked before every push
and by `make kernels-check`, so that a rule broken is one line here, not a kernel Kaggle renames or silently drops."""

from __future__ import annotations

import json
import re
from pathlib import Path

from solution.core.config import COMPETITION

METADATA_FILE = "kernel-metadata.json"
# Accelerators an ordinary account can ask for (kaggle-cli docs/kernels.md, Sep 2026; kaggle-cli #1196): T4 x2,
# and TPU v5e-8. Kaggle retired the P100 on 2026-09-15 (such kernels now get T4 x2) and the TPU v3-8 VMs.
MACHINE_SHAPES = ("NvidiaTeslaT4", "TpuV5E8")
RETIRED_SHAPES = {"NvidiaTeslaP100": "NvidiaTeslaT4", "Tpu1VmV38": "TpuV5E8", "TpuV38": "TpuV5E8"}
PINNING_TYPES = ("original", "latest")
REQUIRED_KEYS = ("id", "title", "code_file", "language", "kernel_type")
BOOLEAN_KEYS = ("is_private", "enable_gpu", "enable_tpu", "enable_internet")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{3,48}[a-z0-9]$")
OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def slug_problems(kind: str, value: object, parts: tuple[int, ...] = (2,)) -> list[str]:
    """Why `value` is not an owner/slug Kaggle accepts (owner/slug/version where `parts` allows 3), one line each."""
    if not isinstance(value, str) or value.count("/") + 1 not in parts:
        return [f"{kind} '{value}' is not owner/slug"]
    owner, slug = value.split("/")[:2]
    problems = [] if OWNER.match(owner) else [f"{kind} '{value}': owner '{owner}' is not a Kaggle user name"]
    return problems + ([] if SLUG.match(slug) else [f"{kind} '{value}': slug '{slug}' must be 5-50 lowercase letters, digits or '-'"])


def check_metadata(folder: Path) -> list[str]:
    """Problems with folder/kernel-metadata.json, one line each (empty when Kaggle would accept it)."""
    path = folder / METADATA_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [f"{path}: not readable JSON ({error}); run `make kernels`"]
    problems = [f"missing key '{key}'" for key in REQUIRED_KEYS + BOOLEAN_KEYS if key not in meta]
    problems += slug_problems("id", meta.get("id", ""))
    title = str(meta.get("title", ""))
    if len(title) < 5:
        problems.append(f"title '{title}' is shorter than 5 characters")
    slug = str(meta.get("id", "")).split("/")[-1]
    if re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") != slug:
        problems.append(f"title '{title}' does not resolve to the id's slug '{slug}'")
    if not (folder / str(meta.get("code_file", ""))).is_file() or not meta.get("code_file"):
        problems.append(f"code_file '{meta.get('code_file')}' is not a file in {folder}")
    if meta.get("language") != "python" or meta.get("kernel_type") != "script":
        problems.append("language must be python and kernel_type script")
    problems += [
        f"'{key}' must be true or false, not {meta[key]!r}" for key in BOOLEAN_KEYS if key in meta and not isinstance(meta[key], bool)
    ]
    if meta.get("docker_image_pinning_type") not in PINNING_TYPES:
        problems.append(f"docker_image_pinning_type must be one of {', '.join(PINNING_TYPES)}")
    shape = meta.get("machine_shape")
    if shape in RETIRED_SHAPES:
        problems.append(f"machine_shape '{shape}' was retired by Kaggle; use {RETIRED_SHAPES[shape]} (machine_shape in kernels.yaml)")
    elif shape not in ("", None, *MACHINE_SHAPES):
        problems.append(f"machine_shape '{shape}' is not one of {', '.join(MACHINE_SHAPES)}")
    for source in meta.get("dataset_sources", []):
        problems += slug_problems("dataset source", source, (2, 3))
    for source in meta.get("kernel_sources", []):
        problems += slug_problems("kernel source", source, (2, 3))
    if meta.get("competition_sources") != [COMPETITION.slug]:
        problems.append(f"competition_sources must be ['{COMPETITION.slug}']")
    return [f"{path}: {problem}" for problem in problems]
