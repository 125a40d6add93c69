/**
 * A secret of a topology (password, API token, license text, keyset token) as a value that cannot
 * be printed by accident: `String()`, `JSON.stringify` and `util.inspect` all show `[redacted]`;
 * only `reveal()` gives the text, at the one place it is sent to a controller.
 */
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/** A string that shows itself as `[redacted]` everywhere except through `reveal()`. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself, to hand to the SDK. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * Replaces every known secret in a text by `[redacted]`: the last line of defence of the `vns3`
 * command, applied to everything it prints. Longer secrets first, so that one containing another
 * is hidden whole. Secrets shorter than 4 characters are not searched (they would redact words).
 */
export function createRedactor(secrets: Iterable<string>): (text: string) => string {
  const list = [...new Set([...secrets].filter((s) => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const s of list) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  };
}
