from solution.cli import main

raise SystemExit(main())
