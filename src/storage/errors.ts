// Errors the storage layer raises. Each carries a stable `code` (RIV_ERR_*), the Kafka error
// code the broker should put in its response, and whether a retry can help, so handlers map
// them to responses without inspecting messages.

import { ErrorCode } from '../protocol/errors.js';

export const StorageErrorCode = {
  /** An I/O operation failed (ENOSPC, EIO, ...). The log rolled back to its last good state. */
  io: 'RIV_ERR_STORAGE',
  /** The requested offset is below the log start offset or above the high watermark. */
  offsetOutOfRange: 'RIV_ERR_OFFSET_OUT_OF_RANGE',
  /** The log was closed or destroyed; the partition must be reopened. */
  closed: 'RIV_ERR_LOG_CLOSED',
  /** A segment file holds bytes that are not whole, valid batches where they must be. */
  corrupt: 'RIV_ERR_LOG_CORRUPT',
  /** A configuration value is out of range. */
  invalidConfig: 'RIV_ERR_LOG_CONFIG',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

const kafkaCodeFor: Readonly<Record<StorageErrorCode, number>> = {
  RIV_ERR_STORAGE: ErrorCode.KAFKA_STORAGE_ERROR,
  RIV_ERR_OFFSET_OUT_OF_RANGE: ErrorCode.OFFSET_OUT_OF_RANGE,
  RIV_ERR_LOG_CLOSED: ErrorCode.NOT_LEADER_OR_FOLLOWER,
  RIV_ERR_LOG_CORRUPT: ErrorCode.KAFKA_STORAGE_ERROR,
  RIV_ERR_LOG_CONFIG: ErrorCode.INVALID_CONFIG,
};

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** Kafka error code for the response (KAFKA_STORAGE_ERROR, OFFSET_OUT_OF_RANGE, ...). */
  readonly kafkaCode: number;
  /** True when trying again later may succeed (a full disk may be cleared). */
  readonly retriable: boolean;

  constructor(code: StorageErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StorageError';
    this.code = code;
    this.kafkaCode = kafkaCodeFor[code];
    this.retriable = code === StorageErrorCode.io;
  }
}

/** Wraps an fs error with what we were doing, keeping the original as `cause`. */
export function ioError(what: string, cause: unknown): StorageError {
  const sys = cause as NodeJS.ErrnoException | null;
  const detail = sys && typeof sys.code === 'string' ? `${sys.code}: ${sys.message}` : String(cause);
  return new StorageError(StorageErrorCode.io, `${what} failed (${detail}); the log kept its last good state, retry once the disk recovers`, cause);
}

export function offsetOutOfRange(offset: number, logStartOffset: number, highWatermark: number): StorageError {
  return new StorageError(
    StorageErrorCode.offsetOutOfRange,
    `offset ${offset} is outside the readable range [${logStartOffset}, ${highWatermark}]; reset the consumer position`,
  );
}
