#!/usr/bin/env python3
"""Helpers of scripts/gpu_check.sh, standard library only (the GPU machine has no package registry):
unpacking .deb files without dpkg, proving that a build took nothing from the system, merging the
benchmark JSON, counting test results, packing logs under the size limit of one output file.

  gpu_check_tools.py verify DEBS_DIR                  sha256 of every .deb against MANIFEST.tsv
  gpu_check_tools.py unpack PREFIX DEB...             .deb -> PREFIX without dpkg (ar + tar)
  gpu_check_tools.py fixlinks PREFIX                  absolute symlinks -> inside PREFIX
  gpu_check_tools.py check-cache CACHE ALLOWED...     *_INCLUDE*/*_LIBRARY*/*_DIR entries
  gpu_check_tools.py check-ldd ALLOWED... -- FILE...  every non-base library resolves in ALLOWED
  gpu_check_tools.py check-headers BUILD ALLOWED...   headers outside ALLOWED belong to libc/gcc
  gpu_check_tools.py merge-bench DIR OUT COMMIT DEVICE
  gpu_check_tools.py ratios BENCH_JSON                the lines of the summary's key ratios
  gpu_check_tools.py junit JUNIT_XML                  "N tests: P passed, F failed, S skipped"
  gpu_check_tools.py results RESULTS_CSV              one line: each experiment's test mIoU
  gpu_check_tools.py ncu-summary NCU_TEXT             one line per kernel launch of an ncu report
  gpu_check_tools.py pack-logs DIR OUT_TGZ MAX_MIB
"""
import hashlib
import io
import json
import lzma
import gzip
import bz2
import os
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET

# Libraries every Linux system with a C++ compiler has, and CUDA's own driver/runtime pieces: a
# build may use them from the system. Anything else must come from the bundle (or the toolkit).
BASE_LIBS = re.compile(
    r"^(linux-vdso\.so|ld-linux[-\w]*\.so|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread\.so|"
    r"libstdc\+\+\.so|libgcc_s\.so|libgomp\.so|libcuda\.so|libnvidia-[\w.-]+\.so|libutil\.so|"
    r"libresolv\.so|libmvec\.so)"
)
# Debian packages whose headers and libraries come with the C/C++ tool chain itself.
BASE_PACKAGES = re.compile(r"^(libc6-dev|libc6|linux-libc-dev|libstdc\+\+-\d+-dev|libgcc-\d+-dev|"
                           r"gcc-\d+|g\+\+-\d+|cpp-\d+|libgomp1|libgcc-s1|libstdc\+\+6)(:\w+)?$")


def die(msg):
    print(f"gpu_check_tools: {msg}", file=sys.stderr)
    sys.exit(1)


def inside(path, roots):
    real = os.path.realpath(path)
    for r in roots:
        if not r:
            continue
        r = os.path.realpath(r)
        if real == r or real.startswith(r.rstrip("/") + "/"):
            return True
    return False


# ---- packages ------------------------------------------------------------------------------------

def verify(debs_dir):
    manifest = os.path.join(os.path.dirname(os.path.abspath(debs_dir)), "MANIFEST.tsv")
    if not os.path.exists(manifest):
        die(f"no {manifest}: run scripts/gpu_pack.sh on a Debian machine first")
    bad, n = [], 0
    with open(manifest) as f:
        for line in f:
            if line.startswith("#") or line.startswith("package\t"):
                continue
            pkg, _ver, size, sha, name = line.rstrip("\n").split("\t")
            path = os.path.join(debs_dir, name)
            n += 1
            if not os.path.exists(path):
                bad.append(f"{pkg}: {name} missing")
                continue
            with open(path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            if digest != sha or os.path.getsize(path) != int(size):
                bad.append(f"{pkg}: {name} does not match the manifest")
    if bad:
        die("bundle damaged:\n  " + "\n  ".join(bad))
    print(f"{n} packages match the manifest")


def ar_members(data):
    if not data.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[0:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        yield name, data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size % 2)


def data_tar(deb_path):
    with open(deb_path, "rb") as f:
        data = f.read()
    for name, body in ar_members(data):
        if not name.startswith("data.tar"):
            continue
        if name.endswith(".xz"):
            return lzma.decompress(body)
        if name.endswith(".gz"):
            return gzip.decompress(body)
        if name.endswith(".bz2"):
            return bz2.decompress(body)
        if name.endswith(".zst"):
            if not shutil.which("zstd"):
                die(f"{deb_path}: data.tar.zst needs the zstd program")
            return subprocess.run(["zstd", "-dc"], input=body, stdout=subprocess.PIPE,
                                  check=True).stdout
        if name == "data.tar":
            return body
        die(f"{deb_path}: unknown member {name}")
    die(f"{deb_path}: no data.tar member")


def unpack(prefix, debs):
    os.makedirs(prefix, exist_ok=True)
    root = os.path.realpath(prefix)
    for deb in debs:
        with tarfile.open(fileobj=io.BytesIO(data_tar(deb))) as tar:
            for m in tar.getmembers():
                name = os.path.normpath(m.name.lstrip("./") or ".")
                if name == "." or name.startswith(".."):
                    continue
                dest = os.path.join(root, name)
                if m.isdir():
                    os.makedirs(dest, exist_ok=True)
                elif m.issym() or m.islnk():
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    if os.path.lexists(dest):
                        os.remove(dest)
                    if m.issym():
                        os.symlink(m.linkname, dest)
                    else:
                        os.link(os.path.join(root, os.path.normpath(m.linkname.lstrip("./"))), dest)
                elif m.isfile():
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    with tar.extractfile(m) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
                    os.chmod(dest, m.mode & 0o777)
    print(f"unpacked {len(debs)} packages into {prefix}")


def fixlinks(prefix):
    root = os.path.realpath(prefix)
    fixed = 0
    for d, _dirs, files in os.walk(root):
        for f in files + _dirs:
            p = os.path.join(d, f)
            if os.path.islink(p):
                t = os.readlink(p)
                if t.startswith("/"):
                    os.remove(p)
                    os.symlink(os.path.relpath(root + t, d), p)
                    fixed += 1
    print(f"{fixed} absolute symlinks re-pointed inside {prefix}")


# ---- isolation checks ------------------------------------------------------------------------------

def check_cache(cache, allowed):
    """Every cache entry naming an include directory, a library or a package directory must lie
    in an allowed root (the bundle, the toolkit, cuDNN, the tree) or be part of the tool chain."""
    bad, seen = [], 0
    key = re.compile(r"^([A-Za-z0-9_.+-]*(_INCLUDE[A-Z_]*|_LIBRARY[A-Z_]*|_LIB|_DIR)):([A-Z]+)=(.*)$")
    with open(cache) as f:
        for line in f:
            m = key.match(line.strip())
            if not m or m.group(3) in ("INTERNAL", "STATIC"):
                continue
            name, value = m.group(1), m.group(4)
            if name.startswith("CMAKE_") and name not in ("CMAKE_CUDA_COMPILER_TOOLKIT_ROOT",):
                continue
            for v in [x for x in value.split(";") if x.startswith("/")]:
                seen += 1
                if inside(v, allowed) or toolchain_path(v):
                    continue
                bad.append(f"{name} = {v}")
    if bad:
        die("CMake found these outside the bundle and the toolkit:\n  " + "\n  ".join(bad))
    print(f"{seen} paths in CMakeCache.txt lie in the bundle, the toolkit or the tool chain")


def toolchain_path(p):
    """The compiler's own directories and glibc's libraries (present wherever a compiler is)."""
    real = os.path.realpath(p)
    if re.match(r"^/usr/lib/gcc/[^/]+/\d+/", real) or re.match(r"^/usr/include/c\+\+/", real):
        return True
    return bool(BASE_LIBS.match(os.path.basename(real))) or \
        re.match(r"^lib(pthread|dl|rt|m|c)\.(a|so)", os.path.basename(real)) is not None


def check_ldd(allowed, files):
    bad, n = [], 0
    for f in files:
        out = subprocess.run(["ldd", f], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True).stdout
        if "not a dynamic executable" in out:
            continue
        n += 1
        for line in out.splitlines():
            line = line.strip()
            m = re.match(r"^(\S+) => (.*?)( \(0x[0-9a-f]+\))?$", line)
            if not m:
                continue
            lib, where = m.group(1), m.group(2)
            if where == "not found":
                bad.append(f"{os.path.basename(f)}: {lib} not found")
            elif BASE_LIBS.match(lib):
                continue
            elif not inside(where, allowed):
                bad.append(f"{os.path.basename(f)}: {lib} => {where}")
    if bad:
        die("libraries not resolved inside the bundle or the toolkit:\n  " + "\n  ".join(sorted(set(bad))))
    print(f"{n} binaries and libraries: every non-base library resolves in the bundle or the toolkit")


def check_headers(build, allowed):
    """Every header a compilation read (ninja's dependency log) is in an allowed root or belongs
    to a tool-chain package (dpkg -S): a header the bundle lacks but the system has fails here."""
    out = subprocess.run(["ninja", "-C", build, "-t", "deps"], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    headers = {line.strip() for line in out.splitlines() if line.startswith("    ")}
    outside = sorted({os.path.normpath(os.path.join(build, h)) for h in headers
                      if not inside(os.path.join(build, h), allowed)})
    if not shutil.which("dpkg"):
        die("check-headers needs dpkg (run it in the rehearsal on Debian)")
    owners, unowned = {}, []
    for i in range(0, len(outside), 200):
        chunk = outside[i:i + 200]
        res = subprocess.run(["dpkg", "-S"] + chunk, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        for line in res.stdout.splitlines():
            pkgs, path = line.split(": ", 1)
            for p in pkgs.split(", "):
                owners.setdefault(path, set()).add(p)
    bad = []
    for h in outside:
        pk = owners.get(h) or owners.get(os.path.realpath(h))
        if not pk:
            unowned.append(h)
        elif not all(BASE_PACKAGES.match(p) for p in pk):
            bad.append(f"{h} ({', '.join(sorted(pk))})")
    if unowned:
        bad += [f"{h} (no package)" for h in unowned if not toolchain_path(h)]
    if bad:
        die("headers read from the system, not the bundle:\n  " + "\n  ".join(bad[:40]))
    print(f"{len(headers)} headers read: those outside the bundle and the toolkit "
          f"({len(outside)}) all belong to the C/C++ tool chain")


# ---- results ---------------------------------------------------------------------------------------

def merge_bench(d, out, commit, device):
    merged = {"commit": commit, "device": device, "benchmarks": {}}
    for f in sorted(os.listdir(d)):
        if f.endswith(".json"):
            with open(os.path.join(d, f)) as fh:
                try:
                    merged["benchmarks"][f[:-5]] = json.load(fh)
                except json.JSONDecodeError as e:
                    merged["benchmarks"][f[:-5]] = {"error": f"unreadable JSON: {e}"}
    with open(out + ".tmp", "w") as fh:
        json.dump(merged, fh, indent=2)
    os.replace(out + ".tmp", out)
    print(f"merged {len(merged['benchmarks'])} benchmarks into {out}")


def ratios(path):
    """Speedups and ratios against the peers, bandwidths, throughputs of training and GPU linking,
    the device memory training holds, whether GPU output equals the CPU's, and every error a
    benchmark or peer recorded."""
    with open(path) as fh:
        bench = json.load(fh)["benchmarks"]
    lines = []

    def wanted(trail, v):
        k, bench_name, under = trail[-1], trail[0], trail[1:-1]
        if isinstance(v, str):
            return k in ("error", "peer_error") or (k == "gpu" and bench_name == "link")
        if isinstance(v, bool):
            return k in ("output_equals_cpu", "meets_target")
        if "speedup" in k or "ratio" in k or k == "gbs":
            return True
        if k == "device_mem_bytes":  # what bf16 storage saves, beside f32's
            return bench_name.startswith("train")
        return k == "images_per_s" and "peer" not in under and \
            (bench_name == "train" or "gpu" in under)

    def walk(x, trail):
        if isinstance(x, dict):
            if isinstance(x.get("shape"), list):
                trail = trail + ["x".join(str(v) for v in x["shape"])]
            for k, v in x.items():
                walk(v, trail + [k])
        elif isinstance(x, list):
            for v in x:
                walk(v, trail)
        elif wanted(trail, x):
            lines.append((trail, x))

    for name in sorted(bench):
        walk(bench[name], [name])
    for trail, v in lines[:60]:
        text = f"{v:.3g}" if isinstance(v, float) else str(v)
        print(f"  {'.'.join(trail)}: {text[:150]}")
    if not lines:
        print("  (no ratios found)")


def junit(path):
    root = ET.parse(path).getroot()
    total = failed = skipped = 0
    names = []
    for case in root.iter("testcase"):
        total += 1
        if case.find("failure") is not None or case.find("error") is not None \
                or case.get("status") == "fail":
            failed += 1
            names.append(case.get("name"))
        elif case.find("skipped") is not None or case.get("status") in ("notrun", "disabled"):
            skipped += 1
    print(f"{total} tests: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
    for n in names[:10]:
        print(f"  failed: {n}")


def results(path):
    import csv
    parts = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            miou = row.get("test_miou") or "-"
            try:
                miou = f"{float(miou):.3f}"
            except ValueError:
                pass
            secs = row.get("wall_seconds") or "?"
            try:
                secs = f"{float(secs):.0f}"
            except ValueError:
                pass
            stale = " (stale: other settings)" if row.get("current") == "false" else ""
            parts.append(f"{row.get('id')} {row.get('status')}{stale} test mIoU {miou} ({secs} s)")
    print("; ".join(parts) if parts else "no experiments in results.csv")


def pack_logs(d, out, max_mib):
    """tar.gz of d; files over a share of the limit keep their head and tail."""
    cap = int(max_mib * 1048576 * 2)  # logs compress well; cut the largest first if still over
    for attempt in range(6):
        with tarfile.open(out, "w:gz") as tar:
            for base, _dirs, files in os.walk(d):
                for f in sorted(files):
                    p = os.path.join(base, f)
                    arc = os.path.relpath(p, os.path.dirname(d.rstrip("/")))
                    size = os.path.getsize(p)
                    if size <= cap:
                        tar.add(p, arcname=arc)
                        continue
                    with open(p, "rb") as fh:
                        head = fh.read(cap // 2)
                        fh.seek(size - cap // 2)
                        tail = fh.read()
                    body = head + f"\n[... {size - cap} bytes cut by pack-logs ...]\n".encode() + tail
                    info = tarfile.TarInfo(arc)
                    info.size = len(body)
                    tar.addfile(info, io.BytesIO(body))
        if os.path.getsize(out) <= max_mib * 1048576:
            print(f"packed {d} into {out} ({os.path.getsize(out) / 1048576:.1f} MiB)")
            return
        cap //= 4
    die(f"{out} stays over {max_mib} MiB")


NCU_KERNEL = re.compile(r"^\s{1,3}(?:void )?(\S.*?)\s*\((\d+), (\d+), (\d+)\)x\((\d+), (\d+), (\d+)\), "
                        r"Context")
NCU_METRIC = re.compile(r"^\s{3,}(\S.*?)\s{2,}(?:(\S+)\s+)?([\d][\d,.]*)\s*$")
NCU_WANTED = [("Duration", "time"), ("DRAM Throughput", "DRAM %"),
              ("Memory Throughput", "memory %"), ("Achieved Occupancy", "occupancy %"),
              ("Theoretical Occupancy", "theoretical %"), ("Registers Per Thread", "registers"),
              ("Warp Cycles Per Issued Instruction", "cycles/issue")]


def ncu_summary(path):
    """One line per kernel launch of an Nsight Compute text report (its default details page):
    the kernel's short name, grid, time, DRAM and memory throughput, occupancy and registers."""
    launches = []
    with open(path, errors="replace") as fh:
        for line in fh:
            m = NCU_KERNEL.match(line)
            if m:
                name = m.group(1).replace("(anonymous namespace)::", "")
                name = re.sub(r"\(.*", "", name)       # the argument list
                name = re.sub(r"^.*::", "", name)       # the namespaces
                grid = "x".join(g for g in m.group(2, 3, 4) if g != "1") or "1"
                launches.append({"name": name, "grid": grid, "block": m.group(5), "metrics": {}})
                continue
            m = NCU_METRIC.match(line)
            if m and launches:
                launches[-1]["metrics"].setdefault(m.group(1), (m.group(3), m.group(2) or ""))
    if not launches:
        print("no kernel launches found in the ncu report")
        return
    for k in launches:
        parts = [f"{k['name']} grid {k['grid']} block {k['block']}"]
        for metric, label in NCU_WANTED:
            if metric in k["metrics"]:
                value, unit = k["metrics"][metric]
                if metric == "Duration":
                    parts.append(f"{value} {unit}")
                else:
                    parts.append(f"{label} {value}")
        print(", ".join(parts))


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "verify":
        verify(args[0])
    elif cmd == "unpack":
        unpack(args[0], args[1:])
    elif cmd == "fixlinks":
        fixlinks(args[0])
    elif cmd == "check-cache":
        check_cache(args[0], args[1:])
    elif cmd == "check-ldd":
        i = args.index("--")
        check_ldd(args[:i], args[i + 1:])
    elif cmd == "check-headers":
        check_headers(args[0], args[1:])
    elif cmd == "merge-bench":
        merge_bench(*args)
    elif cmd == "ratios":
        ratios(args[0])
    elif cmd == "junit":
        junit(args[0])
    elif cmd == "results":
        results(args[0])
    elif cmd == "ncu-summary":
        ncu_summary(args[0])
    elif cmd == "pack-logs":
        pack_logs(args[0], args[1], float(args[2]))
    else:
        die(f"unknown command {cmd}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
