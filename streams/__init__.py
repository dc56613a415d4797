"""The stream worker: dedupe, enrich and match list changes, and emit alerts."""

from pathlib import Path

from streams import native

native.check(Path(__file__).parents[1])
