/**
 * `vns3-sdk/topology`: a whole VNS3 topology from one file — load it (YAML or JSON, variables from
 * Terraform outputs, the environment and files), plan it Terraform-style, apply it through the
 * idempotent macros, read its status and draw it. The `vns3` command is built on these functions.
 *
 * @packageDocumentation
 * @module vns3-sdk/topology
 */
export { loadTopology, type LoadTopologyOptions } from './load.js';
export { readVarFile, ENV_VAR_PREFIX, type VariableSources, type VariableValue } from './variables.js';
export { TOPOLOGY_SCHEMA_PATH } from './schema.js';
export { Vns3TopologyError, Vns3TopologyNotReachedError, Vns3TopologyPlanError, formatProblem, type TopologyProblem } from './errors.js';
export { Secret, createRedactor } from './secret.js';
export type { Topology, TopologyController, TopologyConnection, TopologyContainer, TopologyPeering, TopologyHaPair, TopologyBridge } from './types.js';
export type { BridgeStatus, BridgeSideStatus } from './bridges.js';
export { connectTopology } from './observe.js';
export { planTopology, type TopologyPlan, type ControllerPlan, type PlannedChange, type PlannedWait, type PlanAction, type PlanTopologyOptions } from './plan.js';
export { formatPlan, planSummaryLine } from './format.js';
export { applyTopology, type ApplyTopologyOptions, type ApplyTopologyResult } from './apply.js';
export { readStatus, formatStatus, type TopologyStatus, type ControllerStatus, type LinkStatus } from './status.js';
export { renderSvg } from './svg.js';
