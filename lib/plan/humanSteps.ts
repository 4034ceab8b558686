/**
 * What only a person can do for a stack, read from the planned stack itself. The plan prints them; the README's "Before the first production deploy"
 * list is rendered from `humanSteps` of the prod plan (`npm run readme:review`), so the two agree.
 *
 * Everything else a first deploy needs is code (cluster add-ons, secrets rendered from AWS, the cost
 * allocation tag activation, the SES identity, the runbook URL setting).
 */
import type { PlannedResource } from "./mockRuntime";
import { configNamespace, secretKeys } from "../config/settings";
import type { StackFile } from "../config/load";

export interface HumanStep {
  /** Stable id (tests and the README refer to it). */
  readonly id: "secrets" | "api-access" | "email-confirmations" | "cost-allocation-tag";
  /** Before the first `pulumi up`, or after it. */
  readonly when: "before" | "after";
  /** One sentence, Markdown code spans allowed. */
  readonly text: string;
}

export interface HumanStepsInput {
  readonly resources: readonly PlannedResource[];
  /** Full secret keys (`autoscaling:alertEmail`) the stack file does not set yet. */
  readonly unsetSecretKeys: readonly string[];
  /** budgets.costAllocationTagActivation of the stack. */
  readonly costAllocationTagActivation: "automation" | "stack" | "payer-account";
}

type Inputs = Record<string, any>;
const inputsOf = (resources: readonly PlannedResource[], type: string) => resources.filter((r) => r.type === type).map((r) => r.inputs as Inputs);
const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** The steps no program can do for this stack, in the order a person meets them. */
export function humanSteps(input: HumanStepsInput): HumanStep[] {
  const steps: HumanStep[] = [];
  if (input.unsetSecretKeys.length > 0) {
    const keys = input.unsetSecretKeys.map((k) => `\`${k.replace(`${configNamespace}:`, "")}\``).join(", ");
    steps.push({ id: "secrets", when: "before", text: `Set the secrets: \`pulumi config set --secret <key> <value>\` for ${keys}.` });
  }
  for (const cluster of inputsOf(input.resources, "eks:index:Cluster")) {
    // @pulumi/eks and EKS default the public endpoint to on: only an explicit false is private.
    if (cluster.endpointPublicAccess === false) {
      steps.push({
        id: "api-access", when: "before",
        text: "The API endpoint is private: run `pulumi up` in the VPC, or list the operators' CIDRs in `cluster.publicAccessCidrs`.",
      });
    }
  }
  const snsEmails = inputsOf(input.resources, "aws:sns/topicSubscription:TopicSubscription").filter((s) => s.protocol === "email").length;
  const sesIdentities = inputsOf(input.resources, "aws:sesv2/emailIdentity:EmailIdentity").length;
  if (snsEmails + sesIdentities > 0) {
    const what = [snsEmails ? plural(snsEmails, "SNS subscription") : "", sesIdentities ? plural(sesIdentities, "SES identity", "SES identities") : ""].filter(Boolean).join(" and ");
    steps.push({
      id: "email-confirmations", when: "after",
      text: `After the first \`pulumi up\`, confirm the e-mails AWS sends to \`alertEmail\`: ${what}.`,
    });
  }
  if (input.costAllocationTagActivation === "payer-account") {
    steps.push({
      id: "cost-allocation-tag", when: "after",
      text: "Have the organization's management account activate the `environment` cost allocation tag: the budgets read $0 until then.",
    });
  }
  return steps;
}

/** Full secret keys the stack file does not set (a secure value counts as set). */
export function unsetSecretKeys(stackFile: StackFile): string[] {
  return secretKeys.map((k) => `${configNamespace}:${k}`).filter((k) => !(k in stackFile.config));
}

/** Steps as a Markdown list (the README's section). */
export function humanStepsMarkdown(steps: readonly HumanStep[]): string {
  return steps.map((s) => `- ${s.text}`).join("\n") + "\n";
}
