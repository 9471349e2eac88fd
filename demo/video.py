"""Label the emotion of every face in a video: writes an annotated copy and a CSV with one row per frame and face."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from solution.core.interrupts import quiet_start  # noqa: E402

with quiet_start():  # Ctrl+C while the libraries load (OpenCV, LiteRT): one line, not a traceback
    import argparse
    from pathlib import Path

    from solution.demo import demo_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo/video.py", description=__doc__)
    parser.add_argument("input", metavar="INPUT", help="video file (anything OpenCV reads: mp4, avi, ...)")
    parser.add_argument("--out", help="annotated video, mp4 (default demo/out/<input>_emotions.mp4)")
    parser.add_argument("--csv", help="per-frame CSV (default: the output video's name with .csv)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo_app.add_common_arguments(parser, stream=True)
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else Path("demo/out") / f"{Path(args.input).stem}_emotions.mp4"
    csv_path = Path(args.csv) if args.csv else out.with_suffix(".csv")
    pipeline = demo_app.load_pipeline(args)
    done = demo_app.annotate_video(pipeline, Path(args.input), out, csv_path, progress=not args.no_progress)
    print(f"video: {done['frames']} frames, {done['faces']} face detections -> {out} and {csv_path}")
    print(demo_app.describe_stream(done))
    return 0


if __name__ == "__main__":
    raise SystemExit(demo_app.run_script(main))
