/**
 * SIMULATED CloudWatch (GetMetricData), SNS (Publish, ListSubscriptionsByTopic), EventBridge (DescribeRule,
 * ListTargetsByRule) and CloudFormation (DescribeStacks), following lib/local-aws/catalogue/control-plane.ts.
 */
import type { Simulator, SimulatorCall } from './world';
import { str } from './input';

type Dimensions = Readonly<Record<string, string>>;
export type MetricSource = (
  dimensions: Dimensions,
  start: number,
  end: number,
) => { at: number; value: number }[];

const metricKey = (region: string, namespace: string, name: string) => `${region}|${namespace}|${name}`;

export class CloudWatchSimulator implements Simulator {
  readonly service = 'cloudwatch' as const;
  readonly label = 'SIMULATED CloudWatch';
  private readonly points = new Map<string, { dimensions: Dimensions; at: number; value: number }[]>();
  private readonly sources = new Map<string, MetricSource>();

  /** Stores a datapoint (what an embedded-metric log line or PutMetricData would publish). */
  put(
    region: string,
    namespace: string,
    name: string,
    dimensions: Dimensions,
    at: number,
    value: number,
  ): void {
    const key = metricKey(region, namespace, name);
    const list = this.points.get(key) ?? [];
    list.push({ dimensions, at, value });
    this.points.set(key, list);
  }

  /** A metric a simulated service publishes itself (Route 53's HealthCheckStatus in us-east-1). */
  addSource(region: string, namespace: string, name: string, source: MetricSource): void {
    this.sources.set(metricKey(region, namespace, name), source);
  }

  private samples(
    region: string,
    metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] },
    start: number,
    end: number,
  ) {
    const dims = Object.fromEntries((metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));
    const key = metricKey(region, metric.Namespace, metric.MetricName);
    const source = this.sources.get(key);
    if (source !== undefined) return source(dims, start, end);
    const same = (d: Dimensions) =>
      Object.keys(d).length === Object.keys(dims).length &&
      Object.entries(dims).every(([k, v]) => d[k] === v);
    return (this.points.get(key) ?? []).filter((p) => same(p.dimensions) && p.at >= start && p.at < end);
  }

  handle(call: SimulatorCall): unknown {
    if (call.operation === 'PutMetricData') {
      const namespace = str(call.input.Namespace);
      const data = (call.input.MetricData ?? []) as {
        MetricName: string;
        Dimensions?: { Name: string; Value: string }[];
        Timestamp?: Date | string;
        Value: number;
      }[];
      for (const d of data)
        this.put(
          call.site.region,
          namespace,
          d.MetricName,
          Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value])),
          d.Timestamp === undefined ? Date.now() : new Date(d.Timestamp).getTime(),
          d.Value,
        );
      return {};
    }
    if (call.operation !== 'GetMetricData')
      throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    const start = new Date(call.input.StartTime as Date | string).getTime();
    const end = new Date(call.input.EndTime as Date | string).getTime();
    const queries = (call.input.MetricDataQueries ?? []) as {
      Id: string;
      ReturnData?: boolean;
      MetricStat: {
        Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] };
        Period: number;
        Stat: string;
      };
    }[];
    const results = queries
      .filter((q) => q.ReturnData !== false)
      .map((q) => {
        const period = q.MetricStat.Period * 1000;
        const buckets = new Map<number, number[]>();
        for (const p of this.samples(call.site.region, q.MetricStat.Metric, start, end)) {
          const bucket = start + Math.floor((p.at - start) / period) * period;
          buckets.set(bucket, [...(buckets.get(bucket) ?? []), p.value]);
        }
        const stat = (values: number[]) => {
          switch (q.MetricStat.Stat) {
            case 'Minimum':
              return Math.min(...values);
            case 'Maximum':
              return Math.max(...values);
            case 'Sum':
              return values.reduce((a, b) => a + b, 0);
            case 'SampleCount':
              return values.length;
            default:
              return values.reduce((a, b) => a + b, 0) / values.length;
          }
        };
        const ordered = [...buckets.entries()].sort(([a], [b]) =>
          call.input.ScanBy === 'TimestampAscending' ? a - b : b - a,
        );
        return {
          Id: q.Id,
          Label: q.MetricStat.Metric.MetricName,
          Timestamps: ordered.map(([at]) => new Date(at)),
          Values: ordered.map(([, values]) => stat(values)),
          StatusCode: 'Complete',
        };
      });
    return { MetricDataResults: results, Messages: [] };
  }
}

export interface SimulatedTopic {
  readonly arn: string;
  readonly kmsKeyArn?: string;
  readonly subscriptions: { protocol: string; endpoint: string; confirmed: boolean }[];
}

export class SnsSimulator implements Simulator {
  readonly service = 'sns' as const;
  readonly label = 'SIMULATED SNS';
  readonly topics = new Map<string, SimulatedTopic>();
  readonly published: { topicArn: string; subject: string; message: string }[] = [];

  addTopic(topic: SimulatedTopic): void {
    this.topics.set(topic.arn, topic);
  }

  async handle(call: SimulatorCall): Promise<unknown> {
    const arn = str(call.input.TopicArn);
    const topic = this.topics.get(arn);
    if (topic === undefined || arn.split(':')[3] !== call.site.region)
      return call.fail('NotFound', 'Topic does not exist');
    switch (call.operation) {
      case 'Publish': {
        const subject = call.input.Subject === undefined ? '' : str(call.input.Subject);
        if (subject.length >= 100 || Array.from(subject).some((c) => c.charCodeAt(0) < 32))
          call.fail('InvalidParameter', 'Invalid parameter: Subject');
        const message = str(call.input.Message);
        if (Buffer.byteLength(message) > 262_144)
          call.fail('InvalidParameter', 'Invalid parameter: Message too long');
        if (topic.kmsKeyArn !== undefined)
          await call.authorize([
            { action: 'kms:GenerateDataKey', resources: [topic.kmsKeyArn] },
            { action: 'kms:Decrypt', resources: [topic.kmsKeyArn] },
          ]);
        this.published.push({ topicArn: arn, subject, message });
        return { MessageId: `local-${this.published.length}` };
      }
      case 'ListSubscriptionsByTopic':
        return {
          Subscriptions: topic.subscriptions.map((s, i) => ({
            TopicArn: arn,
            Protocol: s.protocol,
            Endpoint: s.endpoint,
            Owner: arn.split(':')[4],
            SubscriptionArn: s.confirmed ? `${arn}:sub-${i}` : 'PendingConfirmation',
          })),
        };
      default:
        throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    }
  }
}

export interface SimulatedRule {
  readonly name: string;
  readonly region: string;
  state: 'ENABLED' | 'DISABLED';
  readonly scheduleExpression?: string;
  readonly targets: { Id: string; Arn: string; Input?: string }[];
  /** Its tags (TagResource, UntagResource), by key. */
  readonly tags?: Map<string, string>;
}

export class EventBridgeSimulator implements Simulator {
  readonly service = 'events' as const;
  readonly label = 'SIMULATED EventBridge';
  readonly rules = new Map<string, SimulatedRule>();

  addRule(rule: SimulatedRule): void {
    this.rules.set(`${rule.region}/${rule.name}`, { ...rule, tags: new Map(rule.tags ?? []) });
  }

  /** The rule's tags (every rule added here has a map). */
  tagsOf(rule: SimulatedRule): Map<string, string> {
    if (rule.tags === undefined) throw new Error(`${this.label}: rule ${rule.name} has no tag map`);
    return rule.tags;
  }

  handle(call: SimulatorCall): unknown {
    // The tagging calls name the rule by ARN (arn:aws:events:<region>:<account>:rule/<name>).
    const byArn = str(call.input.ResourceARN ?? '').match(/:rule\/([^/]+)$/)?.[1];
    const name = byArn ?? str(call.input.Rule ?? call.input.Name);
    const rule = this.rules.get(`${call.site.region}/${name}`);
    if (rule === undefined) return call.fail('ResourceNotFoundException', `Rule ${name} does not exist.`);
    switch (call.operation) {
      case 'DescribeRule':
        return {
          Name: rule.name,
          Arn: `arn:aws:events:${rule.region}:${call.site.account}:rule/${rule.name}`,
          State: rule.state,
          ...(rule.scheduleExpression === undefined ? {} : { ScheduleExpression: rule.scheduleExpression }),
          EventBusName: 'default',
        };
      case 'ListTargetsByRule':
        return { Targets: rule.targets.map((t) => ({ ...t })) };
      case 'DisableRule':
        rule.state = 'DISABLED';
        return {};
      case 'EnableRule':
        rule.state = 'ENABLED';
        return {};
      case 'TagResource': {
        const tags = this.tagsOf(rule);
        for (const tag of (call.input.Tags as { Key?: string; Value?: string }[] | undefined) ?? [])
          tags.set(str(tag.Key), str(tag.Value));
        return {};
      }
      case 'UntagResource': {
        const tags = this.tagsOf(rule);
        for (const key of (call.input.TagKeys as string[] | undefined) ?? []) tags.delete(str(key));
        return {};
      }
      case 'ListTagsForResource':
        return { Tags: [...this.tagsOf(rule)].map(([Key, Value]) => ({ Key, Value })) };
      default:
        throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    }
  }
}

export interface SimulatedStack {
  readonly name: string;
  readonly region: string;
  readonly outputs: Readonly<Record<string, string>>;
}

export class CloudFormationSimulator implements Simulator {
  readonly service = 'cloudformation' as const;
  readonly label = 'SIMULATED CloudFormation';
  readonly stacks = new Map<string, SimulatedStack>();

  addStack(stack: SimulatedStack): void {
    this.stacks.set(`${stack.region}/${stack.name}`, stack);
  }

  handle(call: SimulatorCall): unknown {
    if (call.operation !== 'DescribeStacks')
      throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    const name = str(call.input.StackName);
    const stack = this.stacks.get(`${call.site.region}/${name}`);
    if (stack === undefined) return call.fail('ValidationError', `Stack with id ${name} does not exist`);
    return {
      Stacks: [
        {
          StackName: stack.name,
          StackId: `arn:aws:cloudformation:${stack.region}:${call.site.account}:stack/${stack.name}/00000000-0000-4000-8000-000000000000`,
          CreationTime: new Date(0),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({
            OutputKey,
            OutputValue,
          })),
        },
      ],
    };
  }
}
