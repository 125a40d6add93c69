// Types of scripts/api-coverage.mjs, for the tests that import it.
export interface CoverageArea {
  /** Our paths file: spec/paths/<area>.yaml. */
  area: string;
  /** The reference's tag. */
  tag: string;
  /** Operations the reference has in this area. */
  reference: number;
}
export interface CoverageRow extends CoverageArea {
  typed: number;
  simulated: number;
  macros: number;
  notSimulated: string[];
}
export const AREAS: readonly CoverageArea[];
/** `METHOD /template` → the reference's tag and the area we file it under instead, with the reason. */
export const RETAGGED: Readonly<Record<string, { tag: string; area: string; why: string }>>;
export const REFERENCE_OPERATIONS: number;
export const README_START: string;
export const README_END: string;
/** `METHOD /template` → area of every operation spec/vns3.yaml registers. */
export function typedOperations(root?: string): Map<string, string>;
export function macroOperations(typed: Map<string, string>, root?: string): Set<string>;
export function simulatedOperationKeys(root?: string): Promise<Set<string>>;
export function coverage(root?: string): Promise<CoverageRow[]>;
export function renderTable(rows: CoverageRow[]): string;
export function renderNotSimulated(rows: CoverageRow[]): string;
export function replaceTable(readme: string, table: string): string;
