import { join } from 'node:path';

const kTsNodeInstance = Symbol.for('ts-node.register.instance');

/** What a worker needs to load the TypeScript task modules the parent can load. */
export interface TsLoader {
  /** A CommonJS module whose loading registers the `.ts` hook. */
  readonly register: string;
  /** Environment the hook reads (only variables the parent's environment does not set). */
  readonly env: Record<string, string>;
}

/**
 * Finds the TypeScript loader this process uses, however it was registered (`-r ts-node/register`,
 * mocha's `--require ts-node/register`, which does not show in `process.execArgv`, or
 * `require('ts-node').register()`), so that workers can load the same `.ts` task modules.
 * `PROCPOOL_TS_LOADER` names another CommonJS register hook explicitly.
 */
export function detectTsLoader(env: NodeJS.ProcessEnv = process.env): TsLoader | undefined {
  if (env.PROCPOOL_TS_LOADER) return { register: env.PROCPOOL_TS_LOADER, env: {} };
  if (!require.extensions['.ts']) return undefined;
  for (const file of Object.keys(require.cache)) {
    const match = /^(.*[\\/]node_modules[\\/]ts-node)[\\/]/.exec(file);
    if (!match) continue;
    const extra: Record<string, string> = {};
    // Workers run code the parent has already type-checked (or chose not to): transpiling only
    // saves each worker seconds. An explicit TS_NODE_TRANSPILE_ONLY in the environment still wins.
    if (env.TS_NODE_TRANSPILE_ONLY === undefined) extra.TS_NODE_TRANSPILE_ONLY = 'true';
    const instance = (process as unknown as Record<symbol, { configFilePath?: string } | undefined>)[kTsNodeInstance];
    if (env.TS_NODE_PROJECT === undefined && instance?.configFilePath) extra.TS_NODE_PROJECT = instance.configFilePath;
    return { register: join(match[1], 'register', 'index.js'), env: extra };
  }
  return undefined;
}

/** `-r`/`--require` arguments that load a TypeScript hook: workers load theirs lazily instead. */
export function isTsRegisterFlag(specifier: string): boolean {
  return /(^|[\\/])(ts-node[\\/]register|tsx[\\/]cjs|@swc-node[\\/]register|esbuild-register)/.test(specifier) || /^(ts-node|tsx)$/.test(specifier);
}
