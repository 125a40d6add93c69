/**
 * vns3-sdk: a typed client for the VNS3 controller API and idempotent macros that configure whole
 * meshes of controllers. The simulator lives in `vns3-sdk/testing`, the HA engine in `vns3-sdk/ha`.
 */

// The low-level client
export {
  createClient,
  isAbortError,
  isOutcomeUnknown,
  isTlsFailure,
  Vns3Error,
  Vns3ApiError,
  Vns3ConnectionError,
  Vns3TimeoutError,
  Vns3ValidationError,
  type Vns3Client,
  type Vns3ClientOptions,
  type CallOptions,
  type RequestEvent,
  type RetryOptions,
  type Middleware,
  type ResponseOf,
} from './client/index.js';
export type { paths as Vns3Paths, components as Vns3Components } from './generated/vns3.js';

// Events
export { type Vns3Event, type Vns3EventHandler } from './events.js';

// Runs across a mesh, waits
export { runBulk, bulkOk, assertBulkOk, DEFAULT_BULK_CONCURRENCY, type BulkResult, type BulkSuccess, type BulkFailure, type BulkOptions, type BulkContext } from './macros/bulk.js';
export { Vns3BulkError, Vns3WaitTimeoutError, type Vns3WaitTimeoutInit } from './macros/errors.js';
export { pollUntil, sleep, type PollSpec, type WaitOptions } from './macros/wait.js';
export type { MacroOptions, WaitingMacroOptions, BulkMacroOptions } from './macros/options.js';

// connect, state
export { connectControllers, checkConnectivity, type ControllerSpec, type CommonClientOptions, type ConnectivityResult } from './macros/connect.js';
export { StateCache, readControllerState, fetchStates, type ControllerState, type StateOptions } from './macros/state.js';

// config: licensing, keysets, waits
export {
  setupController,
  waitForApi,
  waitForKeyset,
  licenseControllers,
  acceptLicenses,
  fetchKeysetFromSource,
  fetchKeysets,
  readKeyset,
  Vns3StepError,
  Vns3KeysetFetchError,
  KEYSET_IN_PROGRESS,
  KEYSET_EXISTS,
  type SetupControllerParams,
  type SetupControllerOptions,
  type SetupControllerResult,
  type WaitForApiOptions,
  type WaitForApiResult,
  type FetchKeysetParams,
  type FetchKeysetOptions,
  type KeysetFetchResult,
  type LicenseInput,
  type LicenseParametersInput,
  type ControllerStepResult,
  type StepOutcome,
  type RequestOptions,
  type AcceptOptions,
  type RebootWaitOptions,
  type KeysetWaitOptions,
} from './macros/config.js';

// admin
export { rollApiPassword, rollUiCredentials, disableUis, type AdminOptions, type PasswordRollResult, type UiUpdateResult } from './macros/admin.js';

// peering, routing, firewall
export {
  setPeerIds,
  peerMesh,
  type SetPeerIdsOptions,
  type PeerIdResult,
  type PeerAddressKind,
  type PeerMeshOptions,
  type PeerMeshChanges,
} from './macros/peering.js';
export { waitForMesh, Vns3MeshNotReadyError, type WaitForMeshOptions, type MeshLink, type MeshSnapshot } from './macros/mesh-wait.js';
export {
  createLocalGatewayRoute,
  createPeerMeshLocalGatewayRoutes,
  createRouteAdvertisements,
  ensureRouteTable,
  type RouteSpec,
  type ExistingRoute,
  type RoutePlan,
  type EnsureRouteTableOptions,
  type LocalGatewayRouteSpec,
  type MeshSubnetsSpec,
  type MeshRoutingOptions,
} from './macros/routing.js';
export { ensureFirewallPolicy, planFirewall, normalizeRule, type FirewallPlan, type FirewallEdit, type EnsureFirewallPolicyOptions } from './macros/firewall.js';
export { substitute, controllerVariables, type TemplateVariables, type TemplateContext, type ControllerVariablesOptions } from './macros/template.js';

// plugins and the HA plugin deployment
export { ensureContainerSystem, type ContainerSystemStatus } from './macros/plugins.js';
export { ensureImage, listImages, findImage, Vns3ImageImportError, type ImageSpec, type ImageInfo, type ImageAction, type EnsuredImage, type EnsureImageOptions } from './macros/images.js';
export {
  ensureContainer,
  containerLogs,
  listContainers,
  encodeEnvironment,
  Vns3ContainerConflictError,
  type ContainerSpec,
  type ContainerInfo,
  type ContainerAction,
  type EnsuredContainer,
  type EnsureContainerOptions,
  type ContainerLogsOptions,
} from './macros/containers.js';
export { deployHaPlugin, DEFAULT_HA_CONTAINER_NAME, type DeployHaPluginInput, type HaDeployResult, type HaControllerDeployment, type HaRoute } from './macros/ha.js';

