import * as pulumi from "@pulumi/pulumi";

/**
 * The trust policy of an IAM role for a Kubernetes service account (IRSA): only that service
 * account of that namespace, presenting a token of the cluster's OIDC provider with the STS
 * audience, may assume the role (EKS user guide, "Assign IAM roles to Kubernetes service accounts").
 */
export function irsaTrustPolicy(
  oidcProviderArn: pulumi.Input<string>,
  oidcIssuer: pulumi.Input<string>,
  namespace: string,
  serviceAccount: string,
): pulumi.Output<string> {
  return pulumi.all([oidcProviderArn, oidcIssuer]).apply(([arn, issuer]) => JSON.stringify({
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { Federated: arn },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: {
          [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
          [`${issuer}:aud`]: "sts.amazonaws.com",
        },
      },
    }],
  }));
}
