import { isCluster, type Redis } from './redis-client.js';

/**
 * PUBLISH, answering with the number of subscribers that received the
 * message on either topology. On a Redis Cluster a message reaches every
 * node, but PUBLISH counts only the subscribers of the node that took it
 * (a random one), so "0 receivers" was reported for messages that every
 * subscriber got: there the count is summed over all nodes (PUBSUB NUMSUB is
 * per node too, and each subscription lives on one node).
 */
export async function publishCounted(redis: Redis, channel: string, message: string): Promise<number> {
  const local = await redis.publish(channel, message);
  if (!isCluster(redis)) return local;
  const perNode = await Promise.all(redis.nodes('all').map((node) => node.pubsub('NUMSUB', channel) as Promise<[string, number | string]>));
  return perNode.reduce((sum, [, n]) => sum + Number(n), 0);
}
