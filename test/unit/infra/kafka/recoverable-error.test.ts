import assert from 'node:assert/strict';
import { KafkaJSConnectionError, KafkaJSError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { NonRetriableError } from '../../../../infra/errors.js';
import { isRecoverableKafkaError } from '../../../../infra/kafka/consumer-lifecycle.js';

/** What kafkajs builds a protocol error from: the broker's error code entry. */
function protocolError(type: string, retriable: boolean): Error {
  return Object.assign(new Error(type), { type, code: 0, retriable });
}

describe('isRecoverableKafkaError: what a consumer hands back to kafkajs instead of stopping', () => {
  it('a lost connection (a heartbeat to a killed coordinator), retries exhausted on one, and a group rejoin are recoverable', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19094', { broker: '127.0.0.1:19094' });
    assert.equal(isRecoverableKafkaError(refused), true);
    assert.equal(isRecoverableKafkaError(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 3000 })), true);
    for (const type of ['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION']) {
      // kafkajs marks some of these not retriable: its runner rejoins on them anyway.
      assert.equal(isRecoverableKafkaError(new KafkaJSProtocolError(protocolError(type, false))), true, type);
    }
  });

  it('a Kafka error marked not retriable, and every error of ours or of the training, are not', () => {
    assert.equal(isRecoverableKafkaError(new KafkaJSNonRetriableError('topic authorization failed')), false);
    assert.equal(isRecoverableKafkaError(new KafkaJSProtocolError(protocolError('TOPIC_AUTHORIZATION_FAILED', false))), false);
    assert.equal(isRecoverableKafkaError(new KafkaJSError(new Error('wrapped'), { retriable: false })), false);
    assert.equal(isRecoverableKafkaError(new NonRetriableError('partition 0: sought back 5 times')), false);
    assert.equal(isRecoverableKafkaError(new Error('NaN loss')), false);
    assert.equal(isRecoverableKafkaError('KafkaJSConnectionError'), false);
  });
});
