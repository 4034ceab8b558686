# syntax=docker/dockerfile:1.10
#
# The automation service's image: the Pulumi CLI, Node.js 24, this program, the policy pack, their
# production dependencies and the provider plugins the lockfile's SDKs require, so an update never
# downloads anything at run time. Built, scanned and pushed by .github/workflows/automation-image.yml;
# test/image.test.ts checks this file against package-lock.json (no container runtime in the tests).
#
# Pin the base by digest as well where your registry policy requires it (README "The automation
# service's image"): FROM pulumi/pulumi-nodejs-24:3.276.0@sha256:<digest of that tag>.

# ---- the provider plugins, at the lockfile's exact versions ----------------------------------------
FROM pulumi/pulumi-nodejs-24:3.276.0 AS plugins
ENV PULUMI_HOME=/opt/pulumi-home PULUMI_SKIP_UPDATE_CHECK=true
RUN pulumi plugin install resource aws 7.48.0 \
 && pulumi plugin install resource kubernetes 4.34.2 \
 && pulumi plugin install resource eks 4.3.0 \
 && pulumi plugin ls

# ---- production dependencies ---------------------------------------------------------------------
FROM pulumi/pulumi-nodejs-24:3.276.0 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY policies/package.json policies/package.json
# Production dependencies from the lockfile; then the TypeScript runtime the service and the Pulumi
# language host execute the .ts sources with (devDependencies in package.json, at the lockfile's versions).
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm install --no-save --no-audit --no-fund --omit=dev tsx@4.20.6 ts-node@10.9.2 typescript@5.9.3 \
 && npm cache clean --force

# ---- the image ------------------------------------------------------------------------------------
FROM pulumi/pulumi-nodejs-24:3.276.0
# The AWS CLI: the cluster's kubeconfig gets its EKS token from `aws eks get-token` (with the deploy
# role's profile, see automation/deployRole.ts).
RUN apt-get update \
 && apt-get install -y --no-install-recommends awscli ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && node --version | grep -q '^v24\.' \
 && pulumi version | grep -qx 'v3.276.0' \
 && groupadd --gid 10001 automation \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /work/home --shell /usr/sbin/nologin automation
# Plugins read-only in the image, found on PATH (ambient plugins): PULUMI_HOME itself is on the
# writable volume, where the CLI keeps its workspace files.
COPY --from=plugins /opt/pulumi-home/plugins /opt/pulumi/plugins
ENV PATH=/opt/pulumi/plugins/resource-aws-v7.48.0:/opt/pulumi/plugins/resource-kubernetes-v4.34.2:/opt/pulumi/plugins/resource-eks-v4.3.0:/pulumi/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    AUTOMATION_WORK_DIR=/work \
    PULUMI_HOME=/work/pulumi-home \
    HOME=/work/home \
    TMPDIR=/tmp \
    PULUMI_SKIP_UPDATE_CHECK=true \
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
WORKDIR /app
# npm workspaces hoist the policy pack's dependencies here and link node_modules/pyairtable-autoscaling-guardrails to policies/.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json Pulumi.yaml Pulumi.prod.yaml Pulumi.dev.yaml index.ts ./
COPY automation ./automation
COPY components ./components
COPY contracts ./contracts
COPY data ./data
COPY lib ./lib
COPY policies ./policies
COPY scripts/automation.ts ./scripts/automation.ts
# Everything above is root-owned and read-only for the service; it writes only below /work.
USER 10001:10001
VOLUME ["/work"]
EXPOSE 8080
ENTRYPOINT ["node", "--import", "tsx", "scripts/automation.ts"]
