/**
 * Builds the cloud route provider an HA configuration asks for. The cloud
 * SDKs are imported only here and only for the cloud in use, so that an AWS
 * user need not install Azure's packages and the reverse.
 */
import { readFile } from 'node:fs/promises';
import type { Vns3EventHandler } from '../events.js';
import type { CloudRouteProvider } from './cloud/provider.js';
import { createOverlayRouteProvider } from './cloud/overlay.js';
import { haEnvName, Vns3HaConfigError, type HaConfig, type HaConfigProblem } from './config.js';

export interface CloudProviderOptions {
  /** Azure: a `TokenCredential` (e.g. `new DefaultAzureCredential()`); default: loaded from `@azure/identity` if installed. */
  azureCredential?: unknown;
  /** AWS: static credentials; default: the SDK's chain (instance role on a controller). */
  awsCredentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  onEvent?: Vns3EventHandler;
  env?: NodeJS.ProcessEnv;
}

function problem(key: string, reason: string): HaConfigProblem {
  return { key, envName: haEnvName(key), reason };
}

/** What a cloud needs before any call; used by createHaAgent to fail at once with every problem listed. */
export function cloudConfigProblems(cfg: HaConfig, env: NodeJS.ProcessEnv = process.env): HaConfigProblem[] {
  const out: HaConfigProblem[] = [];
  if (cfg.cloud === 'aws' && !cfg.awsRegion && !env.AWS_REGION && !env.AWS_DEFAULT_REGION) {
    out.push(problem('aws_region', 'is required with cloud: aws (or set AWS_REGION)'));
  }
  if (cfg.cloud === 'azure') {
    if (!cfg.azureSubscriptionId) out.push(problem('azure_subscription_id', 'is required with cloud: azure'));
    if (!cfg.azureResourceGroup) out.push(problem('azure_resource_group', 'is required with cloud: azure'));
  }
  return out;
}

async function defaultAzureCredential(): Promise<unknown> {
  // A variable specifier keeps TypeScript from requiring the optional package at build time.
  const name = '@azure/identity';
  try {
    const mod = (await import(name)) as { DefaultAzureCredential: new () => unknown };
    return new mod.DefaultAzureCredential();
  } catch {
    throw new Vns3HaConfigError([
      problem('cloud', 'azure needs a credential: npm install @azure/identity (managed identity), or pass azureCredential'),
    ]);
  }
}

export async function createCloudProvider(cfg: HaConfig, opts: CloudProviderOptions = {}): Promise<CloudRouteProvider> {
  const env = opts.env ?? process.env;
  const problems = cloudConfigProblems(cfg, env);
  if (problems.length > 0) throw new Vns3HaConfigError(problems);
  if (cfg.cloud === 'overlay') return createOverlayRouteProvider();
  if (cfg.cloud === 'aws') {
    const { createAwsRouteProvider } = await import('./cloud/aws.js');
    return createAwsRouteProvider({
      region: cfg.awsRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '',
      ...(cfg.awsVpcId ? { vpcId: cfg.awsVpcId } : {}),
      ...(Object.keys(cfg.awsRouteTableTags).length ? { routeTableTags: cfg.awsRouteTableTags } : {}),
      ...(cfg.awsEndpoint ? { endpoint: cfg.awsEndpoint } : {}),
      ...(opts.awsCredentials ? { credentials: opts.awsCredentials } : {}),
      // The agent's own loop is the retry: a slow SDK backoff would only delay the next check.
      maxAttempts: 2,
    });
  }
  const { createAzureRouteProvider } = await import('./cloud/azure.js');
  const credential = opts.azureCredential ?? (await defaultAzureCredential());
  return createAzureRouteProvider({
    subscriptionId: cfg.azureSubscriptionId ?? '',
    resourceGroup: cfg.azureResourceGroup ?? '',
    ...(Object.keys(cfg.azureRouteTableTags).length ? { routeTableTags: cfg.azureRouteTableTags } : {}),
    ...(cfg.azureEndpoint ? { endpoint: cfg.azureEndpoint } : {}),
    ...(cfg.azureCaFile ? { ca: await readFile(cfg.azureCaFile, 'utf8') } : {}),
    credential: credential as Parameters<typeof createAzureRouteProvider>[0]['credential'],
    maxRetries: 1,
  });
}
