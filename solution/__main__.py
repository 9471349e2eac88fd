import sys

if __name__ == "__main__":  # not when a worker process (training/fold_workers.py) re-imports it
    try:  # Ctrl+C while the libraries load or the arguments are read is a quiet exit too, not a traceback
        from solution.cli import main

        code = main()  # from here on, the command's own handler says what was saved
    except KeyboardInterrupt:
        print("interrupted while starting; nothing was changed", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(code)
