"""Series names, types and label names of node_exporter's collector/fixtures/e2e-output.txt at a tag."""
import re, subprocess
def parse(gd, tag, path="collector/fixtures/e2e-output.txt"):
    txt = subprocess.run(["git", f"--git-dir={gd}", "show", f"{tag}:{path}"], check=True, capture_output=True, text=True).stdout
    out = {}
    for line in txt.splitlines():
        m = re.match(r'# TYPE (\S+) (\S+)', line)
        if m: out.setdefault(m.group(1), {"type": m.group(2), "labels": set()}); continue
        if line.startswith("#") or not line.strip(): continue
        m = re.match(r'([a-zA-Z_:][\w:]*)(\{(.*)\})?\s', line)
        if not m: continue
        name = m.group(1)
        base = re.sub(r'_(bucket|sum|count)$', '', name) if name not in out else name
        e = out.setdefault(base if base in out else name, {"type": "untyped", "labels": set()})
        e["labels"].update(k for k in re.findall(r'(\w+)="', m.group(3) or "") if k not in ("le", "quantile"))
    return out
