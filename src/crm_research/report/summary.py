"""The management report's content (notebook 06), in English and Chinese.

:func:`build_report` gathers what notebooks 01-05 left (classes, lifetime values,
churn scores, customer equity, the retention campaign, the model checks) and computes
the report's tables; the functions below turn them into the sentences a manager reads:
the executive summary with three to five decisions and their numbers, the key figures
with currency and units, the uncertainty in plain words (parameter uncertainty vs the
holdout error) and the caveats. Nothing here prints Python objects: every number goes
through :func:`fmt_money` / :func:`fmt_pct` / :func:`fmt_int`, which write "-" for a
missing value, never ``nan`` or ``None``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import io as _io
from ..management import (
    action_matrix,
    class_table,
    investment_levels,
    load_results,
    member_table,
)
from ..modelchecks import plain_caveats, read_model_checks
from ..resources import read_toml
from ..vocabulary import check_language, class_name, currency

#: The report's fixed words, in English and Chinese: data in ``resources/report_text.toml``.
_TEXT = read_toml("report_text.toml")
#: The data source in words, ``{--data name: (English, Chinese)}``.
SOURCES: dict[str, tuple[str, str]] = {k: tuple(v) for k, v in _TEXT["sources"].items()}
#: What :func:`crm_research.management.load_results` notes as missing, in Chinese.
NOTES_ZH: dict[str, str] = dict(_TEXT["notes_zh"])
#: Headings and how to read each section, per language: ``{key: (heading, text)}``.
SECTIONS: dict[str, dict[str, tuple[str, str]]] = {
    lang: {k: tuple(v) for k, v in table.items()} for lang, table in _TEXT["sections"].items()
}
#: Column names of the report's tables, per language (``{cur}``: the currency).
COLUMNS: dict[str, dict[str, str]] = {lang: dict(t) for lang, t in _TEXT["columns"].items()}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x)) or pd.isna(x)


def fmt_int(x) -> str:
    return "-" if _missing(x) else f"{int(round(float(x))):,}"


def fmt_pct(x, digits: int = 0) -> str:
    return "-" if _missing(x) else f"{float(x):.{digits}%}"


def _members(n) -> str:
    return f"{fmt_int(n)} member" + ("" if not _missing(n) and int(n) == 1 else "s")


def fmt_money(x, cur: str) -> str:
    return "-" if _missing(x) else f"{float(x):,.0f} {cur}"


@dataclass
class ManagementReport:
    """Everything the management report shows, computed from the study's tables."""

    language: str
    source: str
    currency: str
    n_members: int
    obs_end: str
    members: pd.DataFrame
    classes: pd.DataFrame
    levels: pd.DataFrame
    matrix: dict
    notes: list[str] = field(default_factory=list)
    equity: dict | None = None
    campaign: dict | None = None
    concentration: dict | None = None
    top_share_q: float = 0.2
    risk_high: float = 0.6
    model_checks: list[dict] = field(default_factory=list)
    retention: pd.DataFrame | None = None
    has_segments: bool = False
    active: pd.DataFrame | None = None

    @property
    def clv_known(self) -> bool:
        return bool(self.members["clv"].notna().any())

    @property
    def risk_known(self) -> bool:
        return bool(self.members["p_churn"].notna().any())

    @property
    def high_risk(self) -> pd.Series:
        return self.members["risk"].astype(str).eq("high")

    def money(self, x) -> str:
        return fmt_money(x, self.currency)


def build_report(
    processed_dir: str | os.PathLike,
    *,
    language: str = "en",
    top_share_q: float = 0.2,
    risk_low: float = 0.3,
    risk_high: float = 0.6,
    metrics_dir: str | os.PathLike | None = None,
) -> ManagementReport:
    """Read the study's tables and compute the management report's tables.

    Parameters
    ----------
    processed_dir : path
        The tables notebooks 01-05 wrote.
    language : {"en", "zh"}
        Language of the class names and sentences.
    top_share_q : float
        Share of top members in the concentration figure (0.2: the 80/20 rule).
    risk_low, risk_high : float
        Churn-risk bands (:func:`crm_research.management.risk_band`).
    metrics_dir : path, optional
        Metrics of the notebooks that ran before (their model checks).
    """
    from ..exploration import concentration_summary, member_value

    check_language(language)
    res = load_results(processed_dir)
    snap = res.dataset.snapshot
    source = str(res.dataset.info.get("source"))
    members = member_table(res, cuts=(risk_low, risk_high))
    classes = class_table(members, res.segments, language=language)
    levels = investment_levels(classes, language=language)
    eq_path = Path(processed_dir) / "customer_equity.json"
    equity = _io.read_json(eq_path) if eq_path.exists() else None
    if equity is not None and not equity.get("computed", True):
        equity = None
    campaign = None
    ret = res.retention
    if ret is not None and {"contact", "expected_net"} <= set(ret.columns):
        c = ret[ret["contact"]]
        campaign = {
            "n_contact": int(len(c)),
            "expected_net": float(c["expected_net"].sum()),
            "expected_loss": float(c["expected_loss"].sum()) if "expected_loss" in c else None,
        }
    conc = active = None
    if {"SUM_YR_1", "SUM_YR_2", "FLIGHT_COUNT"} <= set(snap.columns):
        active = snap[snap["FLIGHT_COUNT"] > 0]
        if len(active):
            conc = concentration_summary(member_value(active), q=top_share_q)
            conc["top_share"] = conc.get(f"top_{int(round(top_share_q * 100))}pct_share")
    return ManagementReport(
        language=language,
        source=source,
        currency=currency(source, language),
        n_members=len(snap),
        obs_end=str(res.dataset.info.get("obs_end")),
        members=members,
        classes=classes,
        levels=levels,
        matrix=action_matrix(members, language=language),
        notes=list(res.notes),
        equity=equity,
        campaign=campaign,
        concentration=conc,
        top_share_q=top_share_q,
        risk_high=risk_high,
        model_checks=read_model_checks(metrics_dir) if metrics_dir else [],
        retention=ret,
        has_segments=res.segments is not None,
        active=active if active is not None and len(active) else None,
    )


def heading(key: str, language: str = "en", number: int | None = None) -> str:
    """A section's Markdown heading and its how-to-read paragraph."""
    title, text = SECTIONS[check_language(language)][key]
    num = f"{number}. " if number else ""
    return f"## {num}{title}\n\n{text}".strip()


def data_line(r: ManagementReport) -> str:
    """The data, its size and observation end, and what is missing from this run."""
    en, zh = SOURCES.get(r.source, (r.source, r.source))
    if r.language == "zh":
        s = f"**数据：** {zh}，{r.n_members:,} 名会员，观察期截至 {r.obs_end}。金额单位：{r.currency}。"
        if r.notes:
            s += f"  \n**本次运行缺少：** {len(r.notes)} 项结果（见“需要注意的事项”）。"
        return s
    s = (
        f"**Data:** {en}, {r.n_members:,} members, observation end {r.obs_end}. "
        f"Amounts in {r.currency}."
    )
    if r.notes:
        s += "  \n**Not available in this run:** " + "; ".join(r.notes) + "."
    return s


def _class_row(r: ManagementReport, key: str) -> pd.Series | None:
    return r.classes.loc[key] if key in r.classes.index else None


def decisions(r: ManagementReport) -> list[str]:
    """Three to five decisions, each with its numbers (members, value, return)."""
    zh = r.language == "zh"
    out: list[str] = []
    for key in ("important_retain", "important_develop"):
        row = _class_row(r, key)
        if row is None or not r.clv_known:
            continue
        level = r.levels.loc[key, "level_name"]
        contact = r.levels.loc[key, "contact"]
        name = class_name(key, r.language)
        if zh:
            out.append(
                f"**{name}：采用{level}关系投入**（{contact}）。{fmt_int(row['members'])} 名会员"
                f"（占 {fmt_pct(row['member_share'])}），持有终身价值 {r.money(row['clv_total'])}"
                f"（占 {fmt_pct(row['clv_share'])}）；若不采取行动，预期损失 "
                f"{r.money(row['expected_loss'])}。"
            )
        else:
            out.append(
                f"**{name}: invest at the {level} level** ({contact}). "
                f"{_members(row['members'])} ({fmt_pct(row['member_share'])} of all) "
                f"hold {r.money(row['clv_total'])} of lifetime value "
                f"({fmt_pct(row['clv_share'])}); expected loss without action "
                f"{r.money(row['expected_loss'])}."
            )
    if r.campaign:
        c = r.campaign
        if zh:
            out.append(
                f"**启动挽留活动：** 联系 {fmt_int(c['n_contact'])} 名值得挽留的会员，"
                f"他们的预期损失为 {r.money(c.get('expected_loss'))}，扣除联系成本后的预期净收益为 "
                f"**{r.money(c['expected_net'])}**。"
            )
        else:
            out.append(
                f"**Run the retention campaign:** contact the {fmt_int(c['n_contact'])} "
                f"members worth saving (expected loss {r.money(c.get('expected_loss'))}); "
                f"expected net return after contact costs **{r.money(c['expected_net'])}**."
            )
    if r.risk_known:
        hi = r.high_risk
        value = r.members.loc[hi, "clv"].sum() if r.clv_known else None
        if zh:
            out.append(
                f"**关注高流失风险会员：** {fmt_int(hi.sum())} 名会员（{fmt_pct(hi.mean())}）"
                f"流失概率达 {fmt_pct(r.risk_high)} 或以上，持有终身价值 {r.money(value)}。"
            )
        else:
            out.append(
                f"**Watch the members at high churn risk:** {fmt_int(hi.sum())} members "
                f"({fmt_pct(hi.mean())}) leave with a probability of {fmt_pct(r.risk_high)} "
                f"or more; they hold {r.money(value)} of lifetime value."
            )
    low = [k for k in ("general", "low_value") if k in r.classes.index]
    if low and r.clv_known:
        t = r.classes.loc[low]
        n, share = t["members"].sum(), t["clv_share"].sum()
        per = t["clv_total"].sum() / n if n else None
        avg = r.members["clv"].mean()
        lv = r.levels.loc[low, "level_name"]
        names = ("、" if zh else " and ").join(class_name(k, r.language) for k in low)
        levels = ("，" if zh else ", ").join(
            f"{class_name(k, r.language)}{'为' if zh else ' '}{lv[k]}" for k in low
        )
        if zh:
            out.append(
                f"**以低成本服务{names}：** {fmt_int(n)} 名会员（占 {fmt_pct(n / r.n_members)}）"
                f"持有 {fmt_pct(share)} 的终身价值，人均 {r.money(per)}（全体平均 {r.money(avg)}）；"
                f"投入水平：{levels}。"
            )
        else:
            out.append(
                f"**Serve the {names} classes at low cost:** {fmt_int(n)} members "
                f"({fmt_pct(n / r.n_members)} of all) hold {fmt_pct(share)} of lifetime value, "
                f"{r.money(per)} per member against {r.money(avg)} on average; levels: "
                f"{levels}."
            )
    if not out:
        out.append(
            "本次数据无法给出决策建议：缺少终身价值与流失评分。"
            if zh
            else "No decision can be recommended from this run: lifetime values and churn "
            "scores are missing."
        )
    return out[:5]


def executive_summary(r: ManagementReport) -> str:
    """The executive summary: the decisions as a numbered Markdown list."""
    return "\n".join(f"{i}. {d}" for i, d in enumerate(decisions(r), start=1))


def key_figures(r: ManagementReport) -> str:
    """Key figures with units and currency (Markdown list)."""
    zh = r.language == "zh"
    lines = []
    conc = r.concentration
    if conc and not _missing(conc.get("top_share")):
        q, s = fmt_pct(r.top_share_q), fmt_pct(conc["top_share"])
        lines.append(
            f"- **价值集中度：** 过去两年乘机的会员中，前 {q} 的会员贡献了 **{s}** 的收入（经验法则为 80%）。"
            if zh
            else f"- **Value concentration:** the top {q} of members who flew in the last two "
            f"years brought **{s}** of the revenue (rule of thumb: 80%)."
        )
    eq = (r.equity or {}).get("customer_equity")
    if eq is None and r.clv_known:
        eq = float(r.members["clv"].sum())
    if eq is not None:
        months = (r.equity or {}).get("horizon_months")
        if zh:
            h = f"（未来 {months} 个月）" if months else ""
            lines.append(f"- **客户资产**{h}：全部现有会员未来利润的折现值之和 **{r.money(eq)}**。")
        else:
            h = f" over {months} months" if months else ""
            lines.append(
                f"- **Customer equity** (discounted future profit of all current members{h}): "
                f"**{r.money(eq)}**."
            )
    lines.append(
        f"- **会员数：** {r.n_members:,} 名。" if zh else f"- **Members:** {r.n_members:,}."
    )
    if not lines:
        return "本次数据没有可用结果。" if zh else "No results are available for this data."
    return "\n".join(lines)


def uncertainty(r: ManagementReport) -> str:
    """Parameter uncertainty vs the holdout error, in plain words."""
    zh = r.language == "zh"
    eq = r.equity or {}
    point = eq.get("customer_equity")
    lo, hi = eq.get("equity_lower_95"), eq.get("equity_upper_95")
    err = eq.get("holdout_cumulative_error")
    hlo, hhi = eq.get("equity_holdout_lower"), eq.get("equity_holdout_upper")
    out = []
    if point is None:
        return (
            "本次运行没有客户资产的区间估计。"
            if zh
            else "This run has no interval for customer equity."
        )
    if not _missing(lo) and not _missing(hi):
        width = (hi - lo) / 2 / point if point else None
        out.append(
            f"- **参数不确定性：** 仅考虑模型参数的估计误差时，客户资产在 {r.money(lo)} 到 "
            f"{r.money(hi)} 之间（95% 区间，约 ±{fmt_pct(width, 1)}）。这个区间很窄，"
            "只说明参数估计得较准，并不说明模型本身对未来的预测同样准确。"
            if zh
            else f"- **Parameter uncertainty:** counting only the error of the estimated model "
            f"parameters, customer equity lies between {r.money(lo)} and {r.money(hi)} (95% "
            f"interval, about ±{fmt_pct(width, 1)}). This narrow band says the parameters are "
            "well estimated, not that the model foresees the future that precisely."
        )
        m, n = eq.get("bootstrap_sample_members"), eq.get("n_members")
        if m and n:  # the m-out-of-n bootstrap above bootstrap_members (clv.bootstrap_clv)
            out[-1] += (
                f"该区间由 {n:,} 名会员中随机抽取的 {m:,} 名会员计算，并按比例换算到全部会员。"
                if zh
                else f" The interval was computed on a random sample of {m:,} of the {n:,} "
                "members and scaled to all members."
            )
    if not _missing(err) and not _missing(hlo) and not _missing(hhi):
        direction = ("高估" if err > 0 else "低估") if zh else ("over" if err > 0 else "under")
        out.append(
            f"- **留出期预测误差：** 同一模型对留出期累计航班数{direction}了 {fmt_pct(abs(err), 1)}；"
            f"按此误差，客户资产在 {r.money(hlo)} 到 {r.money(hhi)} 之间。做决策时应以这个更宽的范围为准。"
            if zh
            else f"- **Holdout error:** on a period the model had not seen, it {direction}-"
            f"forecast the members' flights by {fmt_pct(abs(err), 1)}; at that error customer "
            f"equity lies between {r.money(hlo)} and {r.money(hhi)}. Plan with this wider "
            "range."
        )
    else:
        out.append(
            "- **留出期预测误差：** 本次运行没有留出期，模型在未见过的数据上的误差未知；"
            "真实的不确定性很可能大于上面的参数区间。"
            if zh
            else "- **Holdout error:** this run has no holdout period, so the model's error on "
            "unseen data is unknown; the real uncertainty is likely larger than the parameter "
            "interval."
        )
    return "\n".join(out)


def caveats(r: ManagementReport) -> str:
    """The limits of the models and of this run, and every model check not clean."""
    zh = r.language == "zh"
    if zh:
        items = [
            "**模型不是确定性结论。** 终身价值和流失风险是相似会员的平均值，个别会员可能差别很大。",
            "**只看过去的行为。** 模型假设会员保持过去的行为；新的竞争者、价格变化或服务失误都会改变这一点。",
            "**只看航班，不看满意度。** 模型看到会员何时乘机、乘机多少，但看不到原因；有记录时会使用投诉和未登机记录。",
        ]
        extra = {
            "synthetic": "**模拟数据。** 本次运行使用模拟的常旅客计划，数字用于说明方法，不代表任何真实航空公司。",
            "textbook": "**汇总数据。** 教材数据每名会员只有一行汇总，每次航班的时间为近似值。",
            "cdnow": "**不是航空公司。** CDNOW 是音乐零售商的客户数据，研究中与常旅客相关的部分被跳过。",
        }
    else:
        items = [
            "**Models, not certainties.** Lifetime values and churn risks are averages over "
            "similar members; an individual member can behave very differently.",
            "**Past behaviour only.** The models assume members keep behaving as they did; a "
            "new competitor, a price change or a service failure changes that.",
            "**Flights, not satisfaction.** The models see when and how much members fly, not "
            "why; complaints and no-shows are used where recorded.",
        ]
        extra = {
            "synthetic": "**Simulated data.** This run uses a simulated programme, so the "
            "numbers illustrate the method; they describe no real airline.",
            "textbook": "**Aggregated data.** The textbook table holds one summary row per "
            "member, so the time of each flight is approximated.",
            "cdnow": "**Not an airline.** CDNOW is a music retailer's customer base: the "
            "frequent-flyer parts of the study are skipped.",
        }
    if r.source in extra:
        items.append(extra[r.source])
    if r.notes:
        items.append(
            f"**本次运行不完整。** 缺少 {len(r.notes)} 项结果："
            + "；".join(NOTES_ZH.get(n, n) for n in r.notes)
            + "。"
            if zh
            else "**Incomplete run.** Missing here: " + "; ".join(r.notes) + "."
        )
    fits = plain_caveats(r.model_checks, r.language)
    items += fits
    if r.model_checks and not fits:
        items.append(
            f"**模型检查。** 本次运行拟合的全部 {len(r.model_checks)} 个模型均正常收敛。"
            if zh
            else f"**Model checks.** All {len(r.model_checks)} models fitted in this run "
            "converged cleanly."
        )
    return "\n".join(f"- {c}" for c in items)


def figure_note(r: ManagementReport, figure_language: str) -> str | None:
    """The note shown when the Chinese edition's figures fall back to English labels."""
    if r.language == "zh" and figure_language != "zh":
        return (
            "**说明：** 本机未安装中文字体（如 Debian 的 fonts-noto-cjk），因此图中的文字为英文。"
        )
    return None


def metrics(r: ManagementReport) -> dict:
    """The report's key numbers for ``06_management_report.json`` (plain numbers)."""
    hi = r.high_risk
    eq = (r.equity or {}).get("customer_equity")
    if eq is None and r.clv_known:
        eq = float(r.members["clv"].sum())
    conc = r.concentration or {}
    return {
        "n_members": int(r.n_members),
        "currency": currency(r.source, "en"),
        "revenue_top_share": conc.get("top_share"),
        "customer_equity": eq,
        "members_high_risk": int(hi.sum()) if r.risk_known else None,
        "clv_high_risk": float(r.members.loc[hi, "clv"].sum())
        if r.risk_known and r.clv_known
        else None,
        "n_classes": int(r.classes.shape[0]),
        "campaign_contacts": (r.campaign or {}).get("n_contact"),
        "campaign_expected_net": (r.campaign or {}).get("expected_net"),
        "investment_levels": {
            str(k): v for k, v in r.levels["level"].items() if isinstance(v, str)
        },
        "n_model_checks": len(r.model_checks),
        "n_model_caveats": len(plain_caveats(r.model_checks)),
    }


def _names(r: ManagementReport) -> dict:
    return {k: v.format(cur=r.currency) for k, v in COLUMNS[r.language].items()}


def class_view(r: ManagementReport):
    """The class table with investment levels, as an escaped pandas Styler."""
    names = _names(r)
    t = r.classes.join(r.levels[["level_name", "reason"]])
    cols = [
        c
        for c in (
            "class",
            "segment_zh" if r.language == "en" else None,
            "members",
            "member_share",
            "clv_share",
            "clv_per_member",
            "mean_p_churn",
            "lifecycle_stage",
            "level_name",
        )
        if c and c in t.columns
    ]
    show = t[cols].rename(columns=names)
    fmt = {
        names["members"]: "{:,.0f}",
        names["member_share"]: "{:.1%}",
        names["clv_share"]: "{:.1%}",
        names["clv_per_member"]: "{:,.0f}",
        names["mean_p_churn"]: "{:.0%}",
    }
    fmt = {k: v for k, v in fmt.items() if k in show.columns}
    return show.style.format(fmt, na_rep="-", escape="html").hide(axis="index")


def investment_list(r: ManagementReport) -> str:
    """Each class's investment level, what it means for contact, the class's action and
    why this level (Markdown)."""
    zh = r.language == "zh"
    out = []
    for key, lv in r.levels.iterrows():
        name = r.classes.loc[key, "class"]
        act = str(r.classes.loc[key, "strategy"]).rstrip(".")
        if lv["level"] is None:
            out.append(
                f"- **{name}**：{act}。{lv['reason']}。"
                if zh
                else f"- **{name}**: {act}. {lv['reason']}."
            )
        elif zh:
            out.append(
                f"- **{name}：{lv['level_name']}**（{lv['contact']}）。行动：{act}。"
                f"理由：{lv['reason']}。"
            )
        else:
            out.append(
                f"- **{name}: {lv['level_name']}** ({lv['contact']}). Action: {act}. "
                f"Why: {lv['reason']}."
            )
    return "\n".join(out)


def retention_view(r: ManagementReport, rows: int) -> pd.DataFrame | None:
    """The first ``rows`` members of the retention list, named and rounded for managers."""
    if r.retention is None:
        return None
    names = _names(r)
    top = r.retention.head(rows).copy()
    cols = [
        c
        for c in ("rank", "MEMBER_NO", "segment", "p_churn", "clv", "value_if_retained",
                  "expected_loss", "contact")
        if c in top
    ]  # fmt: skip
    top = top[cols]
    if "segment" in top:
        top["segment"] = [class_name(k, r.language) for k in top["segment"]]
    if "contact" in top:
        top["contact"] = [names["yes"] if bool(x) else names["no"] for x in top["contact"]]
    if "MEMBER_NO" in top:
        top["MEMBER_NO"] = top["MEMBER_NO"].astype(str)
    for c in ("clv", "value_if_retained", "expected_loss"):
        if c in top:
            top[c] = top[c].round(0)
            if top[c].notna().all():
                top[c] = top[c].astype("int64")
    if "p_churn" in top:
        top["p_churn"] = (top["p_churn"] * 100).round(1)
        names["p_churn"] += " (%)"
    return top.rename(columns=names)


def show_retention(r: ManagementReport, rows: int):
    """Display the retention list as a sortable, searchable table that works offline.

    itables in its offline mode (``connected=False``) embeds the DataTables library in
    the notebook, so the exported HTML sorts and searches without a network (a mailed
    file). Returns the DataFrame shown, or None without a retention list.
    """
    import itables
    from IPython.display import Markdown, display

    view = retention_view(r, rows)
    if view is None:
        display(
            Markdown(
                "本次数据没有挽留名单（第 05 号笔记本未运行）。"
                if r.language == "zh"
                else "No retention list: notebook 05 did not run for this data."
            )
        )
        return None
    itables.init_notebook_mode(all_interactive=False, connected=False)
    itables.show(
        view,
        showIndex=False,
        maxBytes=0,
        pageLength=25,
        classes="display compact retention-list",
        order=[],
    )
    return view


def concentration_panels(r: ManagementReport, figure_language: str) -> list[tuple]:
    """``(values, title)`` of the Lorenz panels: revenue of the last two years (when the
    data have it) and the predicted lifetime value (when computed)."""
    from ..exploration import member_value

    zh = figure_language == "zh"
    panels = []
    if r.active is not None:
        panels.append((member_value(r.active), "近两年收入" if zh else "Revenue, last two years"))
    if r.clv_known:
        title = "预测终身价值" if zh else "Predicted lifetime value"
        panels.append((r.members["clv"].dropna().clip(lower=0), title))
    return panels


def matrix_inputs(r: ManagementReport, figure_language: str):
    """``(members, value, value_label)`` of the action-matrix figure, or None."""
    if not r.matrix:
        return None
    tabs = (
        r.matrix
        if figure_language == r.language
        else action_matrix(r.members, language=figure_language)
    )
    zh = figure_language == "zh"
    if r.clv_known:
        label = (
            f"终身价值（{currency(r.source, 'zh')}）" if zh else f"lifetime value ({r.currency})"
        )
        return tabs["members"], tabs["clv"], label
    return tabs["members"], tabs["members"], "会员数" if zh else "members"


def class_figure_table(r: ManagementReport, figure_language: str) -> pd.DataFrame | None:
    """The class table with class names in the figure's language, or None."""
    if not (r.has_segments and r.clv_known):
        return None
    if figure_language == r.language:
        return r.classes
    return r.classes.assign(**{"class": [class_name(k, figure_language) for k in r.classes.index]})
