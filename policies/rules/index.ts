/**
 * Every policy of the pack, in one list: the pack's entry file (policies/index.ts) constructs the
 * PolicyPack from it, and the offline plan evaluates it. Side-effect free: importing this module
 * never starts the policy server.
 */
import type { Policies } from "@pulumi/policy";
// Ceilings against runaway scaling
import { replicaCeilings } from "./replicaCeilings";
import { scaleToZeroAllowList } from "./scaleToZeroAllowList";
import { productionApiMinimumReplicas } from "./productionApiMinimumReplicas";
import { dataTierCeilings } from "./dataTierCeilings";
import { nodeCountCeiling } from "./nodeCountCeiling";
// Spot capacity
import { spotShareByWorkloadClass } from "./spotShareByWorkloadClass";
import { noStatefulWorkloadsOnSpot } from "./noStatefulWorkloadsOnSpot";
import { spotDiversification } from "./spotDiversification";
import { spotInterruptionBand } from "./spotInterruptionBand";
// Budgets
import { costWithinBudget } from "./costWithinBudget";
import { budgetNotifications } from "./budgetNotifications";
// Scaling safety
import { vpaDoesNotFightHorizontalScaler } from "./vpaDoesNotFightHorizontalScaler";
import { scaledObjectFallback } from "./scaledObjectFallback";
import { scaleDownStabilization } from "./scaleDownStabilization";
import { scaledServicesHavePdb } from "./scaledServicesHavePdb";
import { workloadContractAdmission } from "./workloadContractAdmission";
// Security
import { encryptionAtRestWithCustomerKeys } from "./encryptionAtRestWithCustomerKeys";
import { encryptionInTransit } from "./encryptionInTransit";
import { eksEndpointRestricted } from "./eksEndpointRestricted";
import { eksPublicAccessCidrsNotPlaceholders } from "./eksPublicAccessCidrsNotPlaceholders";
import { eksVersionInStandardSupport } from "./eksVersionInStandardSupport";
import { productionDatabaseProtection } from "./productionDatabaseProtection";
import { imdsv2Required } from "./imdsv2Required";
import { s3PublicAccessBlocked } from "./s3PublicAccessBlocked";
import { kmsKeyRotation } from "./kmsKeyRotation";
import { loggingEnabled } from "./loggingEnabled";
import { namespaceDefaultDenyNetworkPolicy } from "./namespaceDefaultDenyNetworkPolicy";
import { namespacePodSecurityEnforced } from "./namespacePodSecurityEnforced";
import { everyNamespaceEnforcesPodSecurity } from "./everyNamespaceEnforcesPodSecurity";
import { everyNamespaceDeniesIngressByDefault } from "./everyNamespaceDeniesIngressByDefault";
import { defaultServiceAccountsDoNotMountTokens } from "./defaultServiceAccountsDoNotMountTokens";
import { logRetentionMinimum } from "./logRetentionMinimum";
import { kmsServicePrincipalsConditioned } from "./kmsServicePrincipalsConditioned";
import { noLatestImagesOrAmis } from "./noLatestImagesOrAmis";
import { imagesPinnedByDigest } from "./imagesPinnedByDigest";
import { dataStoresAdmitOnlyClients } from "./dataStoresAdmitOnlyClients";
import { defaultStorageClassEncrypted } from "./defaultStorageClassEncrypted";

export const allPolicies: Policies = [
  replicaCeilings,
  scaleToZeroAllowList,
  productionApiMinimumReplicas,
  dataTierCeilings,
  nodeCountCeiling,
  spotShareByWorkloadClass,
  noStatefulWorkloadsOnSpot,
  spotDiversification,
  spotInterruptionBand,
  costWithinBudget,
  budgetNotifications,
  vpaDoesNotFightHorizontalScaler,
  scaledObjectFallback,
  scaleDownStabilization,
  scaledServicesHavePdb,
  workloadContractAdmission,
  encryptionAtRestWithCustomerKeys,
  encryptionInTransit,
  eksEndpointRestricted,
  eksPublicAccessCidrsNotPlaceholders,
  eksVersionInStandardSupport,
  productionDatabaseProtection,
  imdsv2Required,
  s3PublicAccessBlocked,
  kmsKeyRotation,
  loggingEnabled,
  namespaceDefaultDenyNetworkPolicy,
  namespacePodSecurityEnforced,
  everyNamespaceEnforcesPodSecurity,
  everyNamespaceDeniesIngressByDefault,
  defaultServiceAccountsDoNotMountTokens,
  logRetentionMinimum,
  kmsServicePrincipalsConditioned,
  noLatestImagesOrAmis,
  imagesPinnedByDigest,
  dataStoresAdmitOnlyClients,
  defaultStorageClassEncrypted,
];
