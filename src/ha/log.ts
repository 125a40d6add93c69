/**
 * How `vns3-ha` writes its log: JSON lines through pino where a machine reads them (a container, a
 * pipe: what log collectors expect), readable lines at a terminal. pino is an optional peer
 * dependency, loaded only for JSON logs; the readable lines need nothing (pino-pretty would pull in
 * far more than one formatting function).
 */
import type * as PinoModule from 'pino';
import type { Vns3Event } from '../events.js';
import { requireOptional } from '../optional.js';
import type { HaLogLevel } from './config.js';
import { HA_OPTIONAL_PACKAGES } from './metrics.js';

/** Where and how {@link createHaLogger} writes. */
export interface HaLoggerOptions {
  /** JSON lines (pino) or readable lines. */
  json: boolean;
  /** The lowest level written; default `info`. */
  level?: HaLogLevel | undefined;
  /** Receives each line, newline included. */
  write: (line: string) => void;
}

/** A logger of HA events. */
export interface HaLogger {
  /** Writes `event` if its level (default `info`) is at least the logger's; pass as `onEvent`. */
  log(event: Vns3Event): void;
  /** Changes the lowest level written (the configuration's `log_level`, once read). */
  setLevel(level: HaLogLevel): void;
}

const LEVELS: Record<HaLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One event as a readable line: `time LEVEL step [controller]: detail {data}`. */
export function renderEventLine(e: Vns3Event): string {
  const time = new Date().toISOString().slice(11, 19);
  const level = (e.level ?? 'info').toUpperCase().padEnd(5);
  const who = e.controller === '*' ? '' : ` [${e.controller}]`;
  const data = e.data && Object.keys(e.data).length > 0 ? ` ${JSON.stringify(e.data)}` : '';
  return `${time} ${level} ${e.step}${who}${e.detail ? `: ${e.detail}` : ''}${data}\n`;
}

/** pino when installed; undefined when it is not (any other failure to load it is thrown). */
function loadPino(): typeof PinoModule | undefined {
  try {
    return requireOptional<typeof PinoModule>('pino', { pino: HA_OPTIONAL_PACKAGES.pino }, 'vns3-ha JSON logs');
  } catch (err) {
    const code = ((err as { cause?: { code?: unknown } }).cause ?? {}).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * A logger of HA events: with `json`, one JSON object per line through pino
 * (`{"level":"info","time":"…","controller":…,"step":…,"data":…,"detail":…}`); else readable lines.
 * Without pino installed, the same fields are written by a plain `JSON.stringify` per line: a
 * pipeline's `npx vns3-ha` keeps working, pino (faster, asynchronous) is used when it is there.
 */
export function createHaLogger(options: HaLoggerOptions): HaLogger {
  let min = LEVELS[options.level ?? 'info'];
  if (!options.json) {
    return {
      log: (e) => void (LEVELS[e.level ?? 'info'] >= min && options.write(renderEventLine(e))),
      setLevel: (level) => void (min = LEVELS[level]),
    };
  }
  const mod = loadPino();
  if (!mod) {
    return {
      log(e) {
        const level = e.level ?? 'info';
        if (LEVELS[level] < min) return;
        const line = { level, time: new Date().toISOString(), controller: e.controller, step: e.step, data: e.data, detail: e.detail };
        options.write(`${JSON.stringify(line)}\n`);
      },
      setLevel: (level) => void (min = LEVELS[level]),
    };
  }
  const logger = mod.pino(
    {
      level: options.level ?? 'info',
      // No pid or hostname: a container's are meaningless, and the controller is in every line.
      base: undefined,
      messageKey: 'detail',
      timestamp: mod.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (line: string) => options.write(line) },
  );
  return {
    log(e) {
      const fields = e.data ? { controller: e.controller, step: e.step, data: e.data } : { controller: e.controller, step: e.step };
      logger[e.level ?? 'info'](fields, e.detail);
    },
    setLevel: (level) => void (logger.level = level),
  };
}
