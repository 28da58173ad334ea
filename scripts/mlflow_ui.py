"""Open the MLflow UI on the sweep's store (127.0.0.1:5000, one worker).

    python scripts/mlflow_ui.py [--backend-store-uri URI] [--host H] [--port P]

Same as ``python -m sweeper.ui``.
"""

from __future__ import annotations

import sys

from sweeper.commands.ui import main

if __name__ == "__main__":
    sys.exit(main())
