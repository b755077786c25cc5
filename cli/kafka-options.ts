import type { Command } from 'commander';
import { positiveInt } from './options.js';

/**
 * The Kafka flags every command that talks to Kafka shares, declared once so
 * their names, environment variables, defaults and help read the same
 * everywhere. Values are read where the services config is built
 * (infra/config.ts): a flag overrides its environment variable.
 */

export interface BrokerFlags {
  brokers?: string;
}

export interface EventsTopicFlags extends BrokerFlags {
  topic?: string;
  partitions?: number;
}

export interface DeadLetterTopicFlags {
  deadLetterTopic?: string;
  deadLetterPartitions?: number;
}

export const BROKERS_HELP = 'Kafka brokers host:port,... (env KAFKA_BROKERS, default 127.0.0.1:9092)';

export function brokersOption(command: Command): Command {
  return command.option('--brokers <list>', BROKERS_HELP);
}

/** --topic and --partitions of the events topic (and --brokers). `topicHelp` replaces the topic's help where it means more. */
export function eventsTopicOptions(command: Command, topicHelp = 'events topic (env KAFKA_EVENTS_TOPIC, default recsys.events)'): Command {
  command
    .option('--topic <name>', topicHelp)
    .option('--partitions <n>', 'partitions of the events topic when it is created (env KAFKA_EVENTS_PARTITIONS, default 4)', positiveInt('partitions'));
  return brokersOption(command);
}

export function deadLetterTopicOptions(command: Command): Command {
  return command
    .option('--dead-letter-topic <name>', 'topic for invalid messages (env KAFKA_DEAD_LETTER_TOPIC, default recsys.dead-letters)')
    .option('--dead-letter-partitions <n>', 'partitions of the dead-letter topic when it is created (env KAFKA_DEAD_LETTER_PARTITIONS, default 1)', positiveInt('dead-letter-partitions'));
}
