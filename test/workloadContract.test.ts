import { strict as assert } from "node:assert";
import { planStack, type StackPlan } from "./support/plans";
import { kubernetesObjects, type KubernetesObject } from "../lib/plan/manifests";
import { validateManifest } from "../lib/k8s/schemaValidator";
import { serviceCatalog, type ServiceDefinition } from "../lib/catalog/services";
import { capacitySpreadLabel, workloadClassLabel } from "../lib/catalog/workloadClasses";
import {
  applyWorkloadContract,
  referenceDeployment,
  workloadContract,
  WorkloadContractError,
} from "../lib/workloads/contract";
import {
  contractNamespaces,
  contractValidations,
  workloadContractBinding,
  workloadContractPolicy,
  workloadContractPolicyName,
} from "../lib/workloads/admissionPolicy";
import { admit } from "./support/cel";
import { stacks } from "./support/stacks";

type Any = Record<string, any>;
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const messageOf = (id: (typeof contractValidations)[number]["id"]) => contractValidations.find((v) => v.id === id)!.message;

/** A data-class service (the catalog has none today; PgBouncer-like workloads would be one). */
const dataService: ServiceDefinition = {
  name: "example-pooler",
  displayName: "Example pooler",
  namespace: "pyairtable-workers",
  workloadClass: "data",
  container: "pooler",
  scaler: "hpa",
  critical: true,
  signals: [{ type: "cpu", targetUtilizationPercent: 70 }],
};

/** Mutations that break one rule each, with the rule the policy must report. */
const breakages: { name: string; rule: (typeof contractValidations)[number]["id"]; mutate: (pod: Any) => void }[] = [
  { name: "without the class toleration", rule: "class-toleration", mutate: (pod) => { pod.tolerations = pod.tolerations.filter((t: Any) => t.key !== workloadClassLabel); } },
  { name: "without any tolerations field", rule: "class-toleration", mutate: (pod) => { delete pod.tolerations; } },
  { name: "tolerating another class", rule: "class-toleration", mutate: (pod) => { pod.tolerations.find((t: Any) => t.key === workloadClassLabel).value = "other"; } },
  { name: "without the capacity-spread constraint", rule: "capacity-spread", mutate: (pod) => { pod.topologySpreadConstraints = pod.topologySpreadConstraints.filter((c: Any) => c.topologyKey !== capacitySpreadLabel); } },
  { name: "with a soft capacity-spread constraint", rule: "capacity-spread", mutate: (pod) => { pod.topologySpreadConstraints.find((c: Any) => c.topologyKey === capacitySpreadLabel).whenUnsatisfiable = "ScheduleAnyway"; } },
  { name: "with capacity-spread maxSkew 2", rule: "capacity-spread", mutate: (pod) => { pod.topologySpreadConstraints.find((c: Any) => c.topologyKey === capacitySpreadLabel).maxSkew = 2; } },
  { name: "without resources", rule: "requests", mutate: (pod) => { delete pod.containers[0].resources; } },
  { name: "without requests (limits only)", rule: "requests", mutate: (pod) => { delete pod.containers[0].resources.requests; } },
  { name: "without a CPU request", rule: "requests", mutate: (pod) => { delete pod.containers[0].resources.requests.cpu; } },
  { name: "with a sidecar without requests", rule: "requests", mutate: (pod) => { pod.containers.push({ name: "sidecar", image: "busybox:1.36" }); } },
  { name: "without the class nodeSelector", rule: "class-selector", mutate: (pod) => { delete pod.nodeSelector; } },
];

describe("workload contract: admission policy CEL (evaluated with @marcbachmann/cel-js)", () => {
  const policy = workloadContractPolicy();

  it("admits every catalog service's reference Deployment without errors", () => {
    for (const service of serviceCatalog) {
      const result = admit(policy, referenceDeployment(service));
      assert.deepEqual(result, { failed: [], errors: [] }, service.name);
    }
  });

  for (const b of breakages) {
    it(`denies every reference Deployment ${b.name} (rule ${b.rule}), and only for that rule`, () => {
      for (const service of serviceCatalog) {
        const d = clone(referenceDeployment(service)) as Any;
        b.mutate(d.spec.template.spec);
        const result = admit(policy, d);
        assert.ok(result.failed.includes(messageOf(b.rule)), `${service.name}: ${JSON.stringify(result)}`);
        // Without the nodeSelector the toleration no longer matches the (empty) class either.
        const expected = b.rule === "class-selector" ? [messageOf("class-selector"), messageOf("class-toleration")] : [messageOf(b.rule)];
        assert.deepEqual(result.failed, expected, service.name);
        assert.deepEqual(result.errors, [], `${service.name}: absent fields must make the rule false, not error`);
      }
    });
  }

  it("denies a bare Deployment on every contract rule but the data one, without evaluation errors", () => {
    const bare = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "bare" }, spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "busybox:1.36" }] } } } };
    const result = admit(policy, bare);
    assert.deepEqual(result.failed, ["class-selector", "class-toleration", "capacity-spread", "requests"].map((id) => messageOf(id as never)));
    assert.deepEqual(result.errors, []);
  });

  it("applies to StatefulSets the same way (same pod template path)", () => {
    const d = referenceDeployment(serviceCatalog[0]) as Any;
    const sts = { ...clone(d), kind: "StatefulSet", spec: { ...clone(d.spec), serviceName: d.metadata.name } };
    assert.deepEqual(admit(policy, sts).failed, []);
    delete sts.spec.template.spec.tolerations;
    assert.deepEqual(admit(policy, sts).failed, [messageOf("class-toleration")]);
  });

  describe("data-class pods never tolerate or select spot", () => {
    const conforming = () => clone(referenceDeployment(dataService)) as Any;
    it("admits a conforming data-class Deployment", () => {
      assert.deepEqual(admit(policy, conforming()), { failed: [], errors: [] });
    });
    const spotWays: [string, (pod: Any) => void][] = [
      ["a toleration of every taint", (pod) => pod.tolerations.push({ operator: "Exists" })],
      ["a karpenter.sh/capacity-type toleration", (pod) => pod.tolerations.push({ key: "karpenter.sh/capacity-type", operator: "Exists" })],
      ["an EKS SPOT capacity toleration", (pod) => pod.tolerations.push({ key: "eks.amazonaws.com/capacityType", value: "SPOT", effect: "NoSchedule" })],
      ["a toleration of the batch class's (spot) taint", (pod) => pod.tolerations.push({ key: workloadClassLabel, value: "batch", effect: "NoSchedule" })],
      ["a toleration of every class (Exists)", (pod) => pod.tolerations.push({ key: workloadClassLabel, operator: "Exists" })],
      ["a capacity-type spot nodeSelector", (pod) => { pod.nodeSelector["karpenter.sh/capacity-type"] = "spot"; }],
    ];
    for (const [what, mutate] of spotWays) {
      it(`denies a data-class Deployment with ${what}`, () => {
        const d = conforming();
        mutate(d.spec.template.spec);
        const result = admit(policy, d);
        assert.deepEqual(result.failed, [messageOf("stateful-not-on-spot")]);
        assert.deepEqual(result.errors, []);
      });
    }
    it("does not hold API-class pods to the data rule (the same toleration is allowed there)", () => {
      const d = clone(referenceDeployment(serviceCatalog[0])) as Any;
      d.spec.template.spec.tolerations.push({ key: "karpenter.sh/capacity-type", operator: "Exists" });
      assert.deepEqual(admit(policy, d).failed, []);
    });
  });
});

describe("workload contract: the fragment", () => {
  it("derives class, priority class, selector, toleration and spread from the catalog", () => {
    for (const service of serviceCatalog) {
      const c = workloadContract(service);
      assert.equal(c.podSpec.nodeSelector[workloadClassLabel], service.workloadClass);
      assert.deepEqual(c.podSpec.tolerations, [{ key: workloadClassLabel, operator: "Equal", value: service.workloadClass, effect: "NoSchedule" }]);
      const spread = c.podSpec.topologySpreadConstraints.find((s) => s.topologyKey === capacitySpreadLabel)!;
      assert.equal(spread.maxSkew, 1);
      assert.equal(spread.whenUnsatisfiable, "DoNotSchedule");
      assert.deepEqual(spread.labelSelector.matchLabels, { "app.kubernetes.io/name": service.name });
      assert.ok(c.podSpec.topologySpreadConstraints.some((s) => s.topologyKey === "topology.kubernetes.io/zone"));
      assert.equal(c.podSpec.priorityClassName, `pyairtable-${service.workloadClass}`);
    }
  });

  it("names the request metrics the API services' HPAs read", () => {
    const gateway = workloadContract(serviceCatalog.find((s) => s.name === "api-gateway")!);
    assert.ok(gateway.container.requiredMetrics.some((m) => m.startsWith("http_requests_total")));
    assert.ok(gateway.container.requiredMetrics.some((m) => m.startsWith("http_request_duration_seconds")));
    const platform = workloadContract(serviceCatalog.find((s) => s.name === "platform-services")!);
    assert.ok(platform.container.requiredMetrics.some((m) => m.startsWith("db_connections_in_use")));
    assert.deepEqual(workloadContract(serviceCatalog.find((s) => s.name === "webhooks")!).container.requiredMetrics, []);
  });

  it("applyWorkloadContract rejects a manifest of another class, without the catalog container or without requests", () => {
    const svc = serviceCatalog.find((s) => s.name === "api-gateway")!;
    const base = () => ({ metadata: { name: svc.name }, spec: { template: { spec: { containers: [{ name: svc.container, image: "x:1", resources: { requests: { cpu: "100m", memory: "128Mi" } } }] } } } }) as Any;
    assert.doesNotThrow(() => applyWorkloadContract(svc, base()));
    const wrongClass = base(); wrongClass.spec.template.spec.nodeSelector = { [workloadClassLabel]: "batch" };
    assert.throws(() => applyWorkloadContract(svc, wrongClass), (e: Error) => e instanceof WorkloadContractError && /nodeSelector\["pyairtable.io\/workload-class"\] = "batch": must be 'api'/.test(e.message));
    const noContainer = base(); noContainer.spec.template.spec.containers[0].name = "app";
    assert.throws(() => applyWorkloadContract(svc, noContainer), /no container named 'api-gateway'/);
    const noRequests = base(); delete noRequests.spec.template.spec.containers[0].resources.requests.memory;
    assert.throws(() => applyWorkloadContract(svc, noRequests), /containers\[api-gateway\]\.resources\.requests\.memory is not set/);
  });

  it("keeps the team's own tolerations and spreads, replacing only the contract's keys", () => {
    const svc = serviceCatalog.find((s) => s.name === "analytics")!;
    const out = applyWorkloadContract(svc, { spec: { template: { spec: {
      containers: [{ name: svc.container, image: "x:1", resources: { requests: { cpu: "1", memory: "1Gi" } } }],
      tolerations: [{ key: "example.com/gpu", operator: "Exists" }, { key: workloadClassLabel, value: "api", effect: "NoSchedule" }],
      topologySpreadConstraints: [{ maxSkew: 5, topologyKey: capacitySpreadLabel, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: {} } }],
    } } } }) as Any;
    assert.deepEqual(out.spec.template.spec.tolerations.map((t: Any) => `${t.key}=${t.value ?? ""}`), ["example.com/gpu=", `${workloadClassLabel}=batch`]);
    const spread = out.spec.template.spec.topologySpreadConstraints.filter((c: Any) => c.topologyKey === capacitySpreadLabel);
    assert.deepEqual(spread.map((c: Any) => [c.maxSkew, c.whenUnsatisfiable]), [[1, "DoNotSchedule"]]);
    assert.deepEqual(admit(workloadContractPolicy(), { kind: "Deployment", ...out }).failed, []);
  });

  it("rejects an unknown enforcement naming the key, the value and what is allowed", () => {
    assert.throws(() => workloadContractBinding("block" as never), /workloads\.admissionEnforcement = "block": must be one of deny, warn/);
  });
});

for (const stack of stacks) {
  describe(`workload contract in the rendered manifests (${stack})`, function () {
    this.timeout(180_000);
    let plan: StackPlan;
    let objects: KubernetesObject[];
    before(async () => {
      plan = await planStack(stack);
      objects = kubernetesObjects(plan.resources);
    });
    const ofKind = (kind: string) => objects.filter((o) => o.kind === kind) as Any[];

    it("holds the admission policy and its binding, valid against the vendored schemas", () => {
      const [policy, ...morePolicies] = ofKind("ValidatingAdmissionPolicy");
      const [binding, ...moreBindings] = ofKind("ValidatingAdmissionPolicyBinding");
      assert.ok(policy && binding && morePolicies.length === 0 && moreBindings.length === 0);
      for (const o of [policy, binding]) {
        const result = validateManifest(o);
        assert.ok(result.ok && !result.skipped, result.errors.join("\n"));
      }
      assert.equal(binding.spec.policyName, workloadContractPolicyName);
      assert.deepEqual(binding.spec.validationActions, stack === "prod" ? ["Deny"] : ["Warn", "Audit"]);
      assert.deepEqual(binding.spec.matchResources.namespaceSelector.matchExpressions[0].values, contractNamespaces());
      for (const service of serviceCatalog) assert.ok(contractNamespaces().includes(service.namespace));
      assert.deepEqual(policy.spec.validations.map((v: Any) => v.expression), contractValidations.map((v) => v.expression));
    });

    it(stack === "dev" ? "renders a reference Deployment for every HPA and ScaledObject target, each admitted by the rendered policy and schema-valid" : "renders no reference Deployments", () => {
      const deployments = ofKind("Deployment").filter((d) => d.metadata.labels?.["pyairtable.io/reference"] === "true");
      if (!plan.settings.workloads.referenceDeployments) {
        assert.equal(stack, "prod");
        assert.equal(deployments.length, 0);
        return;
      }
      assert.equal(deployments.length, serviceCatalog.length);
      const policy = ofKind("ValidatingAdmissionPolicy")[0]!;
      const scalers = [...ofKind("HorizontalPodAutoscaler"), ...ofKind("ScaledObject")];
      // Every scaler of the stack has its target (PgBouncer's is the add-ons' own Deployment).
      for (const scaler of scalers) {
        const ref = scaler.spec.scaleTargetRef;
        assert.equal(ref.kind ?? "Deployment", "Deployment");
        assert.ok(ofKind("Deployment").some((d) => d.metadata.name === ref.name && d.metadata.namespace === scaler.metadata.namespace),
          `${scaler.kind} ${scaler.metadata.namespace}/${scaler.metadata.name}: no Deployment ${ref.name}`);
      }
      for (const service of serviceCatalog) {
        const scaler = scalers.find((x) => x.metadata.name === service.name && x.metadata.namespace === service.namespace)!;
        const ref = scaler.spec.scaleTargetRef;
        const target = deployments.find((d) => d.metadata.name === ref.name && d.metadata.namespace === scaler.metadata.namespace);
        assert.ok(target, `${scaler.kind} ${scaler.metadata.namespace}/${scaler.metadata.name}: no reference Deployment ${ref.name}`);
        const result = validateManifest(target);
        assert.ok(result.ok && !result.skipped, result.errors.join("\n"));
        assert.deepEqual(admit(policy as never, target), { failed: [], errors: [] }, target.metadata.name);
        // The PDB of the service selects the reference pods.
        const pdb = ofKind("PodDisruptionBudget").find((p) => p.metadata.namespace === target.metadata.namespace && p.metadata.name === target.metadata.name)!;
        for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels as Record<string, string>)) assert.equal(target.spec.template.metadata.labels[k], v);
        // Removing the toleration, the spread or the requests makes the rendered policy deny it.
        const noToleration = clone(target); delete noToleration.spec.template.spec.tolerations;
        const noSpread = clone(target); delete noSpread.spec.template.spec.topologySpreadConstraints;
        const noRequests = clone(target); delete noRequests.spec.template.spec.containers[0].resources.requests;
        assert.deepEqual(admit(policy as never, noToleration).failed, [messageOf("class-toleration")]);
        assert.deepEqual(admit(policy as never, noSpread).failed, [messageOf("capacity-spread")]);
        assert.deepEqual(admit(policy as never, noRequests).failed, [messageOf("requests")]);
      }
    });
  });
}
