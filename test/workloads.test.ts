import { strict as assert } from "node:assert";
import { serviceByName, serviceCatalog, type ServiceDefinition } from "../lib/catalog/services";
import {
  buildHpa,
  buildScaledObject,
  buildVpa,
  businessHoursFloor,
  horizontallyScaledResources,
  scalingObjectsFor,
  ScalingDefinitionError,
  validateServiceScaling,
  type ScalingContext,
} from "../lib/scaling/workloads";
import {
  designReactionTargets,
  hpaWorstCaseReactionSeconds,
  kedaPollingIntervalSeconds,
  kedaWorstCaseReactionSeconds,
} from "../lib/scaling/responseTime";
import { validateManifest } from "../lib/k8s/schemaValidator";
import { loadStackSettings, stacks } from "./support/stacks";

const sources = {
  redis: { mode: "cluster" as const, address: "redis.example.internal:6379" },
  kafka: { bootstrapServers: "b-1.kafka.example.internal:9098" },
  sqsQueueUrl: (q: string) => `https://sqs.us-east-1.amazonaws.com/123456789012/${q}`,
  awsRegion: "us-east-1",
};

function contextFor(stack: string, service: string): ScalingContext {
  const s = loadStackSettings(stack);
  return { environment: s.environment, range: s.services[service]!, schedules: s.schedules, workloads: s.workloads, sources };
}

type Any = Record<string, any>;

describe("workload scaling objects", () => {
  it("response times meet the design's targets", () => {
    assert.ok(hpaWorstCaseReactionSeconds <= designReactionTargets.hpaSeconds, `HPA ${hpaWorstCaseReactionSeconds}s`);
    assert.ok(kedaWorstCaseReactionSeconds <= designReactionTargets.kedaSeconds, `KEDA ${kedaWorstCaseReactionSeconds}s`);
  });

  for (const stack of stacks) {
    describe(`${stack} stack`, () => {
      const settings = loadStackSettings(stack);
      for (const service of serviceCatalog as readonly ServiceDefinition[]) {
        it(`${service.name}: range, signals, behaviour, VPA and PDB are right and schema-valid`, () => {
          const ctx = contextFor(stack, service.name);
          const { scaler, vpa, pdb } = scalingObjectsFor(service, ctx) as { scaler: Any; vpa: Any; pdb: Any };
          const range = settings.services[service.name]!;
          for (const obj of [scaler, vpa, pdb]) {
            const result = validateManifest(obj);
            assert.ok(result.ok, result.errors.join("\n"));
            assert.equal(obj.metadata.namespace, service.namespace);
            assert.equal(obj.metadata.name, service.name);
          }
          if (service.scaler === "hpa") {
            assert.equal(scaler.kind, "HorizontalPodAutoscaler");
            assert.deepEqual([scaler.spec.minReplicas, scaler.spec.maxReplicas], [range.minReplicas, range.maxReplicas]);
            assert.equal(scaler.spec.metrics.length, service.signals.length);
            assert.equal(scaler.spec.behavior.scaleUp.stabilizationWindowSeconds, 0);
            assert.ok(scaler.spec.behavior.scaleDown.stabilizationWindowSeconds >= 300);
          } else {
            assert.equal(scaler.kind, "ScaledObject");
            assert.equal(scaler.spec.maxReplicaCount, range.maxReplicas);
            assert.ok(scaler.spec.minReplicaCount <= range.minReplicas);
            assert.equal(scaler.spec.pollingInterval, kedaPollingIntervalSeconds);
            assert.ok(scaler.spec.fallback.replicas >= range.minReplicas && scaler.spec.fallback.replicas <= range.maxReplicas);
            const behavior = scaler.spec.advanced.horizontalPodAutoscalerConfig.behavior;
            assert.ok(behavior.scaleDown.stabilizationWindowSeconds >= 300);
            assert.ok(behavior.scaleDown.policies.every((p: Any) => p.type === "Percent" && p.value <= 10));
            // KEDA's fallback needs every trigger on AverageValue and none on CPU or memory.
            for (const t of scaler.spec.triggers) {
              assert.equal(t.metricType, "AverageValue");
              assert.ok(!["cpu", "memory"].includes(t.type));
              if (t.type !== "cron" && t.type !== "prometheus") assert.ok(t.authenticationRef?.name, `${t.type} must authenticate by reference`);
              assert.ok(!JSON.stringify(t.metadata).match(/password|secret/i), "no inline credentials");
            }
          }
          // Never two controllers on one resource: the VPA acts only on what the HPA does not use.
          const scaled = horizontallyScaledResources(service);
          for (const policy of vpa.spec.resourcePolicy.containerPolicies) {
            if (vpa.spec.updatePolicy.updateMode !== "Off") {
              for (const r of scaled) assert.ok(!policy.controlledResources.includes(r), `${service.name}: VPA controls ${r} the HPA scales on`);
            }
          }
          assert.equal(vpa.spec.resourcePolicy.containerPolicies.some((p: Any) => p.containerName === "istio-proxy"), settings.workloads.istioSidecars);
          assert.equal(pdb.spec.maxUnavailable, 1);
        });
      }
    });
  }

  it("API Gateway: 2-25 on CPU 70%, memory 80%, 100 req/s per pod and p95 500 ms", () => {
    const hpa = buildHpa(serviceByName("api-gateway"), contextFor("prod", "api-gateway")) as Any;
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [2, 25]);
    assert.deepEqual(hpa.spec.metrics.map((m: Any) => m.resource?.target.averageUtilization ?? m.pods.target.averageValue), [70, 80, "100", "500m"]);
  });

  it("Platform services: 2-15 on CPU 75%, memory 85% and 40 DB connections per pod", () => {
    const hpa = buildHpa(serviceByName("platform-services"), contextFor("prod", "platform-services")) as Any;
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [2, 15]);
    assert.deepEqual(hpa.spec.metrics.map((m: Any) => m.resource?.target.averageUtilization ?? m.pods.target.averageValue), [75, 85, "40"]);
  });

  it("SAGA orchestrator: 1-15 on Kafka lag and Redis queue depth", () => {
    const so = buildScaledObject(serviceByName("saga-orchestrator"), contextFor("prod", "saga-orchestrator")) as Any;
    assert.deepEqual([so.spec.minReplicaCount, so.spec.maxReplicaCount], [1, 15]);
    assert.deepEqual(so.spec.triggers.filter((t: Any) => t.type !== "cron").map((t: Any) => t.type), ["kafka", "redis-cluster"]);
  });

  it("File processing: 0-12 on Redis queues and S3 events via SQS", () => {
    const so = buildScaledObject(serviceByName("file-processing"), contextFor("prod", "file-processing")) as Any;
    assert.deepEqual([so.spec.minReplicaCount, so.spec.maxReplicaCount], [0, 12]);
    assert.deepEqual(so.spec.triggers.filter((t: Any) => t.type !== "cron").map((t: Any) => t.type), ["redis-cluster", "aws-sqs-queue"]);
  });

  it("AI/LLM: 1-8 on the request queue and the CPU its containers burn (Prometheus, cAdvisor: the stack has no GPU capacity)", () => {
    const so = buildScaledObject(serviceByName("ai-llm"), contextFor("prod", "ai-llm")) as Any;
    assert.deepEqual([so.spec.minReplicaCount, so.spec.maxReplicaCount], [1, 8]);
    const prom = so.spec.triggers.find((t: Any) => t.type === "prometheus");
    assert.match(prom.metadata.query, /container_cpu_usage_seconds_total\{namespace="pyairtable-workers", pod=~"ai-llm-\.\*", container="ai-llm"\}/);
    assert.equal(prom.metadata.threshold, "0.7");
    assert.ok(!so.spec.triggers.some((t: Any) => /DCGM_/.test(t.metadata?.query ?? "")), "no DCGM exporter is deployed");
  });

  it("Automation: 0-20 on Celery queues (Redis lists)", () => {
    const so = buildScaledObject(serviceByName("automation"), contextFor("prod", "automation")) as Any;
    assert.deepEqual([so.spec.minReplicaCount, so.spec.maxReplicaCount], [0, 20]);
    assert.deepEqual(so.spec.triggers.filter((t: Any) => t.type !== "cron").map((t: Any) => t.metadata.listName), ["celery", "automation"]);
  });

  it("business hours raise KEDA floors with a cron trigger in the stack's time zone", () => {
    const ctx = contextFor("prod", "webhooks");
    const so = buildScaledObject(serviceByName("webhooks"), ctx) as Any;
    const cron = so.spec.triggers.find((t: Any) => t.type === "cron");
    assert.deepEqual(cron.metadata, { timezone: "UTC", start: "0 8 * * 1,2,3,4,5", end: "0 18 * * 1,2,3,4,5", desiredReplicas: String(businessHoursFloor(ctx.range, ctx.workloads)) });
    assert.equal(cron.metadata.desiredReplicas, "3"); // 25% of 12, rounded up
  });

  it("dev lets event-driven services sleep off hours and wakes them for business hours", () => {
    const ctx = contextFor("dev", "saga-orchestrator");
    assert.equal(ctx.range.minReplicas, 1);
    const so = buildScaledObject(serviceByName("saga-orchestrator"), ctx) as Any;
    assert.equal(so.spec.minReplicaCount, 0);
    assert.equal(so.spec.triggers.find((t: Any) => t.type === "cron").metadata.desiredReplicas, "1");
  });

  it("HPA services get recommendation-only VPAs; queue workers get active VPAs on CPU and memory", () => {
    const gateway = buildVpa(serviceByName("api-gateway"), { workloads: loadStackSettings("prod").workloads }) as Any;
    assert.equal(gateway.spec.updatePolicy.updateMode, "Off");
    const worker = buildVpa(serviceByName("analytics"), { workloads: loadStackSettings("prod").workloads }) as Any;
    assert.equal(worker.spec.updatePolicy.updateMode, "InPlaceOrRecreate");
    assert.deepEqual(worker.spec.resourcePolicy.containerPolicies[0].controlledResources, ["cpu", "memory"]);
  });

  it("a service scaled on CPU only lets the VPA right-size memory only", () => {
    const cpuOnly: ServiceDefinition = { ...serviceByName("user-services"), signals: [{ type: "cpu", targetUtilizationPercent: 70 }] };
    const vpa = buildVpa(cpuOnly, { workloads: { istioSidecars: false, businessHoursFloorPercent: 0 } }) as Any;
    assert.equal(vpa.spec.updatePolicy.updateMode, "InPlaceOrRecreate");
    assert.deepEqual(vpa.spec.resourcePolicy.containerPolicies[0].controlledResources, ["memory"]);
  });

  describe("bad catalog input is a clear error naming the service and field", () => {
    const base = serviceByName("analytics");
    const range = { minReplicas: 1, maxReplicas: 10 };
    const cases: Array<[string, ServiceDefinition, { minReplicas: number; maxReplicas: number }, RegExp]> = [
      ["min above max", base, { minReplicas: 11, maxReplicas: 10 }, /^service 'analytics': minReplicas: 11 must not exceed maxReplicas \(10\)$/],
      ["an unknown trigger type", { ...base, signals: [{ type: "rabbitmq" } as never] }, range, /^service 'analytics': signals\[0\]\.type: 'rabbitmq' is not a known signal type/],
      ["scale to zero with only CPU/memory", { ...serviceByName("user-services") }, { minReplicas: 0, maxReplicas: 10 }, /^service 'user-services': minReplicas: 0 \(scale to zero\) needs an event signal that can wake the service; it has only cpu, memory$/],
      ["CPU on a KEDA service", { ...base, signals: [{ type: "cpu", targetUtilizationPercent: 70 }, ...base.signals] }, range, /^service 'analytics': signals\[0\]\.type: 'cpu' is not allowed on a KEDA ScaledObject/],
      ["a queue signal on an HPA service", { ...serviceByName("user-services"), signals: [{ type: "redisList", listName: "x", targetPerReplica: 5 }] }, range, /^service 'user-services': signals\[0\]\.type: 'redisList' needs an event scaler/],
      ["a non-positive target", { ...base, signals: [{ type: "redisList", listName: "x", targetPerReplica: 0 }] }, range, /^service 'analytics': signals\[0\]\.targetPerReplica: 0 must be greater than 0$/],
    ];
    for (const [what, service, r, expected] of cases) {
      it(what, () => {
        assert.throws(() => validateServiceScaling(service, r), (e: unknown) => e instanceof ScalingDefinitionError && expected.test(e.message));
      });
    }
  });
});
