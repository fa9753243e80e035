#!/usr/bin/env python3
"""The memory `--since FILE` costs per URL of FILE: peak RSS (from the summary) of a run with `--since FILE`
against the same run without it, for FILE of N synthetic records shaped like crawlfish's own (a 2xx with an
nginx-style ETag, an IMF-fixdate Last-Modified, a digest, a title and ten links). The input is one URL to a
closed port, so the run itself costs the same with and without the index.

    python3 bench/since_memory.py [--bin target/release/crawlfish] [--records 300000,3000000] [--runs 3]

Files go to a temporary directory and are deleted afterwards. Loopback only: the one URL is 127.0.0.1:9.
"""
import argparse
import json
import os
import re
import subprocess
import tempfile


def write_records(path, n):
    with open(path, "w") as f:
        for i in range(n):
            url = f"https://site{i % 97}.example/section/{i}/page.html"
            rec = {
                "url": url, "final_url": url, "status": 200, "depth": 0,
                "title": f"Page {i}", "links": [f"https://site{i % 97}.example/l/{i}/{j}" for j in range(10)],
                "attempts": 1, "error": None, "etag": f'"{i:x}-5f1b2c3d4e"',
                "last_modified": "Wed, 21 Oct 2015 07:28:00 GMT",
                "digest": f"xxh3:{i:032x}",
            }
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")


def peak_mb(binary, extra):
    out = subprocess.run([binary, "-r", "0", "--ignore-robots", "--timeout", "2s", "-o", os.devnull, *extra],
                         input=b"http://127.0.0.1:9/\n", capture_output=True, env={})
    m = re.search(r"peak RSS ([0-9.]+) MB", out.stderr.decode())
    if not m:
        raise SystemExit(f"no peak RSS in the summary: {out.stderr.decode()}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/crawlfish")
    ap.add_argument("--records", default="300000,3000000")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    print("| records | FILE MB | without --since MB | with --since MB | bytes per URL |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in map(int, a.records.split(",")):
            path = os.path.join(tmp, f"since-{n}.jsonl")
            write_records(path, n)
            base = min(peak_mb(a.bin, []) for _ in range(a.runs))
            with_ = min(peak_mb(a.bin, ["--since", path]) for _ in range(a.runs))
            per_url = (with_ - base) * 1024 * 1024 / n  # the summary's MB is VmHWM / 1024
            size = os.path.getsize(path) / 1e6
            print(f"| {n:,} | {size:,.0f} | {base:.1f} | {with_:.1f} | {per_url:.0f} |", flush=True)
            os.remove(path)


if __name__ == "__main__":
    main()
