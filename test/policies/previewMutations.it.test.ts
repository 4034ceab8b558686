/**
 * Every policy's failing case on the real prod plan, judged by the served pack twice: as an update of
 * the existing stack and as a first preview (outputs of resources not created yet unknown). Each
 * mutation must give the same verdicts in both (policy, level, resource, message): a mandatory rule
 * that decides at update decides at first preview too, and never turns into the analyzer's advisory
 * "can't run during preview". (That the served pack and the in-process evaluator agree is checked
 * for every other policy test by test/support/policyEvaluation.ts.)
 */
import { strict as assert } from "node:assert";
import { allPolicies } from "../../policies/rules";
import { planStack, type StackPlan } from "../support/plans";
import { loadPolicyConfig, pinEvaluationDate, policyConfigPath } from "../../lib/plan/review";
import { testEvaluationDate } from "../support/clock";
import type { PlannedResource } from "../../lib/plan/mockRuntime";
import type { PolicyPackConfig } from "../../lib/policy/evaluate";
import { row, servedPack } from "../support/policyEvaluation";
import { repoRoot } from "../support/stacks";

type R = Record<string, any>;
type Pick = (r: PlannedResource) => boolean;

const ofMeta = (kind: string, name: string): Pick => (r) => r.type.endsWith(`:${kind}`) && (r.inputs as R).metadata?.name === name;
const ofType = (type: string): Pick => (r) => r.type === type;

interface Mutation {
  readonly policy: string;
  readonly what: string;
  /** Edits the matching resource's inputs (in place) or, with `resources`, the whole list. */
  readonly pick?: Pick;
  readonly change?: (inputs: R) => void;
  readonly resources?: (rs: PlannedResource[]) => PlannedResource[];
}

const mutations: Mutation[] = [
  { policy: "replica-ceilings", what: "user-services max 11 (ceiling 10)", pick: ofMeta("HorizontalPodAutoscaler", "user-services"), change: (i) => (i.spec.maxReplicas = 11) },
  { policy: "scale-to-zero-allow-list", what: "file-service min 0", pick: ofMeta("ScaledObject", "file-service"), change: (i) => (i.spec.minReplicaCount = 0) },
  { policy: "production-api-minimum-replicas", what: "api-gateway min 1", pick: ofMeta("HorizontalPodAutoscaler", "api-gateway"), change: (i) => (i.spec.minReplicas = 1) },
  { policy: "data-tier-ceilings", what: "Aurora max 32 ACU", pick: ofType("aws:rds/cluster:Cluster"), change: (i) => (i.serverlessv2ScalingConfiguration.maxCapacity = 32) },
  { policy: "node-count-ceiling", what: "batch-spot limited to 500 nodes", pick: ofMeta("NodePool", "batch-spot"), change: (i) => (i.spec.limits.nodes = "500") },
  {
    policy: "spot-share-by-workload-class", what: "data capacity on spot", pick: ofMeta("NodePool", "data-on-demand"),
    change: (i) => (i.spec.template.spec.requirements.find((q: R) => q.key === "karpenter.sh/capacity-type").values = ["spot"]),
  },
  {
    policy: "no-stateful-workloads-on-spot", what: "data pool admits spot", pick: ofMeta("NodePool", "data-on-demand"),
    change: (i) => (i.spec.template.spec.requirements.find((q: R) => q.key === "karpenter.sh/capacity-type").values = ["spot", "on-demand"]),
  },
  {
    policy: "spot-diversification", what: "batch spot on one instance type", pick: ofMeta("NodePool", "batch-spot"),
    change: (i) => (i.spec.template.spec.requirements.find((q: R) => q.key === "node.kubernetes.io/instance-type").values = ["m5.large"]),
  },
  {
    // m5.xlarge, m5.large and m7i.large: AWS Spot Advisor bands >20% and 15-20% a month (us-east-1).
    policy: "spot-interruption-band", what: "batch spot on the frequently interrupted m5.xlarge, m5.large and m7i.large", pick: ofMeta("NodePool", "batch-spot"),
    change: (i) => (i.spec.template.spec.requirements.find((q: R) => q.key === "node.kubernetes.io/instance-type").values = ["m5.xlarge", "m5.large", "m7i.large"]),
  },
  { policy: "cost-within-budget", what: "100 API nodes expected", pick: ofMeta("NodePool", "api-on-demand"), change: (i) => (i.metadata.annotations["pyairtable.io/expected-nodes"] = "100") },
  {
    policy: "budget-notifications", what: "daily budget without its 95% notification", pick: (r) => r.type === "aws:budgets/budget:Budget" && (r.inputs as R).timeUnit === "DAILY",
    change: (i) => (i.notifications = (i.notifications as R[]).filter((n) => !(n.thresholdType === "PERCENTAGE" && n.threshold === 95))),
  },
  { policy: "vpa-does-not-fight-horizontal-scaler", what: "api-gateway VPA in Recreate on CPU", pick: ofMeta("VerticalPodAutoscaler", "api-gateway"), change: (i) => (i.spec.updatePolicy.updateMode = "Recreate") },
  { policy: "scaled-object-has-fallback", what: "notifications without fallback", pick: ofMeta("ScaledObject", "notifications"), change: (i) => delete i.spec.fallback },
  { policy: "scale-down-stabilization", what: "api-gateway scales down at once", pick: ofMeta("HorizontalPodAutoscaler", "api-gateway"), change: (i) => (i.spec.behavior.scaleDown.stabilizationWindowSeconds = 0) },
  { policy: "scaled-services-have-pdb", what: "api-gateway without its PDB", resources: (rs) => rs.filter((r) => !ofMeta("PodDisruptionBudget", "api-gateway")(r)) },
  { policy: "encryption-at-rest-with-customer-keys", what: "Redis unencrypted at rest", pick: ofType("aws:elasticache/replicationGroup:ReplicationGroup"), change: (i) => (i.atRestEncryptionEnabled = false) },
  { policy: "encryption-in-transit", what: "Redis without TLS", pick: ofType("aws:elasticache/replicationGroup:ReplicationGroup"), change: (i) => (i.transitEncryptionEnabled = false) },
  { policy: "eks-public-endpoint-restricted", what: "API endpoint open to the internet", pick: ofType("eks:index:Cluster"), change: (i) => { i.endpointPublicAccess = true; i.publicAccessCidrs = ["0.0.0.0/0"]; } },
  { policy: "eks-public-access-cidrs-not-placeholders", what: "API endpoint opened to a documentation range", pick: ofType("eks:index:Cluster"), change: (i) => { i.endpointPublicAccess = true; i.publicAccessCidrs = ["203.0.113.0/24"]; } },
  // 1.33 left standard support on 2026-07-29: a violation on every day the pack runs from then on.
  { policy: "eks-version-in-standard-support", what: "the cluster back on Kubernetes 1.33", pick: ofType("eks:index:Cluster"), change: (i) => (i.version = "1.33") },
  { policy: "production-database-protection", what: "Aurora without deletion protection", pick: ofType("aws:rds/cluster:Cluster"), change: (i) => (i.deletionProtection = false) },
  { policy: "imdsv2-required", what: "IMDSv1 on the system nodes", pick: ofType("aws:ec2/launchTemplate:LaunchTemplate"), change: (i) => (i.metadataOptions.httpTokens = "optional") },
  {
    policy: "s3-public-access-blocked", what: "a bucket without a public access block",
    resources: (rs) => {
      const stack = rs.find((r) => r.type === "pulumi:pulumi:Stack")!;
      return [...rs, { urn: `${stack.urn.split("::pulumi:pulumi:Stack")[0]}::aws:s3/bucketV2:BucketV2::exports`, type: "aws:s3/bucketV2:BucketV2", name: "exports", parent: stack.urn, custom: true, inputs: { bucket: "pyairtable-exports" } }];
    },
  },
  { policy: "default-storage-class-encrypted", what: "the default gp3 class unencrypted", pick: ofType("kubernetes:storage.k8s.io/v1:StorageClass"), change: (i) => (i.parameters.encrypted = "false") },
  { policy: "kms-key-rotation", what: "a key without rotation", pick: ofType("aws:kms/key:Key"), change: (i) => (i.enableKeyRotation = false) },
  { policy: "logging-enabled", what: "EKS without audit logs", pick: ofType("eks:index:Cluster"), change: (i) => (i.enabledClusterLogTypes = ["api"]) },
  {
    policy: "workload-contract-admission", what: "the admission policy without its binding",
    resources: (rs) => rs.filter((r) => r.type !== "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"),
  },
  {
    policy: "namespace-default-deny-network-policy", what: "pyairtable-api without its default deny",
    resources: (rs) => rs.filter((r) => !(r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy" && (r.inputs as R).metadata.namespace === "pyairtable-api" && (r.inputs as R).metadata.name === "default-deny-all")),
  },
  {
    policy: "namespace-pod-security-enforced", what: "pyairtable-api without the enforce label", pick: ofMeta("Namespace", "pyairtable-api"),
    change: (i) => delete i.metadata.labels["pod-security.kubernetes.io/enforce"],
  },
  {
    policy: "every-namespace-enforces-pod-security", what: "monitoring lowered to baseline", pick: ofMeta("Namespace", "monitoring"),
    change: (i) => (i.metadata.labels["pod-security.kubernetes.io/enforce"] = "baseline"),
  },
  {
    policy: "every-namespace-denies-ingress-by-default", what: "keda without its default-deny-ingress",
    resources: (rs) => rs.filter((r) => !(r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy" && (r.inputs as R).metadata.namespace === "keda" && (r.inputs as R).metadata.name === "default-deny-ingress")),
  },
  {
    policy: "default-service-accounts-do-not-mount-tokens", what: "vpa's default ServiceAccount mounts its token",
    pick: (r) => r.type === "kubernetes:core/v1:ServiceAccountPatch" && (r.inputs as R).metadata.namespace === "vpa",
    change: (i) => (i.automountServiceAccountToken = true),
  },
  { policy: "log-retention-minimum", what: "flow logs kept 30 days", pick: (r) => r.type === "aws:cloudwatch/logGroup:LogGroup" && /flow-logs$/.test(String((r.inputs as R).name)), change: (i) => (i.retentionInDays = 30) },
  {
    policy: "kms-service-principals-conditioned", what: "S3 may use the file-events key from any account", pick: (r) => r.type === "aws:kms/key:Key" && /file-events$/.test(r.name),
    change: (i) => {
      const doc = JSON.parse(i.policy);
      for (const st of doc.Statement) if (st.Principal?.Service) delete st.Condition;
      i.policy = JSON.stringify(doc);
    },
  },
  {
    policy: "no-latest-images-or-amis", what: "nodes follow al2023@latest", pick: ofType("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"),
    change: (i) => (i.spec.amiSelectorTerms = [{ alias: "al2023@latest" }]),
  },
  {
    policy: "images-pinned-by-digest", what: "the automation image by tag only", pick: (r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs as R).metadata.name === "pyairtable-automation",
    change: (i) => (i.spec.template.spec.containers[0].image = "ghcr.io/example/unlisted:1.0.0"),
  },
  {
    policy: "data-stores-admit-only-their-clients", what: "Aurora open to 0.0.0.0/0",
    pick: (r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.name.endsWith("database-postgres-0"),
    change: (i) => {
      delete i.referencedSecurityGroupId;
      i.cidrIpv4 = "0.0.0.0/0";
    },
  },
];

function apply(plan: StackPlan, m: Mutation): PlannedResource[] {
  const resources = structuredClone(plan.resources);
  if (m.resources) return m.resources(resources);
  const target = resources.find(m.pick!);
  assert.ok(target, `${m.policy}: no resource matched the mutation`);
  m.change!(target.inputs as R);
  return resources;
}

describe("every policy's failing case decides the same in a first preview as at update (served pack)", function () {
  this.timeout(300_000);
  let update: StackPlan;
  let preview: StackPlan;
  let config: PolicyPackConfig;

  before(async () => {
    update = await planStack("prod");
    preview = await planStack("prod", { preview: true });
    config = pinEvaluationDate(loadPolicyConfig(policyConfigPath(repoRoot, "prod")), testEvaluationDate);
  });

  it("covers every policy of the pack", () => {
    assert.deepEqual([...new Set(mutations.map((m) => m.policy))].sort(), allPolicies.map((p) => p.name).sort());
  });

  for (const m of mutations) {
    it(`${m.policy}: ${m.what}`, async () => {
      const pack = await servedPack();
      const atUpdate = (await pack.evaluate(apply(update, m), config)).map(row);
      const atPreview = (await pack.evaluate(apply(preview, m), config)).map(row);
      const level = allPolicies.find((p) => p.name === m.policy)!.enforcementLevel;
      const expected = typeof config[m.policy] === "string" ? config[m.policy] : ((config[m.policy] as R | undefined)?.enforcementLevel ?? level);
      assert.ok(atUpdate.some(([policy, l]) => policy === m.policy && l === expected), `${m.policy} not reported (${expected}) at update:\n${atUpdate.join("\n")}`);
      assert.deepEqual(atPreview, atUpdate);
    });
  }
});
