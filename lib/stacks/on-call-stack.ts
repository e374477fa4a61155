import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { OnCall } from '../constructs/on-call';
import { drNames } from '../names';

export interface OnCallStackProps extends StackProps {
  readonly config: DrConfig;
}

/** The on-call topic of one region that raises alarms. */
export class OnCallStack extends Stack {
  readonly onCall: OnCall;

  constructor(scope: Construct, id: string, props: OnCallStackProps) {
    super(scope, id, props);
    this.onCall = new OnCall(this, 'OnCall', {
      topicName: drNames(props.config).onCallTopic,
      ...(props.config.onCall.email === undefined ? {} : { email: props.config.onCall.email }),
      ...(props.config.onCall.httpsEndpoint === undefined
        ? {}
        : { httpsEndpoint: props.config.onCall.httpsEndpoint }),
    });
  }
}
