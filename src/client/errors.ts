// Errors of the client toolkit, and the translation of @platformatic/kafka's errors into
// one message a person can act on. Nothing here imports the library: it inspects error
// objects by shape, so loading it costs nothing.

/** Stable codes of the errors this toolkit throws. */
export const ClientErrorCode = {
  /** Something the caller must change (a malformed bootstrap list, ...). */
  invalidArgument: 'RIV_ERR_CLIENT_INVALID_ARGUMENT',
  unknownTopic: 'RIV_ERR_CLIENT_UNKNOWN_TOPIC',
  /** The offsets being read are outside the log (retention, truncation). */
  offsetOutOfRange: 'RIV_ERR_CLIENT_OFFSET_OUT_OF_RANGE',
  /** A partition has no leader (retried while metadata catches up; reported when retries run out). */
  noLeader: 'RIV_ERR_NO_LEADER',
  /** The cluster answered, but not what the protocol promises. */
  unexpectedAnswer: 'RIV_ERR_CLIENT_UNEXPECTED_ANSWER',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** An error meant for people: its message is shown as is; `code` is stable (a ClientErrorCode, or an interface's own). */
export class ClientError extends Error {
  readonly code: string;
  constructor(message: string, opts: { code: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = opts.code;
  }
}

/** The topic does not exist on the cluster. */
export class UnknownTopicError extends ClientError {
  constructor(readonly topic: string, cause?: unknown) {
    super(`topic "${topic}" does not exist.`, { code: ClientErrorCode.unknownTopic, cause });
  }
}

interface LibError extends Error {
  code?: string;
  errors?: unknown[];
  apiId?: string;
  apiCode?: number;
  serverErrorMessage?: string | null;
  path?: string;
  cause?: unknown;
}

/** The innermost errors of a library error (MultipleErrors nest; causes chain). */
export function leafErrors(e: unknown): LibError[] {
  const out: LibError[] = [];
  const walk = (x: unknown, depth: number): void => {
    if (!(x instanceof Error) || depth > 8) return;
    const le = x as LibError;
    if (Array.isArray(le.errors) && le.errors.length > 0) {
      for (const c of le.errors) walk(c, depth + 1);
      return;
    }
    out.push(le);
  };
  walk(e, 0);
  return out;
}

/** The first Kafka protocol error (by name, e.g. TOPIC_ALREADY_EXISTS) inside a library error. */
export function findProtocolError(e: unknown, ...ids: string[]): LibError | undefined {
  return leafErrors(e).find((x) => x.apiId !== undefined && (ids.length === 0 || ids.includes(x.apiId)));
}

/** True when the error says the topic does not exist (metadata lookup or a broker error code). */
export function isUnknownTopic(e: unknown): boolean {
  return leafErrors(e).some((x) => /^Unknown topic /.test(x.message) || x.apiId === 'UNKNOWN_TOPIC_OR_PARTITION' || x.apiId === 'UNKNOWN_TOPIC_ID');
}

function describeProtocolError(x: LibError): string {
  const detail = x.serverErrorMessage && x.serverErrorMessage !== x.message ? `: ${x.serverErrorMessage}` : '';
  return `${x.apiId} (${x.message.replace(/\.$/, '')})${detail}`;
}

/** API names as the library spells them, mapped to what the caller was doing. */
const apiPurpose: Record<string, string> = {
  CreateTopics: 'creating topics',
  DeleteTopics: 'deleting topics',
  CreatePartitions: 'adding partitions',
  DescribeConfigs: 'reading topic configs',
  IncrementalAlterConfigs: 'changing topic configs',
  AlterConfigs: 'changing topic configs',
  ListOffsets: 'reading offsets',
  Fetch: 'reading records',
  Produce: 'writing records',
  InitProducerId: 'idempotent producing',
  JoinGroup: 'consumer groups',
  FindCoordinator: 'consumer groups and transactions',
  ListTransactions: 'listing transactions',
  DescribeTransactions: 'describing transactions',
  DescribeProducers: 'describing producers',
};

/** Advice the caller's interface adds to some explanations (a command line names its flags). */
export interface ExplainHints {
  /** Appended when nothing answered, e.g. "Check --bootstrap-server or RIVULET_BOOTSTRAP." */
  unreachable?: string;
  /** How to list the topics, e.g. "rivulet topic list"; named when a topic does not exist. */
  listTopics?: string;
}

function unknownTopicMessage(name: string | undefined, hints: ExplainHints): string {
  return `topic "${name}" does not exist${hints.listTopics ? ` (list topics with: ${hints.listTopics})` : ''}.`;
}

/**
 * Turns any error into one message for people. `bootstrap` is named when nothing answered,
 * so the reader sees which address was tried.
 */
export function explainError(e: unknown, bootstrap: string, hints: ExplainHints = {}): string {
  if (e instanceof UnknownTopicError) return unknownTopicMessage(e.topic, hints);
  if (e instanceof ClientError) return e.message;
  const leaves = leafErrors(e);
  const network = leaves.filter((x) => x.code === 'PLT_KFK_NETWORK' || /^Connection to .* (failed|timed out)/.test(x.message));
  if (network.length > 0 && network.length === leaves.length) {
    const causes = [...new Set(network.map((x) => (x.cause instanceof Error ? x.cause.message : x.message)))];
    return `cannot reach the Kafka cluster: nothing answered at ${bootstrap} (${causes.join('; ')}). Is the broker running?${hints.unreachable ? ` ${hints.unreachable}` : ''}`;
  }
  for (const x of leaves) {
    const m = /^Unsupported API (\w+)\.$|^No usable implementation found for API (\w+)\.$/.exec(x.message);
    if (m) {
      const api = m[1] ?? m[2]!;
      const purpose = apiPurpose[api] ? ` (needed for ${apiPurpose[api]})` : '';
      return m[1]
        ? `the cluster at ${bootstrap} does not support the Kafka ${api} API${purpose}.`
        : `the cluster at ${bootstrap} offers the Kafka ${api} API only in versions this client cannot speak${purpose}.`;
    }
  }
  const unknownTopic = leaves.find((x) => /^Unknown topic (.*)\.$/.test(x.message));
  if (unknownTopic) return unknownTopicMessage(/^Unknown topic (.*)\.$/.exec(unknownTopic.message)![1], hints);
  const protocol = leaves.filter((x) => x.apiId !== undefined);
  if (protocol.length > 0) {
    return `the broker answered with an error: ${[...new Set(protocol.map(describeProtocolError))].join('; ')}`;
  }
  const timeouts = leaves.filter((x) => x.code === 'PLT_KFK_TIMEOUT' || /timed out/i.test(x.message));
  if (timeouts.length > 0) return `request to ${bootstrap} timed out: ${timeouts[0]!.message}`;
  const messages = [...new Set(leaves.map((x) => x.message))];
  const top = e instanceof Error ? e.message : String(e);
  return messages.length > 0 && !messages.includes(top) ? `${top} ${messages.join('; ')}` : top;
}
