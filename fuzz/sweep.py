#!/usr/bin/env python3
"""Damage sweep: every single-file truncation and byte flip of real dumps through `stasis restore`.

Usage: fuzz/sweep.py --stasis BIN [--every N] [--jobs J] [--timeout S] --work DIR SET...

Each SET is a directory DUMP holding images/ (a zdtm test dumped with `zdtm-run --dump-to`) and
the test's work/ directory. For every *.img file of the set, one case at a time on a private copy:
  - truncate it at 0, 1, header-1, header, the middle and size-1 (pages-*.img: also at the end
    of its 4096-byte header page);
  - flip (xor 0xff) every byte outside raw page data (pages-*.img: its header page only);
    --every N flips one byte in N, at a per-file phase (a sample; truncations stay all);
then `stasis restore -D COPY -d` and require: a non-zero exit, exactly one line on stderr that
names the damaged file, and none of the dumped pids left afterwards. A damaged set that still
restores must restore correctly: the tree gets SIGTERM and the zdtm test must then append PASS to
its outfile; such cases are counted apart. Sets run side by side (--jobs), each set's cases in
order (they share the dumped pids).

Last line: "sweep: ok: ..." or "sweep: FAIL: ...". Exit status 0 iff no case failed.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

HEADER = 32          # engine/images/image_format.h: kImageHeaderSize
PAGE = 4096          # the header page of pages-PID.img
VANISH_SECONDS = 30  # pid 1 reaps orphans late here


class SetupError(Exception):
    pass


def pid_state(pid):
    """'R', 'S', 'Z', ... or None when /proc/PID is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    end = stat.rfind(b")")
    return stat[end + 2:end + 3].decode() if end > 0 else "?"


def wait_vanish(pids, seconds):
    """Waits until none of pids exists; returns the ones still there."""
    deadline = time.monotonic() + seconds
    left = [p for p in pids if pid_state(p) is not None]
    while left and time.monotonic() < deadline:
        time.sleep(0.01)
        left = [p for p in left if pid_state(p) is not None]
    return left


def kill_pids(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


class DumpSet:
    """One dumped zdtm test: its images, a private copy to damage, its pids and its outfile."""

    def __init__(self, stasis, dump_dir, work_root):
        self.stasis = stasis
        self.name = os.path.basename(os.path.normpath(dump_dir))
        self.images = os.path.join(dump_dir, "images")
        if not os.path.isfile(os.path.join(self.images, "inventory.img")):
            raise SetupError(f"{self.images}: no inventory.img")
        self.copy = os.path.join(work_root, self.name)
        shutil.rmtree(self.copy, ignore_errors=True)
        shutil.copytree(self.images, self.copy)
        self.files = sorted(f for f in os.listdir(self.copy)
                            if f.endswith(".img") and os.path.isfile(os.path.join(self.copy, f)))
        self.pids, self.root = self._read_pids()
        self.outfile = self._find_outfile(dump_dir)

    def _read_pids(self):
        r = subprocess.run([self.stasis, "show", "--json", os.path.join(self.copy, "pstree.img")],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise SetupError(f"stasis show pstree.img: {r.stderr.strip()}")
        entries = json.loads(r.stdout)["pstree.img"]
        pids = []
        for e in entries:
            pids.append(int(e["pid"]))
            pids.extend(int(t) for t in e.get("threads", []))
        return sorted(set(pids)), int(entries[0]["pid"])

    def _find_outfile(self, dump_dir):
        work = os.path.join(dump_dir, "work")
        for base, _, names in os.walk(work):
            for n in names:
                if n.endswith(".out"):
                    return os.path.join(base, n)
        return None

    def restore(self, timeout):
        """Runs stasis restore on the copy: (exit status or None on timeout, stderr lines)."""
        try:
            r = subprocess.run([self.stasis, "restore", "-D", self.copy, "-d"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            lines = (e.stderr or b"").decode(errors="replace").splitlines()
            return None, lines
        return r.returncode, r.stderr.decode(errors="replace").splitlines()

    def check_restored(self):
        """The tree restored from damaged images: stop it the zdtm way and read its verdict."""
        size = os.path.getsize(self.outfile) if self.outfile else 0
        try:
            os.kill(self.root, signal.SIGTERM)
        except ProcessLookupError:
            return "the restored root vanished at once"
        left = wait_vanish(self.pids, VANISH_SECONDS)
        if left:
            kill_pids(left)
            wait_vanish(left, VANISH_SECONDS)
            return f"pids {left} did not exit on SIGTERM"
        if not self.outfile:
            return "no zdtm outfile to read the verdict from"
        with open(self.outfile, "rb") as f:
            f.seek(size)
            verdict = f.read().decode(errors="replace")
        os.truncate(self.outfile, size)   # the next restore must find the file as dumped
        return None if verdict.strip().endswith("PASS") else f"restored wrongly: {verdict.strip()[-200:]!r}"

    def cases(self, every):
        """(file, action, offset) for every case of this set."""
        out = []
        for f in self.files:
            size = os.path.getsize(os.path.join(self.copy, f))
            pages = f.startswith("pages-")
            cuts = {0, 1, HEADER - 1, HEADER, size // 2, size - 1}
            if pages:
                cuts |= {PAGE - 1, PAGE}
            out += [(f, "truncate", c) for c in sorted(cuts) if 0 <= c < size]
            limit = min(size, PAGE) if pages else size
            # A per-file phase, so that a sample does not hit the same header fields everywhere.
            phase = zlib.crc32(f.encode()) % every
            out += [(f, "flip", o) for o in range(limit) if o % every == phase]
        return out


class Damage:
    """Applies one case to the copy and undoes it."""

    def __init__(self, path, action, offset):
        self.path, self.action, self.offset = path, action, offset

    def __enter__(self):
        if self.action == "truncate":
            with open(self.path, "rb") as f:
                self.saved = f.read()
            os.truncate(self.path, self.offset)
        else:
            fd = os.open(self.path, os.O_RDWR)
            try:
                self.saved = os.pread(fd, 1, self.offset)
                os.pwrite(fd, bytes([self.saved[0] ^ 0xFF]), self.offset)
            finally:
                os.close(fd)
        return self

    def __exit__(self, *exc):
        if self.action == "truncate":
            with open(self.path, "wb") as f:
                f.write(self.saved)
        else:
            fd = os.open(self.path, os.O_RDWR)
            try:
                os.pwrite(fd, self.saved, self.offset)
            finally:
                os.close(fd)


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.cases = self.truncations = self.flips = self.refused = self.restored_ok = 0
        self.failures = []

    def add(self, action, outcome, detail=None):
        with self.lock:
            self.cases += 1
            if action == "truncate":
                self.truncations += 1
            else:
                self.flips += 1
            if outcome == "refused":
                self.refused += 1
            elif outcome == "restored":
                self.restored_ok += 1
            else:
                self.failures.append(detail)


def run_case(ds, case, timeout, tally):
    f, action, offset = case
    where = f"{ds.name}/{f} {action} at {offset}"
    with Damage(os.path.join(ds.copy, f), action, offset):
        status, lines = ds.restore(timeout)
    problems = []
    if status is None:
        problems.append(f"no exit within {timeout}s")
    if status == 0:
        why = ds.check_restored()
        if why is None:
            tally.add(action, "restored")
        else:
            tally.add(action, "failed", f"{where}: restored although damaged, and {why}")
        return
    if status is not None and status < 0:
        problems.append(f"killed by signal {-status}")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr")
    elif f not in lines[0]:
        problems.append("the error does not name the file")
    left = wait_vanish(ds.pids, VANISH_SECONDS)
    if left:
        # Free before this case and taken now: restore created them. Clear them for the next case.
        problems.append(f"pids {left} left behind")
        kill_pids(left)
        wait_vanish(left, VANISH_SECONDS)
    if problems:
        tally.add(action, "failed", f"{where}: {', '.join(problems)}; stderr: {' | '.join(lines)[:300]!r}")
    else:
        tally.add(action, "refused")


def sweep_set(ds, every, timeout, tally):
    busy = [p for p in ds.pids if pid_state(p) is not None]
    if busy:
        raise SetupError(f"{ds.name}: dumped pids {busy} are in use")
    status, lines = ds.restore(timeout)
    if status != 0:
        raise SetupError(f"{ds.name}: the undamaged images do not restore: {' | '.join(lines)}")
    why = ds.check_restored()
    if why is not None:
        raise SetupError(f"{ds.name}: the undamaged images restore wrongly: {why}")
    cases = ds.cases(every)
    start = time.monotonic()
    for case in cases:
        run_case(ds, case, timeout, tally)
    return f"{ds.name}: {len(cases)} cases over {len(ds.files)} files in {time.monotonic() - start:.1f}s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stasis", required=True)
    ap.add_argument("--work", required=True, help="scratch directory for the damaged copies")
    ap.add_argument("--every", type=int, default=1, help="flip every Nth byte only (default: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("sets", nargs="+")
    a = ap.parse_args()
    if a.every < 1:
        ap.error("--every must be at least 1")

    start = time.monotonic()
    tally = Tally()
    os.makedirs(a.work, exist_ok=True)
    try:
        sets = [DumpSet(a.stasis, d, a.work) for d in a.sets]
    except (SetupError, OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
        print(f"sweep: FAIL: setting up: {e}")
        return 1
    setup_errors = []
    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        futures = [pool.submit(sweep_set, ds, a.every, a.timeout, tally) for ds in sets]
        for fut in futures:
            try:
                print(f"  {fut.result()}", flush=True)
            except (SetupError, OSError, subprocess.SubprocessError) as e:
                setup_errors.append(str(e))
    for e in setup_errors:
        print(f"  setup: {e}")
    for failure in tally.failures[:40]:
        print(f"  FAIL {failure}")
    if len(tally.failures) > 40:
        print(f"  ... and {len(tally.failures) - 40} more failures")
    sample = "every byte" if a.every == 1 else f"every {a.every}th byte"
    summary = (f"{tally.cases} cases ({tally.truncations} truncations, {tally.flips} flips of {sample}) "
               f"over {len(sets)} dumps in {time.monotonic() - start:.0f}s: {tally.refused} refused with one line, "
               f"{tally.restored_ok} restored correctly despite the damage, {len(tally.failures)} failed")
    if tally.failures or setup_errors:
        print(f"sweep: FAIL: {summary}{'; ' + str(len(setup_errors)) + ' dumps unusable' if setup_errors else ''}")
        return 1
    print(f"sweep: ok: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
