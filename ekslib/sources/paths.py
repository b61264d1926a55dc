"""Where the bundled data lives: ``$EKSLIB_DATA_DIR`` or ``data/`` at the repository root.

>>> (DATA_DIR / "instance_types.csv").exists()
True
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = Path(os.environ.get("EKSLIB_DATA_DIR", Path(__file__).resolve().parents[2] / "data"))
#: Files published by upstream projects (the VPC CNI, the VPC resource controller), with their provenance.
PUBLISHED_DIR = DATA_DIR / "published"
