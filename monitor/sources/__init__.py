"""Every list source, one module each. Add a list: a new module here plus its entry in ``registry()``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from monitor.sources.base import Source

if TYPE_CHECKING:
    from monitor.sources.feed import FeedConfig


def registry(feeds: Sequence[FeedConfig] = (), datasets: Sequence[str] = ()) -> dict[str, Source]:
    """Source id -> source, in the order `listwatch sources` shows them, then the configured feeds and
    OpenSanctions datasets."""
    from monitor.sources.adb import Adb
    from monitor.sources.afdb import Afdb
    from monitor.sources.aiib import Aiib
    from monitor.sources.cn_export_control import CnExportControl
    from monitor.sources.cn_mofcom import CnMofcom
    from monitor.sources.cn_sanctions import CnSanctions
    from monitor.sources.cn_tao import CnTao
    from monitor.sources.ebrd import Ebrd
    from monitor.sources.eu_fsf import EuFsf
    from monitor.sources.eu_journal import EuJournal
    from monitor.sources.feed import Feed
    from monitor.sources.idb import Idb
    from monitor.sources.ofac_cons import OfacCons
    from monitor.sources.ofac_sdn import OfacSdn
    from monitor.sources.opensanctions import OpenSanctions
    from monitor.sources.uk_fcdo import UkFcdo
    from monitor.sources.un_sc import UnSc
    from monitor.sources.us_csl import UsCsl
    from monitor.sources.worldbank import WorldBank

    sources: list[Source] = [
        OfacSdn(), OfacCons(), UsCsl(), UnSc(), EuFsf(), EuJournal(), UkFcdo(),
        WorldBank(), Adb(), Ebrd(), Afdb(), Idb(), Aiib(),
        CnSanctions(), CnMofcom(), CnExportControl(), CnTao(),
    ]  # fmt: skip
    sources.extend(Feed(config) for config in feeds)
    sources.extend(OpenSanctions(dataset) for dataset in datasets)
    return {s.info.id: s for s in sources}
