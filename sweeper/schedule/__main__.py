"""``python -m sweeper.schedule``: the LR schedule preview (its code: sweeper.preview)."""

from __future__ import annotations

from sweeper.preview import main

if __name__ == "__main__":
    raise SystemExit(main())
