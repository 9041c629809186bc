"""The nginx that ``make run`` puts in front of gunicorn: its configuration and where to find the binary.

nginx reads each request whole before gunicorn sees it (``proxy_request_buffering``), with read
timeouts and size limits, and answers what it refuses itself as problem+json, like the app. The
limits sit below gunicorn's own (request line 4,094 bytes, header fields 8,190 bytes), so gunicorn's
HTML error pages are never reached. It keeps the computed results it passes on (a route, a stored
result or file, a circuit) and answers the same request again itself (``CACHED``).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from routing.io import atomic_write

from .errors import PROBLEM_TYPE

#: A client must send its headers, and each piece of its body, within this many seconds.
CLIENT_TIMEOUT_S = 10
#: The largest body nginx accepts (the GPX upload limit plus its multipart envelope); the app caps each endpoint.
CLIENT_MAX_BODY_MIB = 11
#: Request line and each header line at most this long (gunicorn: 4,094 and 8,190 bytes).
HEADER_BUFFER_KIB = 4
#: Connections nginx holds at once; a slow client costs one, a few KiB of memory.
WORKER_CONNECTIONS = 4096
#: How long gunicorn may take to answer (its worker timeout is 120 s).
UPSTREAM_TIMEOUT_S = 130
#: nginx's cache of computed results on disk (under the run directory, emptied at every start).
CACHE_MAX_MIB = 512
#: JSON bodies are at most 256 KiB (``api.common``): held whole in memory, so a route's cache key holds its body.
JSON_BODY_KIB = 256

#: Where nginx's own error answers live (internal locations, unreachable from outside).
ERROR_PATH = "/_galibot/errors/"
#: The errors nginx answers itself: status, title, detail.
OWN_ERRORS = (
    (400, "Bad Request", "the request could not be read as HTTP, or a header line is too long"),
    (405, "Method Not Allowed", "this method is not served here (nginx refuses TRACE itself); see Allow"),
    (408, "Request Timeout", f"the client sent nothing for {CLIENT_TIMEOUT_S} s"),
    (413, "Content Too Large", f"the body is over {CLIENT_MAX_BODY_MIB} MiB; each endpoint documents its own limit"),
    (414, "URI Too Long", f"the request line is over {HEADER_BUFFER_KIB} KiB"),
    (431, "Request Header Fields Too Large", f"a header line is over {HEADER_BUFFER_KIB} KiB"),
    (502, "Bad Gateway", "the API is restarting; retry in a few seconds"),
    (504, "Gateway Timeout", f"the API did not answer within {UPSTREAM_TIMEOUT_S} s"),
)


def find_nginx() -> str | None:
    """The nginx binary on PATH or in /usr/sbin (where Debian installs it), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def allow_map(methods_by_path: dict[str, set[str]]) -> str:
    """An nginx ``map`` from the request URI to its ``Allow`` header, for the 405 nginx answers itself (TRACE).

    ``methods_by_path`` holds OpenAPI path templates (``/v1/trips/{trip_id}``) and their methods; each
    answers what Flask's own 405 would (HEAD with GET, and OPTIONS). Paths with fewer parameters are matched
    first, so ``/v1/trips/changes`` is not taken for a trip id.
    """
    def allow(methods: set[str]) -> str:
        names = {m.upper() for m in methods} | {"OPTIONS"} | ({"HEAD"} if "get" in methods else set())
        return ", ".join(sorted(names))

    def regex(template: str) -> str:
        parts = re.split(r"\{[^}]+\}", template)
        return "^" + "[^/?]+".join(re.escape(part) for part in parts) + r"(\?|$)"

    order = sorted(methods_by_path, key=lambda t: (t.count("{"), -len(t)))
    rows = "\n".join(f'        "~{regex(t)}" "{allow(methods_by_path[t])}";' for t in order)
    return f"""    map $request_uri $galibot_allow {{
        default "GET, HEAD, OPTIONS";
{rows}
    }}"""


def _problem(status: int, title: str, detail: str) -> str:
    body = {"type": PROBLEM_TYPE + title.lower().replace(" ", "-"), "title": title, "status": status,
            "detail": detail}
    return json.dumps(body).replace("'", "\\'")


#: How every location passes a request to gunicorn.
PROXY = f"""            proxy_pass http://galibot;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error non_idempotent;
            proxy_next_upstream_tries 2;
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_read_timeout {UPSTREAM_TIMEOUT_S}s;
            proxy_send_timeout {UPSTREAM_TIMEOUT_S}s;"""
#: How a location of computed results is cached: only a 200 (never a problem, a 202 job or a 304), keyed on what the
#: answer depends on (the wording follows Accept-Language, the format Accept); ``X-Proxy-Cache`` says HIT or MISS.
#: The headers that describe one client's request (its rate-limit counters, the app's own cache) are not passed on:
#: a kept answer would repeat them to every client. A 429 keeps its Retry-After.
CACHED = """            proxy_cache galibot;
            proxy_cache_key "$request_method|$request_uri|$http_accept|$http_accept_language|$request_body";
            proxy_cache_valid 200 1h;
            proxy_cache_lock on;
            proxy_hide_header X-RateLimit-Limit;
            proxy_hide_header X-RateLimit-Remaining;
            proxy_hide_header X-RateLimit-Reset;
            proxy_hide_header X-Cache;
            add_header X-Proxy-Cache $upstream_cache_status always;"""


@dataclass(frozen=True)
class NginxConfig:
    """One nginx in front of one gunicorn socket; everything it writes stays in ``run_dir``."""

    listen: str
    upstream: Path
    run_dir: Path
    #: The API's paths (OpenAPI templates) and their methods, for the Allow header of nginx's own 405.
    methods_by_path: dict[str, set[str]] = field(default_factory=dict)

    def text(self) -> str:
        """The configuration file's text."""
        temp = {name: self.run_dir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        # URI locations, not named ones: a request line nginx could not parse has no URI to redirect from
        # nginx calls a header line too long 494 and answers 400; the answer here is 431 (RFC 6585)
        pages = "\n".join(f"        error_page {'494 =431' if status == 431 else status} {ERROR_PATH}{status};"
                          for status, _, _ in OWN_ERRORS)
        extra = {405: "add_header Allow $galibot_allow always; ", 502: "add_header Retry-After 5 always; ",
                 504: "add_header Retry-After 5 always; "}
        locations = "\n".join(
            f"        location = {ERROR_PATH}{status} {{ internal; default_type application/problem+json; "
            f"{extra.get(status, '')}return {status} '{_problem(status, title, detail)}'; }}"
            for status, title, detail in OWN_ERRORS)
        text = f"""# Written by api/nginx.py for `make run`; rewritten on every start.
daemon off;
worker_processes 1;
pid {self.run_dir / 'nginx.pid'};
error_log stderr warn;
events {{ worker_connections {WORKER_CONNECTIONS}; }}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    proxy_cache_path {self.run_dir / 'cache'} levels=1:2 keys_zone=galibot:16m max_size={CACHE_MAX_MIB}m inactive=1h
                     use_temp_path=off;
    client_header_timeout {CLIENT_TIMEOUT_S}s;
    client_body_timeout {CLIENT_TIMEOUT_S}s;
    send_timeout {UPSTREAM_TIMEOUT_S}s;
    keepalive_timeout 15s;
    client_max_body_size {CLIENT_MAX_BODY_MIB}m;
    client_header_buffer_size 1k;
    client_body_buffer_size 128k;
    large_client_header_buffers 8 {HEADER_BUFFER_KIB}k;
    # the planner page's scripts and style leave compressed (MapLibre: 1.7 MB, 0.45 MB gzipped); JSON is not
    # compressed here, since gzip would weaken the ETags the API's 304s compare strongly
    gzip on;
    gzip_types text/javascript text/css;
    gzip_min_length 1024;
    gzip_proxied any;
{allow_map(self.methods_by_path)}
    # the same socket twice, so nginx may retry once: a request whose worker was killed before it answered goes to
    # another worker (gunicorn forks the replacement ready, from the preloaded master)
    upstream galibot {{
        server unix:{self.upstream} max_fails=0;
        server unix:{self.upstream} max_fails=0;
        keepalive 16;
    }}
    server {{
        listen {self.listen};
{pages}
        location / {{
{PROXY}
        }}
        # a computed result is the same for the same request until the data changes (the server restarts, and this
        # cache with it): nginx answers one asked again itself, before Flask, the rate limits and Redis
        location = /v1/routes {{
{PROXY}
{CACHED}
            proxy_cache_methods POST;
            client_body_buffer_size {JSON_BODY_KIB}k;
            proxy_cache_bypass $request_body_file;  # a body nginx kept on disk is not in the key: never cached
            proxy_no_cache $request_body_file;
        }}
        location ~ ^/v1/(results|circuits)(/|$) {{
{PROXY}
{CACHED}
        }}
{locations}
    }}
}}
"""
        return text.replace("{PROXY}", PROXY).replace("{CACHED}", CACHED)

    def write(self) -> Path:
        """Write the configuration into ``run_dir`` (atomically) and return its path."""
        path = self.run_dir / "nginx.conf"
        with atomic_write(path) as fh:
            fh.write(self.text().encode())
        return path
