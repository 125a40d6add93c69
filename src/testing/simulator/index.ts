export { startSimulator, simulatedOperations } from './simulator.js';
export { NOT_SIMULATED_NAME, NOT_SIMULATED_STATUS } from './not-simulated.js';
export type { Simulator, SimulatorOptions, SimLicenseOptions, ControllerRef } from './simulator.js';
export type { SimulatedController, SimClientOptions } from './handle.js';
export type { FaultSettings, RequestLogEntry } from './controller.js';
export type { ControllerIdentity } from './identity.js';
export { issueLicense, verifyLicense, type LicenseTerms } from './license.js';
export { FAST_TIMINGS, STANDARD_TIMINGS, REALISTIC_TIMINGS, resolveTimings, type SimTimings, type TimingProfile } from './timings.js';
export { SpecValidator, specValidator, type OperationSpec } from './validate.js';
