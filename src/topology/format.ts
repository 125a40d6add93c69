/**
 * Plans as text, the way Terraform prints them: one block per controller with `+ ~ -` lines, the
 * waits, the problems, then one summary line. Pure functions over the plan (the CLI adds colour).
 */
import type { ControllerPlan, TopologyPlan } from './plan.js';

/** The summary line: `Plan: 3 to add, 1 to change, 0 to remove; 2 waits.` or `No changes. …`. */
export function planSummaryLine(plan: TopologyPlan): string {
  const { add, change, remove, waits, problems } = plan.summary;
  const trouble = problems > 0 ? ` ${problems} problem(s) must be solved first.` : '';
  if (!plan.changed) return `No changes. The controllers match the topology.${trouble}`;
  return `Plan: ${add} to add, ${change} to change, ${remove} to remove; ${waits} wait(s).${trouble}`;
}

function controllerBlock(c: ControllerPlan): string[] {
  if (c.changes.length === 0 && c.problems.length === 0) return [];
  const lines = [`${c.name} (${c.host})${c.root ? ' root' : ''}`];
  for (const ch of c.changes) lines.push(`  ${ch.action} ${ch.summary}`);
  for (const w of c.waits) lines.push(`    wait: ${w.summary}`);
  for (const p of c.problems) lines.push(`  ! ${p}`);
  return [...lines, ''];
}

/** The whole plan as lines of text (no trailing newline), ending with the summary line. */
export function formatPlan(plan: TopologyPlan): string {
  const lines = plan.controllers.flatMap(controllerBlock);
  for (const w of plan.waits) lines.push(`wait: ${w.summary}`);
  if (plan.waits.length > 0) lines.push('');
  lines.push(planSummaryLine(plan));
  return lines.join('\n');
}
