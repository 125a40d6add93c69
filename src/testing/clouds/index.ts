export { startEc2Emulator, type Ec2Emulator, type Ec2EmulatorOptions } from './ec2.js';
export type {
  Ec2Instance,
  Ec2InstanceInput,
  Ec2InstanceStateName,
  Ec2Route,
  Ec2RouteTable,
  Ec2RouteTableInput,
  Ec2RouteTarget,
} from './ec2-model.js';
export {
  startAzureEmulator,
  type AzureEmulator,
  type AzureEmulatorOptions,
  type AzureOperation,
  type AzureRouteTableInput,
  type AzureVmInput,
  type StaticTokenCredential,
} from './azure.js';
export type { AzurePowerState, AzureRouteSpec, AzureRouteTableState } from './azure-model.js';
export type { CloudFaults, CloudRequestRecord } from './server.js';
