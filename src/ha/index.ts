/**
 * `vns3-sdk/ha`: the HA failover engine, its configuration and its cloud route providers. Embed
 * the engine with `createHaAgent(await loadHaConfig())`; the `vns3-ha` command runs exactly that
 * in the plugin container. To test an HA setup offline, `startHaBed` of `vns3-sdk/testing` runs
 * simulated controllers and cloud emulators for it.
 *
 * @packageDocumentation
 * @module vns3-sdk/ha
 */
export { createHaAgent, type HaAgent, type HaAgentConfig, type HaAgentDeps } from './agent.js';
export type { HaClientFactory, HaClientTarget } from './clients.js';
export type { CheckResult, FailoverRecord, HaCounters, HaPlan, HaRole, HaStatus } from './status.js';
export type { CheckVerdict, PrimaryHealth, WitnessName, WitnessReport, WitnessResult } from './monitor.js';
export {
  DEFAULT_HA_CONFIG_FILE,
  HA_CONFIG_KEYS,
  HA_ENV_PREFIX,
  parseHaConfig,
  redactHaConfig,
  type HaCloud,
  type HaConfig,
  type HaConfigKey,
  type HaConfigSource,
  type HaLogLevel,
  type HaMode,
  type HaStandby,
} from './config.js';
export type { HaObserver } from './config-observers.js';
export { loadHaConfig, type LoadHaConfigOptions } from './config-file.js';
export { ASSUMED_PREFIX, type Vns3RouteChange, type Vns3RouteSpec } from './failover.js';
export { createCloudProvider, type CloudProviderOptions } from './providers.js';
export { createHaMetrics, HA_OPTIONAL_PACKAGES, type HaMetrics, type HaMetricsSource } from './metrics.js';
export { startHaEndpoint, type HaEndpoint, type HaEndpointAgent, type HaEndpointOptions, type HaHealthReport } from './endpoint.js';
export { createHaLogger, type HaLogger, type HaLoggerOptions } from './log.js';
export { createOverlayRouteProvider } from './cloud/overlay.js';
export { createAwsRouteProvider, type AwsRouteProviderOptions, type AwsCredentials, type Ec2ClientLike } from './cloud/aws.js';
export { createAzureRouteProvider, type AzureRouteProviderOptions, type AzureTokenCredential } from './cloud/azure.js';
export type { CloudCallOptions, CloudRoute, CloudRouteProvider, ControllerRef, InstanceState, RouteAddress, RouteChange } from './cloud/types.js';
export { CloudApiError, RouteChangeError, Vns3HaConfigError, type CloudApiErrorInit, type HaConfigProblem, type RouteFailure } from './errors.js';
