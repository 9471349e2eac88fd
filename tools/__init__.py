"""The kit's self-checks (bench, scale, sweep): harnesses that import `solution` and are never part of it."""
