/**
 * `vns3-sdk/testing`: run and test VNS3 automation offline. Simulated controllers speak the VNS3 API
 * over HTTPS on loopback with the behaviour of real ones (reboots, background keysets, peering,
 * learned routes, plugins) and inject faults on demand; cloud emulators speak the EC2 and Azure
 * Resource Manager wire protocols for the HA engine's route providers.
 */
export * from './simulator/index.js';
export * from './clouds/index.js';
export { startTcpProxy, type TcpProxy, type TcpProxyOptions } from './netcut.js';
export { startHaBed, type HaBed, type HaBedAgent, type HaBedOptions } from './ha-bed.js';
