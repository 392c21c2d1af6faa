#!/usr/bin/python3
"""The ratio table and the plots of bench/run, from its results.json.

    bench/report.py table RESULTS.json          print the ratio table
    bench/report.py plots RESULTS.json OUTDIR   write the PNG plots (matplotlib)

Every figure holds samples per path (one per round, rounds interleaved
across paths) and names its limit: the path every other path is compared
with, measured in the same run. A figure's unit says which way is better:
rates (GB/s, files/s, ops/s) are divided by the limit's, times (s, ms) are
the limit's divided by the path's, so a ratio of 1.0 is the limit and
smaller is slower. The goal column names the first goal of the figure that
the path's median meets.
"""
import json
import statistics
import sys

TIME_UNITS = ("s", "ms", "us")

PATH_NAMES = {
    "raw": "raw mapping",
    "tmpfs": "tmpfs",
    "passthrough": "passthrough_ll",
    "compat": "famfs compat",
    "direct": "famfs run",
    "famfs": "famfs",
    "famfs-device": "famfs --device",
    "raw-hugetlbfs": "raw (hugetlbfs)",
    "direct-hugetlbfs": "famfs run (hugetlbfs)",
    "empty-log": "empty log",
    "owner": "owner (creat returns)",
    "clients": "clients",
}


def is_time(fig):
    return fig["unit"] in TIME_UNITS


def stat(samples, which, time_unit):
    """best, median or p99 of samples (best: max rate, min time)."""
    if not samples:
        return None
    if which == "best":
        return min(samples) if time_unit else max(samples)
    if which == "median":
        return statistics.median(samples)
    if which == "p99":
        s = sorted(samples)
        return s[min(len(s) - 1, max(0, int(round(0.99 * len(s))) - 1))]
    raise ValueError(which)


def ratio(fig, path, which):
    """The path's figure as a fraction of the limit's (1.0 = the limit)."""
    t = is_time(fig)
    v = stat(fig["paths"].get(path, []), which, t)
    lim = stat(fig["paths"].get(fig["limit"], []), which, t)
    if v is None or lim is None or v <= 0 or lim <= 0:
        return None
    return lim / v if t else v / lim


def spread(samples):
    """(max - min) / median, as a fraction."""
    if len(samples) < 2:
        return 0.0
    m = statistics.median(samples)
    return (max(samples) - min(samples)) / m if m else 0.0


def goal_met(fig, path):
    """The first goal of the figure that the path's median meets, or 'none'."""
    t = is_time(fig)
    med = stat(fig["paths"].get(path, []), "median", t)
    if med is None or not fig.get("goals"):
        return "-"
    for g in fig.get("goals", []):
        if "ratio" in g:
            r = ratio(fig, path, "median")
            if r is not None and r >= g["ratio"]:
                return g["name"]
        elif "peer" in g:
            peer = stat(fig["paths"].get(g["peer"], []), "median", t)
            if peer and path != g["peer"]:
                if (med <= peer * g.get("slack", 1.0)) if t else (med >= peer / g.get("slack", 1.0)):
                    return g["name"]
        elif "max" in g:
            v = stat(fig["paths"].get(path, []), g.get("stat", "median"), t)
            if v is not None and v <= g["max"]:
                return g["name"]
        elif "min" in g:
            v = stat(fig["paths"].get(path, []), g.get("stat", "median"), t)
            if v is not None and v >= g["min"]:
                return g["name"]
    return "none"


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def rows(results):
    """One row per (figure, path that is not the figure's limit)."""
    out = []
    for fig in results["figures"]:
        t = is_time(fig)
        lim = fig["limit"]
        ls = fig["paths"].get(lim, [])
        for path, s in fig["paths"].items():
            if path == lim or not s:
                continue
            label = fig["label"]
            if fig.get("partial"):
                label += " (time budget: " + ", ".join(
                    f"{PATH_NAMES.get(p, p)} did {n:,}" for p, n in fig["partial"].items()) + ")"
            out.append({
                "figure": label,
                "id": fig["id"],
                "path": path,
                "unit": fig["unit"],
                "n": len(s),
                "best": stat(s, "best", t),
                "median": stat(s, "median", t),
                "limit_name": lim,
                "limit_median": stat(ls, "median", t),
                "ratio_best": ratio(fig, path, "best"),
                "ratio_median": ratio(fig, path, "median"),
                "spread": spread(s),
                "limit_spread": spread(ls),
                "goal": goal_met(fig, path),
            })
    return out


COLUMNS = ["tmpfs", "passthrough", "compat", "direct", "raw-hugetlbfs", "direct-hugetlbfs",
           "famfs", "famfs-device", "clients"]
GOAL_ABBREV = {"compat": "compat", "direct": "run", "famfs": "famfs", "famfs-device": "--device",
               "clients": "clients",
               "direct-hugetlbfs": "run/htlb"}


def cell(r):
    """median ratio (best ratio) +-spread of the path's samples."""
    return f"{fmt(r['ratio_median'])} ({fmt(r['ratio_best'])}) ±{r['spread'] * 100:.0f}%"


def matrix(rs, out, title):
    """One row per figure, one column per path: ratios to the figure's limit."""
    figs, by = [], {}
    for r in rs:
        if r["id"] not in by:
            figs.append(r)
            by[r["id"]] = {}
        by[r["id"]][r["path"]] = r
    cols = [c for c in COLUMNS if any(c in by[f["id"]] for f in figs)]
    hdr = [title, "limit: median"] + [PATH_NAMES.get(c, c) for c in cols] + ["goal met (famfs)"]
    data = []
    for f in figs:
        row = by[f["id"]]
        goals = "; ".join(f"{GOAL_ABBREV[c]}: {row[c]['goal']}" for c in cols
                          if c in row and c in GOAL_ABBREV and row[c]["goal"] != "-")
        data.append([f["figure"], f"{PATH_NAMES.get(f['limit_name'], f['limit_name'])}: "
                     f"{fmt(f['limit_median'])} {f['unit']}"] +
                    [cell(row[c]) if c in row else "" for c in cols] + [goals or "-"])
    w = [max([len(h)] + [len(d[i]) for d in data]) for i, h in enumerate(hdr)]
    line = lambda cells: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(cells)) + " |"
    print(line(hdr), file=out)
    print("|" + "|".join("-" * (x + 2) for x in w) + "|", file=out)
    for d in data:
        print(line(d), file=out)


def table(results, out=sys.stdout):
    m = results.get("machine", {})
    print(f"famfs-fused benchmark ({'quick' if m.get('quick') else 'full'} run, "
          f"{m.get('rounds', '?')} rounds): {m.get('nproc', '?')} CPUs, {m.get('cpu', '?')}, "
          f"{m.get('mem_gib', '?')} GiB, kernel {m.get('kernel', '?')}, load "
          f"{m.get('load_before', '?')} -> {m.get('load_after', '?')}", file=out)
    print("cells: ratio of the median to the limit's median (ratio of the bests) ±spread of "
          "the path's samples ((max-min)/median); 1.00 is the limit; times are inverted "
          "(limit/figure), so smaller is always slower", file=out)
    rs = rows(results)
    groups = [("data", "data path"), ("sweep", "size sweep (vs raw)"), ("meta", "metadata")]
    for g, title in groups:
        ids = {f["id"] for f in results["figures"] if f["group"] == g}
        sel = [r for r in rs if r["id"] in ids]
        if sel:
            print(file=out)
            matrix(sel, out, title)
    fm = results.get("famfs_mode")
    if fm:
        print(f"\nfamfs mode (kernel-vm run {fm.get('run', '?')}, counts only, TCG): " +
              "; ".join(f"{k}: {v['minflt_per_gib']:.0f} page faults/GiB, "
                        f"{v['daemon_requests_per_gib']:.0f} daemon requests/GiB"
                        for k, v in fm.get("modes", {}).items()), file=out)
    for s in results.get("skipped", []):
        print(f"skipped: {s}", file=out)


def plots(results, outdir):
    import os

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(outdir, exist_ok=True)
    written = []
    order = ["direct", "compat", "passthrough", "tmpfs", "direct-hugetlbfs", "raw-hugetlbfs"]
    colors = {"direct": "tab:green", "compat": "tab:red", "passthrough": "tab:orange",
              "famfs": "tab:red", "famfs-device": "tab:pink", "clients": "tab:purple",
              "tmpfs": "tab:blue", "raw": "black", "direct-hugetlbfs": "tab:olive",
              "raw-hugetlbfs": "tab:gray"}

    # 1. data path: ratio to the raw mapping per metric, 1 and 2 threads.
    data = [f for f in results["figures"] if f["group"] == "data"]
    if data:
        thr = sorted({f["threads"] for f in data})
        fig, axes = plt.subplots(1, len(thr), figsize=(6 * len(thr), 4), squeeze=False)
        for ax, t in zip(axes[0], thr):
            fs = [f for f in data if f["threads"] == t]
            paths = [p for p in order if any(p in f["paths"] for f in fs)]
            wbar = 0.8 / max(1, len(paths))
            for j, p in enumerate(paths):
                xs, ys, errs = [], [], []
                for i, f in enumerate(fs):
                    r = ratio(f, p, "median")
                    if r is None:
                        continue
                    xs.append(i + j * wbar - 0.4 + wbar / 2)
                    ys.append(r)
                    b = ratio(f, p, "best") or r
                    errs.append(max(0.0, b - r))
                ax.bar(xs, ys, wbar, label=PATH_NAMES.get(p, p), color=colors.get(p),
                       yerr=[[0] * len(errs), errs], capsize=2)
            ax.axhline(1.0, color="black", lw=0.8)
            ax.set_xticks(range(len(fs)))
            ax.set_xticklabels([f["metric"] for f in fs], rotation=30, ha="right")
            ax.set_ylabel("median / raw mapping (bar top: best)")
            ax.set_title(f"data path, {t} thread{'s' if t > 1 else ''}, "
                         f"{fs[0]['size_mib']} MiB file")
            ax.set_yscale("log")
            ax.grid(axis="y", alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        p = os.path.join(outdir, "data-path.png")
        fig.savefig(p, dpi=72)
        plt.close(fig)
        written.append(p)

    # 2. size sweep: GB/s (median) against file size.
    sweep = [f for f in results["figures"] if f["group"] == "sweep"]
    if sweep:
        metrics = sorted({f["metric"] for f in sweep})
        fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4), squeeze=False)
        for ax, m in zip(axes[0], metrics):
            fs = sorted([f for f in sweep if f["metric"] == m], key=lambda f: f["size_mib"])
            for p in ["raw"] + order:
                pts = [(f["size_mib"], stat(f["paths"][p], "median", False)) for f in fs
                       if f["paths"].get(p)]
                if pts:
                    ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o",
                            label=PATH_NAMES.get(p, p), color=colors.get(p))
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("file size (MiB)")
            ax.set_ylabel("GB/s (median)")
            ax.set_title(f"size sweep: {m}")
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        p = os.path.join(outdir, "size-sweep.png")
        fig.savefig(p, dpi=72)
        plt.close(fig)
        written.append(p)

    # 3. metadata: ratio to the limit (tmpfs, or the empty log / the owner).
    meta = [f for f in results["figures"] if f["group"] == "meta"]
    if meta:
        nbars = sum(len([p for p in f["paths"] if p != f["limit"]]) for f in meta)
        fig, ax = plt.subplots(figsize=(11, 0.26 * nbars + 1.2))
        labels, i = [], 0
        for f in meta:
            for p in f["paths"]:
                if p == f["limit"]:
                    continue
                r = ratio(f, p, "median")
                if r is None:
                    continue
                ax.barh(i, r, color=colors.get(p, "tab:purple"))
                ax.text(r, i, f" {fmt(r)}", va="center", fontsize=7)
                labels.append(f"{f['label'].split(':')[0]} - {PATH_NAMES.get(p, p)}")
                i += 1
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xlabel("median / limit (times: limit / median); limit = tmpfs unless named")
        ax.set_title("metadata")
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        p = os.path.join(outdir, "metadata.png")
        fig.savefig(p, dpi=72)
        plt.close(fig)
        written.append(p)
    return written


def main(argv):
    if len(argv) < 3 or argv[1] not in ("table", "plots"):
        print(__doc__.strip().splitlines()[2:4] and
              "usage: report.py table RESULTS.json | report.py plots RESULTS.json OUTDIR",
              file=sys.stderr)
        return 2
    try:
        with open(argv[2]) as f:
            results = json.load(f)
    except (OSError, ValueError) as e:
        print(f"report.py: {argv[2]}: {e}", file=sys.stderr)
        return 1
    if argv[1] == "table":
        table(results)
    else:
        if len(argv) < 4:
            print("usage: report.py plots RESULTS.json OUTDIR", file=sys.stderr)
            return 2
        for p in plots(results, argv[3]):
            print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
