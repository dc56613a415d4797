"""Named feed presets for China's social-credit lists, whose query pages sit behind captchas and WAFs and so
come in as files a user obtains (an official export, a data vendor, a regulator's publication).

``LISTWATCH_FEED_<NAME>_PRESET=<preset>`` fills the feed's format, column mapping, list kind, title,
publisher and jurisdiction; any ``LISTWATCH_FEED_<NAME>_*`` set explicitly wins. Column names are the
Chinese headings these authorities use in the files and tables they publish; a file whose headings differ
is refused at the first row with the missing columns named (monitor/sources/feed.py), so adjust
``_MAPPING`` rather than guessing. ``fetchable`` says plainly why none of them is polled on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.sources.base import ListKind


@dataclass(frozen=True, slots=True)
class Preset:
    title: str
    publisher: str
    kind: ListKind
    mapping: str
    fetchable: str
    format: str = "csv"
    jurisdiction: str = "CN"


PRESETS: dict[str, Preset] = {
    "creditchina_dishonest": Preset(
        title="Credit China: entities under joint punishment for serious dishonesty (严重失信主体名单)",
        publisher="National Development and Reform Commission / Credit China (信用中国)",
        kind=ListKind.BLACK_LIST,
        mapping="key=统一社会信用代码+企业名称;name=企业名称;id.uscc=统一社会信用代码;listed_on=列入日期;"
        "programs=列入原因;remarks=认定部门",
        fetchable="no: creditchina.gov.cn answers scripted clients with HTTP 412 challenges and offers one-company "
        "look-ups only; use a provincial credit platform's export or a data vendor's file",
    ),
    "court_dishonest_debtors": Preset(
        title="Supreme People's Court: dishonest judgment debtors (失信被执行人名单)",
        publisher="Supreme People's Court (最高人民法院)",
        kind=ListKind.BLACK_LIST,
        mapping="key=案号;name=被执行人姓名/名称;id.uscc=统一社会信用代码;listed_on=发布时间;"
        "programs=失信被执行人行为具体情形;remarks=执行法院+案号",
        fetchable="no: zxgk.court.gov.cn requires a captcha per query; the courts publish no bulk file",
    ),
    "samr_serious_violations": Preset(
        title="SAMR: list of seriously illegal and dishonest enterprises (严重违法失信名单)",
        publisher="State Administration for Market Regulation (市场监督管理总局)",
        kind=ListKind.BLACK_LIST,
        mapping="key=统一社会信用代码+企业名称;name=企业名称;id.uscc=统一社会信用代码;listed_on=列入日期;"
        "programs=列入原因;remarks=作出决定机关",
        fetchable="no: the enterprise credit publicity system (gsxt.gov.cn) puts every query behind a Geetest "
        "slider captcha",
    ),
    "tax_major_violations": Preset(
        title="State Taxation Administration: major tax violators (重大税收违法失信主体)",
        publisher="State Taxation Administration (国家税务总局)",
        kind=ListKind.BLACK_LIST,
        mapping="key=纳税人识别号+纳税人名称;name=纳税人名称;id.uscc=纳税人识别号;listed_on=公布日期;"
        "programs=案件性质;remarks=主要违法事实",
        fetchable="no: published per province as query pages and notices, without a national file",
    ),
    "customs_aeo": Preset(
        title="China Customs: AEO advanced-certified enterprises (海关高级认证企业)",
        publisher="General Administration of Customs (海关总署)",
        kind=ListKind.RED_LIST,
        mapping="key=统一社会信用代码+企业名称;name=企业名称;id.uscc=统一社会信用代码;listed_on=认证日期;"
        "programs=信用等级;remarks=海关编码",
        fetchable="no: the customs credit system (credit.customs.gov.cn) answers single look-ups behind a captcha",
    ),
    "tax_a_grade": Preset(
        title="State Taxation Administration: A-grade taxpayers (纳税信用A级纳税人)",
        publisher="State Taxation Administration (国家税务总局)",
        kind=ListKind.RED_LIST,
        mapping="key=纳税人识别号+纳税人名称;name=纳税人名称;id.uscc=纳税人识别号;programs=评价年度",
        fetchable="no: published yearly per province (often as XLSX or PDF on the provincial tax bureau's site); "
        "download the year's file and point the feed at it (FORMAT=xlsx where it is one)",
    ),
}
