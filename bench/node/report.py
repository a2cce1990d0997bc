#!/usr/bin/python3
"""Turns the JSON of run_task_bench.py and pull_bench.py into markdown and,
with --write-docs FILE, replaces the generated blocks of the sections
"Task start (RunTask → RUNNING)" and "Image pull + unpack" in FILE (appending
the sections if they are missing; text outside the markers is left alone)."""
import argparse
import datetime
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodebench_lib as nb  # noqa: E402

COMMAND = "./bench/run_node.sh"
SECTIONS = [("task-start", "## Task start (RunTask → RUNNING)"), ("pull", "## Image pull + unpack")]


def fmt(v, digits=0):
    return "-" if v is None else ("%.*f" % (digits, v))


def row_ms(label, s, load, note=""):
    if not s or not s.get("n"):
        return "| %s | 0 | - | - | - | - | %s | %s |" % (label, load, note)
    return "| %s | %d | %s | %s | %s | %s | %s | %s |" % (
        label, s["n"], fmt(s["median"]), fmt(s["p99"]), fmt(s["min"]), fmt(s["max"]), load, note)


def loads(r):
    return "%s → %s" % (r.get("load_before", "?"), r.get("load_after", "?"))


def task_start_md(rt, facts):
    out = []
    count = rt["count"]
    out.append("Sequential runs of one busybox container (`%s`, memory 16 MiB, no cpu units), one at a time: "
               "each RunTask is followed by DescribeTasks every 10 ms until RUNNING, then StopTask and a wait for "
               "STOPPED before the next, so the node never holds more than one benchmark container. "
               "Server figure: `startedAt − createdAt` from DescribeTasks (recorded by the server and the agent, "
               "millisecond precision). Client figure: RunTask call to the first DescribeTasks answer showing "
               "RUNNING (includes two API round trips and up to 10 ms of polling). The floor runs the exact "
               "config.json the agent wrote for the warm-up task (root switched to a umoci-unpacked busybox, "
               "cgroup nested like the agent's) with `runc run -d`, and with `runc create` + `runc start` (the two "
               "calls the agent's conmon path makes); the peer is `podman run -d --network none --memory 16m` of "
               "the same image, pulled once from the same registry. Percentiles are nearest-rank over %d runs "
               "(p99 of 100 runs is the 99th sorted sample)." % (" ".join(rt["command"]), count))
    out.append("")
    out.append("| path | runs | median ms | p99 ms | min ms | max ms | load average before → after | note |")
    out.append("|---|---:|---:|---:|---:|---:|---|---|")
    for behavior, r in rt["berth"].items():
        note = r.get("truncated", "") or ("error: " + r["error"][:200] if r.get("error") else "")
        if r.get("failures"):
            note = (note + "; " if note else "") + "%d failed to start" % len(r["failures"])
        out.append(row_ms("Berth RunTask → RUNNING, server timestamps (agent `--pull-behavior %s`)" % behavior,
                          r.get("server_ms"), loads(r), note))
        out.append(row_ms("Berth RunTask → RUNNING, client-observed (`--pull-behavior %s`)" % behavior,
                          r.get("client_ms"), loads(r), note))
    f = rt.get("floor", {})
    out.append(row_ms("floor: `runc run -d`", f.get("run_ms"), loads(f), f.get("truncated", "")))
    out.append(row_ms("floor: `runc create` + `runc start`", f.get("create_start_ms"), loads(f), ""))
    pm = rt.get("podman", {})
    if pm.get("skipped"):
        out.append("| peer: `podman run -d` | 0 | - | - | - | - | - | skipped: %s |" % pm["skipped"].replace("|", "/")[:200])
    else:
        out.append(row_ms("peer: `podman run -d` (%s)" % pm.get("version", "podman"), pm.get("ms"), loads(pm),
                          pm.get("truncated", "")))
    out.append("")
    out.append("Where Berth's time goes (server timestamps, medians / p99 in ms):")
    out.append("")
    out.append("| agent `--pull-behavior` | createdAt → pullStartedAt (task reaches the agent's runner) | "
               "pullStartedAt → pullStoppedAt (image resolution) | pullStoppedAt → startedAt (overlay mount, spec, "
               "conmon + runc create, runc start) |")
    out.append("|---|---:|---:|---:|")
    for behavior, r in rt["berth"].items():
        p = r.get("phases_ms", {})
        cell = lambda s: "%s / %s" % (fmt(s.get("median")), fmt(s.get("p99"))) if s and s.get("n") else "-"  # noqa: E731
        out.append("| %s | %s | %s | %s |" % (behavior, cell(p.get("deliver")), cell(p.get("pull_check")),
                                           cell(p.get("create_start"))))
    out.append("")
    best = min((r["server_ms"]["median"] for r in rt["berth"].values() if r.get("server_ms", {}).get("n")),
               default=None)
    if best is not None:
        out.append("Target (issue 3): median RunTask-to-RUNNING under 100 ms — **%s** in this run (best median %s ms "
                   "by server timestamps)." % ("met" if best < 100 else "not met", fmt(best)))
    return out


def pull_md(pl):
    out = []
    img = pl.get("image", {})
    if img:
        out.append("Image: %d gzip layers, %.0f MiB uncompressed (tar), %.0f MiB compressed — busybox, a 2,000-file "
                   "tree, random 5-10 MiB files, text-like data, a 3,000-file package dir and a 50 MiB file "
                   "(bench/node/make_big_image.py, deterministic), served by Debian's docker-registry on loopback." % (
                       img.get("layers", 0), img.get("uncompressed_bytes", 0) / 2**20,
                       img.get("compressed_bytes", 0) / 2**20))
        out.append("")
    out.append("Berth: a fresh agent (empty image store, `--pull-behavior always`) runs one task of the image; figure "
               "= `pullStoppedAt − pullStartedAt` (download, digest checks and unpack of every layer). Peer: "
               "`skopeo copy docker://… oci:DIR:big` then `umoci unpack --image DIR:big BUNDLE`, wall time. Rounds "
               "alternate Berth / skopeo+umoci; the registry's blobs are in the page cache for both.")
    out.append("")
    out.append("| path | runs | min s | median s | max s | load average per run (before) |")
    out.append("|---|---:|---:|---:|---:|---|")

    def row(label, s, samples):
        l = ", ".join(x.get("load_before", "?").split()[0] for x in samples)
        if not s or not s.get("n"):
            return "| %s | 0 | - | - | - | %s |" % (label, l)
        return "| %s | %d | %s | %s | %s | %s |" % (label, s["n"], fmt(s["min"], 2), fmt(s["median"], 2),
                                                   fmt(s["max"], 2), l)
    out.append(row("Berth agent pull + unpack", pl.get("berth_pull_s"), pl["berth"]))
    out.append(row("Berth RunTask → RUNNING (client, includes the pull)", pl.get("berth_to_running_s"), pl["berth"]))
    out.append(row("`skopeo copy` (download only)", pl.get("skopeo_umoci_copy_s"), pl["skopeo_umoci"]))
    out.append(row("`umoci unpack`", pl.get("skopeo_umoci_unpack_s"), pl["skopeo_umoci"]))
    out.append(row("`skopeo copy` + `umoci unpack`", pl.get("skopeo_umoci_total_s"), pl["skopeo_umoci"]))
    errors = [s["error"] for s in pl["berth"] + pl["skopeo_umoci"] if s.get("error")]
    if errors:
        out.append("")
        out.append("Errors: " + "; ".join(e.replace("\n", " ")[:200] for e in errors))
    if pl.get("truncated"):
        out.append("")
        out.append("Truncated: " + pl["truncated"])
    return out


def header(args, facts):
    return ["Run %s with `%s` (%d s): %d CPUs, %s, kernel %s; load average before %s, after %s." % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), COMMAND, args.seconds,
        facts["nproc"], facts["cpu"], facts["kernel"], args.load_before, args.load_after), ""]


def write_docs(path, blocks):
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    for key, title in SECTIONS:
        begin, end = "<!-- nodebench:%s:begin -->" % key, "<!-- nodebench:%s:end -->" % key
        block = begin + "\n" + "\n".join(blocks[key]).rstrip() + "\n" + end
        pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: block, text)
        else:
            text = text.rstrip("\n") + "\n\n" + title + "\n\n" + block + "\n"
    tmp = path + ".nodebench.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-task", required=True)
    ap.add_argument("--pull", required=True)
    ap.add_argument("--load-before", default="?")
    ap.add_argument("--load-after", default="?")
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--write-docs")
    args = ap.parse_args()
    facts = nb.machine_facts()
    rt = json.load(open(args.run_task))
    pl = json.load(open(args.pull))
    head = header(args, facts)
    blocks = {"task-start": head + task_start_md(rt, facts), "pull": head + pull_md(pl)}
    for key, title in SECTIONS:
        print(title + "\n")
        print("\n".join(blocks[key]) + "\n")
    if args.write_docs:
        write_docs(args.write_docs, blocks)
        print("nodebench: updated " + args.write_docs, file=sys.stderr)


if __name__ == "__main__":
    main()
