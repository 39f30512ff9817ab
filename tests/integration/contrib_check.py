#!/usr/bin/env python3
"""contrib_check.py - the collection examples of contrib/ against the agent.

Checks, one TAP line each ("ok N - ..." / "not ok N - ..."):
  * contrib/grafana-dashboard.json is valid JSON, a dashboard with panels,
    unique panel ids, a datasource template variable used by every panel
    and query (no datasource uid baked in), and a PromQL expr on every
    query;
  * every metric name in those exprs (and in label_values() of the
    template variables) is one the agent exports: derived here from the
    metric catalogue (aggregator/{net,dns,dhcp,pcap}.def -> schema keys
    packets, dns, dhcp, pcap; "<key>_<json path with . -> _>"; summaries
    (QUANTILE, RATE) also _sum and _count) and BUCKET_HEALTH of
    src/metric.h ("<key>_agent_<name>" for every key);
  * every metrics_path of contrib/prometheus.yml (the commented variants
    too) and every URL of contrib/telegraf.conf is a path of
    httpd/openapi.yaml, on port 10853 of 127.0.0.1;
  * telegraf.conf is valid TOML (tomllib, Python 3.11+) polling every 60 s.

Python standard library only.  Exit 0 when all pass, 1 otherwise.
The source tree is $top_srcdir, else two folders above this script.
"""
import json
import os
import re
import sys
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))

HANDLERS = [("net.def", "packets"), ("dns.def", "dns"), ("dhcp.def", "dhcp"), ("pcap.def", "pcap")]
SUMMARY_KINDS = ("QUANTILE", "RATE")
PORT = "10853"
HOST = "127.0.0.1"

_C_STRING = r'"(?:[^"\\]|\\.)*"'


def parse_def(path):
    """[(kind, json_path)] of the METRIC lines of a .def file."""
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    pat = re.compile(r"METRIC\(\s*(\w+)\s*,\s*\w+\s*,\s*\"((?:[^\"\\]|\\.)*)\"\s*,\s*(?:"
                     + _C_STRING + r"\s*)+\)")
    return [(m.group(1), m.group(2)) for m in pat.finditer(text)]


def parse_health(path):
    """[json_path] of BUCKET_HEALTH in src/metric.h ("agent.restarts", ...)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"#define\s+BUCKET_HEALTH\(X\)((?:[^\n]*\\\n)*[^\n]*)", text)
    if m is None:
        return []
    body = m.group(1).replace("\\\n", " ")
    return re.findall(r"X\(\s*\w+\s*,\s*\"((?:[^\"\\]|\\.)*)\"", body)


def exported_names(top=TOP):
    names = set()
    health = parse_health(os.path.join(top, "src", "metric.h"))
    for fname, key in HANDLERS:
        for kind, path in parse_def(os.path.join(top, "aggregator", fname)):
            n = key + "_" + path.replace(".", "_")
            names.add(n)
            if kind in SUMMARY_KINDS:
                names.update((n + "_sum", n + "_count"))
        for path in health:
            names.add(key + "_" + path.replace(".", "_"))
    return names, health


# PromQL words that are not metric names.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "atan2", "start", "end"}


def promql_metrics(expr):
    """Metric names a PromQL expression selects (the bare identifiers that
    are not functions, keywords or label names)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    s = re.sub(r"\$\{[^}]*\}|\$\w+", " ", s)            # Grafana variables
    s = re.sub(r"\{[^}]*\}", " ", s)                     # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)                    # ranges, subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    out = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        tok = m.group(0)
        before = s[m.start() - 1] if m.start() > 0 else " "
        if before.isdigit() or before == ".":
            continue                                     # 1e3, 5m
        if s[m.end():].lstrip().startswith("("):
            continue                                     # function, aggregation
        if tok.lower() in KEYWORDS:
            continue
        out.append(tok)
    return out


def openapi_paths(top=TOP):
    """The path keys of httpd/openapi.yaml (lines "  /...:" under paths:)."""
    paths, inside = [], False
    with open(os.path.join(top, "httpd", "openapi.yaml"), encoding="utf-8") as f:
        for line in f:
            if re.match(r"^paths:\s*$", line):
                inside = True
                continue
            if inside and re.match(r"^\S", line):
                break
            m = re.match(r"^  (/\S*):\s*$", line) if inside else None
            if m:
                paths.append(m.group(1))
    return paths


# What each path parameter of openapi.yaml matches (its schema's pattern).
PARAM_RX = {"period": r"\d+", "periodCount": r"\d+", "name": r"[a-zA-Z_][a-zA-Z0-9_-]*"}


def path_documented(path, paths):
    for p in paths:
        rx = "".join(re.escape(part) if i % 2 == 0 else "(?:%s)" % PARAM_RX.get(part, "[^/]+")
                     for i, part in enumerate(re.split(r"\{([^}]+)\}", p)))
        if re.fullmatch(rx, path):
            return p
    return None


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, desc, detail=()):
        self.n += 1
        print(("ok %d - %s" if ok else "not ok %d - %s") % (self.n, desc))
        if not ok:
            self.failed += 1
            for d in list(detail)[:30]:
                print("#   " + str(d))
        return ok


def all_panels(dash):
    for p in dash.get("panels") or []:
        yield p
        for sub in p.get("panels") or []:                # collapsed rows
            yield sub


def main():
    tap = Tap()
    contrib = os.path.join(TOP, "contrib")

    # --- the dashboard -----------------------------------------------------
    try:
        with open(os.path.join(contrib, "grafana-dashboard.json"), encoding="utf-8") as f:
            dash = json.load(f)
        why = [] if isinstance(dash, dict) else ["not an object"]
    except (OSError, ValueError) as e:
        dash, why = {}, [e]
    tap.check(not why, "contrib/grafana-dashboard.json is valid JSON", why)

    errs = []
    panels = list(all_panels(dash))
    if not dash.get("title") or not isinstance(dash.get("schemaVersion"), int):
        errs.append("no title or schemaVersion")
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)) or None in ids:
        errs.append("panel ids missing or repeated: %s" % ids)
    variables = (dash.get("templating") or {}).get("list") or []
    dsvars = [v.get("name") for v in variables if v.get("type") == "datasource"
              and v.get("query") == "prometheus"]
    if not dsvars:
        errs.append("no Prometheus datasource template variable")
    dsrefs = {"${%s}" % n for n in dsvars} | {"$%s" % n for n in dsvars}
    exprs = []
    for p in panels:
        if p.get("type") == "row":
            continue
        where = "panel %r" % p.get("title")
        if not p.get("title") or not isinstance(p.get("gridPos"), dict):
            errs.append("%s: no title or gridPos" % where)
        targets = p.get("targets") or []
        if not targets:
            errs.append("%s: no query" % where)
        for ds in [p.get("datasource")] + [t.get("datasource") for t in targets]:
            uid = ds.get("uid") if isinstance(ds, dict) else ds
            if uid not in dsrefs:
                errs.append("%s: datasource %r is not the variable" % (where, ds))
        for t in targets:
            if not (t.get("expr") or "").strip():
                errs.append("%s: query %s without expr" % (where, t.get("refId")))
            else:
                exprs.append((where, t["expr"]))
    for v in variables:
        if v.get("type") != "query":
            continue
        ds = v.get("datasource")
        uid = ds.get("uid") if isinstance(ds, dict) else ds
        if uid not in dsrefs:
            errs.append("variable %s: datasource %r is not the variable" % (v.get("name"), ds))
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"^\s*label_values\(\s*(.+?)\s*,\s*\w+\s*\)\s*$", q or "")
        if m:
            exprs.append(("variable %s" % v.get("name"), m.group(1)))
        elif q and not re.match(r"^\s*label_values\(\s*\w+\s*\)\s*$", q):
            exprs.append(("variable %s" % v.get("name"), q))
    charts = [p for p in panels if p.get("type") != "row"]
    tap.check(not errs and charts, "the dashboard has %d panels, each querying the datasource variable"
              % len(charts), errs)

    names, health = exported_names()
    errs, used = [], set()
    for where, e in exprs:
        found = promql_metrics(e)
        if not found:
            errs.append("%s: no metric in %r" % (where, e))
        for n in found:
            used.add(n)
            if n not in names:
                errs.append("%s: %s is not exported by the agent (%r)" % (where, n, e))
    tap.check(not errs and names and health,
              "every metric of the dashboard's %d queries is exported (%d names used, %d exported)"
              % (len(exprs), len(used), len(names)), errs)

    # --- the collection configurations against the API ----------------------
    paths = openapi_paths()
    tap.check(len(paths) > 0, "httpd/openapi.yaml lists %d paths" % len(paths))

    errs, found = [], []
    try:
        with open(os.path.join(contrib, "prometheus.yml"), encoding="utf-8") as f:
            prom = f.read()
    except OSError as e:
        prom = ""
        errs.append(e)
    jobs = re.findall(r"^\s*#?\s*-\s*job_name:\s*(\S+)", prom, flags=re.M)
    for m in re.finditer(r"^\s*#?\s*metrics_path:\s*[\"']?([^\s\"'#]+)", prom, flags=re.M):
        found.append(m.group(1))
        if not path_documented(m.group(1), paths):
            errs.append("metrics_path %s is not in openapi.yaml" % m.group(1))
    if len(found) != len(jobs) or not jobs:
        errs.append("%d jobs but %d metrics_path" % (len(jobs), len(found)))
    targets = re.findall(r"targets:\s*\[([^\]]*)\]", prom)
    for t in targets:
        for addr in re.findall(r"[\"']([^\"']+)[\"']", t):
            if addr != "%s:%s" % (HOST, PORT):
                errs.append("target %s is not %s:%s" % (addr, HOST, PORT))
    if not targets:
        errs.append("no targets")
    if not re.search(r"^\s*scrape_configs:", prom, flags=re.M):
        errs.append("no scrape_configs")
    if not re.search(r"^\s*#\s*scheme:\s*https\s*$", prom, flags=re.M) or "tls_config" not in prom:
        errs.append("no (commented) TLS variant")
    tap.check(not errs, "contrib/prometheus.yml scrapes documented paths (%s)" % ", ".join(found), errs)

    errs, urls = [], []
    tpath = os.path.join(contrib, "telegraf.conf")
    try:
        with open(tpath, encoding="utf-8") as f:
            tele = f.read()
    except OSError as e:
        tele = ""
        errs.append(e)
    try:
        import tomllib
    except ImportError:
        tomllib = None
    if tomllib is not None and tele:
        try:
            conf = tomllib.loads(tele)
            inputs = (conf.get("inputs") or {}).get("http") or []
            if not inputs:
                errs.append("no [[inputs.http]]")
            for inp in inputs:
                if inp.get("interval") != "60s":
                    errs.append("interval %r, not 60s" % inp.get("interval"))
                if inp.get("data_format") not in ("json", "json_v2"):
                    errs.append("data_format %r" % inp.get("data_format"))
                if inp.get("data_format") == "json" and inp.get("json_query") != "1m":
                    errs.append("json_query %r, not 1m" % inp.get("json_query"))
        except tomllib.TOMLDecodeError as e:
            errs.append("not TOML: %s" % e)
    for m in re.finditer(r"^\s*#?\s*urls\s*=\s*\[([^\]]*)\]", tele, flags=re.M):
        urls.extend(re.findall(r"\"([^\"]+)\"", m.group(1)))
    if not urls:
        errs.append("no urls")
    for u in urls:
        parts = urlsplit(u)
        if parts.hostname != HOST or str(parts.port) != PORT:
            errs.append("%s is not on %s:%s" % (u, HOST, PORT))
        if not path_documented(parts.path, paths):
            errs.append("%s: path %s is not in openapi.yaml" % (u, parts.path))
    tap.check(not errs, "contrib/telegraf.conf polls documented paths every 60 s (%d urls)"
              % len(urls), errs)

    print("1..%d" % tap.n)
    print("# %d passed, %d failed" % (tap.n - tap.failed, tap.failed))
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
