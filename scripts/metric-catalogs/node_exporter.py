#!/usr/bin/env python3
"""Moves the shared node-exporter catalog to a new node_exporter tag, after checking the tags differ only
where this script says (see contracts/metrics/SOURCES.md for the checks run):

- the catalogued collectors' descriptors (every BuildFQName(namespace, subsystem, name) + help + label list
  in the source files of the shared catalog's `source.paths`) are compared at both tags: any difference
  stops the script;
- collector/fixtures/e2e-output.txt families the catalog takes from the fixture: a family gone or with
  other label names at the new tag stops the script;
- meminfo_linux.go field keys new at the new tag become node_memory_<key> gauges.
Each metric's source_path line is re-resolved at the new tag (the line naming it).

usage: node_exporter.py <git-dir> <old-tag> <new-tag> <old-catalog.json> <out.json> <deployed_as-json> <helm-charts git-dir> <chart tag> <kps tag>
"""
import json, re, subprocess, sys
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import fixture

def git(gd, *a):
    r = subprocess.run(["git", f"--git-dir={gd}", *a], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None

def descriptors(gd, tag, paths):
    src = "".join(git(gd, "show", f"{tag}:{p}") or "" for p in paths if p.endswith(".go"))
    flat = re.sub(r"[\n\t]", "", src)
    return sorted(re.findall(r'BuildFQName\(([^)]*)\),\s*"((?:[^"\\]|\\.)*)",\s*([^,]*),', flat))

def resolve_line(text, path, name):
    """file:line of the metric's prometheus.NewDesc( call at a tag (the convention of the shared catalog):
    the line quoting the longest suffix of the name, walked back to the NewDesc( line just above it."""
    lines = text.splitlines()
    parts = name.split("_")
    for k in range(len(parts)):
        suffix = "_".join(parts[k:])
        for i, l in enumerate(lines):
            if f'"{suffix}"' in l or (k > 0 and f'_{suffix}"' in l):
                for j in range(i, max(i - 3, -1), -1):
                    if "NewDesc(" in lines[j]:
                        return f"{path}:{j + 1}"
                if k == 0 or "BuildFQName" in l:
                    return f"{path}:{i + 1}"
    return path

def main():
    gd, old_tag, new_tag, old_cat, out, deployed, hd, chart_tag, kps_tag = sys.argv[1:10]
    cat = json.load(open(old_cat))
    paths = [p for p in cat["source"]["paths"] if p.endswith(".go")]
    a, b = descriptors(gd, old_tag, paths), descriptors(gd, new_tag, paths)
    if a != b: sys.exit(f"descriptors differ between {old_tag} and {new_tag}: {sorted(set(a) ^ set(b))}")
    fo, fn = fixture.parse(gd, old_tag), fixture.parse(gd, new_tag)
    for m in cat["metrics"]:
        if m["name"] in fo:
            if m["name"] not in fn or fo[m["name"]]["labels"] != fn[m["name"]]["labels"]:
                sys.exit(f"{m['name']}: fixture family changed between {old_tag} and {new_tag}")
    keys = lambda t: set(re.findall(r'metrics\["(\w+)"\]', git(gd, "show", f"{t}:collector/meminfo_linux.go")))
    new_keys = sorted(keys(new_tag) - keys(old_tag))
    gone_keys = sorted(keys(old_tag) - keys(new_tag))
    if gone_keys: sys.exit(f"meminfo fields gone at {new_tag}: {gone_keys}")
    metrics = []
    for m in cat["metrics"]:
        e = dict(m)
        f = e.get("source_path", "")
        mm = re.match(r"([\w/.-]+\.(?:go|txt)):(\d+)$", f)
        if mm:
            text = git(gd, "show", f"{new_tag}:{mm.group(1)}") or ""
            short = e["name"].removeprefix("node_")
            e["source_path"] = resolve_line(text, mm.group(1), e["name"])
        metrics.append(e)
    text = git(gd, "show", f"{new_tag}:collector/meminfo_linux.go").splitlines()
    for k in new_keys:
        line = next(i + 1 for i, l in enumerate(text) if f'metrics["{k}"]' in l)
        field = k.removesuffix("_bytes")
        metrics.append({"name": f"node_memory_{k}", "type": "gauge", "labels": [], "help": f"Memory information field {k}.",
                        "collector": "meminfo", "source_path": f"collector/meminfo_linux.go:{line}",
                        "notes": f"New in {new_tag}. Only fields present in the node's /proc/meminfo are exported ({field})."})
    metrics.sort(key=lambda m: m["name"])
    doc = dict(cat)
    doc["version"] = new_tag.lstrip("v")
    doc["deployed_as"] = json.loads(deployed)
    rev = lambda g, t: git(g, "rev-list", "-n1", t).strip()
    doc["source"] = dict(cat["source"], tag=new_tag, commit=rev(gd, new_tag), date=git(gd, "log", "-1", "--format=%cs", new_tag).strip(),
                         also=[{"repo": "prometheus-community/helm-charts", "tag": chart_tag, "commit": rev(hd, chart_tag), "paths": [f"charts/prometheus-node-exporter/Chart.yaml (appVersion {new_tag.lstrip('v')})"]},
                               {"repo": "prometheus-community/helm-charts", "tag": kps_tag, "commit": rev(hd, kps_tag), "paths": ["charts/kube-prometheus-stack/Chart.yaml (dependency prometheus-node-exporter)"]}],
                         derived_from={"catalog": "../shared/contracts/metrics/" + old_cat.split("/")[-1], "old_tag": old_tag, "added": [f"node_memory_{k}" for k in new_keys],
                                       "method": "scripts/metric-catalogs/node_exporter.py: descriptors and fixture families compared at both tags (identical), new meminfo fields added"})
    doc["metrics"] = metrics
    if "target_labels_note" in doc:
        doc["target_labels_note"] = re.sub(r"\(prometheus-operator v[\d.]+ pkg/prometheus/promcfg.go; kube-prometheus-stack [\d.]+ ships operator v[\d.]+\)",
            "(prometheus-operator pkg/prometheus/promcfg.go, read at v0.86.0 for the shared catalog; the same target_label assignments at v0.93.0, the newest tag readable here; kube-prometheus-stack 88.5.3 ships v0.93.1)", doc["target_labels_note"])
    json.dump(doc, open(out, "w"), indent=2); open(out, "a").write("\n")
    print(f"{len(metrics)} metrics; added {new_keys}", file=sys.stderr)

if __name__ == "__main__":
    main()
