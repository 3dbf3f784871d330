// MemoryStore (the test driver's store) keeps the same store contract as LmdbStore.

import { MemoryStoreFactory } from '../../../src/stream/state/memory-store.js';
import { storeContract } from './store-contract.js';

storeContract('MemoryStore', async () => ({ factory: new MemoryStoreFactory(), cleanup: async () => {} }));
