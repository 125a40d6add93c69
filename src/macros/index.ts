/**
 * `vns3-sdk/macros`: the whole macros layer — every macro with all the option, result and plan types
 * its signature names, and the helpers behind them (the fan-out, the poller's `pollUntil`, the
 * read-then-write helper, firewall planning, template substitution). The root entry `vns3-sdk`
 * re-exports the names most programs need; import from here when you need to name the rest.
 *
 * @packageDocumentation
 * @module vns3-sdk/macros
 */
export { runBulk, assertBulkOk, bulkOk, DEFAULT_BULK_CONCURRENCY, type BulkOptions } from './core/bulk.js';
export type { BulkResult, BulkSuccess, BulkFailure, BulkContext, RetryBudget, MacroOptions, WaitingMacroOptions, BulkMacroOptions, RequestOptions, StepOutcome, ControllerStepResult } from './core/types.js';
export {
  Vns3BulkError,
  Vns3WaitTimeoutError,
  Vns3MeshNotReadyError,
  Vns3StepError,
  Vns3KeysetFetchError,
  Vns3ImageImportError,
  Vns3ContainerConflictError,
  type Vns3WaitTimeoutInit,
  type MeshLink,
  type MeshSnapshot,
} from './core/errors.js';
export { pollUntil, type PollSpec, type WaitOptions } from './core/poll-until.js';
export { waitForApi, type WaitForApiOptions, type WaitForApiResult, type RebootWaitOptions } from './core/wait-for-api.js';
export { readThenWrite, type ReadThenWrite, type ReadThenWriteSteps, type Reading } from './core/read-then-write.js';
export { DEFAULT_RETRY_BUDGET, type AttemptContext } from './core/reconcile.js';
export { connectControllers, checkConnectivity, type ControllerSpec, type ConnectControllersOptions, type CheckConnectivityOptions, type CheckConnectivityResult } from './core/connect.js';
export { StateCache, readControllerState, fetchStates, type ControllerState, type StateOptions, type FetchStatesOptions } from './core/state.js';
export { substitute, controllerVariables, stateVariables, type TemplateVariables, type TemplateContext, type ControllerVariablesOptions } from './core/template.js';

export {
  licenseControllers,
  acceptLicenses,
  type LicenseInput,
  type LicenseParametersInput,
  type LicenseControllersOptions,
} from './license.js';
export {
  waitForKeyset,
  fetchKeysetFromSource,
  fetchKeysets,
  readKeyset,
  KEYSET_IN_PROGRESS,
  KEYSET_EXISTS,
  type Keyset,
  type WaitForKeysetOptions,
  type FetchKeysetParams,
  type FetchKeysetOptions,
  type FetchKeysetResult,
} from './keyset.js';
export { setupController, type SetupControllerParams, type SetupControllerOptions, type SetupControllerResult } from './setup.js';
export { rollApiPassword, rollUiCredentials, disableUis, type AdminOptions, type PasswordRollResult, type UiUpdateResult } from './system.js';
export {
  setPeerIds,
  peerMesh,
  waitForMesh,
  peeringEntries,
  type SetPeerIdsOptions,
  type SetPeerIdsResult,
  type PeerAddressKind,
  type PeerMeshOptions,
  type PeerMeshResult,
  type WaitForMeshOptions,
} from './peering.js';
export {
  ensureRouteTable,
  createLocalGatewayRoute,
  createPeerMeshLocalGatewayRoutes,
  createRouteAdvertisements,
  type RouteSpec,
  type ExistingRoute,
  type RoutePlan,
  type EnsureRouteTableOptions,
  type LocalGatewayRouteSpec,
  type MeshSubnetsSpec,
  type MeshRoutingOptions,
} from './routes.js';
export { ensureFirewallPolicy, planFirewall, normalizeRule, type FirewallPlan, type FirewallEdit, type EnsureFirewallPolicyOptions } from './firewall.js';
export { planFirewallV2, type FirewallApi, type FirewallRuleSpec, type FirewallUpdate, type FirewallRuleChanges } from './firewall.js';
export { ensureImage, listImages, findImage, type ImageSpec, type ImageInfo, type ImageAction, type EnsureImageResult, type EnsureImageOptions } from './images.js';
export {
  ensureContainerSystem,
  ensureContainer,
  containerLogs,
  listContainers,
  encodeEnvironment,
  type EnsureContainerSystemResult,
  type ContainerSpec,
  type ContainerInfo,
  type ContainerAction,
  type EnsureContainerResult,
  type EnsureContainerOptions,
  type ContainerLogsOptions,
} from './containers.js';
export { deployHaPlugin, DEFAULT_HA_CONTAINER_NAME, HA_PLUGIN_IMAGE_NAME, type DeployHaPluginInput, type DeployHaPluginResult, type HaControllerDeployment, type HaPluginObserver, type HaRoute } from './ha-plugin.js';
export { ensureApiToken, rollApiTokens, ApiTokenGrant, type ApiTokenSpec, type ApiTokenOptions } from './tokens.js';
export {
  snapshotControllers,
  restoreSnapshot,
  type SnapshotControllersOptions,
  type SnapshotFileResult,
  type RestoreTarget,
  type RestoreSnapshotOptions,
  type RestoreResult,
} from './snapshots.js';
export { segmentOverlayClients, groupSizes, type SegmentOverlayClientsOptions, type OverlaySegmentation } from './overlay.js';
export {
  ensureIpsecEndpoint,
  type IpsecEndpointSpec,
  type IpsecSubnetPair,
  type EnsureIpsecEndpointOptions,
  type IpsecEndpointPlan,
  type IpsecEndpointResult,
} from './ipsec.js';
export {
  bridgeControllers,
  waitForIpsecEndpoints,
  allocateVti,
  type BridgeSpec,
  type BridgeSide,
  type BridgeControllersOptions,
  type BridgeSideResult,
  type WaitForIpsecOptions,
} from './bridge.js';
