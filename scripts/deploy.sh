#!/usr/bin/env bash
# Deploy one stack for real: checks, preview with the policy pack, confirmation, `pulumi up`.
#
#   scripts/deploy.sh bootstrap [--yes]     once per account and region: the state bucket and KMS key (bootstrap/)
#   scripts/deploy.sh <stack> [--yes]       the stack, logged in to that bucket, secrets with that key
#
# Environment: AWS credentials as for the AWS CLI. BOOTSTRAP_BACKEND_URL: where the bootstrap
# project's own state lives (default file://<repo>/bootstrap/.state; keep it with the account's
# records). The state backend and secrets provider are the bootstrap stack's outputs
# (backendUrl, secretsProvider); nothing else has to be set.
# Stops with a clear message at the first failure; nothing is applied before the preview passed.
set -euo pipefail

usage() { echo "usage: scripts/deploy.sh <bootstrap | stack> [--yes]" >&2; exit 2; }
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
bootstrap_backend="${BOOTSTRAP_BACKEND_URL:-file://$PWD/bootstrap/.state}"

if [ "$stack" = bootstrap ]; then
  step "Bootstrap: state bucket and KMS key (bootstrap/, state in $bootstrap_backend)"
  command -v pulumi >/dev/null 2>&1 || fail "'pulumi' is not on PATH"
  case "$bootstrap_backend" in file://*) mkdir -p "${bootstrap_backend#file://}" ;; esac
  export PULUMI_BACKEND_URL="$bootstrap_backend" PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-}"
  npm ci --no-audit --no-fund >/dev/null || fail "npm ci failed"
  pulumi -C bootstrap stack select bootstrap 2>/dev/null || pulumi -C bootstrap stack init bootstrap --secrets-provider passphrase || fail "could not create the bootstrap stack"
  pulumi -C bootstrap preview --stack bootstrap --diff || fail "bootstrap preview failed: nothing was changed"
  if [ "$yes" != true ]; then
    [ -t 0 ] || fail "not a terminal: pass --yes to apply without a prompt"
    read -r -p "Create the state backend? Type 'bootstrap' to confirm: " answer
    [ "$answer" = bootstrap ] || fail "not confirmed: nothing was changed"
  fi
  pulumi -C bootstrap up --stack bootstrap --yes || fail "bootstrap up failed"
  echo "state backend: $(pulumi -C bootstrap stack output backendUrl --stack bootstrap)"
  echo "secrets provider: $(pulumi -C bootstrap stack output secretsProvider --stack bootstrap)"
  exit 0
fi

[ -f "Pulumi.$stack.yaml" ] || fail "no stack file Pulumi.$stack.yaml (stacks here: $(ls Pulumi.*.yaml | sed -E 's/Pulumi\.(.*)\.yaml/\1/' | grep -v '^yaml$' | tr '\n' ' '))"

step "Checking tools"
for tool in pulumi node npm aws; do
  command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not on PATH (install it first; see README 'Deploying for real')"
done
echo "pulumi $(pulumi version), node $(node --version), aws $(aws --version 2>&1 | cut -d' ' -f1)"

step "Checking AWS credentials"
identity=$(aws sts get-caller-identity --output text --query 'Arn' 2>&1) || fail "AWS credentials are not usable: $identity"
echo "deploying as $identity"

step "State backend (bootstrap outputs)"
backend_url=$(PULUMI_BACKEND_URL="$bootstrap_backend" pulumi -C bootstrap stack output backendUrl --stack bootstrap 2>/dev/null) \
  || fail "no bootstrap outputs in $bootstrap_backend: run 'scripts/deploy.sh bootstrap' first (README 'Deploying for real'), or set BOOTSTRAP_BACKEND_URL"
secrets_provider=$(PULUMI_BACKEND_URL="$bootstrap_backend" pulumi -C bootstrap stack output secretsProvider --stack bootstrap)
echo "backend $backend_url, secrets provider $secrets_provider"
# The automation service updates the stack in the same backend: its setting must name the same bucket.
configured=$(sed -nE 's/^ *backendUrl: *([^ #]+).*/\1/p' "Pulumi.$stack.yaml" | head -1)
[ "${configured%%\?*}" = "${backend_url%%\?*}" ] \
  || fail "autoscaling:automation.backendUrl in Pulumi.$stack.yaml is '$configured', the bootstrap bucket is '${backend_url%%\?*}': set it to '$backend_url'"
pulumi login "$backend_url" || fail "pulumi login $backend_url failed"

step "Installing dependencies (npm ci)"
npm ci --no-audit --no-fund >/dev/null || fail "npm ci failed"

step "Validating settings offline (npm run plan -- --stack $stack)"
npm run --silent plan -- --stack "$stack" || fail "the offline plan rejected Pulumi.$stack.yaml (see the message above)"

step "Selecting stack $stack"
if ! pulumi stack select "$stack" 2>/dev/null; then
  pulumi stack init "$stack" --secrets-provider "$secrets_provider" || fail "could not create stack $stack"
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
echo "automation image repository: $(pulumi stack output automationImageRepositoryUrl --stack "$stack")"
echo "automation deploy role: $(pulumi stack output automationDeployRoleArn --stack "$stack")"
