#!/usr/bin/env python3
"""Builds the kernel-matrix report from the cells ci/matrix.sh leaves in MATRIX_DIR/cells/.

Usage: kernels/report.py MATRIX_DIR

Each cell is one run-vm.sh output directory (a kernel, or an ordered pair dump->restore): a
`result` file (key=value) and one directory per phase with `status`, `output.log`, and
files/junit.xml, files/check.json. Writes into MATRIX_DIR:
  report.html   the grid, tests x kernels, coloured, regressions highlighted, the kernels'
                `stasis check --json` side by side
  report.md     the same facts as text
  junit-<cell>.xml  one JUnit file per kernel / pair
  check-<kernel>.json
  verdict       "ok" or "failed: <why>"; exit status 0 / 1 follows it
A cell is explained when it passed, is a known failure (KFAIL in the runner, with its reason),
or belongs to a kernel marked expect=fail (a deliberately broken one). Anything else fails the
matrix: an unexpected test failure, a boot failure, a kernel warning, a timeout, or an
expect=fail kernel that passed (the breakage went unnoticed).
"""
import html
import json
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET

KERNELS_DIR = os.path.dirname(os.path.abspath(__file__))

# Cell states, in the order the legend shows them.
STATES = {
    "pass": ("#b7e1b0", "passed"),
    "kfail": ("#f3dc8c", "known failure (reason listed)"),
    "xfail": ("#d9c7ef", "failed on a kernel marked expect=fail"),
    "skip": ("#e4e4e4", "skipped"),
    "xpass": ("#f7b267", "unexpected pass of a known failure"),
    "fail": ("#f19a9a", "FAILED"),
    "regression": ("#e0443c", "REGRESSION: passes on another kernel"),
    "none": ("#ffffff", "not run (boot failure, timeout, or not in this shard)"),
}


def read_kv(path):
    out = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                key, sep, value = line.rstrip("\n").partition("=")
                if sep:
                    out[key] = value
    except OSError:
        pass
    return out


def kernel_def(name):
    """The key=value fields of kernels/defs/NAME.kernel ({} when it is not a defined kernel)."""
    return read_kv(os.path.join(KERNELS_DIR, "defs", name + ".kernel"))


def junit_root(path):
    """The parsed JUnit file, or None. A runner older than its UTF-8 check could write raw
    non-UTF-8 path bytes (cwd01's names); such a file is read with those bytes spelled out
    rather than dropped, which would lose every result of the phase."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError:
        pass
    except OSError:
        return None
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="backslashreplace")
        text = re.sub(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "?", text)
        return ET.fromstring(text.split("?>", 1)[1] if text.startswith("<?xml") else text)
    except (OSError, ET.ParseError, IndexError):
        return None


def parse_junit(path):
    """test name -> (state, reason) from a zdtm-run JUnit file; {} when absent or unreadable."""
    results = {}
    root = junit_root(path)
    if root is None:
        return results
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        skipped = case.find("skipped")
        out = (case.findtext("system-out") or "").strip()
        if failure is not None:
            results[name] = ("fail", failure.get("message") or (failure.text or "").strip())
        elif skipped is not None:
            results[name] = ("skip", skipped.get("message", ""))
        elif out.startswith("KFAIL"):
            results[name] = ("kfail", out.partition(":")[2].strip())
        elif out.startswith("XPASS"):
            results[name] = ("xpass", out.partition(":")[2].strip())
        else:
            results[name] = ("pass", "")
    return results


class Cell:
    """One column of the grid: a kernel, or an ordered pair (dump kernel -> restore kernel)."""

    def __init__(self, directory):
        self.dir = directory
        self.result = read_kv(os.path.join(directory, "result"))
        self.label = self.result.get("label") or os.path.basename(directory)
        self.kernel = self.result.get("kernel", self.label)
        self.restore_kernel = self.result.get("restore_kernel", "")
        self.verdict = self.result.get("verdict", "missing")
        self.reason = self.result.get("reason", "")
        self.summary = self.result.get("summary", "")
        self.phases = self.result.get("phases", "run").split()
        self.status = {p: read_kv(os.path.join(directory, p, "status")) for p in self.phases}
        self.expect_fail = any(kernel_def(k).get("expect") == "fail"
                               for k in (self.kernel, self.restore_kernel) if k)
        broken = [kernel_def(k) for k in (self.kernel, self.restore_kernel)
                  if k and kernel_def(k).get("expect") == "fail"]
        self.expect_reason = "; ".join(d.get("reason", "") for d in broken)
        # An expected failure must fail for the stated reason, not for any reason.
        self.expect_failure = [re.compile(d["failure"]) for d in broken if d.get("failure")]
        self.tests = self._merge_phases()

    def _merge_phases(self):
        """A pair's outcome per test: the dump's failure if it failed there, else the restore's."""
        merged = {}
        for phase in self.phases:
            for name, (state, reason) in parse_junit(
                    os.path.join(self.dir, phase, "files", "junit.xml")).items():
                prev = merged.get(name)
                if prev and prev[0] in ("fail", "skip", "kfail"):
                    continue
                if len(self.phases) > 1 and state == "fail":
                    reason = f"{phase}: {reason}"
                merged[name] = (state, reason)
        return merged

    @property
    def is_pair(self):
        return bool(self.restore_kernel)

    @property
    def title(self):
        return f"{self.kernel} → {self.restore_kernel}" if self.is_pair else self.kernel

    def warnings(self):
        lines = []
        for phase in self.phases:
            try:
                with open(os.path.join(self.dir, phase, "warnings.txt"), errors="replace") as f:
                    lines += [f"{phase}: {l.rstrip()}" for l in f if l.strip()]
            except OSError:
                pass
        return lines


def classify(cells):
    """Final state per (test, cell), with regressions and expected failures resolved."""
    tests = sorted({t for c in cells for t in c.tests})
    grid = {}
    for t in tests:
        passes_somewhere = any(c.tests.get(t, ("none",))[0] in ("pass", "kfail")
                               for c in cells if not c.expect_fail)
        for c in cells:
            state, reason = c.tests.get(t, ("none", ""))
            if c.expect_fail and state == "fail" and any(
                    p.search(reason) for p in c.expect_failure):
                state, reason = "xfail", f"{reason} [expected: {c.expect_reason}]"
            elif state == "fail" and passes_somewhere:
                state = "regression"
            grid[(t, c.label)] = (state, reason)
    return tests, grid


def problems(cells, tests, grid):
    """Everything that makes the matrix fail, one line each."""
    out = []
    for c in cells:
        if c.expect_fail:
            if c.verdict == "ok" or (c.tests and all(
                    grid[(t, c.label)][0] in ("pass", "kfail", "none") for t in tests)):
                out.append(f"{c.title}: marked expect=fail ({c.expect_reason}) but nothing failed:"
                           " the broken capability went unnoticed")
            elif c.verdict not in ("ok", "tests-failed"):
                out.append(f"{c.title}: {c.verdict}: {c.reason}")
            continue
        if c.verdict not in ("ok", "tests-failed"):
            out.append(f"{c.title}: {c.verdict}: {c.reason}")
        elif c.verdict == "tests-failed" and not any(
                grid[(t, c.label)][0] in ("fail", "regression") for t in tests):
            out.append(f"{c.title}: the run failed but no test did: {c.reason}")
        for t in tests:
            state, reason = grid[(t, c.label)]
            if state in ("fail", "regression", "xpass"):
                out.append(f"{c.title}: {t}: {state}: {reason}")
    return out


def load_checks(cells):
    """kernel -> parsed `stasis check --json` (or {'raw': text}) from the first cell that has it."""
    checks = {}
    for c in cells:
        for phase, kernel in zip(c.phases, [c.kernel, c.restore_kernel or c.kernel]):
            path = os.path.join(c.dir, phase, "files", "check.json")
            if kernel in checks or not os.path.exists(path):
                continue
            with open(path, errors="replace") as f:
                text = f.read()
            try:
                checks[kernel] = json.loads(text)
            except ValueError:
                checks[kernel] = {"raw": text.strip() or "(empty)"}
            checks[kernel]["_path"] = path
    return checks


def write_artifacts(mdir, cells, checks):
    for c in cells:
        safe = re.sub(r"[^A-Za-z0-9._+-]", "_", c.label)
        root = ET.Element("testsuites")
        for phase in c.phases:
            phase_root = junit_root(os.path.join(c.dir, phase, "files", "junit.xml"))
            if phase_root is not None:
                for suite in phase_root.iter("testsuite"):
                    suite.set("name", f"{c.label}:{phase}")
                    root.append(suite)
            else:
                ET.SubElement(root, "testsuite", name=f"{c.label}:{phase}", tests="0",
                              errors="1").append(ET.Element(
                                  "error", message=f"no JUnit from this phase ({c.verdict}: {c.reason})"))
        ET.ElementTree(root).write(os.path.join(mdir, f"junit-{safe}.xml"), encoding="unicode",
                                   xml_declaration=True)
    for kernel, data in checks.items():
        shutil.copyfile(data["_path"], os.path.join(mdir, f"check-{kernel}.json"))


def check_rows(checks):
    kernels = list(checks)
    names = []
    for k in kernels:
        for n in (checks[k].get("features") or {}):
            if n not in names:
                names.append(n)
    return kernels, names


def md(text):
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_markdown(path, cells, tests, grid, bad, checks):
    sym = {"pass": "pass", "kfail": "KFAIL", "xfail": "xfail", "skip": "skip", "xpass": "XPASS",
           "fail": "**FAIL**", "regression": "**REGRESSION**", "none": "-"}
    lines = ["# stasis kernel matrix", ""]
    lines.append("**" + ("all cells explained" if not bad else f"{len(bad)} unexplained") + "**")
    lines += ["", "| kernel | verdict | tests | time | note |", "|---|---|---|---|---|"]
    for c in cells:
        secs = sum(int(s.get("elapsed", 0) or 0) for s in c.status.values())
        note = c.reason
        if c.expect_fail:
            note = f"expected to fail: {c.expect_reason}"
        lines.append(f"| {md(c.title)} | {c.verdict} | {md(c.summary)} | {secs}s | {md(note)} |")
    lines += ["", "| test | " + " | ".join(c.title for c in cells) + " |",
              "|---|" + "---|" * len(cells)]
    for t in tests:
        lines.append(f"| {t} | " + " | ".join(sym[grid[(t, c.label)][0]] for c in cells) + " |")
    if bad:
        lines += ["", "## Unexplained", ""] + [f"- {b}" for b in bad]
    known = [(c.title, t, grid[(t, c.label)][1]) for c in cells for t in tests
             if grid[(t, c.label)][0] in ("kfail", "xfail")]
    if known:
        lines += ["", "## Known and expected failures", ""] + [f"- {k}: {t}: {r}" for k, t, r in known]
    warn = [(c.title, w) for c in cells for w in c.warnings()]
    if warn:
        lines += ["", "## Kernel console warnings", ""] + [f"- {k}: `{w}`" for k, w in warn]
    kernels, names = check_rows(checks)
    if names:
        lines += ["", "## stasis check", "", "| feature | " + " | ".join(kernels) + " |",
                  "|---|" + "---|" * len(kernels)]
        for n in names:
            row = []
            for k in kernels:
                f = (checks[k].get("features") or {}).get(n)
                row.append("-" if f is None else ("yes" if f.get("available") else "**no**"))
            lines.append(f"| {n} | " + " | ".join(row) + " |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_html(path, cells, tests, grid, bad, checks):
    e = html.escape
    h = ["<!doctype html><html><head><meta charset='utf-8'><title>stasis kernel matrix</title>",
         "<style>body{font:14px sans-serif;margin:1.5em}table{border-collapse:collapse}"
         "td,th{border:1px solid #999;padding:3px 6px;text-align:center}"
         "th{background:#eee}td.l{text-align:left}.reg{outline:3px solid #800;font-weight:bold}"
         ".bad{color:#a00}.ok{color:#070}th.v{font-weight:normal;font-size:12px}</style>",
         "</head><body><h1>stasis kernel matrix</h1>"]
    if bad:
        h.append(f"<p class='bad'><b>{len(bad)} unexplained result(s)</b>: red cells below, "
                 "<a href='#unexplained'>listed with their reasons</a>.</p>")
    else:
        h.append("<p class='ok'><b>Every cell passed or is a listed known/expected failure.</b></p>")
    h.append("<p>" + " ".join(f"<span style='background:{col};padding:2px 6px;border:1px solid #999'>"
                              f"{e(desc)}</span>" for col, desc in STATES.values()) + "</p>")
    h.append("<table><tr><th>test</th>" + "".join(f"<th>{e(c.title)}</th>" for c in cells) + "</tr>")
    h.append("<tr><th class='v'>run</th>" + "".join(
        f"<th class='v' title='{e(c.reason)}'>{e(c.verdict)}"
        f"{'<br>expect=fail' if c.expect_fail else ''}<br>{e(c.summary)}</th>" for c in cells) + "</tr>")
    for t in tests:
        row = [f"<tr><td class='l'>{e(t)}</td>"]
        for c in cells:
            state, reason = grid[(t, c.label)]
            cls = " class='reg'" if state == "regression" else ""
            text = {"pass": "✓", "kfail": "K", "xfail": "x", "skip": "–", "xpass": "X!",
                    "fail": "✗", "regression": "✗ REG", "none": ""}[state]
            row.append(f"<td{cls} style='background:{STATES[state][0]}' title='{e(reason)}'>{text}</td>")
        h.append("".join(row) + "</tr>")
    h.append("</table>")
    if bad:
        h.append("<h2 id='unexplained'>Unexplained</h2><ul>")
        h += [f"<li>{e(b if len(b) < 300 else b[:300] + '…')}</li>" for b in bad]
        h.append("</ul>")
    known = [(c.title, t, grid[(t, c.label)]) for c in cells for t in tests
             if grid[(t, c.label)][0] in ("kfail", "xfail", "fail", "regression", "xpass")]
    if known:
        h.append("<h2>Failures and their reasons</h2><table><tr><th>kernel</th><th>test</th>"
                 "<th>state</th><th>reason</th></tr>")
        h += [f"<tr><td>{e(k)}</td><td class='l'>{e(t)}</td>"
              f"<td style='background:{STATES[s][0]}'>{e(s)}</td><td class='l'>{e(r)}</td></tr>"
              for k, t, (s, r) in known]
        h.append("</table>")
    warn = [(c.title, w) for c in cells for w in c.warnings()]
    if warn:
        h.append("<h2>Kernel console warnings</h2><ul>")
        h += [f"<li>{e(k)}: <code>{e(w)}</code></li>" for k, w in warn]
        h.append("</ul>")
    kernels, names = check_rows(checks)
    if kernels:
        h.append("<h2><code>stasis check --json</code> per kernel</h2><table><tr><th>feature</th>"
                 + "".join(f"<th>{e(k)}</th>" for k in kernels) + "</tr>")
        for n in names:
            row = [f"<tr><td class='l'>{e(n)}</td>"]
            for k in kernels:
                f = (checks[k].get("features") or {}).get(n)
                if f is None:
                    row.append("<td></td>")
                    continue
                ok = f.get("available")
                col = "#b7e1b0" if ok else ("#f19a9a" if f.get("required") else "#f3dc8c")
                row.append(f"<td style='background:{col}' title='{e(str(f.get('detail', '')))}'>"
                           f"{'yes' if ok else 'no'}</td>")
            h.append("".join(row) + "</tr>")
        raw = [(k, checks[k]["raw"]) for k in kernels if "raw" in checks[k]]
        h.append("</table>")
        for k, text in raw:
            h.append(f"<p>{e(k)}: not JSON:</p><pre>{e(text[:2000])}</pre>")
    h.append("</body></html>")
    with open(path, "w") as f:
        f.write("\n".join(h) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kernels/report.py MATRIX_DIR")
    mdir = sys.argv[1]
    cells_dir = os.path.join(mdir, "cells")
    order = []
    try:
        with open(os.path.join(mdir, "order")) as f:
            order = [l.strip() for l in f if l.strip()]
    except OSError:
        pass
    present = sorted(n for n in os.listdir(cells_dir) if not n.startswith(".")
                     and os.path.isdir(os.path.join(cells_dir, n))) if os.path.isdir(cells_dir) else []
    names = [n for n in order if n in present] + [n for n in present if n not in order]
    cells = [Cell(os.path.join(cells_dir, n)) for n in names]
    if not cells:
        sys.exit(f"report: no cells in {cells_dir}")
    tests, grid = classify(cells)
    bad = problems(cells, tests, grid)
    checks = load_checks(cells)
    write_artifacts(mdir, cells, checks)
    write_markdown(os.path.join(mdir, "report.md"), cells, tests, grid, bad, checks)
    write_html(os.path.join(mdir, "report.html"), cells, tests, grid, bad, checks)
    with open(os.path.join(mdir, "verdict"), "w") as f:
        f.write("ok\n" if not bad else f"failed: {len(bad)} unexplained\n")
    print(f"report: {os.path.join(mdir, 'report.html')}: {len(cells)} kernels/pairs, {len(tests)} tests, "
          + ("all explained" if not bad else f"{len(bad)} unexplained"))
    for b in bad[:20]:
        print(f"  {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
