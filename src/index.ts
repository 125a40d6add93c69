/**
 * vns3-sdk: a typed client for the VNS3 controller API and idempotent macros that configure whole
 * meshes of controllers. The simulator lives in `vns3-sdk/testing`, the HA engine in `vns3-sdk/ha`.
 *
 * @packageDocumentation
 * @module vns3-sdk
 */
import type { components, paths } from './generated/vns3.js';

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
/**
 * Every path of the VNS3 6.0 API with its methods, parameters and bodies, generated from
 * spec/vns3.yaml by openapi-typescript: what `createClient`'s typed verbs are checked against. Left
 * unexpanded in this reference (it is the whole API); read spec/vns3.yaml or the VNS3 API docs.
 */
export type Vns3Paths = paths;
/** The API's schemas (request and response bodies), generated from spec/vns3.yaml like {@link Vns3Paths}. */
export type Vns3Components = components;

// Events: every macro (and the HA engine) reports progress through an optional `onEvent`
// callback or pino-compatible logger instead of printing; events never carry secrets.
// `DEBUG=vns3` prints them all to stderr; `createEventPrinter` is a ready-made progress printer.
export { type Vns3Event, type Vns3EventHandler, type Vns3Logger } from './events.js';
export { createEventPrinter, type EventPrinter, type EventPrinterOptions } from './logger.js';

// Runs across a mesh and waits. `runBulk` is the fan-out every mesh macro uses (every controller
// reported, never a throw half-way); `assertBulkOk` turns a partial failure into Vns3BulkError;
// `pollUntil` is the one poller's general-purpose waiter.
export { runBulk, assertBulkOk, pollUntil, type BulkResult, type RetryBudget, type PollSpec, type WaitOptions } from './macros/index.js';

// The macros' errors, each raised where its doc comment says (bad input is the client's
// Vns3ValidationError, before any request).
export {
  Vns3BulkError,
  Vns3WaitTimeoutError,
  Vns3MeshNotReadyError,
  Vns3StepError,
  Vns3KeysetFetchError,
  Vns3ImageImportError,
  Vns3ContainerConflictError,
} from './macros/index.js';

// Connecting to many controllers and reading what they are; a `StateCache` shared by the macros
// of one run saves reads.
export {
  connectControllers,
  checkConnectivity,
  fetchStates,
  StateCache,
  type ControllerSpec,
  type ConnectControllersOptions,
  type ControllerState,
} from './macros/index.js';

// Setting controllers up: license, keyset, names and peer id (`setupController` on the root,
// `fetchKeysets` on the others), and riding out the reboots this causes.
export {
  setupController,
  licenseControllers,
  acceptLicenses,
  fetchKeysetFromSource,
  fetchKeysets,
  waitForKeyset,
  waitForApi,
  type SetupControllerParams,
  type SetupControllerOptions,
  type SetupControllerResult,
  type LicenseInput,
  type LicenseParametersInput,
  type FetchKeysetOptions,
  type FetchKeysetResult,
} from './macros/index.js';

// Credentials and the web UI across many controllers.
export { rollApiPassword, rollUiCredentials, disableUis, type AdminOptions } from './macros/index.js';

// Peering, routes and the firewall: each reads first and writes only the difference.
export {
  setPeerIds,
  peerMesh,
  waitForMesh,
  ensureRouteTable,
  createLocalGatewayRoute,
  createPeerMeshLocalGatewayRoutes,
  createRouteAdvertisements,
  ensureFirewallPolicy,
  type SetPeerIdsOptions,
  type PeerMeshOptions,
  type PeerMeshResult,
  type RouteSpec,
  type RoutePlan,
  type EnsureRouteTableOptions,
  type FirewallPlan,
  type EnsureFirewallPolicyOptions,
} from './macros/index.js';

// Plugins (the container system, images, containers) and the HA plugin deployment.
export {
  ensureContainerSystem,
  ensureImage,
  ensureContainer,
  containerLogs,
  deployHaPlugin,
  type ImageSpec,
  type ContainerSpec,
  type DeployHaPluginInput,
  type DeployHaPluginResult,
} from './macros/index.js';

