#!/usr/bin/env bash
# Deploy one stack for real: checks, preview with the policy pack, confirmation, `pulumi up`.
#
#   scripts/deploy.sh <stack> [--yes]
#
# Environment: AWS credentials as for the AWS CLI; PULUMI_BACKEND_URL (optional, e.g. s3://bucket);
# PULUMI_SECRETS_PROVIDER (used when the stack is initialised, e.g. awskms://alias/pulumi-secrets).
# Stops with a clear message at the first failure; nothing is applied before the preview passed.
set -euo pipefail

usage() { echo "usage: scripts/deploy.sh <stack> [--yes]" >&2; exit 2; }
fail() { echo "deploy: $*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

[ $# -ge 1 ] || usage
stack="$1"; shift
yes=false
for arg in "$@"; do
  case "$arg" in
    --yes|-y) yes=true ;;
    *) usage ;;
  esac
done
[[ "$stack" =~ ^[A-Za-z0-9_.-]+$ ]] || fail "stack name '$stack' may only contain letters, digits, '.', '_' and '-'"

cd "$(dirname "$0")/.."
[ -f "Pulumi.$stack.yaml" ] || fail "no stack file Pulumi.$stack.yaml (stacks here: $(ls Pulumi.*.yaml | sed -E 's/Pulumi\.(.*)\.yaml/\1/' | grep -v '^yaml$' | tr '\n' ' '))"

step "Checking tools"
for tool in pulumi node npm aws; do
  command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not on PATH (install it first; see README 'Deploying for real')"
done
echo "pulumi $(pulumi version), node $(node --version), aws $(aws --version 2>&1 | cut -d' ' -f1)"

step "Checking AWS credentials"
identity=$(aws sts get-caller-identity --output text --query 'Arn' 2>&1) || fail "AWS credentials are not usable: $identity"
echo "deploying as $identity"

step "Installing dependencies (npm ci)"
npm ci --no-audit --no-fund >/dev/null || fail "npm ci failed"

step "Validating settings offline (npm run plan -- --stack $stack)"
npm run --silent plan -- --stack "$stack" || fail "the offline plan rejected Pulumi.$stack.yaml (see the message above)"

step "Selecting stack $stack"
if ! pulumi stack select "$stack" 2>/dev/null; then
  init_args=()
  [ -n "${PULUMI_SECRETS_PROVIDER:-}" ] && init_args+=(--secrets-provider "$PULUMI_SECRETS_PROVIDER")
  pulumi stack init "$stack" "${init_args[@]}" || fail "could not create stack $stack"
fi

step "Checking secrets"
for key in redisAuthToken slackWebhookUrl alertEmail; do
  pulumi config get "$key" --stack "$stack" >/dev/null 2>&1 \
    || fail "secret '$key' is not set: run 'pulumi config set --secret $key <value> --stack $stack'"
done

policy_args=()
if [ -f policies/PulumiPolicy.yaml ]; then
  policy_args+=(--policy-pack policies)
  [ -f "policies/config/$stack.json" ] && policy_args+=(--policy-pack-config "policies/config/$stack.json")
else
  fail "policies/PulumiPolicy.yaml is missing: refusing to deploy without the policy pack"
fi

step "Preview with the policy pack"
pulumi preview --stack "$stack" --diff "${policy_args[@]}" || fail "preview failed or a mandatory policy was violated: nothing was changed"

if [ "$yes" != true ]; then
  [ -t 0 ] || fail "not a terminal: pass --yes to apply without a prompt"
  read -r -p "Apply these changes to '$stack'? Type the stack name to confirm: " answer
  [ "$answer" = "$stack" ] || fail "not confirmed: nothing was changed"
fi

step "pulumi up"
pulumi up --stack "$stack" --yes "${policy_args[@]}" || fail "pulumi up failed: see the output above; the stack may be partially updated, run 'pulumi refresh --stack $stack' and re-run"
echo "deployed $stack"
