#!/usr/bin/env python3
"""Builds contracts/metrics/kube-state-metrics-<new>.json from kubernetes/kube-state-metrics at a tag.

Method (the one ../shared/contracts/metrics/SOURCES.md describes for 2.17.0): families from every
NewFamilyGeneratorWithStability / NewOptInFamilyGenerator call in internal/store/*.go (name, help, type,
stability, opt-in), label keys = the wrap*Func default labels of the file + every literal
`[]string{...}` label key list in the family's body + the labels documented for it in
docs/metrics/**/*-metrics.md. The same extraction runs at the old tag; a family whose extraction did
not change keeps the shared catalog's entry (its notes, label_values, ...), changed or new ones take
the new extraction, families gone at the new tag go to `removed`.

usage: ksm.py <git-dir> <old-tag> <new-tag> <old-catalog.json> <out.json> <deployed_as-json>
"""
import json, re, subprocess, sys

def git(gd, *a):
    return subprocess.run(["git", f"--git-dir={gd}", *a], check=True, capture_output=True, text=True).stdout

def extract(gd, tag):
    files = [f for f in git(gd, "ls-tree", "-r", "--name-only", tag, "internal/store").split() if f.endswith(".go") and not f.endswith("_test.go")]
    fams = {}
    for f in files:
        src = git(gd, "show", f"{tag}:{f}")
        consts = dict(re.findall(r'^\s*(\w+)\s*=\s*"([^"]*)"', src, re.M))
        defaults = []
        m = re.search(r'\w+DefaultLabels\s*=\s*\[\]string\{([^}]*)\}', src)
        if m: defaults = re.findall(r'"([^"]+)"', m.group(1))
        calls = list(re.finditer(r'NewFamilyGeneratorWithStability\(|NewOptInFamilyGenerator\(', src))
        for i, c in enumerate(calls):
            body = src[c.end(): calls[i + 1].start() if i + 1 < len(calls) else len(src)]
            # the body ends at the next top-level func
            body = re.split(r'\n}\n', body, maxsplit=1)[0] if '\nfunc ' in body else body
            args = re.match(r'\s*((?:"[^"]*"|\w+))\s*,\s*\n?\s*((?:"(?:[^"\\]|\\.)*"(?:\s*\+\s*"(?:[^"\\]|\\.)*")*|\w+))\s*,\s*metric\.(\w+)\s*,\s*(?:basemetrics\.(\w+)\s*,)?', body, re.S)
            if not args: continue
            name = args.group(1)
            name = name.strip('"') if name.startswith('"') else consts.get(name, name)
            help_ = args.group(2)
            help_ = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', help_)) if help_.startswith('"') else consts.get(help_, help_)
            keys = set()
            for lk in re.findall(r'LabelKeys:\s*\[\]string\{([^}]*)\}', body):
                keys.update(re.findall(r'"([^"]+)"', lk))
            line = src[: c.start()].count("\n") + 1
            fams[name] = {"name": name, "help": help_, "type": args.group(3).lower(), "stability": args.group(4) or "",
                          "opt_in": c.group(0).startswith("NewOptIn"), "code_labels": sorted(set(defaults) | keys),
                          "source_path": f"{f}:{line}"}
    docs = [f for f in git(gd, "ls-tree", "-r", "--name-only", tag, "docs/metrics").split() if f.endswith("-metrics.md")]
    for f in docs:
        for row in git(gd, "show", f"{tag}:{f}").splitlines():
            cells = [x.strip() for x in row.split("|")]
            if len(cells) < 6 or not re.fullmatch(r'kube_\w+', cells[1]): continue
            name = cells[1]
            labels = {l for l in re.findall(r"`(\w+)`\s*=", row) if l == l.lower()}
            if name in fams: fams[name]["doc_labels"] = sorted(labels)
    for v in fams.values():
        v["labels"] = sorted(set(v["code_labels"]) | set(v.get("doc_labels", [])))
    return fams

def main():
    gd, old_tag, new_tag, old_cat, out, deployed = sys.argv[1:7]
    old, new = extract(gd, old_tag), extract(gd, new_tag)
    cat = json.load(open(old_cat))
    shared = {m["name"]: m for m in cat["metrics"]}
    commit = git(gd, "rev-list", "-n1", new_tag).strip()
    date = git(gd, "log", "-1", "--format=%cs", new_tag).strip()
    metrics, changed, added, removed = [], [], [], []
    for name, n in sorted(new.items()):
        o = old.get(name)
        if name in shared and o and (o["labels"], o["type"], o["opt_in"]) == (n["labels"], n["type"], n["opt_in"]):
            e = dict(shared[name]); e["source_path"] = n["source_path"]
            if n["help"] and not n["help"].startswith(("desc", "metric")): e["help"] = n["help"]
            if n["stability"]: e["stability"] = n["stability"]
            metrics.append(e); continue
        if name in shared and o:
            e = dict(shared[name])
            e["labels"] = sorted((set(e["labels"]) | (set(n["labels"]) - set(o["labels"]))) - (set(o["labels"]) - set(n["labels"])))
            e["type"] = n["type"] if n["type"] != o["type"] else e["type"]
            e["enabled_by_default"] = not n["opt_in"]
            e["source_path"] = n["source_path"]; e["help"] = n["help"] or e.get("help", "")
            e["notes"] = ((e.get("notes") + " ") if e.get("notes") else "") + f"Changed between {old_tag} and {new_tag} (labels {sorted(o['labels'])} -> {sorted(n['labels'])})."
            changed.append(name); metrics.append(e); continue
        stem = n["source_path"].split("/")[-1].split(".go")[0]
        resource = stem[:-1] + "ies" if stem.endswith("y") else stem + ("es" if stem.endswith("s") else "s")
        e = {"name": name, "type": n["type"], "labels": n["labels"], "help": n["help"], "stability": n["stability"] or "ALPHA",
             "enabled_by_default": not n["opt_in"], "resource": resource, "source_path": n["source_path"],
             "notes": f"New in {new_tag} (not in {old_tag})." if name not in old else f"Not in the {old_tag} catalog."}
        if n["opt_in"]: e["opt_in"] = True
        if "annotation" in name or name.endswith("_labels"):
            e["label_pattern"] = "annotation_*" if name.endswith("_annotations") else "label_*"
        added.append(name); metrics.append(e)
    for name in sorted(set(shared) - set(new)):
        if name in old:  # extracted at the old tag, gone at the new one
            removed.append({"name": name, "removed_in": new_tag, "notes": f"family not generated by internal/store at {new_tag}"})
        else:  # not a core family (e.g. documented only): keep as the shared catalog has it
            metrics.append(shared[name])
    metrics.sort(key=lambda m: m["name"])
    doc = dict(cat)
    doc["version"] = new_tag.lstrip("v")
    doc["deployed_as"] = json.loads(deployed)
    doc["source"] = dict(cat["source"], tag=new_tag, commit=commit, date=date,
                         derived_from={"catalog": "../shared/contracts/metrics/" + old_cat.split("/")[-1], "old_tag": old_tag,
                                       "changed": changed, "added": added})
    doc["removed"] = list(cat.get("removed", [])) + removed
    doc["metrics"] = metrics
    if len(sys.argv) > 8:  # <helm-charts git-dir> <kube-state-metrics chart tag>: the chart's default collectors
        hd, chart_tag = sys.argv[7:9]
        vals = git(hd, "show", f"{chart_tag}:charts/kube-state-metrics/values.yaml")
        block = vals.split("\ncollectors:\n", 1)[1]
        cols = []
        for line in block.splitlines():
            if not line.startswith(("  ", "-")): break
            m = re.match(r'\s*-\s*(\w+)\s*$', line)
            if m: cols.append(m.group(1))
        rules = json.loads(json.dumps(cat.get("rules", {})))
        old_cols = rules["collectors"]["chart_default"]
        rules["collectors"]["chart_default"] = cols
        rules["collectors"]["chart_source"] = f"prometheus-community/helm-charts {chart_tag} charts/kube-state-metrics/values.yaml collectors"
        rules["collectors"]["rule"] = ("Families of a resource are emitted only when the resource is in --resources (chart value collectors). "
            f"Not in the chart default: {', '.join(sorted(set(old_cols) - set(cols)) or ['-'])} (dropped since the old chart); "
            f"added: {', '.join(sorted(set(cols) - set(old_cols)) or ['-'])}.")
        rules["verticalpodautoscaler"] = rules.get("verticalpodautoscaler", "").replace("In v2.17.0", f"In {new_tag}")
        doc["rules"] = rules
        rev = lambda t: git(hd, "rev-list", "-n1", t).strip()
        also = [{"repo": "prometheus-community/helm-charts", "tag": chart_tag, "commit": rev(chart_tag),
                 "paths": ["charts/kube-state-metrics/values.yaml (collectors)", f"charts/kube-state-metrics/Chart.yaml (appVersion {new_tag.lstrip('v')})"]}]
        if len(sys.argv) > 9:  # <kube-prometheus-stack tag>
            also.append({"repo": "prometheus-community/helm-charts", "tag": sys.argv[9], "commit": rev(sys.argv[9]),
                         "paths": [f"charts/kube-prometheus-stack/Chart.yaml (dependency kube-state-metrics {chart_tag.rsplit('-', 1)[1]})"]})
        doc["source"]["also"] = also
    doc["source"]["paths"] = list(doc["source"]["paths"]) + ["scripts/metric-catalogs/ksm.py (this project: the extraction, run at both tags)"]
    if "target_labels_note" in doc:
        doc["target_labels_note"] = re.sub(r"\(prometheus-operator v[\d.]+ pkg/prometheus/promcfg.go; kube-prometheus-stack [\d.]+ ships operator v[\d.]+\)",
            "(prometheus-operator pkg/prometheus/promcfg.go, read at v0.86.0 for the shared catalog; the same target_label assignments at v0.93.0, the newest tag readable here; kube-prometheus-stack 88.5.3 ships v0.93.1)", doc["target_labels_note"])
    json.dump(doc, open(out, "w"), indent=2); open(out, "a").write("\n")
    print(f"{len(metrics)} metrics; changed {len(changed)}: {changed}\nadded {len(added)}: {added}\nremoved {[r['name'] for r in removed]}", file=sys.stderr)

if __name__ == "__main__":
    main()
