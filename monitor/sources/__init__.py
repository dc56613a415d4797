"""Every list source, one module each. Add a list: a new module here plus its entry in ``registry()``."""

from __future__ import annotations

from monitor.sources.base import Source


def registry() -> dict[str, Source]:
    """Source id -> source, in the order `listwatch sources` shows them."""
    from monitor.sources.afdb import Afdb
    from monitor.sources.cn_mofcom import CnMofcom
    from monitor.sources.cn_sanctions import CnSanctions
    from monitor.sources.ebrd import Ebrd
    from monitor.sources.idb import Idb
    from monitor.sources.ofac_cons import OfacCons
    from monitor.sources.ofac_sdn import OfacSdn
    from monitor.sources.un_sc import UnSc
    from monitor.sources.us_csl import UsCsl
    from monitor.sources.worldbank import WorldBank

    sources: list[Source] = [
        OfacSdn(),
        OfacCons(),
        UsCsl(),
        UnSc(),
        WorldBank(),
        Ebrd(),
        Afdb(),
        Idb(),
        CnSanctions(),
        CnMofcom(),
    ]
    return {s.info.id: s for s in sources}
