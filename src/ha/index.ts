/** `vns3-sdk/ha`: the HA failover engine, its configuration and its cloud route providers. */
export { createHaAgent, agentConfigProblems, type HaAgent, type HaAgentDeps, type HaClientFactory, type HaClientTarget } from './agent.js';
export type { CheckResult, FailoverRecord, HaAgentConfig, HaCounters, HaPlan, HaRole, HaStatus } from './context.js';
export {
  DEFAULT_HA_CONFIG_FILE,
  HA_CONFIG_KEYS,
  HA_ENV_PREFIX,
  haEnvName,
  loadHaConfig,
  parseHaConfig,
  redactHaConfig,
  Vns3HaConfigError,
  type HaCloud,
  type HaConfig,
  type HaConfigProblem,
  type HaLogLevel,
  type HaMode,
  type HaStandby,
  type LoadHaConfigOptions,
  type HaConfigSource,
} from './config.js';
export { HealthTracker, judge, type CheckVerdict, type PrimaryHealth, type WitnessName, type WitnessReport, type WitnessResult } from './monitor.js';
export { ASSUMED_PREFIX, assumedDescription, advertisedRoutes, assumeVns3Routes, withdrawVns3Routes, type Vns3RouteChange, type Vns3RouteSpec, type Vns3WriteOptions } from './failover.js';
export { createCloudProvider, cloudConfigProblems, type CloudProviderOptions } from './providers.js';
export { createOverlayRouteProvider } from './cloud/overlay.js';
export {
  CloudApiError,
  RouteChangeError,
  type CloudRoute,
  type CloudRouteProvider,
  type ControllerRef,
  type InstanceState,
  type RouteChange,
  type RouteFailure,
  type CloudApiErrorInit,
} from './cloud/provider.js';
export { createAwsRouteProvider, type AwsRouteProviderOptions } from './cloud/aws.js';
export { createAzureRouteProvider, type AzureRouteProviderOptions } from './cloud/azure.js';
export { main as runHaCli, type CliOptions as HaCliOptions, type CliStreams as HaCliStreams } from './cli.js';
