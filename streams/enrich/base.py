"""The two ways an enricher can fail (after nomenklatura's EnrichmentException / EnrichmentAbort)."""

from __future__ import annotations


class EnrichmentError(Exception):
    """This entry could not be enriched: log it, count it, and go on with the rest."""


class EnrichmentAbort(Exception):
    """The enricher cannot work at all (missing data, broken library): stop loudly."""
