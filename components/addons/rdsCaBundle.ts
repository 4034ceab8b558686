/**
 * The Amazon RDS CA bundle as a deploy-time resource: downloaded from AWS's truststore by a Pulumi
 * dynamic provider (lib/aws/rdsCaBundle.ts says from where and how it is checked). Every preview
 * and `up` downloads it again in `diff`; a changed bundle (AWS added or retired a CA) is an update,
 * so the ConfigMap built from `pem` follows without anyone running curl.
 */
import * as pulumi from "@pulumi/pulumi";
import { downloadRdsCaBundle, rdsGlobalBundleUrl } from "../../lib/aws/rdsCaBundle";

interface BundleInputs {
  url: string;
}
interface BundleOutputs extends BundleInputs {
  pem: string;
  sha256: string;
  certificates: number;
  latestNotAfter: string;
}

async function fetchOuts(url: string): Promise<BundleOutputs> {
  const { pem, info } = await downloadRdsCaBundle();
  return { url, pem, sha256: info.sha256, certificates: info.certificates, latestNotAfter: info.latestNotAfter };
}

/** The provider: create, read and update download; diff downloads and compares the digest. */
export const rdsCaBundleProvider: pulumi.dynamic.ResourceProvider<BundleInputs, BundleOutputs> = {
  async create(inputs) {
    const outs = await fetchOuts(inputs.url);
    return { id: `rds-ca-bundle-${outs.sha256.slice(0, 16)}`, outs };
  },
  async diff(_id, olds, news) {
    if (olds.url !== news.url) return { changes: true, replaces: [] };
    const current = await fetchOuts(news.url);
    return { changes: current.sha256 !== olds.sha256 };
  },
  async update(_id, _olds, news) {
    return { outs: await fetchOuts(news.url) };
  },
  async read(id, props) {
    return { id, props: await fetchOuts(props?.url ?? rdsGlobalBundleUrl) };
  },
};

/** The RDS CA bundle, downloaded at deploy time. */
export class RdsCaBundle extends pulumi.dynamic.Resource {
  /** The PEM text. */
  public declare readonly pem: pulumi.Output<string>;
  /** SHA-256 (hex) of `pem`. */
  public declare readonly sha256: pulumi.Output<string>;
  public declare readonly certificates: pulumi.Output<number>;
  public declare readonly latestNotAfter: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.CustomResourceOptions) {
    super(rdsCaBundleProvider, name, { url: rdsGlobalBundleUrl, pem: undefined, sha256: undefined, certificates: undefined, latestNotAfter: undefined }, opts, "pyairtable", "RdsCaBundle");
  }
}
