if __name__ == "__main__":  # not when a worker process (training/fold_workers.py) re-imports it
    from solution.core.interrupts import quiet_start

    with quiet_start():  # Ctrl+C while the libraries load or the arguments are read: one line, not a traceback
        from solution.cli import main

        code = main()  # from here on, the command's own handler says what was saved
    raise SystemExit(code)
