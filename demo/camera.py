"""Live emotions from a webcam (or a video file or stream URL): q (or Ctrl+C) stops, s saves a snapshot."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from solution.core.interrupts import quiet_start  # noqa: E402

with quiet_start():  # Ctrl+C while the libraries load (OpenCV, LiteRT): one line, not a traceback
    import argparse
    from pathlib import Path

    from solution.demo import demo_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo/camera.py", description=__doc__)
    parser.add_argument("--source", default="0", help="camera index, video file or stream URL (default 0, the first camera)")
    parser.add_argument("--no-window", action="store_true", help="process without showing a window (headless; use --record to keep it)")
    parser.add_argument("--max-frames", type=demo_app.positive_int, help="stop after N frames (1 or more)")
    parser.add_argument("--record", help="also write the annotated stream to this .mp4 file")
    parser.add_argument("--snapshots", default="demo/out", help="folder for the s key's snapshots (default demo/out)")
    demo_app.add_common_arguments(parser, stream=True)
    args = parser.parse_args(argv)
    pipeline = demo_app.load_pipeline(args)
    Path(args.snapshots).mkdir(parents=True, exist_ok=True)
    done = demo_app.run_camera(
        pipeline, args.source, not args.no_window, args.max_frames, Path(args.record) if args.record else None, Path(args.snapshots)
    )
    stopped = " (stopped by Ctrl+C)" if done["interrupted"] else ""
    print(f"camera: {done['frames']} frames{stopped}" + (f", recorded to {args.record}" if args.record else ""))
    print(demo_app.describe_stream(done))
    return 0


if __name__ == "__main__":
    raise SystemExit(demo_app.run_script(main))
