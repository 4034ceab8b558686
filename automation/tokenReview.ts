/**
 * Who is calling: the Kubernetes TokenReview API (authentication.k8s.io/v1), asked over HTTPS with
 * the pod's own service-account token and the cluster CA (the standard in-cluster files under
 * /var/run/secrets/kubernetes.io/serviceaccount; the token is re-read on every call because the
 * kubelet rotates it). The service's account needs `create` on tokenreviews (system:auth-delegator).
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";

export interface TokenIdentity {
  readonly authenticated: boolean;
  /** `system:serviceaccount:<namespace>:<name>` for a service account. */
  readonly username?: string;
  readonly audiences?: readonly string[];
  /** Why it is not authenticated (TokenReview's status.error, or the request's failure). */
  readonly error?: string;
}

export interface TokenReviewer {
  review(token: string, audiences: readonly string[]): Promise<TokenIdentity>;
}

export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubernetesTokenReviewerOptions {
  /** `https://host:port` of the API server. */
  readonly apiServer: string;
  /** File with the pod's own bearer token. */
  readonly tokenFile: string;
  /** PEM of the cluster CA. */
  readonly ca: string | Buffer;
  readonly timeoutMs?: number;
}

export class KubernetesTokenReviewer implements TokenReviewer {
  constructor(private readonly opts: KubernetesTokenReviewerOptions) {}

  /** From the in-cluster environment (KUBERNETES_SERVICE_HOST/PORT and the mounted service-account files), or undefined outside a cluster. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env, dir = env.AUTOMATION_SERVICE_ACCOUNT_DIR ?? serviceAccountDir): KubernetesTokenReviewer | undefined {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? "443";
    const tokenFile = path.join(dir, "token");
    const caFile = path.join(dir, "ca.crt");
    if (!host || !fs.existsSync(tokenFile) || !fs.existsSync(caFile)) return undefined;
    const hostPart = host.includes(":") ? `[${host}]` : host;
    return new KubernetesTokenReviewer({ apiServer: `https://${hostPart}:${port}`, tokenFile, ca: fs.readFileSync(caFile) });
  }

  review(token: string, audiences: readonly string[]): Promise<TokenIdentity> {
    const body = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences } });
    const own = fs.readFileSync(this.opts.tokenFile, "utf8").trim();
    const url = new URL("/apis/authentication.k8s.io/v1/tokenreviews", this.opts.apiServer);
    return new Promise((resolve) => {
      const req = https.request(url, {
        method: "POST",
        ca: this.opts.ca,
        headers: { authorization: `Bearer ${own}`, "content-type": "application/json", accept: "application/json", "content-length": Buffer.byteLength(body) },
        timeout: this.opts.timeoutMs ?? 5000,
      }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          if (text.length < 1_000_000) text += d;
        });
        res.on("end", () => {
          if (res.statusCode !== 201 && res.statusCode !== 200) {
            resolve({ authenticated: false, error: `TokenReview answered ${res.statusCode}: ${text.slice(0, 300)}` });
            return;
          }
          try {
            const review = JSON.parse(text) as { kind?: string; status?: { authenticated?: boolean; user?: { username?: string }; audiences?: string[]; error?: string } };
            if (review.kind !== "TokenReview") throw new Error(`kind ${JSON.stringify(review.kind)}`);
            const s = review.status ?? {};
            resolve({ authenticated: s.authenticated === true, username: s.user?.username, audiences: s.audiences, error: s.error });
          } catch (e) {
            resolve({ authenticated: false, error: `TokenReview answer not understood: ${(e as Error).message}` });
          }
        });
      });
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.opts.timeoutMs ?? 5000} ms`)));
      req.on("error", (e) => resolve({ authenticated: false, error: `TokenReview failed: ${e.message}` }));
      req.end(body);
    });
  }
}
