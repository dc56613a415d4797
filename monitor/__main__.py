"""``python -m monitor``: the monitor service."""

import os

from monitor.runner import run

run(os.environ)
