/**
 * The Amazon RDS certificate bundle PgBouncer verifies Aurora with (server_tls_sslmode verify-full).
 *
 * Where it comes from: AWS publishes it at https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
 * (RDS user guide, "Using SSL/TLS to encrypt a connection to a DB instance or cluster", section
 * "Certificate bundles for all AWS Regions"). The program downloads it from there and nowhere else:
 * the URL is fixed to AWS's truststore host over HTTPS (Node's TLS verification against its own
 * CA store, no override), and the body must be a PEM bundle of CA certificates issued by Amazon RDS
 * ({@link checkRdsCaBundle}) or the deploy stops with an error.
 *
 * When: at deploy time, by a dynamic resource (components/addons/rdsCaBundle.ts). Its `diff`
 * downloads the bundle on every preview and `up` and compares the SHA-256: when AWS adds a CA (it
 * publishes new roots in the bundle months before it moves server certificates to them, as with
 * rds-ca-rsa2048-g1 in 2024), the next `up` (or the automation service's scheduled one) updates
 * the ConfigMap. `pulumi refresh` reads it again too.
 */
import { createHash, X509Certificate } from "node:crypto";

/** The only host the bundle is fetched from. */
export const rdsTruststoreHost = "truststore.pki.rds.amazonaws.com";
/** AWS's bundle of every Region's RDS CAs (the file name is the ConfigMap key PgBouncer reads). */
export const rdsGlobalBundleUrl = `https://${rdsTruststoreHost}/global/global-bundle.pem`;

/**
 * The ConfigMap the bundle is deployed as, in every namespace whose pods verify Aurora with it
 * (PgBouncer's and the automation service's), and its key (the file name pods read).
 */
export const rdsCaBundleConfigMap = { name: "rds-ca-bundle", key: "global-bundle.pem" } as const;
/** Pod-template annotation with the bundle's SHA-256: a bundle AWS changed rolls the pods that mount it. */
export const rdsCaBundleSha256Annotation = "pyairtable.io/rds-ca-bundle-sha256";

/** What a checked bundle holds. */
export interface RdsCaBundleInfo {
  /** Number of CA certificates. */
  readonly certificates: number;
  /** SHA-256 (hex) of the PEM text as downloaded. */
  readonly sha256: string;
  /** Latest `notAfter` among the bundle's certificates (ISO 8601). */
  readonly latestNotAfter: string;
  /** Subjects' CN, sorted. */
  readonly commonNames: readonly string[];
}

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Checks a downloaded bundle: only PEM certificates, at least one, each a CA whose issuer is an
 * Amazon RDS CA of Amazon Web Services, and at least one valid at `now`. Throws with what is wrong.
 */
export function checkRdsCaBundle(pem: string, now: Date = new Date()): RdsCaBundleInfo {
  const blocks = pem.match(pemBlock) ?? [];
  if (blocks.length === 0) throw new Error(`RDS CA bundle from ${rdsGlobalBundleUrl}: no PEM certificate in the ${pem.length}-byte body`);
  const leftover = pem.replace(pemBlock, "").replace(/[\s]|^#.*$/gm, "");
  if (leftover !== "") throw new Error(`RDS CA bundle from ${rdsGlobalBundleUrl}: text outside the PEM certificates (${leftover.slice(0, 40)}...)`);
  const certs = blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new Error(`RDS CA bundle from ${rdsGlobalBundleUrl}: certificate ${i + 1} does not parse (${(e as Error).message})`);
    }
  });
  for (const [i, c] of certs.entries()) {
    if (!c.ca) throw new Error(`RDS CA bundle: certificate ${i + 1} (${c.subject.replace(/\n/g, ", ")}) is not a CA certificate`);
    // Node escapes the comma inside the RDN value: `O=Amazon Web Services\, Inc.`.
    if (!/^O=Amazon Web Services\\?, Inc\.$/m.test(c.issuer) || !/Amazon RDS/.test(c.issuer)) {
      throw new Error(`RDS CA bundle: certificate ${i + 1} is issued by ${c.issuer.replace(/\n/g, ", ")}, not an Amazon RDS CA of Amazon Web Services, Inc.`);
    }
  }
  const t = now.getTime();
  if (!certs.some((c) => Date.parse(c.validFrom) <= t && t < Date.parse(c.validTo))) {
    throw new Error(`RDS CA bundle: none of its ${certs.length} certificates is valid on ${now.toISOString()}`);
  }
  const latest = Math.max(...certs.map((c) => Date.parse(c.validTo)));
  return {
    certificates: certs.length,
    sha256: createHash("sha256").update(pem).digest("hex"),
    latestNotAfter: new Date(latest).toISOString(),
    commonNames: certs.map((c) => /CN=([^\n]+)/.exec(c.subject)?.[1] ?? c.subject).sort(),
  };
}

/** Downloads the bundle from AWS's truststore and checks it. `fetchText` is injectable for tests. */
export async function downloadRdsCaBundle(
  fetchText: (url: string) => Promise<string> = defaultFetchText,
  now: Date = new Date(),
): Promise<{ pem: string; info: RdsCaBundleInfo }> {
  const pem = await fetchText(rdsGlobalBundleUrl);
  return { pem, info: checkRdsCaBundle(pem, now) };
}

async function defaultFetchText(url: string): Promise<string> {
  if (new URL(url).host !== rdsTruststoreHost || !url.startsWith("https://")) throw new Error(`refusing to fetch the RDS CA bundle from ${url}: only https://${rdsTruststoreHost}/`);
  const res = await fetch(url, { redirect: "error", signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`RDS CA bundle: GET ${url} answered ${res.status} ${res.statusText}`);
  return res.text();
}
