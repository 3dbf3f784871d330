// The admin-client plumbing the topic and group commands share. It imports
// @platformatic/kafka, so only the lazily loaded client-* modules may import it.

import { Admin } from '@platformatic/kafka';
import { baseClientOptions, closeQuietly, type ClientFlags } from './client-common.js';

/** ListOffsets timestamps for the log start and the log end. */
export const EARLIEST = -2n;
export const LATEST = -1n;

/** Runs `fn` with a connected Admin and closes it whatever happens. */
export async function withAdmin<T>(flags: ClientFlags, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(baseClientOptions(flags));
  try {
    return await fn(admin);
  } finally {
    await closeQuietly(admin);
  }
}
