import type { StackTemplate } from '../../lib/local-aws/deployed-app';
import { planStackUpdate } from '../../lib/local-aws/stack-update';

/** One stack with the given resources, as synthesized. */
const stack = (resources: StackTemplate['template']['Resources']): StackTemplate[] => [
  {
    stackName: 'pg-dr-primary',
    region: 'us-west-2',
    account: '111122223333',
    template: { Resources: resources },
  },
];
const RECORD = {
  Type: 'AWS::Route53::RecordSet',
  Properties: { Name: 'db.example.org.', Type: 'CNAME', TTL: '10', ResourceRecords: ['{{resolve:ssm:/p}}'] },
};
const DATABASE = {
  Type: 'AWS::RDS::DBInstance',
  Properties: {
    DBInstanceIdentifier: 'pg-dr-primary',
    BackupRetentionPeriod: 7,
    DBInstanceClass: 'db.t4g.medium',
  },
};

describe('simulated CloudFormation stack update (replacement from the CloudFormation resource specification)', () => {
  it('touches nothing whose template is unchanged, whatever order its keys come in', () => {
    const reordered = {
      ...DATABASE,
      Properties: {
        DBInstanceClass: 'db.t4g.medium',
        BackupRetentionPeriod: 7,
        DBInstanceIdentifier: 'pg-dr-primary',
      },
    };
    expect(planStackUpdate(stack({ R: RECORD, D: DATABASE }), stack({ R: RECORD, D: reordered }))).toEqual({
      updated: [],
      added: [],
      removed: [],
    });
  });

  it('updates in place, may replace, or replaces, as the changed property says', () => {
    const plan = planStackUpdate(
      stack({ R: RECORD, D: DATABASE, Old: DATABASE }),
      stack({
        R: { ...RECORD, Properties: { ...RECORD.Properties, TTL: '30' } },
        D: {
          ...DATABASE,
          Properties: { ...DATABASE.Properties, DBInstanceClass: 'db.r7g.large', BackupRetentionPeriod: 14 },
        },
        New: { ...DATABASE, Properties: { ...DATABASE.Properties, DBInstanceIdentifier: 'renamed' } },
      }),
    );
    expect(plan.updated).toEqual([
      {
        stack: 'pg-dr-primary',
        logicalId: 'R',
        type: 'AWS::Route53::RecordSet',
        properties: ['TTL'],
        replacement: 'no',
      },
      {
        stack: 'pg-dr-primary',
        logicalId: 'D',
        type: 'AWS::RDS::DBInstance',
        properties: ['BackupRetentionPeriod', 'DBInstanceClass'],
        replacement: 'maybe',
      },
    ]);
    expect(plan.added).toEqual([{ stack: 'pg-dr-primary', logicalId: 'New', type: 'AWS::RDS::DBInstance' }]);
    expect(plan.removed).toEqual([
      { stack: 'pg-dr-primary', logicalId: 'Old', type: 'AWS::RDS::DBInstance' },
    ]);

    const renamed = planStackUpdate(
      stack({ D: DATABASE }),
      stack({ D: { ...DATABASE, Properties: { ...DATABASE.Properties, DBInstanceIdentifier: 'green' } } }),
    );
    expect(renamed.updated[0]).toMatchObject({ properties: ['DBInstanceIdentifier'], replacement: 'yes' });
  });
});
