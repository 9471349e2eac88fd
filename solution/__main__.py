from solution.cli import main

if __name__ == "__main__":  # not when a worker process (training/fold_workers.py) re-imports it
    raise SystemExit(main())
