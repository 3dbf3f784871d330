// Which log implementation the broker runs on: segment files in the data directory.
import type { OpenLog } from '../storage/log.js';
import { OpenSegments, PartitionLog } from '../storage/partition-log.js';

/** Logs sharing one bounded set of open sealed-segment files (log.open.segments.max). */
export function openLogFor(openSegmentsMax: number): OpenLog {
  const openSegments = new OpenSegments(openSegmentsMax);
  return (dir, config) => PartitionLog.open(dir, config, { openSegments });
}

/** Logs sharing the process-wide set with the default limit (tests, tools). */
export const openLog: OpenLog = (dir, config) => PartitionLog.open(dir, config);
