"""``migrants report DIR``: plots (PNG), one self-contained HTML page and the same numbers as tables.

Writes ``DIR/report/index.html`` (plots embedded, no external resources),
``DIR/report/*.png`` and ``DIR/report/tables/<name>.csv`` and ``.parquet``
for every table of :func:`migrants.experiments.analysis.analyse`.  The page
opens with the answers: which arm gives the most residents, the most retained
graduates, the lowest cost per extra resident, and how sure we are (confidence
intervals, and the share of replicates in which the arm was best).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..io import folder_in_use, write_parquet, write_text
from .analysis import BASELINE_POINT, analyse, display_levels
from .store import Store

PLOTS = ("arms", "scatter", "contrasts", "main_effects", "interaction", "sobol", "morris", "frontier", "timeseries")
TABLES = ("rankings", "levers", "frontier", "prim", "feature_scores", "contrasts", "arms", "sobol", "sobol_s2", "morris", "main_effects", "interactions")
MAX_BAR_ARMS = 40  # more arms, or a sampled design: scatter plots against the factors instead


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            return "" if np.isnan(x) else str(x)
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"
    return html.escape(str(x))


def _table(df: pd.DataFrame, max_rows: int = 60) -> str:
    shown = df.head(max_rows)
    body = shown.to_html(index=False, border=0, classes="t", formatters={c: _fmt for c in shown.columns},
                         escape=False, na_rep="")
    more = f"<p class='more'>{len(df) - max_rows} more rows in the CSV file.</p>" if len(df) > max_rows else ""
    return body + more


def load_sweep(out: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Manifest, summary (rebuilt from runs/ if missing or stale) and errors of a sweep folder."""
    store = Store(out)
    manifest = store.read_manifest()
    if manifest is None:
        raise ConfigError(f"report {out}: no manifest.json; expected the --out folder of a `migrants sweep`")
    if manifest.get("status") == "running" and not folder_in_use(out):
        manifest["status"] = "interrupted"  # killed before it could say so: no live command holds the folder
    planned = [r["run_id"] for r in manifest["runs"]]
    n_files = len(store.done_ids() & set(planned))
    summary = pd.read_parquet(store.summary_path) if store.summary_path.exists() else None
    if summary is None or len(summary) != n_files:
        summary = store.rebuild_summary(planned)
    errors = pd.read_parquet(store.errors_path) if store.errors_path.exists() else pd.DataFrame()
    return manifest, summary, errors


class _Figures:
    def __init__(self, folder: Path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self.plt = plt
        self.folder = folder
        self.items: list[tuple[str, str, str]] = []  # (title, file name, base64 PNG)

    def save(self, fig, name: str, title: str) -> None:
        path = self.folder / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        self.plt.close(fig)
        self.items.append((title, path.name, base64.b64encode(path.read_bytes()).decode()))


def _human(x: float, digits: int = 3) -> str:
    """A tick label people read: 9.07M, 41M, 250k, 0.35."""
    a = abs(x)
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:.{digits}g}{unit}"
    return f"{x:.{digits}g}"


def _human_formatter():
    from matplotlib.ticker import Formatter

    class Human(Formatter):
        """k/M labels with as many digits as the ticks need to differ (no two "9.06M")."""

        def __call__(self, x, pos=None):
            return self.format_ticks([x])[0]

        def format_ticks(self, values):
            labels = [_human(v) for v in values]
            for digits in range(3, 9):
                labels = [_human(v, digits) for v in values]
                if len(set(labels)) == len(labels):
                    break
            return labels

    return Human()


def _axis(ax, which: str, kpi: str | None) -> None:
    """Readable ticks on an axis showing ``kpi``: percentages for shares, k/M otherwise, no offset."""
    from matplotlib.ticker import PercentFormatter

    from .levers import is_share

    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(PercentFormatter(1.0, decimals=1) if kpi and is_share(kpi) else _human_formatter())


def _wrap(text: str, width: int = 38) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False))


def _key_kpis(manifest: dict, available: list[str]) -> list[str]:
    a = manifest["spec"]["analysis"]
    keys = [a["population_kpi"], "population_total", "graduates_stayed", "graduate_retention",
            "unemployment_rate_last12", a["spend_kpi"]]
    return [k for k in dict.fromkeys(keys) if k in available]


def _plot_arms(figs: _Figures, arms: pd.DataFrame, kpis: list[str], conf: float) -> None:
    n_arms = arms["arm"].nunique()
    fig, axes = figs.plt.subplots(len(kpis), 1, figsize=(8, 0.9 + 0.28 * n_arms * len(kpis) + 0.6 * len(kpis)),
                                  squeeze=False)
    for ax, k in zip(axes[:, 0], kpis):
        a = arms[arms["kpi"] == k].reset_index(drop=True)
        y = np.arange(len(a))
        err = np.vstack([a["mean"] - a["ci_low"], a["ci_high"] - a["mean"]])
        colors = ["#888" if p == BASELINE_POINT else "#2b6cb0" for p in a["point"]]
        # dots, not bars: the axis need not start at zero to show differences of a few per cent
        ax.errorbar(a["mean"], y, xerr=np.nan_to_num(err), fmt="none", ecolor="#999", capsize=3)
        ax.scatter(a["mean"], y, c=colors, zorder=3, s=18)
        ax.set_yticks(y, a["arm"], fontsize=7)
        ax.invert_yaxis()
        _axis(ax, "x", k)
        ax.set_title(_wrap(f"{k}: mean and {conf:.0%} CI per arm (grey: baseline)", 70), fontsize=9)
    figs.save(fig, "arms", "KPIs per arm")


def _plot_scatter(figs: _Figures, summary: pd.DataFrame, factors: list[str], kpis: list[str]) -> None:
    from .analysis import factor_levels_column

    d = summary[summary["point"] != BASELINE_POINT]
    fig, axes = figs.plt.subplots(len(kpis), len(factors), figsize=(2.6 * len(factors) + 1, 2.2 * len(kpis) + 0.3),
                                  squeeze=False, sharey="row")
    for i, k in enumerate(kpis):
        for j, f in enumerate(factors):
            ax = axes[i, j]
            x = d[f]
            numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
            if numeric:
                ax.scatter(x, d[k], s=6, alpha=0.4)
                if x.nunique() > 6:  # the trend: mean per quartile bin, at the bin's mean
                    lv = factor_levels_column(d, f)
                    m = d.groupby(lv, observed=True).agg(x=(f, "mean"), y=(k, "mean"))
                    ax.plot(m["x"], m["y"], "-o", color="#c53030", ms=3, lw=1.2)
                _axis(ax, "x", None)
            else:  # levels as a reader knows them (display_levels), in their order
                cats = x.astype("category") if not isinstance(x.dtype, pd.CategoricalDtype) else x
                pos = cats.cat.codes.to_numpy()
                ax.scatter(pos, d[k], s=6, alpha=0.4)
                ax.set_xticks(range(len(cats.cat.categories)), [str(c) for c in cats.cat.categories])
                ax.set_xlim(-0.5, len(cats.cat.categories) - 0.5)
            if i == len(kpis) - 1:
                ax.set_xlabel(f, fontsize=8)
            if j == 0:
                ax.set_ylabel(_wrap(k, 26), fontsize=7)
                _axis(ax, "y", k)
            ax.tick_params(labelsize=6)
    figs.save(fig, "scatter", "Each run's KPIs against the factors")


def _plot_contrasts(figs: _Figures, con: pd.DataFrame, kpis: list[str], conf: float, base: str) -> None:
    fig, axes = figs.plt.subplots(1, len(kpis), figsize=(4.2 * len(kpis), 0.8 + 0.3 * con["arm"].nunique()),
                                  squeeze=False)
    for ax, k in zip(axes[0], kpis):
        c = con[con["kpi"] == k].reset_index(drop=True)
        y = np.arange(len(c))
        err = np.vstack([c["difference"] - c["ci_low"], c["ci_high"] - c["difference"]])
        ax.errorbar(c["difference"], y, xerr=np.nan_to_num(err), fmt="o", capsize=3)
        ax.axvline(0, color="#888", lw=1)
        ax.set_yticks(y, c["arm"] if ax is axes[0, 0] else [""] * len(c), fontsize=7)
        ax.invert_yaxis()
        _axis(ax, "x", k)
        ax.set_title(_wrap(f"{k} minus {base} (paired, {conf:.0%} CI)"), fontsize=9)
    figs.save(fig, "contrasts", f"Difference to the baseline arm ({base}), same random numbers per replicate")


def _plot_main_effects(figs: _Figures, me: pd.DataFrame, factors: list[str], kpis: list[str]) -> None:
    fig, axes = figs.plt.subplots(len(kpis), len(factors), figsize=(2.8 * len(factors) + 1, 2.3 * len(kpis)),
                                  squeeze=False, sharey="row")
    for i, k in enumerate(kpis):
        for j, f in enumerate(factors):
            ax = axes[i, j]
            m = me[(me["kpi"] == k) & (me["factor"] == f)]
            x = np.arange(len(m))
            err = np.vstack([m["mean"] - m["ci_low"], m["ci_high"] - m["mean"]])
            ax.errorbar(x, m["mean"], yerr=np.nan_to_num(err), fmt="-o", capsize=3)
            ax.set_xticks(x, m["level"], fontsize=6, rotation=30 if m["level"].str.len().max() > 6 else 0)
            if i == 0:
                ax.set_title(f, fontsize=8)
            if j == 0:
                ax.set_ylabel(_wrap(k, 26), fontsize=7)
                _axis(ax, "y", k)
            ax.tick_params(axis="y", labelsize=6)
    figs.save(fig, "main_effects", "Main effects: mean KPI per factor level (with CI)")


def _plot_interaction(figs: _Figures, it: pd.DataFrame, kpi: str) -> None:
    t = it[it["kpi"] == kpi]
    if t.empty:
        return
    size = t.groupby(["factor_a", "factor_b"])["interaction"].apply(lambda s: s.abs().max())
    a, b = size.idxmax()
    t = t[(t["factor_a"] == a) & (t["factor_b"] == b)]
    fig, ax = figs.plt.subplots(figsize=(5, 3.4))
    levels_a = list(dict.fromkeys(t["level_a"]))
    for lb, g in t.groupby("level_b", sort=False):
        g = g.set_index("level_a").reindex(levels_a)
        ax.plot(range(len(levels_a)), g["mean"], "-o", label=f"{b}={lb}")
    ax.set_xticks(range(len(levels_a)), levels_a, fontsize=7)
    ax.set_xlabel(a)
    ax.set_ylabel(_wrap(kpi, 30), fontsize=8)
    _axis(ax, "y", kpi)
    ax.legend(fontsize=7)
    ax.set_title(_wrap(f"Largest two-way interaction for {kpi}: {a} x {b}", 60), fontsize=9)
    figs.save(fig, "interaction", f"Interaction of {a} and {b} (parallel lines: no interaction)")


def _plot_indices(figs: _Figures, tab: pd.DataFrame, kind: str, kpis: list[str]) -> None:
    kpis = [k for k in kpis if k in set(tab["kpi"])]
    if not kpis:
        return
    fig, axes = figs.plt.subplots(1, len(kpis), figsize=(3.6 * len(kpis), 3.2), squeeze=False)
    for ax, k in zip(axes[0], kpis):
        t = tab[tab["kpi"] == k].reset_index(drop=True)
        x = np.arange(len(t))
        if kind == "sobol":
            ax.bar(x - 0.2, t["S1"], 0.4, yerr=t["S1_conf"], label="S1", capsize=2)
            ax.bar(x + 0.2, t["ST"], 0.4, yerr=t["ST_conf"], label="ST", capsize=2)
            ax.set_xticks(x, t["factor"], rotation=45, ha="right", fontsize=7)
        else:
            ax.scatter(t["mu_star"], t["sigma"])
            for _, r in t.iterrows():
                ax.annotate(r["factor"], (r["mu_star"], r["sigma"]), fontsize=7)
            ax.set_xlabel("mu*")
            ax.set_ylabel("sigma")
        ax.set_title(_wrap(k, 34), fontsize=9)
        if kind == "sobol":
            ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
            ax.legend(fontsize=7)
    title = ("Sobol indices: first order (S1) and total (ST), with bootstrap CI" if kind == "sobol"
             else "Morris screening: mu* (importance) against sigma (non-linearity, interactions)")
    figs.save(fig, kind, title)


def _plot_frontier(figs: _Figures, fr: pd.DataFrame, pop_kpi: str, spend_kpi: str, has_base: bool) -> None:
    fig, ax = figs.plt.subplots(figsize=(6.5, 4.2))
    xe = ye = None
    if has_base:
        xe = np.nan_to_num(np.vstack([fr["spend_extra"] - fr["spend_extra_ci_low"],
                                      fr["spend_extra_ci_high"] - fr["spend_extra"]]))
        ye = np.nan_to_num(np.vstack([fr["population_gain"] - fr["population_gain_ci_low"],
                                      fr["population_gain_ci_high"] - fr["population_gain"]]))
    ax.errorbar(fr["spend_extra"], fr["population_gain"], xerr=xe, yerr=ye, fmt="o", color="#2b6cb0",
                alpha=0.7, capsize=2)
    f = fr[fr["on_frontier"]].sort_values("spend_extra")
    xs, ys = list(f["spend_extra"]), list(f["population_gain"])
    if has_base:
        xs, ys = [0.0] + xs, [0.0] + ys
        ax.plot([0], [0], "s", color="#888", label="reference")
    ax.plot(xs, ys, "-", color="#c53030", label="frontier")
    if len(fr) <= 30:
        for _, r in fr.iterrows():
            ax.annotate(_short(r["arm"]), (r["spend_extra"], r["population_gain"]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
    _axis(ax, "x", None)
    _axis(ax, "y", None)
    fr_factors = fr["arm"].iloc[0].split(", ") if len(fr) else []
    if len(fr_factors) > 1 and all("=" in p for p in fr_factors):
        ax.set_title("points: " + "/".join(p.split("=", 1)[0] for p in fr_factors), fontsize=8)
    ref = fr["reference"].iloc[0] if "reference" in fr and len(fr) else "baseline"
    ax.set_xlabel(_wrap(f"{spend_kpi}: extra spend over {ref}, CNY", 60), fontsize=8)
    ax.set_ylabel(_wrap(f"{pop_kpi}: gain over {ref}, persons", 40), fontsize=8)
    ax.legend(fontsize=7)
    figs.save(fig, "frontier", "Cost-effectiveness: spend against population gain")


def _short(arm: str) -> str:
    """``"a=1, b=on"`` -> ``"1/on"`` (plot labels; the tables keep the full names)."""
    parts = [p.split("=", 1)[1] for p in arm.split(", ") if "=" in p]
    return "/".join(parts) if parts else arm


def _plot_timeseries(figs: _Figures, runs: pd.DataFrame, kpi: str) -> None:
    if runs.empty or runs["month"].nunique() < 2 or runs["arm"].nunique() > 12:
        return
    fig, ax = figs.plt.subplots(figsize=(7, 3.6))
    for arm, g in runs.groupby("arm", sort=False):
        m = g.groupby("month")[kpi].mean()
        ax.plot(m.index, m.values, label=arm, lw=1.2)
    ax.set_xlabel("month")
    ax.set_ylabel(_wrap(kpi, 30), fontsize=8)
    _axis(ax, "y", kpi)
    ax.legend(fontsize=6)
    figs.save(fig, "timeseries", f"{kpi} over time, mean over replicates per arm")


def _ci(lo, hi, conf: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no CI: one replicate"
    return f"{conf:.0%} CI {_fmt(lo)} to {_fmt(hi)}"


def _answers(tables: dict, manifest: dict) -> list[str]:
    a = manifest["spec"]["analysis"]
    conf = a["confidence"]
    out = []
    rk = tables.get("rankings", pd.DataFrame())
    con = tables.get("contrasts")
    base = (manifest.get("baseline") or {}).get("name")

    def line(kpi: str, what: str) -> None:
        if rk.empty:
            return
        r = rk[rk["kpi"] == kpi]
        if r.empty:
            return
        r = r.iloc[0]
        text = (f"<b>{what}</b> ({kpi}): <b>{html.escape(str(r['best_arm']))}</b>, mean {_fmt(r['mean'])} "
                f"({_ci(r['ci_low'], r['ci_high'], conf)}), worst case {_fmt(r['worst'])}, "
                f"largest regret {_fmt(r['regret_max'])}")
        if np.isfinite(r["p_best"]):
            text += (f"; best or tied in {r['p_best']:.0%} of {int(r['replicates_compared'])} "
                     "uncertainty samples x replicates")
        if con is not None:
            c = con[(con["kpi"] == kpi) & (con["arm"] == r["best_arm"])]
            if len(c):
                c = c.iloc[0]
                text += (f"; {_fmt(c['difference'])} against {html.escape(str(base))} "
                         f"({_ci(c['ci_low'], c['ci_high'], conf)})")
        out.append(text)

    line(a["population_kpi"], "Most residents")
    line("graduates_stayed" if "graduates_stayed" in set(rk.get("kpi", [])) else "graduate_retention",
         "Most retained graduates")
    fr = tables.get("frontier")
    if rk.empty:
        out.append("<b>No lever combinations to rank</b>: every factor of this sweep is an uncertainty "
                   "(see the notes); its plots show how the outcomes depend on them")
    elif fr is not None and len(fr):
        ref = html.escape(str(fr["reference"].iloc[0]))
        ok = fr[fr["distinguishable"]]
        if (fr["spend_extra"].abs().fillna(0) == 0).all():
            out.append(f"<b>Lowest cost per extra resident</b>: no lever combination spends more than {ref} "
                       f"({a['spend_kpi']} does not differ), so there is no cost to compare")
        elif ok.empty:
            out.append(f"<b>Lowest cost per extra resident</b>: no combination that spends more than {ref} has a "
                       f"population gain whose {conf:.0%} interval is above zero: no cost can be told")
        else:
            r = ok.loc[ok["cost_per_extra_resident"].idxmin()]
            out.append(f"<b>Lowest cost per extra resident</b>: <b>{html.escape(str(r['arm']))}</b>, "
                       f"{_fmt(r['cost_per_extra_resident'])} CNY per resident "
                       f"({_ci(r['cost_ci_low'], r['cost_ci_high'], conf)}; {_fmt(r['spend_extra'])} CNY for "
                       f"{_fmt(r['population_gain'])} residents against {ref}, gain "
                       f"{_ci(r['population_gain_ci_low'], r['population_gain_ci_high'], conf)})")
    return out


CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table.t{border-collapse:collapse;font-size:12px;margin:.5em 0}table.t td,table.t th{padding:2px 8px;
border-bottom:1px solid #eee;text-align:right}table.t th{background:#f4f4f4}img{max-width:100%}
.meta td{padding:1px 10px 1px 0;font-size:13px}.more,.note{color:#666;font-size:12px}li{margin:.3em 0}"""


def write_report(out: str | Path, report_dir: str | Path | None = None) -> Path:
    """Analyse the sweep in ``out`` and write its report; returns the HTML path."""
    out = Path(out)
    if not out.is_dir():
        raise ConfigError(f"report {out}: no such folder; expected the --out folder of a `migrants sweep`")
    manifest, summary, errors = load_sweep(out)
    rdir = Path(report_dir) if report_dir else out / "report"
    (rdir / "tables").mkdir(parents=True, exist_ok=True)
    for name in PLOTS:  # an earlier report's plots and tables that this one may not redraw
        (rdir / f"{name}.png").unlink(missing_ok=True)
    for name in TABLES:
        for ext in ("csv", "parquet"):
            (rdir / "tables" / f"{name}.{ext}").unlink(missing_ok=True)
    tables, notes = analyse(summary, manifest)
    for name, df in tables.items():
        write_text(df.to_csv(index=False), rdir / "tables" / f"{name}.csv")
        write_parquet(df, rdir / "tables" / f"{name}.parquet")
    for name in ("levers", "prim"):  # the tables a user asks for first, beside the page
        (rdir / f"{name}.parquet").unlink(missing_ok=True)
        if name in tables:
            write_parquet(tables[name], rdir / f"{name}.parquet")
    spec = manifest["spec"]
    conf = spec["analysis"]["confidence"]
    factors = manifest["design"]["factors"]
    figs = _Figures(rdir)
    kpis = _key_kpis(manifest, list(summary.columns))
    if "arms" in tables:
        if manifest["design"]["type"] == "factorial" and tables["arms"]["arm"].nunique() <= MAX_BAR_ARMS:
            _plot_arms(figs, tables["arms"], kpis[:3], conf)
        else:
            _plot_scatter(figs, display_levels(summary, manifest), factors, kpis[:3])
    if "contrasts" in tables:
        _plot_contrasts(figs, tables["contrasts"], kpis[:2], conf, manifest["baseline"]["name"])
    if "main_effects" in tables:
        _plot_main_effects(figs, tables["main_effects"], factors, kpis[:3])
    if "interactions" in tables and len(tables["interactions"]):
        _plot_interaction(figs, tables["interactions"], kpis[0])
    for kind in ("sobol", "morris"):
        if kind in tables and len(tables[kind]):
            _plot_indices(figs, tables[kind], kind, kpis[:4])
    if "frontier" in tables and len(tables["frontier"]):
        _plot_frontier(figs, tables["frontier"], spec["analysis"]["population_kpi"], spec["analysis"]["spend_kpi"],
                       True)
    if spec["outputs"]["granularity"] != "final" and kpis:
        _plot_timeseries(figs, Store(out).read_runs(), kpis[0])
    write_text(_html(manifest, summary, errors, tables, notes, figs), rdir / "index.html")
    return rdir / "index.html"


def _html(manifest, summary, errors, tables, notes, figs) -> str:
    spec = manifest["spec"]
    e = html.escape
    meta = {
        "scenario": manifest["scenario"]["path"], "design": f"{manifest['design']['type']}, "
        f"{len(manifest['design']['points'])} points x {manifest['replicates']} replicates"
        + (f" + baseline arm `{manifest['baseline']['name']}`" if manifest.get("baseline") else ""),
        "runs": f"{len(summary)} finished of {len(manifest['runs'])}, {len(errors)} failed",
        "root seed": f"{manifest['root_seed']} (common random numbers: {manifest['common_random_numbers']})",
        "spec hash": manifest["spec_hash"][:16], "code": json.dumps(manifest["code_version"]),
        "months": spec.get("months") or "scenario's", "status": manifest.get("status"),
    }
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Sweep {e(spec['name'])}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>Sweep report: {e(spec['name'])}</h1><p>{e(spec.get('description', ''))}</p>",
             "<table class='meta'>" + "".join(f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in meta.items())
             + "</table>",
             "<h2>Answers</h2><ul>" + "".join(f"<li>{a}</li>" for a in _answers(tables, manifest)) + "</ul>"]
    if notes:
        parts.append("<ul class='note'>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    for title, name, b64 in figs.items:
        parts.append(f"<h2>{e(title)}</h2><img alt='{e(name)}' src='data:image/png;base64,{b64}'>")
    for name in TABLES:  # in the page's order
        if name in tables and len(tables[name]):
            parts.append(f"<h2>Table: {name}</h2><p class='more'>tables/{name}.csv, tables/{name}.parquet</p>"
                         + _table(tables[name]))
    if len(errors):
        cols = [c for c in ("run_id", "arm", "error_type", "error") if c in errors.columns]
        parts.append("<h2>Failed runs</h2><p class='more'>tracebacks in errors.parquet</p>" + _table(errors[cols]))
    parts.append("</body></html>")
    return "\n".join(parts)
