/**
 * The topology layer's errors: one for a file that cannot become a topology (every problem found,
 * each with file, line, column and field), one for a topology that was applied but not reached.
 */
import { Vns3Error } from '../client/index.js';

/** One thing wrong with a topology file or its variables. */
export interface TopologyProblem {
  file: string;
  /** 1-based; absent when the problem has no place in the file (a missing file). */
  line?: number;
  column?: number;
  /** Dotted path of the field (`controllers[1].host`), `''` for the whole file. */
  field: string;
  /** What is wrong and, where it helps, what to do. Never holds a secret value. */
  message: string;
}

/** `file:line:column field: message`, as compilers print a problem (editors make it a link). */
export function formatProblem(p: TopologyProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  return `${where}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

/**
 * Raised by `loadTopology` when the file cannot be read or parsed, breaks the schema, refers to
 * controllers it does not declare, or uses variables no var file, environment variable or default
 * provides. `problems` lists all of them, not only the first.
 */
export class Vns3TopologyError extends Vns3Error {
  readonly problems: readonly TopologyProblem[];

  constructor(problems: readonly TopologyProblem[]) {
    const shown = problems.slice(0, 20).map(formatProblem);
    const more = problems.length > 20 ? `\n… and ${problems.length - 20} more` : '';
    super(`${problems.length === 1 ? 'a problem' : `${problems.length} problems`} in the topology:\n${shown.join('\n')}${more}`);
    this.name = 'Vns3TopologyError';
    this.problems = problems;
  }
}

/**
 * Raised by `applyTopology` when every step ran but the mesh read back afterwards is not the one the
 * file describes (a link down, a subnet not learned, keysets that differ); `problems` says which.
 */
export class Vns3TopologyNotReachedError extends Vns3Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`the topology was not reached: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; … ${problems.length - 5} more` : ''}`);
    this.name = 'Vns3TopologyNotReachedError';
    this.problems = problems;
  }
}

/**
 * Raised by `applyTopology` before its first write when the plan has problems: a controller that
 * cannot be read, bad input a macro refused in its dry run (a firewall rule, an image spec), or a
 * change the apply cannot make (a container that differs without `replace`). Nothing was written.
 */
export class Vns3TopologyPlanError extends Vns3Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`the plan has ${problems.length} problem(s), nothing was written: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`);
    this.name = 'Vns3TopologyPlanError';
    this.problems = problems;
  }
}
