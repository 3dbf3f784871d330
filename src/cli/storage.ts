// Which log implementation the broker runs on.
import type { OpenLog } from '../broker/log.js';
import { MemoryLog } from '../storage/memory-log.js';

export const openLog: OpenLog = async (_dir, config) => new MemoryLog(config);
