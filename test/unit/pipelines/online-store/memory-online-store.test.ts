import { MemoryOnlineStore } from '../../../../pipelines/online-store/memory-online-store.js';
import { onlineStoreConformance } from '../../../helpers/conformance/online-store.js';

onlineStoreConformance('in memory', async (spec) => {
  const store = new MemoryOnlineStore(spec);
  return { store, apply: async (ops) => store.apply(ops), cleanup: async () => {} };
});
