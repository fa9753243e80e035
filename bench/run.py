#!/usr/bin/env python3
"""crawlfish benchmark: one command, loopback only, nothing but Python's standard library and cargo.

    python3 bench/run.py            # build, serve the site, run W1 W2 W3 W1M, print the tables
    python3 bench/run.py --runs 7 --workloads W1,W2

It builds the release binaries, starts `bench/bench_site.rs` (a generated 4-host site served from memory on
127.0.0.31-34:8088, a separate process), and runs each workload's commands interleaved (A B A B ...), after
warm-up runs. For every run it records wall time, CPU (user+sys, from wait4), peak RSS (wait4's ru_maxrss) and
the pages the server actually served (so a run that silently fetched less is flagged).

Workloads
  W1   the 20,000-URL list, fetch + parse + JSON lines to a file; beside it the same with `--warc` and with
       `--warc --warc-level 0` (target: <= 1.6x, paired ratio printed; `bench/warc_cost.rs` then times the
       compression at both levels and the digests of that archive's records alone) and
       the fetch-only limit (same client, bodies dropped): `crawlfish -c 64 -r 0 --per-host 64 --ignore-robots`
  W2   crawl from the 4 roots (`--depth 100 --scope host`) until all 20,000 pages are fetched
  W3   polite mode: 400 URLs over 4 hosts at `-r 20`, robots.txt on; ideal wall 5 s; the server's request log
       is checked for any host getting more than R+1 = 21 requests in a one-second window
  W1M  a 1,000,000-line list (the W1 list 50 times over, duplicates included): peak RSS must stay flat
  W1S  the first 5,000 lines of the W1 list: CPU per page must not grow with the size of the run (W1 vs W1S)
  W5S  --sitemap on a host whose robots.txt names a sitemap index of 99 x 50,000 URLs, with --max-pages 100:
       sitemap files must be read lazily (peak RSS < 100 MB, files read counted at the server)
  W4   many hosts (default on): 20,000 names h{i}.localhost served by `bench/many_hosts.rs` on 127.0.0.1:8090
       (`*.localhost` is loopback, RFC 6761: no --resolve flags, no hosts file), 2 pages each, a robots.txt on
       every host, default politeness but `-r 0`, under `ulimit -n 1024`; beside it fetch_only on the same
       60,000 requests (robots.txt included, no idle pool: 20,000 idle sockets would not fit). Targets: 40,000
       records, peak RSS <= 80 MB, wall <= 2x fetch_only, robots.txt asked once a host (the server counts)
  W2H  link-heavy crawl (default on): the W2 site with ~200 links a page and 1 % of pages of 1-2 MB
       (`bench_site --links 200 --big-permille 10` on 127.0.0.51-54:8091): peak RSS <= 100 MB
  W7   link-heavy crawl, rust-doc's shape (default on): `bench/link_heavy.rs` on 127.0.0.81:8097, 21,000 pages of
       ~18,000 rustdoc-style relative links each (~1.7 MB), one host, `--depth 100 --scope host -c 64 -r 0
       --per-host 64 --ignore-robots` with links in the records (to /dev/null: they would be ~30 GB), and the
       same with `--no-links`. Target: peak RSS <= 100 MB
  W6S  a big crawl (default on): `bench/hub_site.rs` on 127.0.0.61:8096, 1 root -> 1,000 hubs -> 1,000,000 leaves
       (generated per request), `--depth 2 -c 64 -r 0 --per-host 64 --no-links`: the frontier spills past
       --frontier-memory (64MiB). Printed: pages/s and peak RSS against the same crawl held in memory
       (`--frontier-memory 100GiB`), and the spill's disk bytes a URL. Targets: pages/s >= 70 % of in-memory
  W6   (on demand: --workloads W6) the same with 10,000 hubs: 10,000,000 leaves. Target: peak RSS <= 200 MB
  MODEL the scheduler's model test, long: CRAWLFISH_MODEL_CASES=500 (release), random graphs against BFS

  --baseline BIN runs another crawlfish binary interleaved with this one in W1 and W2 (e.g. the previous
  release, for the "within 5 %" check).
"""
import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
import urllib.request
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
STATS_URL = "http://127.0.0.31:8088/__stats"


def server_hits():
    """Per-host request timestamps (ms) since the last call; the server resets its log on each call."""
    with urllib.request.urlopen(STATS_URL, timeout=10) as r:
        return json.load(r)["hits"]


def run_once(cmd):
    server_hits()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace").strip()
    hits = server_hits()
    return {
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "rss_mb": ru.ru_maxrss / 1024,
        "pages": sum(len(h) for h in hits),
        "hits": hits,
        "code": os.waitstatus_to_exitcode(status),
        "stderr": err,
    }


def interleaved(label, cmds, runs, warmup, expect):
    results = {name: [] for name, _ in cmds}
    for r in range(warmup + runs):
        for name, cmd in cmds:
            res = run_once(cmd)
            if res["code"] not in (0, 1):
                sys.exit(f"{label} {name}: exit {res['code']}\n{res['stderr']}")
            if r >= warmup:
                results[name].append(res)
    report(label, cmds, results, expect)
    return results


def report(label, cmds, results, expect):
    base = cmds[0][0]
    print(f"\n{label}: median of {len(results[base])} interleaved runs")
    print(f"{'command':<14} {'wall s':>7} {'min-max':>13} {'pages':>7} {'pages/s':>8} {'CPU ms/page':>11} "
          f"{'peak RSS MB':>11} {'x ' + base:>12}")
    for name, _ in cmds:
        rs = results[name]
        walls = [r["wall"] for r in rs]
        pages = statistics.median(r["pages"] for r in rs)
        ratios = [a["wall"] / b["wall"] for a, b in zip(rs, results[base])]
        flag = "" if expect is None or all(r["pages"] >= expect for r in rs) else "  (short!)"
        print(f"{name:<14} {statistics.median(walls):7.3f} {min(walls):6.3f}-{max(walls):6.3f} {pages:7.0f} "
              f"{pages / statistics.median(walls):8.0f} "
              f"{1000 * statistics.median(r['cpu'] / max(r['pages'], 1) for r in rs):11.3f} "
              f"{max(r['rss_mb'] for r in rs):11.1f} {statistics.median(ratios):12.2f}{flag}")


def max_per_second(times_ms):
    times = sorted(times_ms)
    worst, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1000:
            j += 1
        worst = max(worst, i - j + 1)
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--pages", type=int, default=5000, help="pages per host (4 hosts)")
    ap.add_argument("--workloads", default="W1,W2,W3,W1M,W1S,W4,W2H,W7,W6S")
    ap.add_argument("--w7-pages", type=int, default=21_000, help="W7's site size (pages of ~18,000 links)")
    ap.add_argument("--out", default="/tmp/crawlfish-bench")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--baseline", help="another crawlfish binary to run interleaved in W1 and W2")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--bins", "--examples", "-q"], cwd=ROOT, check=True)
    server = subprocess.Popen([os.path.join(RELEASE, "examples", "bench_site"), "--pages", str(a.pages),
                               "--out", a.out], stderr=subprocess.PIPE, text=True)
    try:
        for line in server.stderr:
            print(line.rstrip(), file=sys.stderr)
            if "ready" in line:
                break
        bench(a)
    finally:
        server.terminate()
        server.wait()


def bench(a):
    cf = os.path.join(RELEASE, "crawlfish")
    fetch = os.path.join(RELEASE, "examples", "fetch_only")
    urls, roots = os.path.join(a.out, "urls.txt"), os.path.join(a.out, "roots.txt")
    total = 4 * a.pages
    fast = f"{shlex.quote(cf)} -q -c 64 -r 0 --per-host 64 --ignore-robots"
    todo = a.workloads.split(",")
    w1 = None
    base = f"{shlex.quote(a.baseline)} -q -c 64 -r 0 --per-host 64 --ignore-robots" if a.baseline else None
    if "W1" in todo:
        cmds = [("crawlfish", f"{fast} -o {a.out}/w1.jsonl {urls}"),
                ("--warc", f"{fast} --warc {a.out}/w1.warc.gz -o {a.out}/w1w.jsonl {urls}"),
                ("--warc lvl 0", f"{fast} --warc {a.out}/w1s.warc.gz --warc-level 0 -o {a.out}/w1s.jsonl {urls}"),
                ("fetch_only", f"{shlex.quote(fetch)} {urls} 64")]
        if base:
            cmds.append(("baseline", f"{base} -o {a.out}/w1b.jsonl {urls}"))
        w1 = interleaved("W1 list", cmds, a.runs, a.warmup, total)
        warc = os.path.join(a.out, "w1.warc.gz")
        base_cpu = statistics.median(x["cpu"] for x in w1["crawlfish"])
        for name, f in (("--warc", warc), ("--warc lvl 0", os.path.join(a.out, "w1s.warc.gz"))):
            paired = statistics.median(x["wall"] / y["wall"] for x, y in zip(w1[name], w1["crawlfish"]))
            cpu = statistics.median(x["cpu"] for x in w1[name])
            print(f"W1 {name}: {os.path.getsize(f) / 1e6:.1f} MB of WARC; wall {paired:.2f}x W1 (paired median; "
                  f"target <= 1.6x); crawlfish CPU {cpu:.2f} s against W1's {base_cpu:.2f} s")
        cost = subprocess.run([os.path.join(RELEASE, "examples", "warc_cost"), warc],
                              capture_output=True, text=True)
        print(cost.stderr.strip())
    if "W2" in todo:
        cmds = [("crawlfish", f"{fast} --depth 100 --scope host -o {a.out}/w2.jsonl {roots}")]
        if base:
            cmds.append(("baseline", f"{base} --depth 100 --scope host -o {a.out}/w2b.jsonl {roots}"))
        interleaved("W2 crawl", cmds, a.runs, a.warmup, total)
    if "W3" in todo:
        polite = os.path.join(a.out, "w3.txt")
        with open(urls) as f:
            per_host = {}
            for u in f:
                per_host.setdefault(u.split("/")[2], []).append(u)
        with open(polite, "w") as f:
            for us in per_host.values():
                f.writelines(us[:100])
        res = interleaved("W3 polite (400 URLs, 4 hosts, -r 20; ideal 5 s)", [
            ("crawlfish", f"{shlex.quote(cf)} -q -r 20 -o {a.out}/w3.jsonl {polite}"),
        ], a.runs, a.warmup, None)["crawlfish"]
        worst = max(max_per_second(h) for r in res for h in r["hits"])
        wall = statistics.median(r["wall"] for r in res)
        print(f"W3: median wall {wall:.2f} s = {100 * (wall / 5 - 1):+.1f} % vs ideal 5 s; "
              f"most requests to one host in any 1 s window: {worst} (limit 21)")
    if "W1M" in todo:
        big = os.path.join(a.out, "w1m.txt")
        with open(urls) as f:
            lines = f.read()
        with open(big, "w") as f:
            for _ in range(1_000_000 // total):
                f.write(lines)
        r = run_once(f"{fast} -o {a.out}/w1m.jsonl {big}")
        print(f"\nW1M: {1_000_000 // total * total} lines ({total} distinct): wall {r['wall']:.2f} s, "
              f"peak RSS {r['rss_mb']:.1f} MB, pages served {r['pages']}, "
              f"CPU {1000 * r['cpu'] / max(r['pages'], 1):.3f} ms/page (1M input lines parsed included)")
        if w1:
            base = max(x["rss_mb"] for x in w1["crawlfish"])
            print(f"W1M RSS vs W1: {r['rss_mb'] / base:.2f}x (target <= 1.25)")

    if "W1S" in todo:
        small = os.path.join(a.out, "w1s.txt")
        with open(urls) as f:
            head = [next(f) for _ in range(min(5000, total))]
        with open(small, "w") as f:
            f.writelines(head)
        res = interleaved("W1S list (first 5,000 URLs)", [
            ("crawlfish", f"{fast} -o {a.out}/w1s.jsonl {small}"),
        ], a.runs, a.warmup, len(head))["crawlfish"]
        if w1:
            per = lambda rs: statistics.median(r["cpu"] / max(r["pages"], 1) for r in rs)
            print(f"CPU per page, W1 ({total} pages) vs W1S ({len(head)}): "
                  f"{per(w1['crawlfish']) / per(res):.2f}x (must not grow: <= ~1)")

    if "W5S" in todo:
        sitemap_workload(cf, a.out)
    if "W4" in todo:
        many_hosts_workload(cf, fetch, a)
    if "W2H" in todo:
        link_heavy_workload(cf, a)
    if "W7" in todo:
        rustdoc_workload(cf, a)
    if "W6S" in todo:
        hub_workload(cf, a, 1_000, "W6S")
    if "W6" in todo:
        hub_workload(cf, a, 10_000, "W6")
    if "MODEL" in todo:
        t = time.perf_counter()
        env = dict(os.environ, CRAWLFISH_MODEL_CASES="500")
        subprocess.run(["cargo", "test", "--release", "-q", "--lib", "crawl_model"], cwd=ROOT, env=env, check=True)
        print(f"\nMODEL: 500 random scheduler cases against BFS passed in {time.perf_counter() - t:.0f} s")


def timed(cmd):
    """Wall, CPU and peak RSS of one shell command, and its stderr. The peak is crawlfish's own (VmHWM, from its
    summary line) when it prints one: wait4's ru_maxrss also counts the pages a forked child shares with this
    Python process before it executes, which hides a small crawlfish behind the benchmark's own size."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    peak = re.search(r"peak RSS ([0-9.]+) MB", err)
    return {"wall": time.perf_counter() - start, "cpu": ru.ru_utime + ru.ru_stime,
            "rss_mb": float(peak.group(1)) if peak else ru.ru_maxrss / 1024,
            "code": os.waitstatus_to_exitcode(status), "stderr": err}


def start_server(cmd):
    server = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        if "ready" in line:
            return server
    sys.exit(f"{cmd[0]} did not start")


W4_HOSTS, W4_PORT = 20_000, 8090


def many_hosts_workload(cf, fetch, a):
    out = os.path.join(a.out, "w4")
    server = start_server([os.path.join(RELEASE, "examples", "many_hosts"), "--hosts", str(W4_HOSTS),
                           "--port", str(W4_PORT), "--out", out])
    stats = f"http://127.0.0.1:{W4_PORT}/__stats"
    try:
        listed = os.path.join(out, "hosts.txt")
        with open(listed) as f:
            urls = f.read().split()
        # fetch_only pops from the end: each host's robots.txt just before its first page, like crawlfish.
        seen, reqs = set(), []
        for u in urls:
            host = u.split("/")[2]
            if host not in seen:
                seen.add(host)
                reqs.append(f"http://{host}/robots.txt")
            reqs.append(u)
        fetch_list = os.path.join(out, "fetch.txt")
        with open(fetch_list, "w") as f:
            f.write("\n".join(reversed(reqs)) + "\n")
        del urls, reqs, seen
        limit = "ulimit -n 1024; "
        cmds = [("crawlfish", f"{limit}{shlex.quote(cf)} -r 0 -o {out}/w4.jsonl {listed}"),
                ("fetch_only", f"{limit}{shlex.quote(fetch)} {fetch_list} 64 0")]
        results = {n: [] for n, _ in cmds}
        for r in range(a.warmup + a.runs):
            for name, cmd in cmds:
                urllib.request.urlopen(stats, timeout=10).read()
                res = timed(cmd)
                res.update(json.load(urllib.request.urlopen(stats, timeout=10)))
                if name == "crawlfish":
                    with open(f"{out}/w4.jsonl") as f:
                        res["records"] = sum(1 for _ in f)
                    res["emfile"] = "Too many open files" in res["stderr"] or "os error 24" in open(
                        f"{out}/w4.jsonl").read()
                if r >= a.warmup:
                    results[name].append(res)
        cf_runs, fo = results["crawlfish"], results["fetch_only"]
        wall = statistics.median(r["wall"] for r in cf_runs)
        fo_wall = statistics.median(r["wall"] for r in fo)
        print(f"\nW4 many hosts ({W4_HOSTS:,} hosts x 2 pages, -r 0, ulimit -n 1024), median of {a.runs}: "
              f"crawlfish {wall:.2f} s, fetch_only {fo_wall:.2f} s = {wall / fo_wall:.2f}x (target <= 2); "
              f"records {min(r['records'] for r in cf_runs)} (target {2 * W4_HOSTS}); "
              f"peak RSS {max(r['rss_mb'] for r in cf_runs):.1f} MB (target <= 80); "
              f"robots.txt requests {max(r['robots'] for r in cf_runs)} (hosts {W4_HOSTS}); "
              f"'Too many open files': {any(r['emfile'] for r in cf_runs)}")
    finally:
        server.terminate()
        server.wait()


def hub_workload(cf, a, hubs, label):
    """W6S/W6: 1 root, `hubs` hubs of 1,000 leaves; the spilled crawl, and (W6S) the same held in memory."""
    out = os.path.join(a.out, label.lower())
    server = start_server([os.path.join(RELEASE, "examples", "hub_site"), "--hubs", str(hubs), "--leaves", "1000",
                           "--out", out])
    pages = 1 + hubs + hubs * 1000
    base = (f"{shlex.quote(cf)} -v -c 64 -r 0 --per-host 64 --ignore-robots --depth 2 --no-links "
            f"-o {out}/{label}.jsonl {out}/roots.txt")
    cmds = [("spilled", base)]
    if label == "W6S":
        cmds.append(("in memory", f"{base} --frontier-memory 100GiB"))
    try:
        for name, cmd in cmds:
            r = timed(cmd)
            with open(f"{out}/{label}.jsonl") as f:
                records = sum(1 for _ in f)
            spill = re.search(r"frontier spill: (\d+) jobs, (\d+) bytes", r["stderr"])
            disk = f"{int(spill.group(2)) / int(spill.group(1)):.1f} disk bytes a spilled URL ({spill.group(1)} " \
                   f"spilled)" if spill else "nothing spilled"
            print(f"\n{label} {name}: {records:,} records (target {pages:,}), exit {r['code']}, wall {r['wall']:.1f} s, "
                  f"{records / r['wall']:,.0f} pages/s, peak RSS {r['rss_mb']:.1f} MB, {disk}")
    finally:
        server.terminate()
        server.wait()


def link_heavy_workload(cf, a):
    out = os.path.join(a.out, "w2h")
    server = start_server([os.path.join(RELEASE, "examples", "bench_site"), "--pages", str(a.pages),
                           "--first-ip", "51", "--port", "8091", "--links", "200", "--big-permille", "10",
                           "--out", out])
    try:
        cmd = (f"{shlex.quote(cf)} -c 64 -r 0 --per-host 64 --ignore-robots --depth 100 --scope host "
               f"-o {out}/w2h.jsonl {out}/roots.txt")
        runs = []
        for r in range(a.warmup + a.runs):
            res = timed(cmd)
            if r >= a.warmup:
                with open(f"{out}/w2h.jsonl") as f:
                    res["records"] = sum(1 for _ in f)
                runs.append(res)
        print(f"\nW2H link-heavy crawl (~200 links a page, 1 % of pages 1-2 MB), median of {a.runs}: "
              f"wall {statistics.median(r['wall'] for r in runs):.2f} s, "
              f"records {min(r['records'] for r in runs)} (target {4 * a.pages}), "
              f"peak RSS {max(r['rss_mb'] for r in runs):.1f} MB (target <= 100)")
    finally:
        server.terminate()
        server.wait()


def rustdoc_workload(cf, a):
    """W7: rust-doc's shape (one host, pages of ~18,000 links); peak RSS with links in the records and without."""
    out = os.path.join(a.out, "w7")
    server = start_server([os.path.join(RELEASE, "examples", "link_heavy"), "--pages", str(a.w7_pages),
                           "--out", out])
    base = (f"{shlex.quote(cf)} --depth 100 --scope host -c 64 -r 0 --per-host 64 --ignore-robots -o /dev/null "
            f"{out}/roots.txt")
    try:
        for name, cmd in (("links", base), ("--no-links", base.replace(" -o ", " --no-links -o "))):
            r = timed(cmd)
            records = re.search(r"(\d+) records", r["stderr"])
            print(f"\nW7 link-heavy crawl ({a.w7_pages:,} pages of ~18,000 links), {name}: exit {r['code']}, "
                  f"records {records.group(1) if records else '?'} (target {a.w7_pages:,}), wall {r['wall']:.1f} s, "
                  f"CPU {r['cpu']:.1f} s, peak RSS {r['rss_mb']:.1f} MB (target <= 100)")
    finally:
        server.terminate()
        server.wait()


SITEMAP_CHILDREN, SITEMAP_URLS = 99, 50_000


class SitemapSite(BaseHTTPRequestHandler):
    """robots.txt -> a sitemap index of 99 children -> 50,000 URLs each, generated on request; pages are tiny."""
    files_read = 0

    def do_GET(self):
        host = f"http://{self.headers['Host']}"
        if self.path == "/robots.txt":
            body = f"User-agent: *\nAllow: /\nSitemap: {host}/index.xml\n"
        elif self.path == "/index.xml":
            body = "<sitemapindex>" + "".join(
                f"<sitemap><loc>{host}/s{i}.xml</loc></sitemap>" for i in range(SITEMAP_CHILDREN)) + "</sitemapindex>"
        elif self.path.startswith("/s") and self.path.endswith(".xml"):
            SitemapSite.files_read += 1
            n = self.path[2:-4]
            body = "<urlset>" + "".join(
                f"<url><loc>{host}/p{n}-{j}</loc></url>" for j in range(SITEMAP_URLS)) + "</urlset>"
        else:
            body = "<title>p</title>"
        data = body.encode()
        self.send_response(200)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def sitemap_workload(cf, out):
    server = ThreadingHTTPServer(("127.0.0.41", 8089), SitemapSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        listed = os.path.join(out, "w5s.txt")
        with open(listed, "w") as f:
            f.write("http://127.0.0.41:8089/\n")
        start = time.perf_counter()
        proc = subprocess.Popen([cf, "-q", "-r", "0", "--sitemap", "--max-pages", "100", "-o",
                                 os.path.join(out, "w5s.jsonl"), listed], stderr=subprocess.PIPE)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        with open(os.path.join(out, "w5s.jsonl")) as f:
            records = sum(1 for _ in f)
        print(f"\nW5S sitemap index {SITEMAP_CHILDREN} x {SITEMAP_URLS:,} URLs, --max-pages 100: exit "
              f"{os.waitstatus_to_exitcode(status)}, {records} records, {SitemapSite.files_read} sitemap files read, "
              f"peak RSS {ru.ru_maxrss / 1024:.1f} MB (target < 100), wall {wall:.2f} s")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
