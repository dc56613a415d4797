"""``python -m alerts``: the alerts service."""

import os

from alerts.runner import run

run(os.environ)
