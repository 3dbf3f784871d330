// Errors of the state stores: each message says what happened and what to do.

import { ClientError } from '../../client/errors.js';

export const StoreErrorCode = {
  /** Another process or worker holds the task's state directory. */
  locked: 'RIV_ERR_STORE_LOCKED',
  /** A key longer than the store can hold. */
  keyTooLong: 'RIV_ERR_STORE_KEY_TOO_LONG',
  /** The store was used after close() or destroy(). */
  closed: 'RIV_ERR_STORE_CLOSED',
  /** A misuse of the store's API (a second commit while one is in flight, a bad name). */
  invalidUse: 'RIV_ERR_STORE_INVALID_USE',
  /** The durable commit failed; the pending writes are kept, the checkpoint did not move. */
  commitFailed: 'RIV_ERR_STORE_COMMIT_FAILED',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends ClientError {
  constructor(message: string, code: StoreErrorCode, cause?: unknown) {
    super(message, { code, cause });
    this.name = 'StoreError';
  }
}
