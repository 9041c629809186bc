"""The "Fuzzing" section of BENCHMARKS.md: schemathesis against ``python -m api.serve`` on the whole basin.

Two runs side by side, one with a device token (so trip writes are fuzzed, not only their 401s) and one
without, each with every check, all four phases (examples, coverage, fuzzing, and the stateful phase that
follows the OpenAPI links), and ``tests/schemathesis.toml``. ``python -m bench.run fuzz`` writes the section;
``python -m bench.fuzz [EXAMPLES]`` prints the figures.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from api.devices import make_token
from bench.hardening import ROOT, Served
from routing.settings import Settings

#: Examples per operation and phase, and the seed (fixed, so a run is repeatable; schemathesis's "deterministic"
#: mode ignores the seed and stops the stateful phase after a few scenarios): over 25,000 cases in the two runs.
EXAMPLES, SEED = 600, 20261202
CONFIG = ROOT / "tests" / "schemathesis.toml"


def command(base: str, *, examples: int, token: str | None) -> list[str]:
    """One schemathesis run: every check, every phase, the project's configuration, in one thread (CPython
    3.11's ast module is not thread-safe, gh-106905); an operation goes on after a failure, so the number of cases
    does not depend on where the first one falls."""
    cmd = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG), "run",
           f"{base}/openapi.json", "--max-examples", str(examples), "--seed", str(SEED),
           "--request-timeout", "120", "--workers", "1", "--continue-on-failure",
           "--phases", "examples,coverage,fuzzing,stateful"]
    if token:
        cmd += ["--header", f"Authorization: Bearer {token}"]
    return cmd


def summary(output: str) -> dict:
    """Cases generated and failures by code, read from schemathesis's summary."""
    cases = re.search(r"(\d+) generated", output)
    failures = {m.group(1): int(m.group(3)) for m in re.finditer(r"❌ (ST\d+|\w+) (.+?): (\d+)", output)}
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", output)
    return {"cases": int(cases.group(1)) if cases else 0, "failures": failures,
            "links": f"{links.group(1)} of {links.group(2)}" if links else "none",
            "server_errors": failures.get("ST101", 0)}  # not_a_server_error: a 5xx answer


def _kind(nginx_error: str) -> str:
    """What an nginx error line says, without its time, connection and request: "client intended to send too
    large body", "upstream prematurely closed connection"…"""
    text = re.sub(r"^\S+ \S+ \[error\] \d+#\d+: \*\d+ ", "", nginx_error)
    return re.split(r"[:,(]", text)[0].strip()


def run(cfg: Settings, *, examples: int = EXAMPLES) -> dict:
    """Serve the basin without rate limits (the fuzzer is one client), run both fuzzers, count 5xx on both sides."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serve.log"
        served = Served(cfg, Path(tmp), log=log)
        try:
            token = make_token(b"bench-secret", "fuzz-device")
            runs = {name: subprocess.Popen(command(served.base, examples=examples, token=tok), cwd=tmp, text=True,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                    for name, tok in (("with a device token", token), ("without a token", None))}
            out = {}
            (ROOT / "var").mkdir(exist_ok=True)
            for name, proc in runs.items():
                text, _ = proc.communicate()
                out[name] = {**summary(text), "exit": proc.returncode}
                (ROOT / "var" / f"fuzz-{'token' if 'device' in name else 'anonymous'}.txt").write_text(text)
                print(f"  {name}: {out[name]}", file=sys.stderr, flush=True)
        finally:
            served.stop()
        text = log.read_text(errors="replace")
        errors = [line for line in text.splitlines() if "[error]" in line]
        out["server_log"] = {"tracebacks": text.count("Traceback"), "nginx_errors": len(errors),
                             "nginx_error_kinds": sorted({_kind(line) for line in errors})}
        (ROOT / "var" / "fuzz-serve.log").write_text(text)
    return out


def section(cfg: Settings, *, examples: int = EXAMPLES) -> str:
    r = run(cfg, examples=examples)
    names = [k for k in r if k != "server_log"]
    rows = "\n".join(f"| {n} | {r[n]['cases']:,} | {r[n]['server_errors']} | {r[n]['links']} | "
                     f"{', '.join(f'{k}: {v}' for k, v in r[n]['failures'].items()) or 'none'} | {r[n]['exit']} |"
                     for n in names)
    total = sum(r[n]["cases"] for n in names)
    return f"""## Fuzzing (issue 14)

Command: `python -m bench.run fuzz` (this machine, the whole basin, `python -m api.serve` without rate limits).
Two schemathesis runs side by side, one with a device token and one without: every check, the phases examples,
coverage, fuzzing and stateful (over the OpenAPI links), {examples} examples per operation, seed {SEED},
configuration `tests/schemathesis.toml`. The full outputs are left in `var/fuzz-token.txt` and
`var/fuzz-anonymous.txt`.

| run | cases | 5xx failures | links covered | failures by check | exit |
|---|---|---|---|---|---|
{rows}

**{total:,} cases, {sum(r[n]['server_errors'] for n in names)} failures for a 5xx answer.** The server's log holds
{r['server_log']['tracebacks']} tracebacks (the app logs every 500 with its cause) and {r['server_log']['nginx_errors']}
nginx errors ({', '.join(r['server_log']['nginx_error_kinds']) or 'none'}; a 502 or 504 would log "upstream …").
The server's log is left in `var/fuzz-serve.log`.
"""


if __name__ == "__main__":
    print(json.dumps(run(Settings.from_env(), examples=int(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLES),
                     indent=1))
