import { randomBytes } from 'node:crypto';

/** A background task a controller answered with a token (clientpack regeneration). */
export interface TaskEntry {
  kind: string;
  startedAt: number;
}

/**
 * System administration state of one simulated controller: remote support and background tasks.
 * The simulator's tasks finish at once (a regeneration is instantaneous here): the call that starts
 * one answers `running`, and `GET /status/task` answers `done` from then on.
 */
export class SystemAdminState {
  remoteSupport = { enabled: false };
  private readonly tasks = new Map<string, TaskEntry>();

  /** Registers a task and returns its token. */
  startTask(kind: string): string {
    const token = randomBytes(12).toString('hex');
    this.tasks.set(token, { kind, startedAt: Date.now() });
    return token;
  }

  task(token: string): TaskEntry | undefined {
    return this.tasks.get(token);
  }
}
