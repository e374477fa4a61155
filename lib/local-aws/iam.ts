/**
 * IAM, enforced in the local world from the synthesized app: each Lambda function and state machine is a
 * principal whose role's policies (resolved from the templates) decide every simulated call it makes. The
 * decision is made by a maintained policy evaluator (@cloud-copilot/iam-simulate), not by matching here.
 * Roles' AWS managed policies (Lambda basic and VPC execution) are left out: they grant only logs, X-Ray and
 * network interfaces, which the local world does not simulate.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { CallSite, IamRequirement } from './catalogue';
import type { DeployedApp, StackTemplate } from './deployed-app';
import type { Authorizer } from './world';

interface PolicyDocument {
  Version?: string;
  Statement: { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[];
}

interface Principal {
  readonly key: string;
  readonly stack: StackTemplate;
  readonly roleLogicalId: string;
  readonly sessionName: string;
}

type RunSimulation = typeof runSimulation;

/** `<stack name>/<logical id>` of a Lambda function or state machine. */
export type PrincipalKey = string;

export class LocalIam implements Authorizer {
  private readonly principals = new Map<PrincipalKey, Principal>();
  private readonly policies = new Map<string, PolicyDocument[]>();
  private readonly removed = new Map<PrincipalKey, Set<string>>();
  private readonly decisions = new Map<string, boolean>();
  private readonly resourcePolicies = new Map<string, PolicyDocument | undefined>();
  private readonly simulate: RunSimulation;

  constructor(private readonly app: DeployedApp) {
    this.simulate = runSimulation;
    const roleOf = (value: unknown) => (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
    for (const { stack, logicalId, resource } of [
      ...app.resources('AWS::Lambda::Function'),
      ...app.resources('AWS::StepFunctions::StateMachine'),
      // An ECS task's containers call AWS as the task definition's task role.
      ...app.resources('AWS::ECS::TaskDefinition'),
    ]) {
      const role = roleOf(
        resource.Properties?.Role ?? resource.Properties?.RoleArn ?? resource.Properties?.TaskRoleArn,
      );
      if (role === undefined) continue;
      const session =
        resource.Type === 'AWS::Lambda::Function'
          ? String(app.resolve(stack, { Ref: logicalId }))
          : resource.Type === 'AWS::ECS::TaskDefinition'
            ? `ecs-task-${logicalId}`
            : (String(app.resolve(stack, { Ref: logicalId }))
                .split(':')
                .at(-1) ?? logicalId);
      this.principals.set(`${stack.stackName}/${logicalId}`, {
        key: `${stack.stackName}/${logicalId}`,
        stack,
        roleLogicalId: role,
        sessionName: session.replace(/[^\w+=,.@-]/g, '-').slice(0, 64),
      });
    }
  }

  /**
   * The principal of a Lambda function, state machine or ECS task definition (its task role), by its stack and
   * logical id prefix (CDK adds a hash).
   */
  principal(stackName: string, logicalIdPrefix: string): PrincipalKey {
    const found = [...this.principals.keys()].filter(
      (k) => k.startsWith(`${stackName}/`) && k.slice(stackName.length + 1).startsWith(logicalIdPrefix),
    );
    if (found.length !== 1)
      throw new Error(
        `expected one principal ${stackName}/${logicalIdPrefix}*, found ${found.join(', ') || 'none'}`,
      );
    return found[0] as PrincipalKey;
  }

  /** The function a substituted ARN names (a state machine's DefinitionSubstitutions), as a principal. */
  principalOfArn(arn: string): PrincipalKey | undefined {
    for (const { stack, logicalId } of this.app.resources('AWS::Lambda::Function')) {
      if (this.app.resolve(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] }) === arn)
        return `${stack.stackName}/${logicalId}`;
    }
    for (const { stack, logicalId } of this.app.resources('AWS::StepFunctions::StateMachine')) {
      if (this.app.resolve(stack, { Ref: logicalId }) === arn) return `${stack.stackName}/${logicalId}`;
    }
    return undefined;
  }

  principalArn(key: PrincipalKey): string {
    const p = this.require(key);
    const roleName = String(this.app.resolve(p.stack, { Ref: p.roleLogicalId }));
    return `arn:aws:sts::${p.stack.account}:assumed-role/${roleName}/${p.sessionName}`;
  }

  /** The role's policy documents, resolved (inline policies of the role and AWS::IAM::Policy attached to it). */
  policiesOf(key: PrincipalKey): PolicyDocument[] {
    const p = this.require(key);
    const cacheKey = `${p.stack.stackName}/${p.roleLogicalId}`;
    const cached = this.policies.get(cacheKey);
    if (cached !== undefined) return cached;
    const role = p.stack.template.Resources[p.roleLogicalId];
    const inline = ((role?.Properties?.Policies ?? []) as { PolicyDocument: unknown }[]).map(
      (x) => x.PolicyDocument,
    );
    const attached = Object.values(p.stack.template.Resources)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' &&
          ((r.Properties?.Roles ?? []) as { Ref?: string }[]).some((ref) => ref.Ref === p.roleLogicalId),
      )
      .map((r) => r.Properties?.PolicyDocument);
    const docs = [...inline, ...attached].map((doc) => this.app.resolve(p.stack, doc) as PolicyDocument);
    this.policies.set(cacheKey, docs);
    return docs;
  }

  /**
   * Takes `action` away from a principal's role, as removing it from the CDK code would: for a test that a
   * missing permission fails the way AWS fails it.
   */
  withoutAction(key: PrincipalKey, action: string): void {
    this.require(key);
    const set = this.removed.get(key) ?? new Set();
    set.add(action.toLowerCase());
    this.removed.set(key, set);
    this.decisions.clear();
  }

  restore(): void {
    this.removed.clear();
    this.decisions.clear();
  }

  /**
   * The resource policy AWS evaluates beside the role's: a KMS key's key policy (without one allowing it, no
   * identity policy can), a bucket's or a topic's policy. Found in the templates by the resource's ARN.
   */
  resourcePolicyOf(arn: string): PolicyDocument | undefined {
    const cached = this.resourcePolicies.get(arn);
    if (cached !== undefined || this.resourcePolicies.has(arn)) return cached;
    let found: PolicyDocument | undefined;
    for (const { stack, logicalId, resource } of this.app.resources('AWS::KMS::Key'))
      if (this.app.resolve(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] }) === arn)
        found = this.app.resolve(stack, resource.Properties?.KeyPolicy) as PolicyDocument;
    const bucket = /^arn:aws:s3:::([^/]+)/.exec(arn)?.[1];
    for (const { stack, resource } of this.app.resources('AWS::S3::BucketPolicy'))
      if (bucket !== undefined && this.app.resolve(stack, resource.Properties?.Bucket) === bucket)
        found = this.app.resolve(stack, resource.Properties?.PolicyDocument) as PolicyDocument;
    for (const { stack, resource } of this.app.resources('AWS::SNS::TopicPolicy'))
      if ((this.app.resolve(stack, resource.Properties?.Topics) as unknown[]).includes(arn))
        found = this.app.resolve(stack, resource.Properties?.PolicyDocument) as PolicyDocument;
    this.resourcePolicies.set(arn, found);
    return found;
  }

  async allows(key: PrincipalKey, requirement: IamRequirement, site: CallSite): Promise<boolean> {
    const p = this.require(key);
    const removed = this.removed.get(key) ?? new Set<string>();
    const documents = this.policiesOf(key).map((doc) => ({
      ...doc,
      Statement: doc.Statement.map((s) => ({
        ...s,
        Action: ([] as string[]).concat(s.Action).filter((a) => !removed.has(a.toLowerCase())),
      })).filter((s) => s.Action.length > 0),
    }));
    for (const resource of requirement.resources) {
      // Every SDK call is HTTPS: the TLS-only bucket and topic policies see aws:SecureTransport true.
      const context = {
        'aws:RequestedRegion': site.region,
        'aws:SecureTransport': 'true',
        ...(requirement.context ?? {}),
      };
      const resourcePolicy = this.resourcePolicyOf(resource);
      const decisionKey = JSON.stringify([key, [...removed], requirement.action, resource, context]);
      let allowed = this.decisions.get(decisionKey);
      if (allowed === undefined) {
        const result = await this.simulate(
          {
            request: {
              principal: `arn:aws:iam::${p.stack.account}:role/${String(this.app.resolve(p.stack, { Ref: p.roleLogicalId }))}`,
              action: requirement.action,
              resource: { resource, accountId: site.account },
              contextVariables: Object.fromEntries(
                Object.entries(context).map(([k, v]) => [k, typeof v === 'string' ? v : [...v]]),
              ),
            },
            identityPolicies: documents.map((policy, i) => ({ name: `policy-${i}`, policy })),
            ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
            serviceControlPolicies: [],
            resourceControlPolicies: [],
          },
          {},
        );
        if (result.resultType === 'error')
          throw new Error(
            `IAM simulation of ${requirement.action} on ${resource} failed: ${result.errors.message}`,
          );
        allowed = result.overallResult === 'Allowed';
        this.decisions.set(decisionKey, allowed);
      }
      if (!allowed) return false;
    }
    return true;
  }

  private require(key: PrincipalKey): Principal {
    const p = this.principals.get(key);
    if (p === undefined) throw new Error(`no function or state machine ${key} in the synthesized app`);
    return p;
  }
}
