"""Label the emotion of every face in photos: writes annotated copies and prints one JSON line per face."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from solution.core.interrupts import quiet_start  # noqa: E402

with quiet_start():  # Ctrl+C while the libraries load (OpenCV, LiteRT): one line, not a traceback
    import argparse
    import json
    from pathlib import Path

    from solution.demo import demo_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo/photo.py", description=__doc__)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders of images")
    parser.add_argument("--out", default="demo/out", help="folder for the annotated images (default demo/out)")
    parser.add_argument(
        "--sample-check",
        metavar="SAMPLE",
        help="with a sample-trained model, also label held-out test faces of this synthetic sample (true labels known)",
    )
    demo_app.add_common_arguments(parser, stream=False)
    args = parser.parse_args(argv)
    say = demo_app.to_stderr  # stdout carries only the JSON lines
    pipeline = demo_app.load_pipeline(args, log=say)
    files = demo_app.image_files(args.paths)
    faces = 0
    for record in demo_app.annotate_photos(pipeline, files, Path(args.out), warn=say):
        print(json.dumps(record))
        faces += 1
    say(f"photo: {faces} face(s) in {len(files)} image(s); annotated images in {args.out}")
    if args.sample_check and pipeline.classifier.trained_on_sample:
        right, total, sheet = demo_app.label_held_out_faces(pipeline.classifier, Path(args.sample_check), Path(args.out))
        say(f"sample check: {right} of {total} held-out synthetic test faces labelled right ({right / total:.0%}; chance 11%) -> {sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(demo_app.run_script(main))
