#!/usr/bin/env python3
"""Writes the key paths of a Helm chart's values.yaml (and its subcharts', under their names) at a tag as
contracts/charts/<chart>-<version>.values-keys.json, so tests can check every values key the program sets
exists in the chart version it deploys. Derived data only (paths and node kinds, no defaults, no code).

Kinds: "map" (a mapping with keys), "open" (an empty mapping or null: free-form, any key below is the
chart user's, e.g. nodeSelector, resources), "list", "scalar", and "template": a key the chart's templates
read (`.Values.a.b` in templates/**) that values.yaml only documents in a comment (e.g. priorityClassName).

usage: keys.py <out.json> <chart> <version> <spec>...   spec = <prefix>=<repo-name>@<git-dir>:<tag>:<path>
       (prefix "" for the parent chart, e.g. grafana=grafana-community/helm-charts@/dir:grafana-12.11.1:charts/grafana/values.yaml)
"""
import json, os, re, subprocess, sys
import yaml

INTERNAL_DEFAULTS = "_internal_defaults_do_not_set"
# Fields of core/v1 SecurityContext and PodSecurityContext: a mapping whose keys are all among them is
# a Kubernetes security context the templates pass whole (`toYaml`), so any of its fields is valid
# ("open"); the rendered pods (contracts/charts/rendered/) show which ones reach the containers.
SECURITY_CONTEXT_FIELDS = {"allowPrivilegeEscalation", "appArmorProfile", "capabilities", "privileged", "procMount",
    "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser", "seLinuxOptions", "seccompProfile", "windowsOptions",
    "fsGroup", "fsGroupChangePolicy", "supplementalGroups", "supplementalGroupsPolicy", "sysctls", "seLinuxChangePolicy"}

def walk(node, at, out):
    if isinstance(node, dict):
        if not node:
            out[at] = "open"
            return
        if at and set(node) <= SECURITY_CONTEXT_FIELDS:
            out[at] = "open"
            return
        # A ResourceRequirements (requests, limits, claims), passed whole like a security context.
        if at and set(node) <= {"requests", "limits", "claims"}:
            out[at] = "open"
            return
        # Keys like kubernetes.io/os: a label, annotation or node-selector map, free-form.
        if at and all("/" in str(k) for k in node):
            out[at] = "open"
            return
        if at: out[at] = "map"
        for k, v in node.items():
            walk(v, f"{at}.{k}" if at else str(k), out)
    elif node is None:
        out[at] = "open"
    elif isinstance(node, list):
        out[at] = "list"
    else:
        out[at] = "scalar"

def main():
    out_file, chart, version, *specs = sys.argv[1:]
    keys, sources = {}, []
    for spec in specs:
        prefix, rest = spec.split("=", 1)
        repo, rest = rest.split("@", 1)
        gd, tag, path = rest.rsplit(":", 2)
        text = subprocess.run(["git", f"--git-dir={gd}", "show", f"{tag}:{path}"], check=True, capture_output=True, text=True).stdout
        commit = subprocess.run(["git", f"--git-dir={gd}", "rev-list", "-n1", tag], check=True, capture_output=True, text=True).stdout.strip()
        found = {}
        values = yaml.safe_load(text)
        # Istio's charts keep their defaults under `_internal_defaults_do_not_set` and merge them into
        # .Values at render time (templates/zzz_profile.yaml): users set those keys at the top level.
        if isinstance(values, dict) and isinstance(values.get(INTERNAL_DEFAULTS), dict):
            inner = values.pop(INTERNAL_DEFAULTS)
            values = {**inner, **values}
        walk(values, prefix, found)
        from_values = dict(found)
        tdir = path.rsplit("/", 1)[0] + "/templates"
        files = subprocess.run(["git", f"--git-dir={gd}", "ls-tree", "-r", "--name-only", tag, tdir], check=True, capture_output=True, text=True).stdout.split()
        for f in files:
            src = subprocess.run(["git", f"--git-dir={gd}", "show", f"{tag}:{f}"], check=True, capture_output=True, text=True).stdout
            for ref in re.findall(r'\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)', src):
                parts = ref[1:].split(".")
                if parts[0] == INTERNAL_DEFAULTS: continue
                full = [".".join(([prefix] if prefix else []) + parts[:n]) for n in range(1, len(parts) + 1)]
                if any(from_values.get(k) in ("open", "list", "scalar") for k in full[:-1]):
                    continue  # below a free-form (or leaf) key of values.yaml: nothing to add
                for n in range(1, len(parts) + 1):
                    k = ".".join(([prefix] if prefix else []) + parts[:n])
                    found.setdefault(k, "template" if n == len(parts) else "map")
        # Kubernetes maps a chart passes through as a whole (toYaml), named in $OPEN_KEYS: free-form
        # even where values.yaml shows an example entry (cert-manager's nodeSelector has kubernetes.io/os).
        open_names = {n for n in os.environ.get("OPEN_KEYS", "").split(",") if n}
        if open_names:
            for k in [k for k in found if k.rsplit(".", 1)[-1] in open_names and found[k] == "map"]:
                found[k] = "open"
            opened = [k for k, kind in found.items() if kind == "open" and k.rsplit(".", 1)[-1] in open_names]
            found = {k: v for k, v in found.items() if not any(k.startswith(o + ".") for o in opened)}
        for k, kind in found.items():
            # a parent override of a subchart key keeps the more specific kind (map over open)
            if keys.get(k) == "map" and kind == "open": continue
            keys[k] = kind
        sources.append({"values_prefix": prefix, "repo": repo, "tag": tag, "commit": commit, "path": path, "keys": len(found)})
    doc = {"chart": chart, "version": version, "generated_by": "scripts/chart-values/keys.py", "sources": sources,
           "kinds": "map: mapping with keys; open: empty mapping or null (free-form below); list; scalar",
           "keys": dict(sorted(keys.items()))}
    with open(out_file, "w") as f:
        json.dump(doc, f, indent=0, separators=(",", ":"))
        f.write("\n")
    print(f"{len(keys)} keys", file=sys.stderr)

if __name__ == "__main__":
    main()
