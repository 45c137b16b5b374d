"""Where a benchmarked request spends its time: starts the bench server, loads one endpoint
with wrk and samples the gunicorn workers with py-spy meanwhile, then prints the functions
with the largest share of samples (inclusive).

    .venv/bin/pip install py-spy   # not a project dependency
    .venv/bin/python -m bench.profile sign|insert|count|json [seconds] [lines]
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench import bench


def collapsed_top(path: Path, limit: int = 60) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """The functions with the largest share of samples: inclusive (the function and what it
    calls) and self (the function's own code, where the time is really spent)."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        seen = set()
        key = ""
        for frame in stack.split(";")[1:]:  # the first frame is the process
            name, _, where = frame.partition(" (")
            key = f"{name} ({Path(where.split(':')[0]).name})"
            if key not in seen:
                inclusive[key] += samples
                seen.add(key)
        if key:
            own[key] += samples
    return (
        [(100 * n / total, key) for key, n in inclusive.most_common(limit)],
        [(100 * n / total, key) for key, n in own.most_common(limit // 2)],
    )


def main(argv: list[str]) -> int:
    target = argv[0] if argv else "sign"
    seconds = int(argv[1]) if len(argv) > 1 else 8
    limit = int(argv[2]) if len(argv) > 2 else 60
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    bench.database_create()
    bench.django_setup()
    server = None
    try:
        fixtures = bench.fixtures_create(with_rows=False)
        from django.db import connections

        connections.close_all()
        server = bench.server_start()
        urls = {
            "sign": (f"/api/v1/petitions/{bench.SIGN_SLUG}/signatures/", "sign.lua"),
            "insert": ("/bench/insert/", "sign.lua"),
            "count": (f"/api/v1/petitions/{bench.SIGN_SLUG}/count/", "get.lua"),
            "json": ("/bench/json/", "get.lua"),
        }
        path, script = urls[target]
        env = {"BENCH_CONSENT_VERSION": fixtures.consent_version}
        bench.wrk(server.base_url + path, script=script, args=["warm"], duration=2, env=env)
        results: list[bench.WrkResult] = []
        load = threading.Thread(
            target=lambda: results.append(
                bench.wrk(server.base_url + path, script=script, args=["prof"], duration=seconds + 2, env=env)
            )
        )
        load.start()
        with tempfile.NamedTemporaryFile(suffix=".txt") as raw:
            subprocess.run(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(server.process.pid),
                    "--subprocesses",
                    "--duration",
                    str(seconds),
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "-o",
                    raw.name,
                ],
                check=True,
                capture_output=True,
            )
            load.join()
            print(f"{target}: {results[0].rps:,.0f} req/s during the profile")
            inclusive, own = collapsed_top(Path(raw.name), limit=limit)
            print("inclusive:")
            for share, name in inclusive:
                print(f"{share:5.1f}%  {name}")
            print("self:")
            for share, name in own:
                print(f"{share:5.1f}%  {name}")
    finally:
        if server:
            server.stop()
        bench.redis_cleanup()
        bench.database_drop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
