#!/usr/bin/env python3
"""openapi_check.py - httpd/openapi.yaml against the code it documents.

Checks, one TAP line each ("ok N - ..." / "not ok N - ..."):
  * the document parses (PyYAML) and is OpenAPI 3.0.3 with info and paths;
  * every $ref resolves, every path has operations, every operation has
    responses (each with a description) and a unique operationId, and every
    {param} of a path template is declared as a required path parameter
    (and nothing else is);
  * the routes are exactly SPEC 2's, admin routes (and only they) carry
    "x-admin: true" and say --admin-api in their description;
  * JSON is application/json (SPEC 10), never text/json;
  * the handler schemas (PacketsHandler, DnsHandler, DhcpHandler,
    PcapHandler) match the metric catalogue both ways: every METRIC line of
    aggregator/{net,dns,dhcp,pcap}.def is a property at its JSON path, of
    the right kind (COUNTER/CARD integer, TOPN/PORTS TopN, QUANTILE Quantiles,
    RATE Rate), required unless it may be omitted (QUANTILE, RATE), with
    the help text as description and the derived Prometheus name in
    x-prometheus; no property is there that the catalogue lacks; "period"
    and "agent" (BUCKET_HEALTH of src/metric.h, as AgentHealth) too;
  * every error text of httpd/httpd_api.c (its ERR_* defines and the
    period errors) appears in the document.

Exit 0 when all pass, 1 otherwise, 77 (skip) without PyYAML.
Usage: openapi_check.py              run the checks
       openapi_check.py --emit-schemas
                                     print the generated schema block (the
                                     text between the "BEGIN generated" and
                                     "END generated" markers of openapi.yaml)
The source tree is $top_srcdir, else two folders above this script.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))

# .def file -> (schema key, schema name in components.schemas)
HANDLERS = [
    ("net.def", "packets", "PacketsHandler"),
    ("dns.def", "dns", "DnsHandler"),
    ("dhcp.def", "dhcp", "DhcpHandler"),
    ("pcap.def", "pcap", "PcapHandler"),
]
KIND_REF = {
    "TOPN": "#/components/schemas/TopN",
    "PORTS": "#/components/schemas/TopN",
    "QUANTILE": "#/components/schemas/Quantiles",
    "RATE": "#/components/schemas/Rate",
}
# Absent from the JSON while empty (metric.c): never "required".
OPTIONAL_KINDS = ("QUANTILE", "RATE")

# SPEC 2's routes and ours (/api/v1/openapi.yaml): (method, path, admin).
ROUTES = [
    ("get", "/api/v1/openapi.yaml", False),
    ("get", "/api/v1/metrics/app", False),
    ("get", "/api/v1/metrics/rates", False),
    ("get", "/api/v1/metrics/bucket/{period}", False),
    ("get", "/api/v1/metrics/window/{periodCount}", False),
    ("get", "/metrics", False),
    ("get", "/api/v1/taps", False),
    ("get", "/api/v1/policies", False),
    ("post", "/api/v1/policies", True),
    ("get", "/api/v1/policies/{name}", False),
    ("delete", "/api/v1/policies/{name}", True),
    ("get", "/api/v1/policies/{name}/metrics/bucket/{period}", False),
    ("get", "/api/v1/policies/{name}/metrics/window/{periodCount}", False),
    ("get", "/api/v1/policies/{name}/metrics/prometheus", False),
    ("get", "/api/v1/policies/__all/metrics/bucket/{period}", False),
    ("get", "/api/v1/policies/__all/metrics/window/{periodCount}", False),
    ("delete", "/api/v1/server", True),
]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# --- the metric catalogue ---------------------------------------------------

_C_STRING = r'"((?:[^"\\]|\\.)*)"'


def _c_unescape(s):
    return re.sub(r"\\(.)", r"\1", s)


def parse_def(path):
    """[(kind, field, json_path, help)] of a .def file, in line order."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    pat = re.compile(r"METRIC\(\s*(\w+)\s*,\s*(\w+)\s*,\s*" + _C_STRING + r"\s*,\s*"
                     + r'((?:"(?:[^"\\]|\\.)*"\s*)+)\)')
    out = []
    for m in pat.finditer(text):
        helptext = "".join(_c_unescape(s) for s in re.findall(_C_STRING, m.group(4)))
        out.append((m.group(1), m.group(2), _c_unescape(m.group(3)), helptext))
    return out


def parse_health(path):
    """[(field, json_path, help)] of BUCKET_HEALTH in src/metric.h."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"#define\s+BUCKET_HEALTH\(X\)((?:[^\n]*\\\n)*[^\n]*)", text)
    if m is None:
        return []
    body = m.group(1).replace("\\\n", " ")
    pat = re.compile(r"X\(\s*(\w+)\s*,\s*" + _C_STRING + r"\s*,\s*"
                     + r'((?:"(?:[^"\\]|\\.)*"\s*)+)\)')
    out = []
    for x in pat.finditer(body):
        helptext = "".join(_c_unescape(s) for s in re.findall(_C_STRING, x.group(3)))
        out.append((x.group(1), _c_unescape(x.group(2)), helptext))
    return out


def catalogue(top=TOP):
    """{schema key: [(kind, field, json_path, help)]} and the health list."""
    cat = {}
    for fname, key, _ in HANDLERS:
        cat[key] = parse_def(os.path.join(top, "aggregator", fname))
    return cat, parse_health(os.path.join(top, "src", "metric.h"))


def prom_name(key, json_path):
    """SPEC 3.2: <schema key>_<json path with '.' -> '_'>."""
    return key + "_" + json_path.replace(".", "_")


# --- emitting the generated block -----------------------------------------

def _q(s):
    return json.dumps(s, ensure_ascii=False)


def _tree(metrics):
    """Nested dict of json path segments -> leaf tuple."""
    root = {}
    for m in metrics:
        segs = m[2].split(".")
        node = root
        for s in segs[:-1]:
            node = node.setdefault(s, {})
        node[segs[-1]] = m
    return root


def _emit_object(lines, ind, node, key, extra_required=()):
    names = sorted(list(node) + list(extra_required))
    required = [n for n in names if n in extra_required or isinstance(node[n], dict)
                or node[n][0] not in OPTIONAL_KINDS]
    lines.append(ind + "type: object")
    lines.append(ind + "additionalProperties: false")
    if required:
        lines.append(ind + "required: [" + ", ".join(required) + "]")
    lines.append(ind + "properties:")
    for n in names:
        lines.append(ind + "  " + n + ":")
        sub = ind + "    "
        if n == "period" and n in extra_required:
            lines.append(sub + "$ref: '#/components/schemas/Period'")
            continue
        if n == "agent" and n in extra_required:
            lines.append(sub + "$ref: '#/components/schemas/AgentHealth'")
            continue
        v = node[n]
        if isinstance(v, dict):
            _emit_object(lines, sub, v, key)
            continue
        kind, _, path, helptext = v
        if kind in KIND_REF:
            lines.append(sub + "allOf:")
            lines.append(sub + "  - $ref: '" + KIND_REF[kind] + "'")
        else:
            lines.append(sub + "type: integer")
            lines.append(sub + "minimum: 0")
        lines.append(sub + "description: " + _q(helptext))
        lines.append(sub + "x-metric-kind: " + kind)
        lines.append(sub + "x-prometheus: " + prom_name(key, path))


def emit_schemas(top=TOP):
    cat, health = catalogue(top)
    lines = []
    ind = "    "
    lines.append(ind + "AgentHealth:")
    lines.append(ind + "  description: " + _q(
        "pktvisord's health counters of the handler instance (src/metric.h "
        "BUCKET_HEALTH), counted in the bucket like every other metric and "
        "summed by merges.  Always present in pktvisord's answers; "
        "pktvisor-pcap's output has no agent object."))
    _emit_object(lines, ind + "  ", {p.split(".", 1)[1]: ("COUNTER", f, p, h)
                                    for f, p, h in health}, "<key>")
    # The health counters' Prometheus names depend on the handler: drop them.
    lines = [l for l in lines if "x-prometheus: <key>_" not in l]
    for fname, key, schema in HANDLERS:
        lines.append(ind + schema + ":")
        lines.append(ind + "  description: " + _q(
            "The %s handler's object (schema key \"%s\"), generated from "
            "aggregator/%s.  Keys are sorted; quantile objects are absent "
            "while empty, rate objects while empty outside a live bucket."
            % (fname.split(".")[0], key, fname)))
        lines.append(ind + "  x-schema-key: " + key)
        _emit_object(lines, ind + "  ", _tree(cat[key]), key,
                     extra_required=("agent", "period"))
    return "\n".join(lines) + "\n"


# --- checks ----------------------------------------------------------------

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


def resolve(doc, ref):
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def walk_refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append(v)
            else:
                walk_refs(v, out)
    elif isinstance(node, list):
        for v in node:
            walk_refs(v, out)


def deref(doc, s):
    """Follow $ref and single-element allOf wrappers; (schema, ref or None)."""
    ref = None
    for _ in range(10):
        if not isinstance(s, dict):
            return s, ref
        if "$ref" in s:
            ref = s["$ref"]
            s = resolve(doc, ref)
        elif "allOf" in s and len(s["allOf"]) == 1:
            inner = s["allOf"][0]
            if isinstance(inner, dict) and "$ref" in inner:
                ref = inner["$ref"]
            s = resolve(doc, inner["$ref"]) if "$ref" in inner else inner
        else:
            return s, ref
    return s, ref


def check_handler(doc, key, schema_name, metrics, errs):
    root = (doc.get("components", {}).get("schemas", {}) or {}).get(schema_name)
    if not isinstance(root, dict):
        errs.append("components.schemas.%s missing" % schema_name)
        return
    if root.get("x-schema-key") != key:
        errs.append("%s: x-schema-key is %r, not %r" % (schema_name, root.get("x-schema-key"), key))
    seen = set()
    for kind, _, path, helptext in metrics:
        node = root
        where = schema_name
        segs = path.split(".")
        for i, seg in enumerate(segs):
            node, _ = deref(doc, node)
            props = node.get("properties", {}) if isinstance(node, dict) else {}
            if node.get("additionalProperties", True) is not False:
                errs.append("%s: object without additionalProperties: false" % where)
            req = node.get("required", []) or []
            if seg not in props:
                errs.append("%s: no property %s (metric %s)" % (where, seg, path))
                node = None
                break
            leaf = i == len(segs) - 1
            must = not leaf or kind not in OPTIONAL_KINDS
            if must and seg not in req:
                errs.append("%s: %s should be required" % (where, seg))
            if not must and seg in req:
                errs.append("%s: %s may be absent (%s), must not be required" % (where, seg, kind))
            seen.add(".".join(segs[:i + 1]))
            node = props[seg]
            where = where + "." + seg
        if node is None:
            continue
        if node.get("description") != helptext:
            errs.append("%s: description %r is not the help text %r"
                        % (where, node.get("description"), helptext))
        if node.get("x-prometheus") != prom_name(key, path):
            errs.append("%s: x-prometheus %r, expected %r"
                        % (where, node.get("x-prometheus"), prom_name(key, path)))
        if node.get("x-metric-kind") != kind:
            errs.append("%s: x-metric-kind %r, expected %r" % (where, node.get("x-metric-kind"), kind))
        target, ref = deref(doc, node)
        if kind in KIND_REF:
            if ref != KIND_REF[kind]:
                errs.append("%s: %s must refer to %s, not %s" % (where, kind, KIND_REF[kind], ref))
        elif not isinstance(target, dict) or target.get("type") != "integer":
            errs.append("%s: %s must be an integer" % (where, kind))
    # The other direction: nothing beyond the catalogue, period and agent.
    for extra in ("period", "agent"):
        props = root.get("properties", {})
        if extra not in props or extra not in (root.get("required") or []):
            errs.append("%s: required property %s missing" % (schema_name, extra))
    want = {"period": "#/components/schemas/Period", "agent": "#/components/schemas/AgentHealth"}
    for extra, ref in want.items():
        _, got = deref(doc, root.get("properties", {}).get(extra, {}))
        if got != ref:
            errs.append("%s.%s must refer to %s" % (schema_name, extra, ref))

    def walk(node, prefix):
        node, _ = deref(doc, node)
        for name, sub in (node.get("properties") or {}).items():
            p = prefix + name
            if prefix == "" and name in ("period", "agent"):
                continue
            if p not in seen:
                errs.append("%s: property %s is not in the catalogue" % (schema_name, p))
                continue
            s, ref = deref(doc, sub)
            if ref is None and isinstance(s, dict) and s.get("type") == "object":
                walk(s, p + ".")
    walk(root, "")


def check_health(doc, health, errs):
    s = (doc.get("components", {}).get("schemas", {}) or {}).get("AgentHealth")
    if not isinstance(s, dict):
        errs.append("components.schemas.AgentHealth missing")
        return
    props = s.get("properties", {}) or {}
    want = {p.split(".", 1)[1]: h for _, p, h in health}
    if set(props) != set(want):
        errs.append("AgentHealth properties %s, BUCKET_HEALTH has %s"
                    % (sorted(props), sorted(want)))
    if sorted(s.get("required") or []) != sorted(want):
        errs.append("AgentHealth: every counter must be required")
    if s.get("additionalProperties", True) is not False:
        errs.append("AgentHealth: additionalProperties must be false")
    for name, h in want.items():
        p = props.get(name) or {}
        if p.get("type") != "integer":
            errs.append("AgentHealth.%s must be an integer" % name)
        if p.get("description") != h:
            errs.append("AgentHealth.%s: description %r is not %r" % (name, p.get("description"), h))


def api_texts(top=TOP):
    """Error texts of httpd_api.c: the ERR_* defines and the period errors
    (their text up to the first conversion)."""
    with open(os.path.join(top, "httpd", "httpd_api.c"), encoding="utf-8") as f:
        src = f.read()
    texts = []
    for m in re.finditer(r'#define\s+ERR_\w+\s+((?:"(?:[^"\\]|\\.)*"\s*)+)', src):
        texts.append("".join(_c_unescape(s) for s in re.findall(_C_STRING, m.group(1))))
    for m in re.finditer(r'snprintf\(\s*err\s*,\s*HTTPD_ERR_MAX\s*,((?:\s*"(?:[^"\\]|\\.)*")+)', src):
        t = "".join(_c_unescape(s) for s in re.findall(_C_STRING, m.group(1)))
        if "period" in t:
            texts.append(t.split("%", 1)[0])
    return texts


def main(argv):
    if "--emit-schemas" in argv[1:]:
        sys.stdout.write(emit_schemas())
        return 0
    try:
        import yaml
    except ImportError:
        print("1..0 # SKIP PyYAML is not installed (apt-get install python3-yaml)")
        return 77

    tap = Tap()
    path = os.path.join(TOP, "httpd", "openapi.yaml")
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
        doc = yaml.safe_load(raw)
        parsed = isinstance(doc, dict)
        why = [] if parsed else ["top level is not a mapping"]
    except (OSError, yaml.YAMLError) as e:
        doc, raw, parsed, why = {}, "", False, [e]
    tap.check(parsed, "httpd/openapi.yaml parses", why)
    if not parsed:
        print("1..%d" % tap.n)
        return 1

    errs = []
    if doc.get("openapi") != "3.0.3":
        errs.append("openapi is %r, not 3.0.3" % doc.get("openapi"))
    info = doc.get("info") or {}
    for k in ("title", "version", "description"):
        if not info.get(k):
            errs.append("info.%s missing" % k)
    if not isinstance(doc.get("paths"), dict) or not doc["paths"]:
        errs.append("no paths")
    tap.check(not errs, "OpenAPI 3.0.3 with info and paths", errs)

    refs = []
    walk_refs(doc, refs)
    bad = sorted(set(r for r in refs if resolve(doc, r) is None))
    tap.check(not bad and refs, "every $ref resolves (%d refs)" % len(refs), bad)

    paths = doc.get("paths") or {}
    errs, opids = [], {}
    for p, item in paths.items():
        ops = {m: o for m, o in (item or {}).items() if m in METHODS}
        if not ops:
            errs.append("%s: no operation" % p)
        tmpl = set(re.findall(r"\{([^}]+)\}", p))
        for m, op in ops.items():
            where = "%s %s" % (m.upper(), p)
            resp = op.get("responses") or {}
            if not resp:
                errs.append("%s: no responses" % where)
            for code, r in resp.items():
                r, _ = deref(doc, r)
                if not isinstance(r, dict) or not r.get("description"):
                    errs.append("%s %s: response without description" % (where, code))
            oid = op.get("operationId")
            if not oid:
                errs.append("%s: no operationId" % where)
            elif oid in opids:
                errs.append("%s: operationId %s also on %s" % (where, oid, opids[oid]))
            else:
                opids[oid] = where
            declared = {}
            for prm in (item.get("parameters") or []) + (op.get("parameters") or []):
                prm, _ = deref(doc, prm)
                if isinstance(prm, dict) and prm.get("in") == "path":
                    declared[prm.get("name")] = prm
            if set(declared) != tmpl:
                errs.append("%s: path parameters %s, template has %s"
                            % (where, sorted(declared), sorted(tmpl)))
            for name, prm in declared.items():
                if prm.get("required") is not True:
                    errs.append("%s: path parameter %s not required" % (where, name))
                if not (prm.get("schema") or {}).get("pattern"):
                    errs.append("%s: path parameter %s has no pattern" % (where, name))
    tap.check(not errs, "every path has operations, responses, operationIds, parameters", errs)

    errs = []
    have = {(m, p) for p, item in paths.items() for m in (item or {}) if m in METHODS}
    want = {(m, p) for m, p, _ in ROUTES}
    for m, p in sorted(want - have):
        errs.append("missing: %s %s" % (m.upper(), p))
    for m, p in sorted(have - want):
        errs.append("not in SPEC 2: %s %s" % (m.upper(), p))
    tap.check(not errs, "the routes are exactly SPEC 2's and ours (%d)" % len(want), errs)

    errs = []
    for m, p, admin in ROUTES:
        op = (paths.get(p) or {}).get(m)
        if not isinstance(op, dict):
            continue
        if bool(op.get("x-admin")) != admin:
            errs.append("%s %s: x-admin should be %s" % (m.upper(), p, admin))
        if admin and "--admin-api" not in (op.get("description") or ""):
            errs.append("%s %s: description does not mention --admin-api" % (m.upper(), p))
    tap.check(not errs, "admin routes carry x-admin: true and say --admin-api", errs)

    errs = []
    for p, item in paths.items():
        for m, op in (item or {}).items():
            if m not in METHODS:
                continue
            for code, r in (op.get("responses") or {}).items():
                r, _ = deref(doc, r)
                for ct, media in ((r or {}).get("content") or {}).items():
                    if ct == "text/json":
                        errs.append("%s %s %s: text/json (SPEC 10: application/json)"
                                    % (m.upper(), p, code))
                    s, ref = deref(doc, (media or {}).get("schema") or {})
                    if ct.startswith("text/") and isinstance(s, dict) and s.get("type") == "object":
                        errs.append("%s %s %s: object schema under %s" % (m.upper(), p, code, ct))
    tap.check(not errs, "JSON is application/json, text is text/plain", errs)

    cat, health = catalogue()
    for fname, key, schema in HANDLERS:
        errs = []
        check_handler(doc, key, schema, cat[key], errs)
        tap.check(not errs and cat[key], "%s matches aggregator/%s (%d metrics)"
                  % (schema, fname, len(cat[key])), errs)
    errs = []
    check_health(doc, health, errs)
    tap.check(not errs and health, "AgentHealth matches BUCKET_HEALTH (%d counters)" % len(health), errs)

    texts = api_texts()
    missing = [t for t in texts if t not in raw]
    tap.check(not missing and texts, "error texts of httpd_api.c are documented (%d)" % len(texts),
              ["not found: %r" % t for t in missing])

    print("1..%d" % tap.n)
    print("# %d passed, %d failed" % (tap.n - tap.failed, tap.failed))
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
