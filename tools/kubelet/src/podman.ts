import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

/** The repository root (tools/kubelet/dist or src -> ../../..). */
export const ROOT = resolve(__dirname, '..', '..', '..');

/** The project's podman settings (runc, cgroupfs, ulimits, netavark): see scripts/containers/. */
export const CONTAINERS_CONF = resolve(ROOT, 'scripts', 'containers', 'containers.conf');

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class PodmanError extends Error {
  override name = 'PodmanError';
  constructor(
    readonly args: string[],
    readonly result: ExecResult,
  ) {
    super(`podman ${args.slice(0, 3).join(' ')} … exited ${result.code}: ${result.stderr.trim()}`);
  }
}

/**
 * The podman command line, nothing more: every call is `podman <args>` with the project's
 * containers.conf. (There is a REST API too, but the CLI is what DESIGN.md §8 documents working
 * here, and its errors are the ones a user of these scripts sees.)
 */
export class Podman {
  constructor(
    readonly bin = 'podman',
    private readonly env: NodeJS.ProcessEnv = {
      ...process.env,
      CONTAINERS_CONF: process.env['CONTAINERS_CONF'] ?? CONTAINERS_CONF,
    },
  ) {}

  /** Runs podman; resolves with the exit code and output whatever the code. */
  exec(args: string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return new Promise((done) => {
      execFile(
        this.bin,
        args,
        { env: this.env, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 0 },
        (err, stdout, stderr) => {
          const code =
            err === null
              ? 0
              : typeof (err as { code?: unknown }).code === 'number'
                ? ((err as { code: number }).code ?? 1)
                : 1;
          done({ code, stdout, stderr: err && !stderr ? err.message : stderr });
        },
      );
    });
  }

  /** Runs podman and returns stdout; throws a PodmanError on a non-zero exit. */
  async ok(args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.exec(args, opts);
    if (r.code !== 0) throw new PodmanError(args, r);
    return r.stdout;
  }

  async json<T>(args: string[]): Promise<T> {
    return JSON.parse(await this.ok(args)) as T;
  }

  async imageExists(image: string): Promise<boolean> {
    return (await this.exec(['image', 'exists', image])).code === 0;
  }
}
