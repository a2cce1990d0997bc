#!/usr/bin/env python3
"""Build-time extractor: botocore service models -> compact JSON embedded in C++.

Reads the AWS API models shipped by Debian's python3-botocore (the exact wire
contracts the AWS CLI / boto3 speak), keeps only what a server needs to route,
decode, validate and encode requests (types, members, required flags, list/map
element shapes, enums, min/max, patterns, error codes), drops all documentation,
merges the overlays in --overlays (operations newer than the packaged model),
and writes one C++ source that embeds each service's JSON as a string.

Run by CMake (src/api/CMakeLists.txt); the output lives in the build tree.
"""
import argparse
import gzip
import json
import os
import sys

# (name used by ServiceModel::byName, botocore directory, API version)
SERVICES = [
    ("ecs", "ecs", "2014-11-13"),
    ("ecr", "ecr", "2015-09-21"),
    ("logs", "logs", "2014-03-28"),
    ("ssm", "ssm", "2014-11-06"),
    ("application-autoscaling", "application-autoscaling", "2016-02-06"),
    ("events", "events", "2015-10-07"),
    ("elbv2", "elbv2", "2015-12-01"),
    ("cloudwatch", "cloudwatch", "2010-08-01"),
]

INSTALL_HINT = "install python3-botocore (scripts/install-deps.sh)"

METADATA_KEYS = ("protocol", "targetPrefix", "signingName", "apiVersion", "jsonVersion",
                 "serviceId", "endpointPrefix", "xmlNamespace", "serviceFullName")
SHAPE_SCALAR_KEYS = ("min", "max", "pattern", "enum", "exception", "fault", "sensitive",
                     "flattened", "timestampFormat", "locationName")
MEMBER_KEYS = ("locationName", "flattened", "idempotencyToken", "jsonvalue",
               "timestampFormat", "xmlNamespace")


def fail(message):
    print("gen_models.py: error: " + message, file=sys.stderr)
    sys.exit(1)


def botocore_data_dir(explicit):
    if explicit:
        return explicit
    try:
        import botocore  # noqa: F401  (Debian's, because CMake runs /usr/bin/python3)
    except ImportError:
        fail("python module 'botocore' not found; " + INSTALL_HINT)
    return os.path.join(os.path.dirname(botocore.__file__), "data")


def botocore_version():
    try:
        import botocore
        return botocore.__version__
    except ImportError:
        return "unknown"


def model_path(data_dir, directory, version):
    base = os.path.join(data_dir, directory, version, "service-2.json")
    for candidate in (base, base + ".gz"):
        if os.path.exists(candidate):
            return candidate
    fail("model %s/%s not found under %s; %s" % (directory, version, data_dir, INSTALL_HINT))


def load_json(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def compact_shape(shape):
    out = {"type": shape["type"]}
    for key in SHAPE_SCALAR_KEYS:
        if key in shape:
            out[key] = shape[key]
    if "error" in shape:
        err = shape["error"]
        out["error"] = {k: err[k] for k in ("code", "httpStatusCode", "senderFault") if k in err}
    if shape["type"] == "structure":
        required = set(shape.get("required", []))
        members = []
        # A list keeps the model's member order (a JSON object would be re-sorted by the
        # C++ parser); order matters for XML output and for the order errors are reported.
        for name, member in shape.get("members", {}).items():
            m = {"name": name, "shape": member["shape"]}
            if name in required:
                m["required"] = True
            for key in MEMBER_KEYS:
                if key in member:
                    m[key] = member[key]
            members.append(m)
        out["members"] = members
    elif shape["type"] == "list":
        out["member"] = shape["member"]["shape"]
        if "locationName" in shape["member"]:
            out["memberLocationName"] = shape["member"]["locationName"]
    elif shape["type"] == "map":
        out["key"] = shape["key"]["shape"]
        out["value"] = shape["value"]["shape"]
    return out


def compact_operation(op):
    out = {}
    if "input" in op:
        out["input"] = op["input"]["shape"]
    if "output" in op:
        out["output"] = op["output"]["shape"]
        if "resultWrapper" in op["output"]:
            out["resultWrapper"] = op["output"]["resultWrapper"]
    out["errors"] = [e["shape"] for e in op.get("errors", [])]
    return out


def merge_overlay(model, overlay):
    """Overlay entries replace whole operations/shapes of the same name."""
    for name, op in overlay.get("operations", {}).items():
        op = dict(op)
        op.setdefault("name", name)
        model["operations"][name] = op
    for name, shape in overlay.get("shapes", {}).items():
        model["shapes"][name] = shape


def check_references(name, model):
    shapes = model["shapes"]
    for op_name, op in model["operations"].items():
        for ref in [op.get("input", {}).get("shape"), op.get("output", {}).get("shape")] + \
                [e["shape"] for e in op.get("errors", [])]:
            if ref is not None and ref not in shapes:
                fail("%s: operation %s refers to unknown shape %s" % (name, op_name, ref))
    for shape_name, shape in shapes.items():
        refs = [m["shape"] for m in shape.get("members", {}).values()]
        for key in ("member", "key", "value"):
            if key in shape:
                refs.append(shape[key]["shape"])
        for ref in refs:
            if ref not in shapes:
                fail("%s: shape %s refers to unknown shape %s" % (name, shape_name, ref))


def build_service(name, directory, version, data_dir, overlay_dir):
    path = model_path(data_dir, directory, version)
    model = load_json(path)
    source_ops = len(model["operations"])
    overlay_ops = []
    overlay_path = os.path.join(overlay_dir, name + ".json") if overlay_dir else None
    if overlay_path and os.path.exists(overlay_path):
        overlay = load_json(overlay_path)
        overlay_ops = sorted(n for n in overlay.get("operations", {}) if n not in model["operations"])
        merge_overlay(model, overlay)
    check_references(name, model)
    meta = model["metadata"]
    metadata = {k: meta[k] for k in METADATA_KEYS if k in meta}
    metadata.setdefault("signingName", meta.get("endpointPrefix", name))
    return {
        "name": name,
        "metadata": metadata,
        "source": {
            "path": path,
            "botocoreVersion": botocore_version(),
            "operationCount": source_ops,
            "overlayOperations": overlay_ops,
        },
        "operations": {n: compact_operation(op) for n, op in sorted(model["operations"].items())},
        "shapes": {n: compact_shape(s) for n, s in sorted(model["shapes"].items())},
    }


def cxx_string_literal(text, chunk=8000):
    # Raw string chunks: avoids escaping and keeps each literal well under compiler limits.
    delim = "bjs"
    assert (")" + delim + '"') not in text
    parts = []
    for i in range(0, len(text), chunk):
        parts.append('R"%s(%s)%s"' % (delim, text[i:i + chunk], delim))
    return "\n".join(parts) if parts else '""'


def write_cc(out_path, services):
    lines = [
        "// Generated by src/api/model/gen_models.py from python3-botocore models. Do not edit.",
        '#include "api/model/embedded_models.h"',
        "",
        "namespace berth::api::model {",
        "namespace {",
    ]
    for i, svc in enumerate(services):
        text = json.dumps(svc, separators=(",", ":"), sort_keys=False)
        lines.append("constexpr char kModel%d[] =\n%s;" % (i, cxx_string_literal(text)))
    lines += ["}  // namespace", "", "const EmbeddedModel kEmbeddedModels[] = {"]
    for i, svc in enumerate(services):
        lines.append('    {"%s", std::string_view(kModel%d, sizeof(kModel%d) - 1)},' % (svc["name"], i, i))
    lines += [
        "};",
        "const std::size_t kEmbeddedModelCount = sizeof(kEmbeddedModels) / sizeof(kEmbeddedModels[0]);",
        "",
        "}  // namespace berth::api::model",
        "",
    ]
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp, out_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="generated C++ source to write")
    parser.add_argument("--overlays", help="directory of <service>.json overlays")
    parser.add_argument("--botocore-data", help="override botocore's data directory")
    parser.add_argument("--print-inputs", action="store_true",
                        help="print the model files read (for CMake dependencies) and exit")
    args = parser.parse_args()
    data_dir = botocore_data_dir(args.botocore_data)
    if args.print_inputs:
        print(";".join(model_path(data_dir, d, v) for _, d, v in SERVICES))
        return
    if not args.out:
        fail("--out is required")
    services = [build_service(n, d, v, data_dir, args.overlays) for n, d, v in SERVICES]
    write_cc(args.out, services)


if __name__ == "__main__":
    main()
