if __name__ == "__main__":
    from solution.core.interrupts import quiet_start

    with quiet_start():  # Ctrl+C while the libraries load: one line, not a traceback
        from tools.cli import main

        code = main()
    raise SystemExit(code)
