/**
 * Reading a topology file so that every later message can say where: the document, and for every
 * node (by JSON pointer) the line and column of its value and of its key. js-yaml's event stream
 * gives source offsets; we walk it once, in step with the document it builds.
 */
import { readFile } from 'node:fs/promises';
import { EVENT_ID, getScalarValue, load, parseEvents, type Event } from 'js-yaml';
import { Vns3TopologyError, type TopologyProblem } from './errors.js';

/** A position in the file, 1-based as editors show it. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A parsed file: its document and where each node of it starts. */
export interface SourceDocument {
  file: string;
  data: unknown;
  /** JSON pointer (`/controllers/0/host`) → where the value starts. */
  values: Map<string, SourcePosition>;
  /** JSON pointer → where the key of that member starts (mapping members only). */
  keys: Map<string, SourcePosition>;
}

/** Escapes one JSON pointer segment (RFC 6901). */
export const pointerSegment = (key: string | number): string => String(key).replaceAll('~', '~0').replaceAll('/', '~1');

/** Offsets to 1-based line/column, by binary search over line starts. */
function positionFinder(text: string): (offset: number) => SourcePosition {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
}

const startOf = (e: Event): number => {
  if (e.type === EVENT_ID.SCALAR) return e.valueStart;
  if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) return e.start;
  if (e.type === EVENT_ID.ALIAS) return e.anchorStart;
  return -1;
};

/** Walks the events of one document, recording the position of each node under its pointer. */
function mapPositions(text: string, events: readonly Event[]): Pick<SourceDocument, 'values' | 'keys'> {
  const at = positionFinder(text);
  const values = new Map<string, SourcePosition>();
  const keys = new Map<string, SourcePosition>();
  let i = events.findIndex((e) => e.type === EVENT_ID.DOCUMENT) + 1;
  const node = (pointer: string): void => {
    const e = events[i++];
    if (!e) return;
    const start = startOf(e);
    if (start >= 0) values.set(pointer, at(start));
    if (e.type === EVENT_ID.SEQUENCE) {
      for (let n = 0; events[i] && events[i]!.type !== EVENT_ID.POP; n++) node(`${pointer}/${n}`);
      i++;
    } else if (e.type === EVENT_ID.MAPPING) {
      while (events[i] && events[i]!.type !== EVENT_ID.POP) {
        const k = events[i]!;
        // Keys of a topology file are plain scalars; a complex key is skipped without a position.
        const key = k.type === EVENT_ID.SCALAR ? getScalarValue(text, k) : `#${i}`;
        const child = `${pointer}/${pointerSegment(key)}`;
        if (startOf(k) >= 0) keys.set(child, at(startOf(k)));
        skip();
        node(child);
      }
      i++;
    }
  };
  // Skips one whole node (a key that is itself a collection).
  const skip = (): void => {
    let depth = 0;
    do {
      const e = events[i++];
      if (!e) return;
      if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) depth++;
      else if (e.type === EVENT_ID.POP) depth--;
    } while (depth > 0);
  };
  node('');
  return { values, keys };
}

/**
 * Parses YAML (JSON is YAML) text. Throws Vns3TopologyError with the file, line and column of a
 * syntax error; the message keeps js-yaml's reason but not its snippet, which may quote a secret.
 */
export function parseSource(text: string, file: string): SourceDocument {
  try {
    const data = load(text, { filename: file });
    const positions = mapPositions(text, parseEvents(text, { filename: file }));
    return { file, data, ...positions };
  } catch (error) {
    const e = error as { reason?: string; mark?: { line: number; column: number }; message?: string };
    const problem: TopologyProblem = {
      file,
      line: e.mark ? e.mark.line + 1 : undefined,
      column: e.mark ? e.mark.column + 1 : undefined,
      field: '',
      message: `not valid YAML: ${e.reason ?? 'unreadable'}`,
    };
    throw new Vns3TopologyError([problem]);
  }
}

/** Reads and parses a file; Vns3TopologyError names it when it cannot be read or parsed. */
export async function readSource(file: string): Promise<SourceDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Vns3TopologyError([{ file, field: '', message: code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? 'error'})` }]);
  }
  return parseSource(text, file);
}

/** `/controllers/0/host` → `controllers[0].host`, as messages name a field. */
export function fieldOf(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : /^[A-Za-z_$][\w$-]*$/.test(seg) ? `${out ? '.' : ''}${seg}` : `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Where a pointer's value starts: the node itself, else its nearest ancestor present in the file. */
export function locate(source: Pick<SourceDocument, 'values' | 'keys'>, pointer: string, preferKey = false): SourcePosition | undefined {
  let p = pointer;
  for (;;) {
    const found = (preferKey ? source.keys.get(p) : undefined) ?? source.values.get(p);
    if (found) return found;
    if (p === '') return undefined;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}
