/**
 * `vns3-sdk/testing`: run and test VNS3 automation offline. Simulated controllers speak the VNS3 API
 * over HTTPS on loopback with the behaviour of real ones (reboots, background keysets, peering,
 * learned routes, plugins) and inject faults on demand; test beds give pinned clients and licensed
 * meshes; cloud emulators speak the EC2 and Azure Resource Manager wire protocols for the HA
 * engine's route providers; a TCP proxy cuts one network path on demand.
 *
 * @packageDocumentation
 * @module vns3-sdk/testing
 */
export {
  startSimulator,
  simulatedOperations,
  FAST_TIMINGS,
  STANDARD_TIMINGS,
  REALISTIC_TIMINGS,
  resolveTimings,
  type Simulator,
  type SimulatorOptions,
  type SimLicenseOptions,
  type SimulatedController,
  type SimClientOptions,
  type ControllerRef,
  type FaultSettings,
  type RequestLogEntry,
  type ControllerIdentity,
  type SimTimings,
  type TimingProfile,
} from './simulator/index.js';
export { startTestMesh, licenseMesh, type TestMesh, type TestMeshOptions, type LicenseMeshOptions } from './mesh.js';
export {
  startEc2Emulator,
  startAzureEmulator,
  type Ec2Emulator,
  type Ec2EmulatorOptions,
  type Ec2Instance,
  type Ec2InstanceInput,
  type Ec2InstanceStateName,
  type Ec2Route,
  type Ec2RouteTable,
  type Ec2RouteTableInput,
  type Ec2RouteTarget,
  type AzureEmulator,
  type AzureEmulatorOptions,
  type AzureOperation,
  type AzurePowerState,
  type AzureRouteSpec,
  type AzureRouteTableState,
  type AzureRouteTableInput,
  type AzureVmInput,
  type StaticTokenCredential,
  type CloudFaults,
  type CloudRequestRecord,
} from './clouds/index.js';
export { startTcpProxy, type TcpProxy, type TcpProxyOptions } from './netcut.js';
export { startHaBed, type HaBed, type HaBedAgent, type HaBedOptions } from './ha-bed.js';
