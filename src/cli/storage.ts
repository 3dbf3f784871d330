// Which log implementation the broker runs on: segment files in the data directory.
import type { OpenLog } from '../storage/log.js';
import { PartitionLog } from '../storage/partition-log.js';

export const openLog: OpenLog = (dir, config) => PartitionLog.open(dir, config);
