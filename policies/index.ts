/**
 * The policy pack's entry file: `pulumi preview --policy-pack policies --policy-pack-config
 * policies/config/<stack>.json`. Constructing PolicyPack starts the analyzer server, so this is the
 * only module that does; the policies themselves live in side-effect-free modules under rules/.
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./rules";

new PolicyPack("pyairtable-autoscaling-guardrails", {
  description: "Replica ceilings, spot ratios, budget limits, safety and security guardrails for the PyAirtable autoscaling stacks.",
  enforcementLevel: "advisory",
  policies: allPolicies,
});
