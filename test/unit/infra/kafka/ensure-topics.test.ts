import assert from 'node:assert/strict';
import type { Admin, ITopicConfig } from 'kafkajs';
import { ensureTopics } from '../../../../infra/kafka/kafka-client.js';

/** Just enough of an Admin to see what ensureTopics asks the brokers to create. */
function recordingAdmin(existing: string[]): { admin: Admin; created: ITopicConfig[] } {
  const created: ITopicConfig[] = [];
  const admin = {
    listTopics: async () => existing,
    createTopics: async ({ topics }: { topics: ITopicConfig[] }) => { created.push(...topics); return true; },
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({ topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1, replicas: [1], isr: [1] }] })) }),
  } as unknown as Admin;
  return { admin, created };
}

describe('ensureTopics: replication of the topics it creates', () => {
  it('applies the configured replication factor and min.insync.replicas where a topic sets neither', async () => {
    const { admin, created } = recordingAdmin(['old']);
    const made = await ensureTopics(admin, [{ topic: 'old' }, { topic: 'a', numPartitions: 4 }, { topic: 'b', replicationFactor: 1, configEntries: [{ name: 'min.insync.replicas', value: '1' }] }], { replicationFactor: 3, minInsyncReplicas: 2 });
    assert.deepEqual(made, ['a', 'b']);
    assert.deepEqual(created, [
      { topic: 'a', numPartitions: 4, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
      { topic: 'b', replicationFactor: 1, configEntries: [{ name: 'min.insync.replicas', value: '1' }] },
    ]);
  });

  it('leaves both to the brokers when unset', async () => {
    const { admin, created } = recordingAdmin([]);
    await ensureTopics(admin, [{ topic: 'a' }], {});
    assert.deepEqual(created, [{ topic: 'a' }]);
  });
});
