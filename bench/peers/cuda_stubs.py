#!/usr/bin/env python3
"""Build stand-in CUDA libraries so PyPI's Linux torch wheel imports without CUDA.

Why: PyPI has no CPU-only torch for Linux x86_64 (the +cpu builds live only on
the PyTorch index, which this machine cannot reach). The PyPI wheel is a CUDA
build whose libtorch_cpu.so, libtorch_cuda.so and libtorch_python.so list
libcudart, libcublas, libcudnn, libnccl, ... as DT_NEEDED, so `import torch`
fails unless ~2 GB of nvidia-* wheels (plus 270 MB of triton) are installed.
On a machine without a GPU none of those libraries ever does useful work: the
first CUDA call (cudaGetDeviceCount) fails and torch stays on the CPU.

So for each CUDA library torch needs but cannot find, this script compiles a
small shared object with the same SONAME and symbol-version node, exporting
every symbol torch imports from it. Each export reports "no device"/an error
status, so torch behaves as on a GPU-less machine with a real CUDA runtime:
torch.cuda.is_available() is False and CPU kernels are the unmodified ones
from the wheel. Set RECSYS_CUDA_STUB_TRACE=1 to log every stub that is called.

The stubs go into torch/lib (already on the wheel's RPATH as $ORIGIN) and are
listed in torch/lib/RECSYS_CUDA_STUBS.txt so they can be told from the real
thing. Needs a C compiler and binutils (readelf, nm).

Usage: cuda_stubs.py [--torch-lib DIR] [--cc CC]
"""
from __future__ import annotations

import argparse
import functools
import glob
import os
import re
import subprocess
import sys
import tempfile

MARKER = "RECSYS_CUDA_STUBS.txt"

# The GPU driver itself. Only libcaffe2_nvrtc.so (dlopen'ed for CUDA JIT) lists
# it; a CPU machine has no driver either, so we do not fake one.
SKIP_LIBS = {"libcuda.so.1"}

# Libraries built without symbol versioning: their imports carry no @VERSION
# tag, so we attribute them by API prefix instead.
UNVERSIONED_PREFIXES = {
    "libnccl.so": ("nccl",),
    "libcusparseLt.so": ("cusparseLt",),
    "libcufile.so": ("cuFile",),
    "libnvshmem_host.so": ("nvshmem",),
}

# Status code returned by every stub without a special case. 999 is
# cudaErrorUnknown / CUPTI_ERROR_UNKNOWN and is non-zero (= failure) in every
# CUDA library API, so callers take their error path instead of using garbage.
GENERIC_STATUS = 999

# Exports whose callers need more than "non-zero status" to behave sanely.
SPECIAL = {
    # No device: torch.cuda.is_available() -> False, device_count() -> 0.
    # (100 = cudaErrorNoDevice)
    "cudaGetDeviceCount": "int cudaGetDeviceCount(int *n) { STUB_TRACE; if (n) *n = 0; return 100; }",
    # Clearing the sticky error after the call above must succeed.
    "cudaGetLastError": "int cudaGetLastError(void) { STUB_TRACE; return 0; }",
    "cudaPeekAtLastError": "int cudaPeekAtLastError(void) { STUB_TRACE; return 0; }",
    # "No driver installed" is reported as version 0.
    "cudaDriverGetVersion": "int cudaDriverGetVersion(int *v) { STUB_TRACE; if (v) *v = 0; return 0; }",
    "cudaRuntimeGetVersion": "int cudaRuntimeGetVersion(int *v) { STUB_TRACE; if (v) *v = 0; return 0; }",
    # size_t-returning version queries: 0 means "unknown".
    "cudnnGetVersion": "size_t cudnnGetVersion(void) { STUB_TRACE; return 0; }",
    "cudnnGetCudartVersion": "size_t cudnnGetCudartVersion(void) { STUB_TRACE; return 0; }",
    "cublasLtGetVersion": "size_t cublasLtGetVersion(void) { STUB_TRACE; return 0; }",
    "cublasLtGetCudartVersion": "size_t cublasLtGetCudartVersion(void) { STUB_TRACE; return 0; }",
}
# Functions that return a message string (used when formatting errors).
STRING_RETURNING = re.compile(r"(GetErrorString|GetErrorName|GetStatusString|GetStatusName|GetLastError)$")
STRING_EXCEPTIONS = {"cudaGetLastError"}


def run(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def needed(lib: str) -> list[str]:
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run(["readelf", "-d", lib]))


def verneed_by_file(lib: str) -> dict[str, set[str]]:
    """Map each library file named in lib's .gnu.version_r to its version names."""
    out: dict[str, set[str]] = {}
    current = None
    for line in run(["readelf", "-V", "-W", lib]).splitlines():
        m = re.search(r"File: (\S+)", line)
        if m:
            current = m.group(1)
            out.setdefault(current, set())
            continue
        m = re.search(r"Name: (\S+)", line)
        if m and current is not None:
            out[current].add(m.group(1))
    return out


def undefined_symbols(lib: str) -> list[tuple[str, str | None]]:
    syms = []
    for line in run(["nm", "-D", "--undefined-only", lib]).splitlines():
        name = line.split()[-1]
        base, _, version = name.partition("@")
        syms.append((base, version.lstrip("@") or None))
    return syms


@functools.lru_cache(maxsize=1)
def ldconfig_cache() -> str:
    return run(["ldconfig", "-p"])


def system_has(soname: str) -> bool:
    # ldconfig's cache lists what the dynamic loader finds without an RPATH.
    return f"{soname} (" in ldconfig_cache()


def c_source(symbols: list[str]) -> str:
    lines = [
        "/* Generated by bench/peers/cuda_stubs.py: CPU-only stand-in, see there. */",
        "#include <stddef.h>",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        "#define EXPORT __attribute__((visibility(\"default\")))",
        "static int stub_trace(const char *fn) {",
        "  static int on = -1;",
        "  if (on < 0) { const char *e = getenv(\"RECSYS_CUDA_STUB_TRACE\"); on = e && *e && *e != '0'; }",
        "  if (on) fprintf(stderr, \"[cuda-stub] %s called (CPU-only torch install)\\n\", fn);",
        "  return 0;",
        "}",
        "#define STUB_TRACE stub_trace(__func__)",
        "static const char stub_msg[] = \"CUDA is not available (CPU-only torch install with stub CUDA libraries)\";",
    ]
    for s in sorted(symbols):
        if s == "__cudaRegisterFatBinary":
            # Called from static constructors of every CUDA translation unit
            # (hundreds at load time); the handle only flows back into stubs.
            lines.append("static void *stub_handle[1];")
            lines.append(f"EXPORT void **{s}() {{ return stub_handle; }}")
        elif s.startswith("__cuda"):
            # The rest of the nvcc registration protocol: silently do nothing.
            lines.append(f"EXPORT int {s}() {{ return 0; }}")
        elif s in SPECIAL:
            lines.append("EXPORT " + SPECIAL[s])
        elif STRING_RETURNING.search(s) and s not in STRING_EXCEPTIONS:
            lines.append(f"EXPORT const char *{s}() {{ STUB_TRACE; return stub_msg; }}")
        else:
            lines.append(f"EXPORT int {s}() {{ STUB_TRACE; return {GENERIC_STATUS}; }}")
    return "\n".join(lines) + "\n"


def version_script(nodes: dict[str, set[str]], unversioned: set[str]) -> str | None:
    if not nodes:
        return None
    parts = []
    names = sorted(nodes)
    for i, node in enumerate(names):
        syms = set(nodes[node])
        if i == 0:
            syms |= unversioned  # unversioned imports bind to any version
        body = "".join(f"    {s};\n" for s in sorted(syms))
        local = "  local: *;\n" if i == 0 else ""
        parts.append(f"{node} {{\n  global:\n{body}{local}}};\n")
    return "".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--torch-lib",
                    help="torch/lib directory (default: that of this python's torch, located without importing it)")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    args = ap.parse_args()

    torch_lib = args.torch_lib
    if torch_lib is None:
        import importlib.util
        spec = importlib.util.find_spec("torch")  # finds the package without importing it
        if spec is None or not spec.submodule_search_locations:
            sys.exit("torch is not installed in this interpreter")
        torch_lib = os.path.join(list(spec.submodule_search_locations)[0], "lib")
    torch_lib = os.path.abspath(torch_lib)

    marker = os.path.join(torch_lib, MARKER)
    previous = open(marker).read().split() if os.path.exists(marker) else []
    for name in previous:  # rebuild from scratch so reruns are idempotent
        path = os.path.join(torch_lib, name)
        if os.path.exists(path):
            os.remove(path)

    libs = sorted(glob.glob(os.path.join(torch_lib, "*.so*")))
    libs += glob.glob(os.path.join(torch_lib, "..", "_C*.so"))
    present = {os.path.basename(p) for p in libs}

    missing: set[str] = set()
    for lib in libs:
        for soname in needed(lib):
            if soname not in present and soname not in SKIP_LIBS and not system_has(soname):
                missing.add(soname)

    # soname -> version node -> symbols, plus unversioned symbols per soname
    nodes: dict[str, dict[str, set[str]]] = {m: {} for m in missing}
    unversioned: dict[str, set[str]] = {m: set() for m in missing}
    version_owner: dict[str, str] = {}
    for lib in libs:
        for fname, versions in verneed_by_file(lib).items():
            if fname in missing:
                for v in versions:
                    version_owner[v] = fname
                    nodes[fname].setdefault(v, set())
    for lib in libs:
        for sym, ver in undefined_symbols(lib):
            if ver is not None:
                if ver in version_owner:
                    nodes[version_owner[ver]][ver].add(sym)
            else:
                for soname in missing:
                    stem = soname.split(".so")[0] + ".so"
                    if sym.startswith(UNVERSIONED_PREFIXES.get(stem, ("\0",))):
                        unversioned[soname].add(sym)

    built = []
    with tempfile.TemporaryDirectory() as tmp:
        for soname in sorted(missing):
            syms = set(unversioned[soname])
            for s in nodes[soname].values():
                syms |= s
            src = os.path.join(tmp, soname + ".c")
            with open(src, "w") as f:
                f.write(c_source(sorted(syms)))
            cmd = [args.cc, "-shared", "-fPIC", "-O1", "-fvisibility=hidden", "-w", "-Wl,-soname," + soname]
            vs = version_script(nodes[soname], unversioned[soname])
            if vs:
                vpath = os.path.join(tmp, soname + ".map")
                with open(vpath, "w") as f:
                    f.write(vs)
                cmd.append("-Wl,--version-script=" + vpath)
            cmd += ["-o", os.path.join(torch_lib, soname), src]
            subprocess.run(cmd, check=True)
            built.append(soname)
            print(f"[cuda-stubs] {soname}: {len(syms)} symbols", file=sys.stderr)

    with open(marker, "w") as f:
        f.write("\n".join(built) + "\n")
    print(f"[cuda-stubs] wrote {len(built)} stub libraries into {torch_lib}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
