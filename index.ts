/**
 * The Pulumi program: read and validate the stack's settings, then wire the platform.
 * Invalid settings throw here, before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadSettingsFromRuntime } from "./lib/config/load";
import { Platform } from "./components/platform";
import { checkNamespaceQuotas } from "./components/quotaCheck";

const settings = loadSettingsFromRuntime();
checkNamespaceQuotas(pulumi.getStack(), settings);
const platform = new Platform(`pyairtable-${settings.environment}`, { settings });

export const environment = settings.environment;
export const vpcId = platform.network.vpcId;
export const privateSubnetIds = platform.network.privateSubnetIds;
export const clusterName = platform.cluster.clusterName;
export const kubeconfig = platform.cluster.kubeconfig;
export const nodeCeiling = platform.capacity.nodeCeiling;
export const karpenterInterruptionQueue = platform.capacity.interruptionQueueName;
export const databaseEndpoint = platform.database.endpoint;
export const databaseReaderEndpoint = platform.database.readerEndpoint;
export const cacheEndpoint = platform.cache.endpoint;
export const kafkaBootstrapBrokersTls = platform.streaming.bootstrapBrokersTls;
export const searchEndpoint = platform.search.endpoint;
export const costAlertTopicArn = platform.costControls.costAlertTopicArn;
export const budgetEmergencyTopicArn = platform.costControls.emergencyTopicArn;
export const budgetEmergencyQueueUrl = platform.costControls.emergencyQueueUrl;
export const weeklyBudgetUsd = platform.costControls.weeklyLimitUsd;
/** Secrets Manager secret the automation database's ExternalSecret reads (the ClusterSecretStore's role must allow it); null without one. */
export const automationDatabaseSecretArn = platform.automationDatabase?.masterUserSecretArn ?? null;
export const automationImageRepositoryUrl = platform.imageRepository.repositoryUrl;
export const automationDeployRoleArn = platform.automation.deployRoleArn;
