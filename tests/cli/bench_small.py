"""Keeps the benchmark working: runs zorgpad_bench at a small size. Figures are reported, not asserted."""
import os, subprocess, sys

binary = sys.argv[1]
bench = os.path.join(os.path.dirname(binary), "bench", "zorgpad_bench")
if not os.path.exists(bench):
    print("bench_small: SKIPPED (zorgpad_bench not built)")
    sys.exit(0)
p = subprocess.run([bench, "--episodes", "2000"], capture_output=True, text=True, timeout=300)
print(p.stdout[-2000:])
if p.returncode != 0:
    print("bench_small: FAIL", p.returncode, p.stderr[-1000:])
    sys.exit(1)
for figure in ("import", "record", "tick", "rebuild", "peak RSS"):
    if figure not in p.stdout:
        print(f"bench_small: FAIL, no '{figure}' figure")
        sys.exit(1)
print("bench_small: ok")
