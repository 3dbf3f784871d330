// Loading a pipeline file for `rivulet run`: TypeScript or JavaScript, bundled with esbuild
// into one ES module in a temporary directory, then imported.
//
// Why bundle rather than import the file: Node 20 cannot run TypeScript, and a pipeline's
// folder usually has no node_modules/rivulet. The bundle resolves `rivulet/stream` to this
// package's own module (always, even when the folder has its own copy), so the pipeline and
// the runner share one instance of the library. Source maps make stack traces name the
// pipeline's own file and lines.

import { mkdtempSync, realpathSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The extensions `rivulet run` takes. */
export const PIPELINE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;

/** A pipeline file that could not be loaded: the message is for a person and names the file (and line). */
export class PipelineLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PipelineLoadError';
  }
}

/** The bundled pipeline: an ES module file to import (in any thread), and how to remove it. */
export interface BundledPipeline {
  /** The pipeline file as given, made absolute. */
  source: string;
  /** The bundle, an .mjs file in its own temporary directory. */
  file: string;
  /** Removes the temporary directory (idempotent). */
  dispose(): void;
}

/** This package's `rivulet/stream` entry (dist/src/stream/index.js), by its real path, as Node caches modules. */
export function streamEntryUrl(): string {
  const entry = fileURLToPath(new URL('../index.js', import.meta.url));
  return pathToFileURL(existsSync(entry) ? realpathSync(entry) : entry).href;
}

/** Bundles the pipeline file into a temporary ES module; a syntax error or a missing import names file:line:column. */
export async function bundlePipeline(file: string): Promise<BundledPipeline> {
  const source = resolve(file);
  if (!existsSync(source)) throw new PipelineLoadError(`pipeline file not found: ${source}`);
  const ext = extname(source);
  if (!(PIPELINE_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new PipelineLoadError(`cannot run ${basename(source)}: expected a TypeScript or JavaScript file (${PIPELINE_EXTENSIONS.join(', ')}).`);
  }
  // Loaded here, not at the top: only `rivulet run` needs the bundler.
  const esbuild = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-run-'));
  const out = join(dir, 'pipeline.mjs');
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  const stream = streamEntryUrl();
  try {
    await esbuild.build({
      entryPoints: [source],
      absWorkingDir: dirname(source),
      outfile: out,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      sourcemap: 'linked',
      logLevel: 'silent',
      // Bundled CommonJS dependencies call require() for Node built-ins; an ES module has none.
      banner: { js: "import { createRequire as __rivuletRequire } from 'node:module'; const require = __rivuletRequire(import.meta.url);" },
      plugins: [
        {
          name: 'rivulet-stream',
          setup(build) {
            build.onResolve({ filter: /^rivulet\/stream$/ }, () => ({ path: stream, external: true }));
          },
        },
      ],
    });
  } catch (e) {
    dispose();
    throw new PipelineLoadError(formatBuildFailure(e, source), { cause: e });
  }
  return { source, file: out, dispose };
}

interface EsbuildMessage {
  text: string;
  location: { file: string; line: number; column: number; lineText: string } | null;
}

/** esbuild's errors as a person reads compiler output: path:line:column: message, the line, a caret. */
function formatBuildFailure(e: unknown, source: string): string {
  const errors = (e as { errors?: EsbuildMessage[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return `cannot bundle ${source}: ${(e as Error).message}`;
  const lines = [`cannot load ${source}: ${errors.length === 1 ? 'an error' : `${errors.length} errors`}`];
  for (const m of errors) {
    if (!m.location) {
      lines.push(`  ${m.text}`);
      continue;
    }
    const { file, line, column, lineText } = m.location;
    lines.push(`${resolve(dirname(source), file)}:${line}:${column + 1}: ${m.text}`, `    ${lineText}`, `    ${' '.repeat(column)}^`);
  }
  return lines.join('\n');
}

/** Imports a bundled pipeline and returns its default export. Stack traces map back to the pipeline's source. */
export async function importPipeline(bundle: Pick<BundledPipeline, 'file' | 'source'>): Promise<unknown> {
  process.setSourceMapsEnabled(true);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(bundle.file).href)) as { default?: unknown };
  } catch (e) {
    throw new PipelineLoadError(`${bundle.source} failed while loading: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, { cause: e });
  }
  if (mod.default === undefined) {
    throw new PipelineLoadError(
      `${bundle.source} has no default export: export a pipeline (export default pipeline('my-app')...) or a function (export default (record) => ...).`,
    );
  }
  return mod.default;
}
