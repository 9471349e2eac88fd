"""`make bench`: its files' structure, and that every number in them is a measurement."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from solution.inference import export
from solution.training import profiles
from tools import bench

TINY_BENCH = bench.BenchConfig(
    backbones=("mobilenet_v2",),
    size=32,
    repeats=2,
    warmup=1,
    throughput_batch=4,
    train_size=32,
    train_batch=4,
    train_steps=2,
    side_by_side_steps=2,
    pipeline_images=18,
    kaggle_scale_images=18,
    face_size=32,
    fast_face_size=32,
    augment_size=32,
    video_frames=6,
    video_repeats=1,
    per_face_repeats=3,
)


def test_median_ms_times_the_call_after_warm_up():
    calls = []
    measured = bench.Bench(bench.BenchConfig(repeats=3, warmup=2), log=lambda line: None).median_ms(lambda: calls.append(time.sleep(0.01)))
    assert len(calls) == 5 and 9 < measured < 60


def test_the_cpus_int8_dot_product_instructions_are_read_from_cpuinfo():
    assert bench.int8_dot_product("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n") == []
    assert bench.int8_dot_product("flags\t\t: avx2 fma avx512f avx512_vnni\nflags\t\t: avx2 avx_vnni\n") == ["avx512_vnni", "avx_vnni"]
    assert bench.int8_dot_product("processor\t: 0\nFeatures\t: fp asimd crc32 atomics asimddp\n") == ["asimddp"], "ARM"


def test_the_fast_demo_model_is_timed_at_its_size_in_the_kaggle_profile():
    kaggle = profiles.load_profile("kaggle").for_backbone(bench.FAST_DEMO_BACKBONE)
    assert bench.fast_demo_size(bench.BenchConfig()) == kaggle.image_size and 48 <= kaggle.image_size <= 96, "the fast student's range"
    assert bench.fast_demo_size(bench.BenchConfig(fast_face_size=48)) == 48, "a configured size wins"


@pytest.mark.long(minutes=3.5)
def test_bench_writes_every_group_and_its_numbers_are_the_measurements(ensembles, tmp_path, monkeypatch):
    timings = itertools.count(start=10, step=10)
    returned = []

    def fake_medians(self, calls, repeats=None):
        for call in calls:
            call()  # the measured code still runs once
            returned.append(float(next(timings)))
        return returned[-len(calls) :]

    monkeypatch.setattr(bench.Bench, "medians_ms", fake_medians)
    converted = []
    convert = export.convert
    monkeypatch.setattr(export, "convert", lambda model, *args: converted.append(model.name) or convert(model, *args))
    content = bench.run(TINY_BENCH, tmp_path, "python -m tools bench (test)", ensembles, log=lambda line: None)
    saved = json.loads((tmp_path / bench.BENCH_JSON).read_text())
    assert saved["results"] == content["results"] and saved["machine"]["cores"] >= 1 and "tensorflow" in saved["machine"]["versions"]
    groups = {r["group"].split(",")[0].split(" @")[0] for r in saved["results"]}
    assert groups == {
        "inference mobilenet_v2",
        "training",
        "augmentation",
        "input pipeline",
        "input pipeline at Kaggle scale",
        "demo",
        "ensemble",
    }
    by_name = {r["name"]: r for r in saved["results"]}
    ms = [r["value"] for r in saved["results"] if r["unit"] == "ms" and r["group"] != "ensemble"]
    assert set(ms) <= set(returned), "every time is a measurement"
    for result in saved["results"]:
        if result["ratio"] is not None:
            base = by_name.get(result["baseline"])
            if base is not None:
                expected = base["value"] / result["value"] if result["unit"] in bench.SMALLER_IS_FASTER else result["value"] / base["value"]
                assert result["ratio"] == pytest.approx(expected)
    assert by_name["competition budget per image"]["value"] == 330.0
    assert sorted(converted) == ["mobilenet_v2", "mobilenet_v2", bench.FAST_DEMO_BACKBONE], "the float export shared, int8 apart"
    flicker = [r for r in saved["results"] if r["name"].startswith("label flicker")]
    assert len(flicker) == 2 and all(0 <= r["value"] <= 100 and r["unit"] == "%" for r in flicker)
    assert by_name["camera.py start-up: process start to the first annotated frame"]["value"] > 0
    per_megapixel = [r for r in saved["results"] if r["unit"] == "ms/MP"]
    assert [r["name"].split(" photo")[0] for r in per_megapixel] == ["1600x1200", "6000x4000"]
    assert all(r["value"] > 0 for r in per_megapixel)
    assert "5 of 5 faces of 137 px found" in per_megapixel[1]["name"], "the 24-megapixel photo's 137 px faces are all found"
    per_face = "per face: 200 px crop resized + call"
    without_xnnpack = by_name[f"{per_face}, int8 TFLite without XNNPACK (LiteRT's reference kernels)"]
    assert without_xnnpack["baseline"] == f"{per_face}, {bench.PER_FACE_INT8}"
    assert isinstance(saved["machine"]["int8_dot_product"], list)
    fast = next(r for r in saved["results"] if r["name"].startswith(f"{per_face}, {bench.PER_FACE_FAST}"))
    assert fast["baseline"] == f"{per_face}, {bench.PER_FACE_EXPORT}" and fast["ratio"] > 0
    crops = [r for r in saved["results"] if r["name"].startswith("prepare a 200 px face crop")]
    assert len(crops) == 2 * len({TINY_BENCH.face_size, bench.fast_demo_size(TINY_BENCH)}), "Pillow and the demo's, at each model's size"
    demo_resizes = [r for r in crops if r["name"].endswith(bench.DEMO_RESIZE)]
    assert len(demo_resizes) == len(crops) // 2 and all(r["ratio"] > 0 for r in demo_resizes)
    assert f"@ {bench.fast_demo_size(TINY_BENCH)}px" in fast["name"] and "@ 32px" in fast["name"], "timed at the size given"
    side_by_side = next(r for r in saved["results"] if "side by side" in r["name"])
    assert side_by_side["value"] > 0 and side_by_side["baseline"] == "mobilenet_v2 train step", "measured in real processes"
    markdown = (tmp_path / bench.BENCH_MD).read_text()
    assert markdown.count("\n| ") == len(saved["results"]) + 2  # header, separator, one row per measurement
    assert all(f"{r['value']:.2f} {r['unit']}" in markdown for r in saved["results"])
    assert saved["schema_version"] == bench.BENCH_SCHEMA and saved["commit"] and f"commit {saved['commit']}" in markdown
    said = markdown.split("## The demo, in words")[1].split("## Every measurement")[0]
    assert f"the fast demo model took {fast['value']:.2f} ms: {fast['ratio']:.1f}x faster" in said, "its sentence reads its own row"
    assert "per megapixel on a 6000x4000 photo" in said and "camera.py's start-up" in said
    assert f"{demo_resizes[0]['ratio']:.1f}x faster than an antialiased resize (Pillow)" in said
