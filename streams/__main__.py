"""``python -m streams``: one stream worker."""

import os

from streams.worker import run

run(os.environ)
