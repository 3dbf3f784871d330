// What a pipeline module's default export becomes: a Topology, whichever form it takes.

import type { Topology } from '../types.js';
import { functionTopology, type FunctionTopologyOptions, type RecordFunction } from './function-form.js';

/** How to build a function pipeline; ignored for a DSL pipeline. */
export type FunctionOptions = Omit<FunctionTopologyOptions, 'application'> & { application?: string };

/**
 * The Topology of a default export: a DSL pipeline (anything with build()), an already built
 * Topology, or a function (the function form). Checked by shape, not by class, so a pipeline
 * built with another copy of the library still runs.
 */
export function topologyOf(exported: unknown, fallbackApplication: string, fn: FunctionOptions, application?: string): Topology {
  let topology: Topology | undefined;
  if (isTopology(exported)) topology = exported;
  else if (typeof exported === 'object' && exported !== null && typeof (exported as { build?: unknown }).build === 'function') {
    const built = (exported as { build(): unknown }).build();
    if (!isTopology(built)) throw new Error('the default export has build(), but it did not return a Topology: export the pipeline made with pipeline(...) from rivulet/stream.');
    topology = built;
  }
  if (topology) {
    if (fn.inputs.length > 0 || fn.output !== undefined) {
      throw new Error(`--input and --output are for a function; this file exports a pipeline (${topology.application}), which names its own topics.`);
    }
    // A DSL pipeline's internal topic names are made from its name as it is defined, so the
    // name cannot be changed afterwards; the file can read it from the environment instead.
    if (application !== undefined && application !== topology.application) {
      throw new Error(
        `the pipeline names itself "${topology.application}" (pipeline('${topology.application}')), not "${application}" as --application-id asks: ` +
          `change the name in the file, or write pipeline(process.env.RIVULET_APPLICATION_ID ?? '${topology.application}') so that --application-id sets it.`,
      );
    }
    return topology;
  }
  if (typeof exported === 'function') {
    return functionTopology(exported as RecordFunction, { ...fn, application: application ?? fn.application ?? fallbackApplication });
  }
  throw new Error(`the default export is ${exported === null ? 'null' : `a ${typeof exported}`}: export a pipeline (export default pipeline('my-app')...) or a function (export default (record) => ...).`);
}

function isTopology(v: unknown): v is Topology {
  return typeof v === 'object' && v !== null && Array.isArray((v as Topology).subtopologies) && typeof (v as Topology).describe === 'function';
}
