"""Real published list snapshots, read in place from the shared real-data directory.

The files are third-party copies (see ``PROVENANCE.md`` in that directory): tests, benchmarks, the matching
evaluation and the demo use them where they are and never copy them into this repository. ``stage`` lays a
snapshot out as ``{dest}/{source}/{snapshot}/{file}`` with *symbolic links*, under the file names the
source's parser and the list server expect.

Where the directory is: ``LISTWATCH_REALDATA``, else ``../shared/realdata`` beside the repository root.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from contracts.settings import PREFIX

ENV = PREFIX + "REALDATA"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO_ROOT.parent / "shared" / "realdata"

# source id -> snapshot label -> {file name the source expects: path relative to the real-data root}.
_OFAC_SDN = ("sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")
_OFAC_CONS = ("cons_prim.csv", "cons_add.csv", "cons_alt.csv", "cons_comments.csv")


def _set(folder: str, names: tuple[str, ...]) -> dict[str, str]:
    return {name: f"{folder}/{name}" for name in names}


SNAPSHOTS: dict[str, dict[str, dict[str, str]]] = {
    "ofac_sdn": {
        "gitscrape_2021-11-10": {"sdn.csv": "ofac_sdn_csv/gitscrape_2021-11-10/sdn.csv"},
        "gitscrape_2021-11-12": {"sdn.csv": "ofac_sdn_csv/gitscrape_2021-11-12/sdn.csv"},
        "gitscrape_2024-05-03": {"sdn.csv": "ofac_sdn_csv/gitscrape_2024-05-03/sdn.csv"},
        "gitscrape_2024-05-04": {"sdn.csv": "ofac_sdn_csv/gitscrape_2024-05-04/sdn.csv"},
        "watchman_2019-01": _set("ofac_sdn_csv/watchman_2019-01", _OFAC_SDN),
        "watchman_2021-07": _set("ofac_sdn_csv/watchman_2021-07", _OFAC_SDN),
    },
    "ofac_cons": {
        "perchrh_2018-05": _set("ofac_cons_csv/perchrh_2018-05", _OFAC_CONS[:3]),
        "watchman_2025-12": _set("ofac_cons_csv/watchman_2025-12", _OFAC_CONS),
    },
    "un_sc": {
        d: {"consolidated.xml": f"un_sc/{d}_consolidated.xml"}
        for d in ("2018-06-08", "2018-06-22", "2018-08-24", "2026-02-27")
    },
    "afdb": {d: {"debarment.html": f"afdb/{d}_debarment.html"} for d in ("2023-11-10", "2024-06-04")},
    "idb": {
        "2023-11-10": {"idb_sanctions.xlsx": "iadb/2023-11-10_opensanctions_data.xlsx"},
        "2024-06-04": {"idb_sanctions.xlsx": "iadb/2024-06-04_opensanctions_data.xlsx"},
        "2024-06-13": {"idb_sanctions.xlsx": "iadb/2024-06-13_opensanctions_data.xlsx"},
        "2025-02": {"idb_sanctions.xlsx": "iadb/2025-02_website_export.xlsx"},
    },
    "worldbank": {
        "2025-01-07_xlsx": {"ineligible": "worldbank/2025-01-07_wb_website_export.xlsx"},
        **{
            f"{d}_json": {"ineligible": f"worldbank/{d}_wb_api_zprocsupp.json"}
            for d in ("2019-05-16", "2019-05-17", "2019-05-20")
        },
    },
    "ebrd": {"2025-02": {"ebrd_ineligible.csv": "ebrd/2025-02_ebrd_ineligible.csv"}},
    "cn_sanctions": {
        d: {"sanctions.csv": f"cn_sanctions_opensanctions/{d}_sanctions.csv"}
        for d in ("2026-06-29a", "2026-06-29b", "2026-07-27", "2026-08-07")
    },
    # The catalogue index.json of 2024-06-13 gives the "sanctions" collection version 20240527134702-zbn,
    # where the delta series below starts; the entities are a 7-entity excerpt (yente's own test fixture).
    "opensanctions_sanctions": {
        "yente_t1": {
            "entities.ftm.json": "opensanctions_ftm/2024-07-05_yente_t1_entities.ftm.json",
            "index.json": "opensanctions_ftm/2024-07-05_yente_t1_index.json",
        },
        "yente_zala": {"entities.ftm.json": "opensanctions_ftm/2026-06-03_yente_zala_entities.ftm.json"},
    },
    # Official Journal acts as OpenSanctions transcribes them, named as the folder listing names them.
    "eu_journal": {
        "2026-08-15": {"act-32026R1895.csv": "eu_journal_opensanctions/2026-08-15_amendment_32026R1895.csv"},
        "2026-08-21": {
            "act-32026R1895.csv": "eu_journal_opensanctions/2026-08-15_amendment_32026R1895.csv",
            "act-32026R1720.csv": "eu_journal_opensanctions/2026-08-17_amendment_32026R1720.csv",
            "act-32026R1960.csv": "eu_journal_opensanctions/2026-08-21_amendment_32026R1960.csv",
        },
    },
    "us_csl": {
        "2019-12": {"consolidated": "us_csl/watchman_2019-12_csl.csv"},
        # As stored upstream, this subset ends mid-record: a real truncated file.
        "2023-11_truncated": {"consolidated": "us_csl/watchman_2023-11_csl.csv"},
        "2025-06": {"consolidated": "us_csl/watchman_2025-06_consolidated_sample.csv"},
    },
}

# MOFCOM / MFA notice texts and the hand-curated entities of each (ammitto/data-cn), named
# ``<folder>-<name>.md`` / ``.yml`` as cn_mofcom's tests and crawler fixtures know them.
_NOTICES_DIR = "cn_mofcom_mfa_notices_ammitto/reference-docs/sanction-lists"
_TRUTH_DIRS = {  # notice folder -> folder of its curated entities (upstream spells one folder "unrealiable")
    "anti-sanction-list": "cn_mofcom_mfa_notices_ammitto/sources/sanction-lists/anti-sanction-list",
    "import-export-control-list": "cn_mofcom_mfa_notices_ammitto/sources/sanction-lists/import-export-control-list",
    "unreliable-entity-list": "cn_mofcom_mfa_notices_ammitto/sources/sanction-lists/unrealiable-entity-list",
    "unreliable-entity-list-updates":
        "cn_mofcom_mfa_notices_ammitto/sources/sanction-updates/unreliable-entity-list-updates",
}  # fmt: skip


class RealDataMissing(FileNotFoundError):
    """The real-data directory, or a file the catalogue names in it, is not there."""


def root_from_env(env: Mapping[str, str]) -> Path:
    raw = env.get(ENV, "").strip()
    return Path(raw).expanduser() if raw else DEFAULT_ROOT


def missing_reason(root: Path) -> str | None:
    """Why real data cannot be used from ``root`` (one line naming the setting), or None when it can."""
    if not (root / "PROVENANCE.md").is_file():
        return f"real list snapshots not found at {root} (set {ENV} to the shared realdata directory)"
    return None


def files(root: Path, source: str, snapshot: str) -> dict[str, Path]:
    """The files of one real snapshot: expected file name -> path in place."""
    if source == "cn_mofcom" and snapshot in {"notices", "truth"}:
        found = notices(root) if snapshot == "notices" else truth(root)
    else:
        try:
            spec = SNAPSHOTS[source][snapshot]
        except KeyError:
            raise KeyError(f"no real snapshot {source}/{snapshot} in the catalogue (monitor/realdata.py)") from None
        found = {name: root / rel for name, rel in spec.items()}
    for path in found.values():
        if not path.is_file():
            raise RealDataMissing(f"{path} is missing ({ENV}={root})")
    if not found:
        raise RealDataMissing(f"no files for {source}/{snapshot} under {root}")
    return found


def notices(root: Path) -> dict[str, Path]:
    base = root / _NOTICES_DIR
    return {f"{p.parent.name}-{p.name}": p for p in sorted(base.glob("*/*.md"))}


def truth(root: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for folder, rel in _TRUTH_DIRS.items():
        for path in sorted((root / rel).glob("*.y*ml")):
            out[f"{folder}-{path.stem}.yml"] = path
    return out


def stage(root: Path, dest: Path, source: str, snapshots: list[str] | tuple[str, ...]) -> Path:
    """Link real snapshots into ``dest/source/snapshot/`` (symbolic links, no copies); return ``dest``."""
    for snapshot in snapshots:
        folder = dest / source / snapshot
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in files(root, source, snapshot).items():
            link = folder / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(path.resolve())
    return dest


_DELTAS_DIR = "opensanctions_ftm/2024-07-05_yente_t2_delta"


def opensanctions_deltas(root: Path) -> tuple[Path, dict[str, Path]]:
    """The real OpenSanctions delta series: its ``delta.json`` and version -> ``entities.delta.json``."""
    base = root / _DELTAS_DIR
    found = {p.parent.name: p for p in sorted(base.glob("*/entities.delta.json"))}
    if not (base / "delta.json").is_file() or not found:
        raise RealDataMissing(f"{base} has no delta series ({ENV}={root})")
    return base / "delta.json", found
