import { DeployedApp, type StackTemplate } from '../../lib/local-aws/deployed-app';
import { LocalIam } from '../../lib/local-aws/iam';
import { Route53Simulator } from '../../lib/local-aws/route53';
import { SecretsManagerSimulator } from '../../lib/local-aws/secrets-manager';
import { LocalAws } from '../../lib/local-aws/world';

const ACCOUNT = '111122223333';

/** A stack as CDK synthesizes one: a function, its role and policy, a KMS key with its key policy. */
const STACK: StackTemplate = {
  stackName: 'iam-test',
  region: 'us-east-1',
  account: ACCOUNT,
  template: {
    Resources: {
      Key: {
        Type: 'AWS::KMS::Key',
        Properties: {
          KeyPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: {
                  AWS: {
                    'Fn::Join': [
                      '',
                      ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root'],
                    ],
                  },
                },
                Action: 'kms:*',
                Resource: '*',
              },
            ],
          },
        },
      },
      FlipRole: { Type: 'AWS::IAM::Role', Properties: {} },
      FlipPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'FlipRole' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'route53:ChangeResourceRecordSets',
                Resource: 'arn:aws:route53:::hostedzone/Z0IAM',
                Condition: {
                  'ForAllValues:StringEquals': {
                    'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['db.example.org'],
                    'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
                  },
                },
              },
              {
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-??????',
              },
              {
                Effect: 'Allow',
                Action: 'kms:Decrypt',
                Resource: { 'Fn::GetAtt': ['Key', 'Arn'] },
                Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
              },
            ],
          },
        },
      },
      Flip: {
        Type: 'AWS::Lambda::Function',
        Properties: { FunctionName: 'flip', Role: { 'Fn::GetAtt': ['FlipRole', 'Arn'] } },
      },
    },
  },
};

function world() {
  const app = new DeployedApp([STACK]);
  const iam = new LocalIam(app);
  const r53 = new Route53Simulator({ switchDelayMs: 0, insyncDelayMs: 0 });
  r53.addZone('Z0IAM', 'example.org');
  const secrets = new SecretsManagerSimulator(ACCOUNT);
  secrets.add({
    name: 'app/db',
    primaryRegion: 'us-east-1',
    kmsKeyArn: String(app.resolve(STACK, { 'Fn::GetAtt': ['Key', 'Arn'] })),
    replicas: {},
    versions: { AWSCURRENT: '{}' },
  });
  secrets.add({ name: 'other/db', primaryRegion: 'us-east-1', replicas: {}, versions: { AWSCURRENT: '{}' } });
  const aws = new LocalAws({ account: ACCOUNT, simulators: [r53, secrets], authorizer: iam });
  return { aws, iam, principal: iam.principal('iam-test', 'Flip') };
}

const upsert = (name: string, action = 'UPSERT') => ({
  HostedZoneId: 'Z0IAM',
  ChangeBatch: {
    Changes: [
      {
        Action: action,
        ResourceRecordSet: { Name: name, Type: 'CNAME', TTL: 10, ResourceRecords: [{ Value: 'x.aws' }] },
      },
    ],
  },
});

describe('IAM in the local world, from the synthesized roles (evaluated by @cloud-copilot/iam-simulate)', () => {
  it('names the caller as AWS does: the assumed-role session of the function', () => {
    const { iam, principal } = world();
    expect(iam.principalArn(principal)).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/iam-test-FlipRole/flip`);
  });

  it('applies Route 53 condition keys: only the record, only UPSERT', async () => {
    const { aws, principal } = world();
    await expect(
      aws.call('route53', 'ChangeResourceRecordSets', upsert('DB.example.org.'), 'us-east-1', principal),
    ).resolves.toBeDefined();
    await expect(
      aws.call('route53', 'ChangeResourceRecordSets', upsert('other.example.org'), 'us-east-1', principal),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(
      aws.call(
        'route53',
        'ChangeResourceRecordSets',
        upsert('db.example.org', 'DELETE'),
        'us-east-1',
        principal,
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('matches the secret ARN with its random suffix, and needs the key policy and kms:ViaService to decrypt', async () => {
    const { aws, principal } = world();
    await expect(
      aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'app/db' }, 'us-east-1', principal),
    ).resolves.toMatchObject({
      Name: 'app/db',
    });
    await expect(
      aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'other/db' }, 'us-east-1', principal),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        'secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:111122223333:secret:other/db-',
      ) as unknown,
    });
  });

  it('takes a permission away as removing it from the CDK code would', async () => {
    const { aws, iam, principal } = world();
    iam.withoutAction(principal, 'kms:Decrypt');
    await expect(
      aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'app/db' }, 'us-east-1', principal),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('kms:Decrypt') as unknown,
    });
    iam.restore();
    await expect(
      aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'app/db' }, 'us-east-1', principal),
    ).resolves.toBeDefined();
  });

  it('does not authorize calls made outside any principal (the operator, a test setting up)', async () => {
    const { aws } = world();
    await expect(
      aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'other/db' }, 'us-east-1'),
    ).resolves.toBeDefined();
  });
});
