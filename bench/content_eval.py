#!/usr/bin/env python3
"""Quality of `--content` against hand-made ground truth, beside other extractors on the same pages.

Data: scrapinghub/article-extraction-benchmark (MIT licence; 181 real article pages of different sites, each with
its hand-written articleBody). It is 6 MB gzipped, so it is not committed: give a checkout of it
(`git clone https://github.com/scrapinghub/article-extraction-benchmark`), or any directory holding its
`ground-truth.json` and `html/ID.html[.gz]`.

Extractors: crawlfish (`target/release/examples/content_extract`, the same function `--content` runs, text form,
main scope), plus every one of trafilatura, readability-lxml (its summary HTML, then html-text), html-text (whole
page) and BeautifulSoup get_text (whole page) that imports in this Python. Outputs of other tools can be added with
`--extra NAME=FILE` (a JSON object ID -> text).

Metric: the benchmark's own (evaluate.py): tokens are `\\w+` runs (Python `re`, Unicode), shingled into 4-grams;
per page TP/FP/FN are counted over shingle multisets and normalised to sum 1; precision and recall are the means
over pages, F1 is computed from those means. A bag-of-words unigram F1 (same tokeniser, mean of per-page F1) is
printed beside it.

    python3 bench/content_eval.py --bench /path/to/article-extraction-benchmark
"""

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text):
    return TOKEN.findall(text or "")


def shingles(text, n=4):
    t = tokens(text)
    return Counter(tuple(t[i:i + n]) for i in range(max(1, len(t) - n + 1)) if t[i:i + n])


def tp_fp_fn(true, pred):
    tc, pc = true, pred
    tp = sum((tc & pc).values())
    fp = sum((pc - tc).values())
    fn = sum((tc - pc).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def prec(tp, fp, fn):
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def rec(tp, fp, fn):
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def score(truth, pred):
    """(precision, recall, F1) of the benchmark metric, and the mean unigram F1."""
    counts = [tp_fp_fn(shingles(truth[k]), shingles(pred.get(k, ""))) for k in truth]
    p = statistics.mean(prec(*c) for c in counts if c[0] + c[1] > 0)
    r = statistics.mean(rec(*c) for c in counts if c[0] + c[2] > 0)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    uni = []
    for k in truth:
        t, q = Counter(tokens(truth[k])), Counter(tokens(pred.get(k, "")))
        tp = sum((t & q).values())
        pp = tp / sum(q.values()) if q else 0.0
        rr = tp / sum(t.values()) if t else 0.0
        uni.append(2 * pp * rr / (pp + rr) if pp + rr else 0.0)
    return p, r, f1, statistics.mean(uni)


def load(bench):
    truth = json.loads((bench / "ground-truth.json").read_text())
    pages = {}
    for key in truth:
        for name in (f"{key}.html", f"{key}.html.gz"):
            path = bench / "html" / name
            if path.exists():
                data = path.read_bytes()
                pages[key] = gzip.decompress(data) if name.endswith(".gz") else data
    return truth, pages


def run_crawlfish(binary, truth, pages, tmp):
    lines = []
    for key, data in pages.items():
        path = tmp / f"{key}.html"
        path.write_bytes(data)
        lines.append(f"{path}\t{truth[key].get('url') or 'http://example.com/'}")
    t = time.perf_counter()
    out = subprocess.run([str(binary), "text", "main"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True)
    took = time.perf_counter() - t
    by_path = json.loads(out.stdout)
    return {Path(p).name[:-5]: v for p, v in by_path.items()}, took


def python_extractors():
    found = {}
    try:
        import trafilatura
        found["trafilatura " + trafilatura.__version__] = lambda b: trafilatura.extract(b) or ""
    except ImportError:
        pass
    try:
        import html_text
        from readability import Document
        import readability
        ver = getattr(readability, "__version__", "")
        found["readability-lxml " + ver] = lambda b: html_text.extract_text(Document(b).summary(html_partial=True))
    except ImportError:
        pass
    try:
        import html_text
        found["html-text (whole page) " + html_text.__version__] = lambda b: html_text.extract_text(b.decode("utf8", "replace"))
    except ImportError:
        pass
    try:
        import bs4
        found["beautifulsoup get_text (whole page) " + bs4.__version__] = lambda b: bs4.BeautifulSoup(b, "lxml").get_text(" ")
    except ImportError:
        pass
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, required=True, help="article-extraction-benchmark checkout")
    ap.add_argument("--binary", type=Path, default=Path("target/release/examples/content_extract"))
    ap.add_argument("--extra", action="append", default=[], help="NAME=FILE: a JSON object ID -> text")
    args = ap.parse_args()
    truth_json, pages = load(args.bench)
    truth = {k: v.get("articleBody", "") for k, v in truth_json.items() if k in pages}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pred, took = run_crawlfish(args.binary, truth_json, pages, Path(tmp))
        rows.append(("crawlfish --content text", pred, took))
    for name, fn in python_extractors().items():
        t = time.perf_counter()
        pred = {}
        for k, data in pages.items():
            try:
                pred[k] = fn(data)
            except Exception as e:  # an extractor that fails on a page scores 0 on it
                print(f"{name}: {k}: {e}", file=sys.stderr)
                pred[k] = ""
        rows.append((name, pred, time.perf_counter() - t))
    for spec in args.extra:
        name, _, path = spec.partition("=")
        rows.append((name, json.loads(Path(path).read_text()), None))
    print(f"{len(truth)} pages; metric: benchmark 4-gram shingles of \\w+ tokens; unigram F1 beside it\n")
    print("| extractor | pages | precision | recall | F1 | unigram F1 | ms/page |")
    print("|---|---|---|---|---|---|---|")
    for name, pred, took in rows:
        p, r, f1, uni = score(truth, pred)
        ms = f"{took * 1000 / len(truth):.1f}" if took is not None else "–"
        print(f"| {name} | {len(truth)} | {p:.3f} | {r:.3f} | {f1:.3f} | {uni:.3f} | {ms} |")


if __name__ == "__main__":
    main()
