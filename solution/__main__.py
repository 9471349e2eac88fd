import sys

if __name__ == "__main__":  # not when a worker process (training/fold_workers.py) re-imports it
    try:  # Ctrl+C while the libraries load is a quiet exit too, not a traceback from deep inside an import
        from solution.cli import main
    except KeyboardInterrupt:
        print("interrupted while starting; nothing was changed", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(main())
