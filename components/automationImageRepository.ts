import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AutomationImageRepositoryArgs {
  /** Repository name (default `pyairtable-automation-<environment>`). */
  name: string;
  /** Untagged images are expired after this many days (default 14). */
  untaggedExpiryDays?: number;
  /** Tagged images kept, newest first (default 50). */
  keepImages?: number;
}

/**
 * The ECR repository CI pushes the automation service's image to (.github/workflows/automation-image.yml):
 * immutable tags (a tag names one image forever), scan on push, encrypted with a KMS key of its own,
 * a lifecycle policy that expires untagged layers and keeps the newest images.
 */
export class AutomationImageRepository extends pulumi.ComponentResource {
  public readonly repositoryUrl: pulumi.Output<string>;
  public readonly repositoryArn: pulumi.Output<string>;

  constructor(name: string, args: AutomationImageRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pyairtable:automation:AutomationImageRepository", name, {}, opts);
    const untaggedExpiryDays = args.untaggedExpiryDays ?? 14;
    const keepImages = args.keepImages ?? 50;
    if (!/^[a-z0-9]+([._-][a-z0-9]+)*$/.test(args.name)) throw new Error(`name = ${JSON.stringify(args.name)}: must be an ECR repository name (lowercase letters, digits, '.', '_', '-')`);
    if (!Number.isInteger(untaggedExpiryDays) || untaggedExpiryDays < 1) throw new Error(`untaggedExpiryDays = ${untaggedExpiryDays}: must be a whole number of days, at least 1`);
    if (!Number.isInteger(keepImages) || keepImages < 1) throw new Error(`keepImages = ${keepImages}: must be a whole number, at least 1`);
    const parent = { parent: this };

    const key = new aws.kms.Key(`${name}-key`, {
      description: `Encrypts the images of ECR repository ${args.name}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    }, parent);
    const repository = new aws.ecr.Repository(`${name}-repo`, {
      name: args.name,
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: key.arn }],
      forceDelete: false,
    }, parent);
    new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, {
      repository: repository.name,
      policy: JSON.stringify({
        rules: [
          { rulePriority: 1, description: `expire untagged images after ${untaggedExpiryDays} days`, selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: untaggedExpiryDays }, action: { type: "expire" } },
          { rulePriority: 2, description: `keep the newest ${keepImages} images`, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keepImages }, action: { type: "expire" } },
        ],
      }),
    }, parent);
    this.repositoryUrl = repository.repositoryUrl;
    this.repositoryArn = repository.arn;
    this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn });
  }
}
