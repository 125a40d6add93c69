/**
 * Builds the cloud route provider an HA configuration asks for. The cloud
 * SDKs are imported only here and only for the cloud in use, so that an AWS
 * user need not install Azure's packages and the reverse.
 */
import { readFile } from 'node:fs/promises';
import type { Vns3EventHandler } from '../events.js';
import { createOverlayRouteProvider } from './cloud/overlay.js';
import type { CloudRouteProvider } from './cloud/types.js';
import { haEnvName, type HaConfig } from './config.js';
import { Vns3HaConfigError, type HaConfigProblem } from './errors.js';

/** What {@link createCloudProvider} needs beyond the configuration. */
export interface CloudProviderOptions {
  /** Azure: a `TokenCredential` (e.g. `new DefaultAzureCredential()`); default: loaded from `@azure/identity` if installed. */
  azureCredential?: unknown;
  /** AWS: static credentials; default: the SDK's chain (instance role on a controller). */
  awsCredentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  onEvent?: Vns3EventHandler | undefined;
  /** Where `AWS_REGION` / `AWS_DEFAULT_REGION` are read; default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
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

/**
 * Builds the route provider for `cfg.cloud`, loading only that cloud's SDK. Throws
 * `Vns3HaConfigError` when the cloud's settings are missing or Azure has no credential, `Vns3Error`
 * when the cloud's SDK is not installed.
 */
export async function createCloudProvider(cfg: HaConfig, options: CloudProviderOptions = {}): Promise<CloudRouteProvider> {
  const env = options.env ?? process.env;
  const problems = cloudConfigProblems(cfg, env);
  if (problems.length > 0) throw new Vns3HaConfigError(problems);
  if (cfg.cloud === 'overlay') return createOverlayRouteProvider();
  if (cfg.cloud === 'aws') {
    const { createAwsRouteProvider } = await import('./cloud/aws.js');
    return createAwsRouteProvider({
      region: cfg.awsRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '',
      vpcId: cfg.awsVpcId,
      routeTableTags: cfg.awsRouteTableTags,
      endpoint: cfg.awsEndpoint,
      credentials: options.awsCredentials,
      // The agent's own loop is the retry: a slow SDK backoff would only delay the next check.
      maxAttempts: 2,
    });
  }
  const { createAzureRouteProvider } = await import('./cloud/azure.js');
  const credential = options.azureCredential ?? (await defaultAzureCredential());
  return createAzureRouteProvider({
    subscriptionId: cfg.azureSubscriptionId ?? '',
    resourceGroup: cfg.azureResourceGroup ?? '',
    routeTableTags: cfg.azureRouteTableTags,
    endpoint: cfg.azureEndpoint,
    ca: cfg.azureCaFile ? await readFile(cfg.azureCaFile, 'utf8') : undefined,
    credential: credential as Parameters<typeof createAzureRouteProvider>[0]['credential'],
    maxRetries: 1,
  });
}
